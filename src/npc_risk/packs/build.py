"""`npc-risk pack`: one HTML data pack per neighbourhood, per LCP and for the city, an index page,
a PDF of each, and the tidy data behind every figure.

Input is a published run folder only (patients.parquet, neighbourhoods.parquet, manifest.json and
the model card); no extract is read and no person-level value leaves the run folder: the engine
counts strata (packs/indicators.py), the figures table is disclosure-controlled once
(packs/figures.py) and every page is drawn from that table and from the already-suppressed
neighbourhoods.parquet. Output:

    DIR/index.html                    links to every pack
    DIR/<level>-<key>.html / .pdf     one self-contained page per area (inline SVG charts)
    DIR/pack_data.parquet / .csv      the tidy figures (figures.COLUMNS)
"""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import jinja2
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from npc_risk import __version__, files
from npc_risk.engine import Engine
from npc_risk.errors import InputFileError, OutputError
from npc_risk.packs import pages
from npc_risk.packs.figures import CITY, pack_figures
from npc_risk.packs.indicators import count_conditions, count_strata, planning_population, risk_deciles
from npc_risk.packs.pdf import print_pdfs
from npc_risk.planning.disclosure import SMALL_MAX
from npc_risk.schemas.outputs import PACK_DATA

MAX_WORKERS = 8
REQUIRED = ("patients.parquet", "neighbourhoods.parquet", "manifest.json")
TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("npc_risk.packs", "templates"),
    autoescape=jinja2.select_autoescape(["html", "j2"]), undefined=jinja2.StrictUndefined,
    trim_blocks=True, lstrip_blocks=True,
)


@dataclass
class PackResult:
    output: Path
    pages: list[Path] = field(default_factory=list)
    pdfs: list[Path] = field(default_factory=list)
    figures: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


def slug(level: str, key: str) -> str:
    """File stem of an area's pack: `neighbourhood-U60001`, `lcp-south-leeds-lcp`, `city`."""
    if level == "city":
        return "city"
    return f"{level}-" + (re.sub(r"[^a-z0-9]+", "-", key.lower()).strip("-") or "unnamed")


def build_packs(run_dir: Path, output: Path, *, neighbourhoods: Sequence[str] = (), pdf: bool = True,
                contact: str | None = None, manifest: dict | None = None, workers: int | None = None) -> PackResult:
    """Write the packs of the run in `run_dir` to `output` (module docstring). `neighbourhoods`
    limits the neighbourhood packs to those keys (LCP and city packs are always written).
    `manifest` is the run's manifest when the run itself writes the packs, before its
    manifest.json exists (publish's `before_manifest`); otherwise manifest.json is read.
    `workers`: processes drawing the pages (None: one per core, up to MAX_WORKERS; 1: in this
    process, e.g. under a coverage tracer, which does not follow forked workers)."""
    run_dir, output = Path(run_dir), Path(output)
    needed = REQUIRED if manifest is None else tuple(n for n in REQUIRED if n != "manifest.json")
    missing = [name for name in needed if not (run_dir / name).exists()]
    if missing:
        raise InputFileError(f"{run_dir}: not a published run folder ({', '.join(missing)} missing); pass "
                             "--run OUT/<as-of>, the folder `npc-risk run` published")
    result = PackResult(output)
    started = time.perf_counter()
    if manifest is None:
        manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    with Engine.open() as engine:
        people = planning_population(engine, run_dir)
        strata, conditions = count_strata(engine, people), count_conditions(engine, people)
        risk = risk_deciles(engine, people)
    result.seconds["count"] = time.perf_counter() - started
    started = time.perf_counter()
    table = pack_figures(strata, conditions, risk)
    result.figures = len(table)
    result.seconds["figures"] = time.perf_counter() - started
    started = time.perf_counter()
    planning = pq.read_table(run_dir / "neighbourhoods.parquet").to_pandas()
    previous_day, previous = _previous_planning(run_dir, manifest.get("as_of"))
    if previous is not None:
        planning = planning.merge(
            previous[["level", "neighbourhood", "population"]].rename(columns={"population": "previous_population"}),
            on=["level", "neighbourhood"], how="left")
        context_previous = previous_day
    else:
        planning = planning.assign(previous_population=None)
        context_previous = None
    unknown = sorted(set(neighbourhoods) - set(table.loc[table.level == "neighbourhood", "area"]))
    if unknown:
        raise InputFileError(f"{run_dir / 'patients.parquet'}: no neighbourhood {unknown[0]!r} in this run; "
                             "pass keys from neighbourhoods.parquet's neighbourhood column")
    output.mkdir(parents=True, exist_ok=True)
    context = _shared(manifest, run_dir, contact) | {"previous_as_of": context_previous}
    areas = _areas(table, neighbourhoods)
    result.pages = _render_pages(table, planning, context, areas, output, workers)
    index = TEMPLATES.get_template("index.html.j2").render(
        **context, areas=[{"level": lv, "key": k, "name": n, "file": f"{slug(lv, k)}.html"} for lv, k, n in areas])
    files.write_text(index, output / "index.html")
    _write_tidy(table, output, manifest)
    result.seconds["pages"] = time.perf_counter() - started
    if pdf:
        started = time.perf_counter()
        result.pdfs = print_pdfs(result.pages)
        result.seconds["pdf"] = time.perf_counter() - started
    return result


# The page renderer's inputs, set before the worker processes fork (read-only in them).
_SHARED: dict = {}


def _render_pages(table: pd.DataFrame, planning: pd.DataFrame, context: dict,
                  areas: list[tuple[str, str, str]], output: Path, workers: int | None = None) -> list[Path]:
    """Render and write every page; matplotlib dominates, so pages are spread over the machine's
    cores (forked workers: the figures table is shared, not copied per page). Each page depends
    only on its own area, so the bytes are the same however many workers run."""
    _SHARED.update(table=table, planning=planning, context=context, output=output)
    workers = min(len(areas), workers or os.cpu_count() or 1, MAX_WORKERS)
    try:
        if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
            return [_render_page(area) for area in areas]
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            return list(pool.map(_render_page, areas))
    finally:
        _SHARED.clear()


def _render_page(area: tuple[str, str, str]) -> Path:
    level, key, name = area
    page = _SHARED["output"] / f"{slug(level, key)}.html"
    html = TEMPLATES.get_template("pack.html.j2").render(
        **_SHARED["context"], **pages.page(_SHARED["table"], _SHARED["planning"], level, key, name))
    return files.write_text(html, page)


def _areas(table: pd.DataFrame, only: Sequence[str]) -> list[tuple[str, str, str]]:
    seen = table[["level", "area", "area_name"]].drop_duplicates()
    out = []
    for level in ("city", "lcp", "neighbourhood"):
        for row in seen[seen.level == level].sort_values("area").itertuples():
            if level == "neighbourhood" and only and row.area not in only:
                continue
            out.append((level, row.area, row.area_name))
    return out


def _write_tidy(table: pd.DataFrame, output: Path, manifest: dict) -> None:
    schema = pa.schema([pa.field(c.name, c.type) for c in PACK_DATA.columns])
    arrow = pa.Table.from_pandas(table, schema=schema, preserve_index=False)
    arrow = arrow.replace_schema_metadata({
        b"npc_risk.as_of": str(manifest.get("as_of", "")).encode(), b"npc_risk.version": __version__.encode(),
        b"npc_risk.output": b"pack_data.parquet", b"npc_risk.output_class": b"planning"})
    tmp = output / ".pack_data.parquet.tmp"
    try:
        pq.write_table(arrow, tmp, compression="zstd")
        tmp.replace(output / "pack_data.parquet")
    except OSError as exc:
        raise OutputError(f"{output}: cannot write pack_data.parquet ({exc.strerror}); check the folder "
                          "is writable and has free space") from None
    files.write_text(table.to_csv(index=False, lineterminator="\n"), output / "pack_data.csv")


def _shared(manifest: dict, run_dir: Path, contact: str | None) -> dict:
    """What every page says about the run: as-of date, code lists, model card, suppression."""
    lists = manifest.get("codelists", {})
    card = None
    cards = sorted((run_dir / "model").glob("*.card.json")) if (run_dir / "model").is_dir() else []
    if cards:
        data = json.loads(cards[0].read_text(encoding="utf-8"))
        evaluation = data.get("evaluation", {})
        card = {"auroc": evaluation.get("auroc"), "base_rate": evaluation.get("base_rate"),
                "estimator": data.get("model", {}).get("estimator"), "outcome": data.get("outcome")}
    return {
        "as_of": manifest.get("as_of"), "version": __version__,
        "codelists_packaged": lists.get("packaged"), "codelists_sha": (lists.get("manifest_sha256") or "")[:12],
        "codelists_count": len(lists.get("lists", {})), "card": card, "small_max": SMALL_MAX,
        "contact": contact or "your ICB population health data team (set the contact with `npc-risk pack --contact`)",
        "risk_method": manifest.get("config", {}).get("risk", {}).get("method"),
    }


def _previous_planning(run_dir: Path, as_of: str | None) -> tuple[str | None, pd.DataFrame | None]:
    """The latest earlier run's neighbourhoods.parquet beside this run (same output folder), for
    the change in registered population: (its as-of date, the table) or (None, None). Its counts
    are published (rounded, suppressed) counts, so their difference discloses nothing new."""
    runs = []
    for sibling in Path(run_dir).parent.iterdir() if as_of else ():
        try:
            day = date.fromisoformat(sibling.name)
        except ValueError:
            continue
        if day.isoformat() < as_of and (sibling / "neighbourhoods.parquet").is_file():
            runs.append(day.isoformat())
    if not runs:
        return None, None
    day = max(runs)
    try:
        return day, pq.read_table(Path(run_dir).parent / day / "neighbourhoods.parquet").to_pandas()
    except (OSError, pa.ArrowException):  # an unreadable old run: no change shown, not an error
        return None, None


__all__ = ["CITY", "PackResult", "build_packs", "slug"]
