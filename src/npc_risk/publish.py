"""Publish a run: write every output into a staging folder, then rename it into place.

Layout of `<output_root>/<as_of>/` (docs/architecture.md, "Run outputs"):

| file | rows | class |
|---|---|---|
| patients.parquet | one per person in the population (`PATIENT_COLUMNS`; no NHS number) | internal, owner-only |
| cohort/neighbourhood=<key>/part-0.parquet | the case-finding list (`COHORT_FILE_COLUMNS`) | case-finding, owner-only, not suppressed |
| neighbourhoods.parquet | one per neighbourhood, then per LCP, then the city (`level`), suppressed (datapack.publishable_neighbourhoods) | planning |
| evidence.parquet | the features' audit table | internal, owner-only |
| quarantine/ | copied from ingest's quarantine folder | internal, owner-only |
| manifest.json | the caller's dict + `outputs` (sha256, rows, bytes per file) + `provenance` | |

Contract:
* Atomic: nothing is visible at `<as_of>/` until every file is written; `io.publish_folder` then
  swaps the staging folder in with one rename. On any failure the staging folder is removed and
  a previous output for the same date is left untouched.
* Deterministic: rows are sorted by a total key before writing and the Arrow chunks are
  combined, so identical inputs give byte-identical Parquet files and an identical manifest
  (as long as the caller's manifest dict is itself deterministic: no wall-clock times).
* Provenance (as_of, package version, config hash, output name, output class) is stamped into
  every Parquet footer under `npc_risk.*` keys.

Traps:
* `pyarrow.parquet.write_to_dataset` names files `<random guid>-0.parquet`, which would break
  byte-identical reruns and the manifest; the cohort partitions are therefore written one
  neighbourhood at a time through `io.write_parquet` with fixed names. Partition values are
  percent-encoded as pyarrow's Hive reader expects (`LCP A&B` -> `LCP%20A%26B`).
* Writing with Parquet metadata goes through Arrow in memory (io.write_parquet); on 1M people the
  evidence table is the largest.
* `previous_run` and the quarantine copy read Parquet with pyarrow here because io.py has no
  typed reader yet (io.read_raw casts every column to text); they are the only reads in this module.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import urllib.parse
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc
from rich.table import Table as RichTable

from npc_risk import __version__, io
from npc_risk.datapack import CITY_KEY, publishable_neighbourhoods, row_order
from npc_risk.errors import SchemaError
from npc_risk.features.utilisation import HISTORY_COLUMNS, UTILISATION_COLUMNS
from npc_risk.suppression import RATE_DECIMALS, SUPPRESSED_MARK

PATIENT_COLUMNS = (
    "patient_id", "practice_code", "neighbourhood", "age", "sex", "imd_decile", "ltc_count",
    "ltc_conditions", "efi_deficits", "efi_score", "efi_category", "hfrs_score",
    "hfrs_category", *UTILISATION_COLUMNS, *HISTORY_COLUMNS, "risk_score", "eligible", "exclusion_reason",
    "neighbourhood_rank", "in_cohort", "drivers",
)
COHORT_FILE_COLUMNS = (
    "nhs_number", "patient_id", "practice_code", "neighbourhood_rank", "risk_score", "drivers",
    "ltc_conditions", "efi_category",
)
EVIDENCE_SORT = ("patient_id", "feature", "code", "first_date", "last_date", "source")
PARTITION = "neighbourhood"
log = logging.getLogger(__name__)
SUPPRESSION_NOTE = (
    "counts: 0 stays 0, 1-7 null (suppressed), >=8 nearest 5; LCP and city totals from "
    "unrounded data; rates from unrounded values, null when numerator or denominator is 1-7 or "
    "the denominator is 0; one decimal place; complementary cells also null so that no "
    "suppressed cell can be recovered by subtraction from a total (see npc_risk.suppression)"
)


def config_hash(manifest: Mapping[str, Any]) -> str:
    """`manifest["config_hash"]` if given, else sha256 of canonical JSON of `manifest["config"]`."""
    if manifest.get("config_hash"):
        return str(manifest["config_hash"])
    text = json.dumps(manifest.get("config", {}), sort_keys=True, default=_json_default)
    return hashlib.sha256(text.encode()).hexdigest()


def publish_run(
    *,
    output_root: Path,
    as_of: date,
    patients: ir.Table,
    cohort: ir.Table,
    neighbourhoods: ir.Table,
    evidence: ir.Table,
    quarantine_dir: Path | None,
    manifest: dict[str, Any],
    extra_files: Mapping[str, Path] | None = None,
) -> Path:
    """Write the run's outputs to `<output_root>/<as_of>/` atomically; return that folder.

    `extra_files` (relative name -> source file, e.g. the model and its card) are copied into
    the staging folder too, so they are published in the same rename as everything else.

    `patients` and `cohort` are `CohortResult.patients` / `.cohort`, `neighbourhoods` is the
    *suppressed* `datapack.publishable_neighbourhoods(...)`, `evidence` the features' audit table.
    """
    output_root = Path(output_root)
    _require(patients, PATIENT_COLUMNS, "patients")
    _require(cohort, (PARTITION, *COHORT_FILE_COLUMNS), "cohort")
    _require(evidence, EVIDENCE_SORT, "evidence")
    _require(neighbourhoods, (PARTITION,), "neighbourhoods")
    provenance = {
        "as_of": as_of.isoformat(),
        "version": __version__,
        "config_hash": config_hash(manifest),
    }
    final = output_root / as_of.isoformat()
    staging = output_root / f".staging-{as_of.isoformat()}-{os.getpid()}"
    if staging.exists():  # left by a crashed run that had our pid
        shutil.rmtree(staging)
    io.private_dir(staging)
    try:
        outputs: dict[str, dict[str, Any]] = {}

        def stamp(name: str, output_class: str) -> dict[str, str]:
            meta = {f"npc_risk.{k}": v for k, v in provenance.items()}
            meta.update({"npc_risk.output": name, "npc_risk.output_class": output_class})
            return meta

        def write(table: ir.Table | pa.Table, name: str, keys: Sequence[str | ir.Value], cls: str,
                  extra: Mapping[str, str] | None = None) -> None:
            arrow = _sorted_arrow(table, keys)
            meta = stamp(name, cls) | dict(extra or {})
            path = io.write_parquet(arrow, staging / name, metadata=meta)
            outputs[name] = _describe(path, arrow.num_rows)

        write(patients.select(*PATIENT_COLUMNS), "patients.parquet", ("patient_id",), "internal")
        write(neighbourhoods, "neighbourhoods.parquet", row_order(neighbourhoods), "planning",
              {"npc_risk.suppression": SUPPRESSION_NOTE})
        extra_columns = [c for c in evidence.columns if c not in EVIDENCE_SORT]
        evidence_columns = (*EVIDENCE_SORT, *extra_columns)  # sort by every column: total order
        write(evidence.select(*evidence_columns), "evidence.parquet", evidence_columns, "internal")
        cohort_arrow = _sorted_arrow(
            cohort.select(PARTITION, *COHORT_FILE_COLUMNS), (PARTITION, "neighbourhood_rank")
        )
        outputs.update(
            _write_cohort(cohort_arrow, staging / "cohort", stamp("cohort", "case-finding"))
        )
        outputs.update(_copy_quarantine(quarantine_dir, staging / "quarantine"))
        for name, source in sorted((extra_files or {}).items()):
            target = staging / name
            io.private_dir(target.parent)
            shutil.copyfile(source, target)
            os.chmod(target, io.PRIVATE_FILE_MODE)
            outputs[name] = _describe(target, 0)
        full = dict(manifest)
        full["provenance"] = provenance
        full["outputs"] = outputs
        text = json.dumps(full, sort_keys=True, indent=2, default=_json_default) + "\n"
        io.write_text(text, staging / "manifest.json")
        io.publish_folder(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    cohort_rows = sum(v["rows"] for k, v in outputs.items() if k.startswith("cohort/"))
    people = outputs["patients.parquet"]["rows"]
    log.info("publish: %s people, %s in cohort lists, %s files -> %s",
             f"{people:,}", f"{cohort_rows:,}", len(outputs) + 1, final)
    return final


def previous_run(output_root: Path, as_of: date) -> ir.Table | None:
    """The cohort of the latest published run strictly before `as_of`, or None.

    Returns an in-memory table (patient_id, neighbourhood, in_cohort) holding only the rows with
    in_cohort true (all `select_cohort`'s change report needs: a few % of the population), so it
    joins with `scored` on any backend. Run folders are recognised by ISO-date names holding a
    patients.parquet; staging, `.previous` and other folders are ignored.

    Trap: read with pyarrow, not `con.read_parquet`: ibis 12's DuckDB `read_parquet` calls
    `fetch_arrow_table()`, deprecated in DuckDB 2.0, which fails under warnings-as-errors.
    """
    output_root = Path(output_root)
    if not output_root.is_dir():
        return None
    runs = []
    for child in output_root.iterdir():
        try:
            day = date.fromisoformat(child.name)
        except ValueError:
            continue
        if day < as_of and (child / "patients.parquet").is_file():
            runs.append((day, child / "patients.parquet"))
    if not runs:
        return None
    columns = ["patient_id", "neighbourhood", "in_cohort"]
    arrow = io.read_arrow(max(runs)[1], columns=columns, filters=[("in_cohort", "==", True)])
    return ibis.memtable(arrow.replace_schema_metadata(None))


def summary_rows(stats: ir.Table | pa.Table) -> list[dict[str, str]]:
    """Printable rows, one per neighbourhood and then the whole-population row, from
    `datapack.neighbourhood_statistics(...)`.

    The printout is seen outside the practice, so it shows exactly what neighbourhoods.parquet
    publishes (datapack.publishable_neighbourhoods: rounded, 1-7 and the complementary cells of
    the differencing guard as `*`); a share with a zero denominator is `-` (undefined). The
    total row matters on small extracts, where most neighbourhoods' cohorts are 1-7.
    """
    table = ibis.memtable(stats) if isinstance(stats, pa.Table) else stats
    published = publishable_neighbourhoods(table).to_pyarrow().to_pylist()
    rows = sorted((r for r in published if r["level"] == "neighbourhood"),
                  key=lambda r: r["neighbourhood"])
    rows += [r for r in published if r["level"] == "city"]

    def count(value: int | None) -> str:
        return SUPPRESSED_MARK if value is None else f"{value:,}"

    def share(row: dict) -> str:
        if row["emergency_bed_days"] == 0:
            return "-"
        value = row["pct_emergency_bed_days_top"]
        return SUPPRESSED_MARK if value is None else f"{value:.{RATE_DECIMALS}f}%"

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


def summary_table(stats: ir.Table | pa.Table) -> RichTable:
    """A rich table for the CLI: per neighbourhood population, eligible, selected and the top 5 %'s
    share of emergency bed days, all suppressed (the printout is seen outside the practice)."""
    table = RichTable(title="Neighbourhood cohorts (counts rounded to 5; * = 1-7 or withheld "
                            "against differencing)")
    for header in ("Neighbourhood", "Name", "Population", "Eligible", "Selected",
                   "Top 5% bed-day share"):
        table.add_column(header, justify="left" if header in ("Neighbourhood", "Name") else "right")
    for row in summary_rows(stats):
        if row["neighbourhood"] == CITY_KEY:
            table.add_section()
        table.add_row(*row.values())
    return table


# ------------------------------------------------------------------------------------ helpers
def _require(table: ir.Table, columns: Sequence[str], name: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise SchemaError(f"{name} table lacks column(s) {missing}; cannot publish the run")


def _sorted_arrow(table: ir.Table | pa.Table, keys: Sequence[str | ir.Value]) -> pa.Table:
    if isinstance(table, ir.Table):
        table = table.order_by(list(keys)).to_pyarrow()
    else:
        table = table.sort_by([(k, "ascending") for k in keys])
    return table.combine_chunks()


def _describe(path: Path, rows: int) -> dict[str, Any]:
    return {"sha256": io.file_sha256(path), "rows": rows, "bytes": path.stat().st_size}


def _write_cohort(arrow: pa.Table, folder: Path, metadata: dict[str, str]) -> dict[str, Any]:
    """One Hive partition per neighbourhood, fixed file names (see module trap)."""
    io.private_dir(folder)
    outputs = {}
    body = arrow.drop_columns([PARTITION])
    keys = arrow.column(PARTITION)
    for value in sorted(set(keys.to_pylist())):
        part = body.filter(pc.equal(keys, value))
        segment = f"{PARTITION}={urllib.parse.quote(str(value), safe='')}"
        path = io.write_parquet(part, folder / segment / "part-0.parquet", metadata=metadata)
        outputs[f"cohort/{segment}/part-0.parquet"] = _describe(path, part.num_rows)
    return outputs


def _copy_quarantine(source: Path | None, target: Path) -> dict[str, Any]:
    """Re-write ingest's quarantine files owner-only under `target` (always created)."""
    io.private_dir(target)
    outputs = {}
    if source is None or not Path(source).is_dir():
        return outputs
    source = Path(source)
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        if path.name.startswith("."):
            continue
        rel = path.relative_to(source)
        dest = target / rel
        if path.suffix.lower() == ".parquet":
            table = io.read_arrow(path)
            io.write_parquet(table, dest)
            rows = table.num_rows
        else:
            text = path.read_text(encoding="utf-8")
            io.private_dir(dest.parent)
            io.write_text(text, dest, private=True)
            rows = max(len(text.splitlines()) - 1, 0)  # CSV: minus the header row
        outputs[f"quarantine/{rel.as_posix()}"] = _describe(dest, rows)
    return outputs


def _json_default(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return sorted(value) if isinstance(value, set | frozenset) else list(value)
    raise TypeError(f"manifest value of type {type(value).__name__} is not JSON-serialisable")
