"""Human-readable renderings of run reports (counts only, never patient values)."""

from __future__ import annotations

from collections.abc import Iterable

from rich.table import Table

from npc_risk.ingest import TableReport


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


def summary_table(rows: list[dict]) -> Table:
    """Per neighbourhood: population, eligible, selected, top-5% bed-day share (suppressed)."""
    return _rows_table("Neighbourhood cohorts (counts rounded to 5; * = 1-7 or withheld against "
                       "differencing)", rows,
                       right=("population", "eligible", "selected", "top5_bed_day_share"))


def calibration_table(rows: list[dict]) -> Table:
    shown = [{"metric": r["metric"], "measured": r["measured"],
              "target": f"{r['target_low']} - {r['target_high']}",
              "ok": "yes" if r["within"] else "NO", "basis": r["basis"]} for r in rows]
    return _rows_table("Synthetic city vs reference magnitudes", shown, right=("measured",))


def codelists_table(rows: list[dict]) -> Table:
    keep = ("name", "concept", "system", "match", "codes", "version")
    return _rows_table("Code lists", [{k: r.get(k) for k in keep} for r in rows], right=("codes",))


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
