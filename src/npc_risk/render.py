"""Rich tables for the CLI only: what the commands print (counts only, never patient values).

Nothing here writes a file; publishing is publish.py. Whatever is printed about neighbourhoods
is seen outside the practice, so it is taken from the suppressed planning table
(datapack.publishable_neighbourhoods), exactly as neighbourhoods.parquet publishes it.
"""

from __future__ import annotations

from collections.abc import Iterable

import ibis.expr.types as ir
import pyarrow as pa
from rich.table import Table

from npc_risk.ingest import TableReport
from npc_risk.planning.disclosure import RATE_DECIMALS, display_suppressed
from npc_risk.planning.statistics import CITY_KEY


def ingest_table(reports: Iterable[TableReport]) -> Table:
    """Per table: file, rows read, accepted, quarantined."""
    table = Table(title="Ingest: rows per table", title_justify="left")
    for name, justify in (("table", "left"), ("file", "left"), ("read", "right"),
                          ("accepted", "right"), ("quarantined", "right")):
        table.add_column(name, justify=justify, no_wrap=True)
    for report in reports:
        if report.file is None:
            table.add_row(report.table, "(absent, optional)", "0", "0", "0")
        else:
            table.add_row(report.table, report.file, f"{report.rows_read:,}",
                          f"{report.accepted:,}", f"{report.quarantined:,}")
    return table


def quarantine_table(reports: Iterable[TableReport]) -> Table:
    """Per table and reason: rows quarantined, plus data-quality notes (e.g. dropped tokens)."""
    table = Table(title="Ingest: quarantine reasons and notes", title_justify="left")
    table.add_column("table", no_wrap=True)
    table.add_column("reason")
    table.add_column("rows", justify="right", no_wrap=True)
    for report in reports:
        for reason, n in sorted(report.reasons.items()):
            table.add_row(report.table, reason, f"{n:,}")
        for note, n in sorted(report.notes.items()):
            table.add_row(report.table, f"note: {note}", f"{n:,}")
    return table


def _rows_table(title: str, rows: list[dict], right: tuple[str, ...] = ()) -> Table:
    table = Table(title=title, title_justify="left")
    if not rows:
        return table
    for name in rows[0]:
        table.add_column(name.replace("_", " "), justify="right" if name in right else "left")
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row.values()))
    return table


def published_rows(neighbourhoods: ir.Table | pa.Table) -> list[dict[str, str]]:
    """Printable rows, one per neighbourhood (by key) and then the whole-population row, from
    the *suppressed* planning table (what neighbourhoods.parquet holds).

    Suppressed or withheld counts print as `*`; a share with a zero denominator is `-`
    (undefined). The total row matters on small extracts, where most neighbourhoods' cohorts
    are 1-7.
    """
    if isinstance(neighbourhoods, ir.Table):
        neighbourhoods = neighbourhoods.to_pyarrow()
    published = neighbourhoods.to_pylist()
    rows = sorted((r for r in published if r["level"] == "neighbourhood"),
                  key=lambda r: r["neighbourhood"])
    rows += [r for r in published if r["level"] == "city"]

    def count(value: int | None) -> str:
        return display_suppressed(value, ",")

    def share(row: dict) -> str:
        if row["emergency_bed_days"] == 0:
            return "-"
        return display_suppressed(row["pct_emergency_bed_days_top"], f".{RATE_DECIMALS}f", suffix="%")

    return [
        {
            "neighbourhood": r["neighbourhood"],
            "name": r.get("neighbourhood_name") or r["neighbourhood"],
            "population": count(r["population"]),
            "eligible": count(r["eligible"]),
            "selected": count(r["selected"]),
            "top5_bed_day_share": share(r),
        }
        for r in rows
    ]


def summary_table(neighbourhoods: ir.Table | pa.Table) -> Table:
    """The run's printout from the suppressed planning table (`RunResult.neighbourhoods`): per
    neighbourhood population, eligible, selected and the top 5 %'s share of emergency bed days,
    then the whole population in its own section."""
    table = Table(title="Neighbourhood cohorts (counts rounded to 5; * = 1-7 or withheld against "
                        "differencing)", title_justify="left")
    for header in ("Neighbourhood", "Name", "Population", "Eligible", "Selected",
                   "Top 5% bed-day share"):
        table.add_column(header, justify="left" if header in ("Neighbourhood", "Name") else "right")
    for row in published_rows(neighbourhoods):
        if row["neighbourhood"] == CITY_KEY:
            table.add_section()
        table.add_row(*row.values())
    return table


def calibration_table(rows: list[dict]) -> Table:
    shown = [{"metric": r["metric"], "measured": r["measured"],
              "target": f"{r['target_low']} - {r['target_high']}",
              "ok": "yes" if r["within"] else "NO", "basis": r["basis"]} for r in rows]
    return _rows_table("Synthetic city vs reference magnitudes", shown, right=("measured",))


def codelists_table(rows: list[dict]) -> Table:
    """One row per list with its source and release, so a run's lists are seen at a glance to be
    the packaged starter lists (not for real data) or a current NHS release."""
    keep = ("name", "concept", "system", "match", "codes", "version", "source")
    return _rows_table("Code lists", [{k: r.get(k) for k in keep} for r in rows], right=("codes",))


def codelists_build_table(result) -> Table:
    """`codelists build`: per concept and list, where the codes came from and how many (counts
    only; a codelists.build.BuildResult)."""
    by_name = {r.name: r for r in result.lists}
    rows = []
    for concept, name in result.concepts:
        r = by_name[name]
        rows.append({"concept": concept, "list": name, "status": r.status, "public lists": r.sources,
                     "public codes": r.public_codes, "invalid": r.invalid_codes,
                     "built codes": r.built_codes, "packaged codes": r.packaged_codes,
                     "packaged only": r.packaged_only})
    return _rows_table(f"Code lists built in {result.output}", rows,
                       right=("public codes", "invalid", "built codes", "packaged codes",
                              "packaged only"))


def generate_table(summary) -> Table:
    rows = [{"table": name, "rows": f"{n:,}"} for name, n in sorted(summary.rows.items())]
    rows += [{"table": f"dirt: {name}", "rows": f"{n:,}"} for name, n in sorted(summary.dirt.items())]
    return _rows_table(f"Synthetic city: {summary.patients:,} people, seed {summary.seed}, "
                       f"as of {summary.as_of}", rows, right=("rows",))


def card_table(card: dict) -> Table:
    """Headline model-card figures (evaluation window)."""
    evaluation = card.get("evaluation", card)
    headline = evaluation.get("headline", evaluation)
    rows = [{"metric": k, "value": v} for k, v in headline.items() if isinstance(v, (int, float, str))]
    return _rows_table("Model card: evaluation on the later window", rows, right=("value",))


def status_table(status) -> Table:
    """`npc-risk status`: the published runs, newest first, then the lock and any leftovers."""
    table = Table(title=f"Runs in {status.folder}", title_justify="left")
    for name, justify in (("as of", "left"), ("outcome", "left"), ("published (UTC)", "left"),
                          ("seconds", "right"), ("people", "right"), ("selected", "right"),
                          ("quarantined rows", "right"), ("folder", "left")):
        table.add_column(name, justify=justify)
    for run in status.runs:
        table.add_row(run.as_of, run.outcome,
                      run.published_at.strftime("%Y-%m-%d %H:%M") if run.published_at else "",
                      *(f"{v:,}" if v is not None else "" for v in (run.seconds, run.population, run.selected,
                                                                  run.quarantined)),
                      run.folder + (" (latest)" if run.folder == status.latest else ""))
    table.caption = (f"latest: {status.latest or 'none'}; lock: {status.lock}; leftovers of stopped runs: "
                     f"{', '.join(status.leftovers) if status.leftovers else 'none'}")
    table.caption_justify = "left"
    return table

