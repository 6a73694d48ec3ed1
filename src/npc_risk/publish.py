"""Publish a run: write every output into a staging folder, then rename it into place.

Layout of `<output_root>/<as_of>/` (docs/architecture.md, "Run outputs"); the columns, types,
sort keys and output classes of the four tables are declared in schemas/outputs.py:

| file | rows | class |
|---|---|---|
| patients.parquet | one per person in the population (no NHS number) | internal, owner-only |
| cohort/neighbourhood=<key>/part-0.parquet | the case-finding list | case-finding, owner-only, not suppressed |
| neighbourhoods.parquet | per neighbourhood, LCP, then the city (`level`), suppressed (datapack) | planning |
| evidence.parquet | the features' audit table | internal, owner-only |
| quarantine/ | copied from ingest's quarantine folder | internal, owner-only |
| manifest.json | the caller's dict + `outputs` (sha256, rows, bytes per file) + `provenance` | |

Contract:
* Declared: each table is written with exactly its declared columns, in the declared order,
  sorted by its declared key; an Arrow type that differs from the declaration raises TypeError
  (a bug in our code, not a user error). Columns the caller's tables hold beyond the declaration
  (e.g. the per-condition `ltc_*` flags) are not published.
* Atomic, one rename (`swap_in`): every file is written into `<output_root>/.staging-<as_of>-<pid>/`,
  which is renamed to `runs/<as_of>.<n>` (n = 1, 2, ... per date: nothing names it yet), and
  then `<output_root>/<as_of>` (a relative symlink to it) is replaced in one `os.replace` of a
  fresh symlink. Readers of `<as_of>/` see the old run or the new one, never a mixture and
  never nothing; the previous run of the date stays in `runs/` (a rollback target) until
  `prune_runs` removes it. On any failure the staging folder is removed and the previous output
  is left untouched; an OSError while writing (disk full, permissions) is an OutputError (exit 8).
* `latest` (`<output_root>/latest`, a symlink to `runs/<as_of>.<n>`) moves, by the same
  symlink-and-replace, only after the date's link names the complete run, and only forward: a
  backfill of an earlier date does not move it back.
* A `<as_of>/` that is a real folder (the layout before `runs/`) becomes `runs/<as_of>.0` when
  its date is published again; until then it is read as it is, and never pruned.
* Deterministic: rows are sorted by the declared total key before writing and cut into row
  groups of a fixed number of rows (files.write_batches), so identical inputs give
  byte-identical Parquet files and an identical manifest (as long as the caller's manifest dict
  is itself deterministic: no wall-clock times).
* Streamed: each output's sorted rows come from the engine as Arrow batches
  (`engine.record_batches`), are type-checked batch by batch and written a row group at a time
  (files.write_batches); no output is ever whole in this process (on Spark, the driver holds one
  partition and one row group at a time; docs/scaling.md). The cohort's partitions are cut from
  the same stream, which is sorted by neighbourhood first.
* Provenance (as_of, package version, config hash, output name, output class) is stamped into
  every Parquet footer under `npc_risk.*` keys.

Traps:
* `pyarrow.parquet.write_to_dataset` names files `<random guid>-0.parquet`, which would break
  byte-identical reruns and the manifest; the cohort partitions are therefore written one
  neighbourhood at a time through `files.write_parquet` with fixed names. Partition values are
  percent-encoded as pyarrow's Hive reader expects (`LCP A&B` -> `LCP%20A%26B`).
* The row group size must stay pyarrow's `pq.write_table` default (files.ROW_GROUP_ROWS): the
  published bytes, pinned by tests/functional/test_published_bytes.py, depend on it.
* Quarantine files arrive from Spark as folders of part files (`apcs.parquet/part-00000-...`,
  `_SUCCESS`, `.crc`): `_copy_quarantine` publishes each as one file of the same name as on
  DuckDB, rows sorted by every column, no Spark footer metadata, and DuckDB's nullability (the
  `reason` required), so both engines publish the same bytes.
* `previous_run` and the quarantine copy read Parquet with pyarrow here because files.py has no
  typed reader yet (files.read_raw casts every column to text); they are the only reads in this module.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import shutil
import urllib.parse
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc

from npc_risk import __version__, files
from npc_risk.engine import record_batches
from npc_risk.errors import OutputError, SchemaError
from npc_risk.hashing import file_sha256, text_sha256
from npc_risk.runlock import crash_point
from npc_risk.schemas.outputs import COHORT, EVIDENCE, NEIGHBOURHOODS, PATIENTS, Output

PARTITION = COHORT.partition
RUNS = "runs"  # <output_root>/runs/<as_of>.<n>/: the run folders the date links and `latest` name
LATEST = "latest"
log = logging.getLogger(__name__)
SUPPRESSION_NOTE = (
    "counts: 0 stays 0, 1-7 null (suppressed), >=8 nearest 5; LCP and city totals from "
    "unrounded data; rates from unrounded values, null when numerator or denominator is 1-7 or "
    "the denominator is 0; one decimal place; complementary cells also null so that no "
    "suppressed cell can be recovered by subtraction from a total (see npc_risk.planning.disclosure)"
)


def config_hash(manifest: Mapping[str, Any]) -> str:
    """`manifest["config_hash"]` if given, else sha256 of canonical JSON of `manifest["config"]`."""
    if manifest.get("config_hash"):
        return str(manifest["config_hash"])
    return text_sha256(json.dumps(manifest.get("config", {}), sort_keys=True, default=_json_default))


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
    include: Collection[str] = ("patients", "cohort", "neighbourhoods", "evidence"),
    before_manifest: Callable[[Path, dict[str, Any]], Mapping[str, dict[str, Any]]] | None = None,
) -> Path:
    """Write the run's outputs to `<output_root>/<as_of>/` atomically; return that folder.

    `include` names the tables to publish (`[pipeline] outputs`); manifest.json and quarantine/
    are always written.

    `extra_files` (relative name -> source file, e.g. the model and its card) are copied into
    the staging folder too, so they are published in the same rename as everything else.

    `before_manifest(staging, manifest)`, when given, runs once every table and extra file is in
    the staging folder and may write more there (the data packs); it returns {relative path:
    description} for what it wrote, recorded under the manifest's `outputs` like the rest.

    `patients` and `cohort` are `CohortResult.patients` / `.cohort`, `neighbourhoods` is the
    *suppressed* `datapack.publishable_neighbourhoods(...)`, `evidence` the features' audit table.
    """
    output_root = Path(output_root)
    for table, spec in ((patients, PATIENTS), (cohort, COHORT), (evidence, EVIDENCE),
                        (neighbourhoods, NEIGHBOURHOODS)):
        _require(table, spec.names, spec.name)
    provenance = {
        "as_of": as_of.isoformat(),
        "version": __version__,
        "config_hash": config_hash(manifest),
    }
    final = output_root / as_of.isoformat()
    staging = output_root / f".staging-{as_of.isoformat()}-{os.getpid()}"
    if staging.exists():  # left by a crashed run that had our pid
        shutil.rmtree(staging)
    files.private_dir(staging)
    try:
        outputs: dict[str, dict[str, Any]] = {}

        def stamp(name: str, output_class: str) -> dict[str, str]:
            meta = {f"npc_risk.{k}": v for k, v in provenance.items()}
            meta.update({"npc_risk.output": name, "npc_risk.output_class": output_class})
            return meta

        def write(table: ir.Table, spec: Output, extra: Mapping[str, str] | None = None) -> None:
            rows = _Rows()
            meta = stamp(spec.path, spec.output_class) | dict(extra or {})
            with _declared_batches(table, spec, rows) as batches:
                path = files.write_parquet(batches, staging / spec.path, metadata=meta)
            outputs[spec.path] = _describe(path, rows.count)

        if PATIENTS.name in include:
            write(patients, PATIENTS)
        if NEIGHBOURHOODS.name in include:
            write(neighbourhoods, NEIGHBOURHOODS, {"npc_risk.suppression": SUPPRESSION_NOTE})
        if EVIDENCE.name in include:
            write(evidence, EVIDENCE)
        if COHORT.name in include:
            with _declared_batches(cohort, COHORT) as batches:
                outputs.update(_write_cohort(batches, staging / "cohort",
                                             stamp(COHORT.name, COHORT.output_class)))
        outputs.update(_copy_quarantine(quarantine_dir, staging / "quarantine"))
        for name, source in sorted((extra_files or {}).items()):
            target = staging / name
            files.private_dir(target.parent)
            shutil.copyfile(source, target)
            os.chmod(target, files.PRIVATE_FILE_MODE)
            outputs[name] = _describe(target, 0)
        if before_manifest is not None:
            outputs.update(before_manifest(staging, manifest))
        full = dict(manifest)
        full["provenance"] = provenance
        full["outputs"] = outputs
        text = json.dumps(full, sort_keys=True, indent=2, default=_json_default) + "\n"
        files.write_text(text, staging / "manifest.json")
        crash_point("written")
        swap_in(staging, output_root, as_of)
    except OSError as exc:  # writing the outputs (disk full, permissions): not a bug
        shutil.rmtree(staging, ignore_errors=True)
        raise OutputError(
            f"{output_root}: cannot write the run's outputs ({exc.strerror or type(exc).__name__});"
            " check the output folder is writable and has free space. The previous output is "
            "unchanged"
        ) from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    cohort_rows = sum(v["rows"] for k, v in outputs.items() if k.startswith("cohort/"))
    log.info("publish: %s in cohort lists, %s files -> %s", f"{cohort_rows:,}", len(outputs) + 1,
             final)
    return final


def previous_run(output_root: Path, as_of: date) -> ir.Table | None:
    """The cohort of the latest published run strictly before `as_of`, or None.

    Returns an in-memory table (patient_id, neighbourhood, in_cohort) holding only the rows with
    in_cohort true (all `select_cohort`'s change report needs: a few % of the population), so it
    joins with `scored` on any backend. Runs are recognised by ISO-date names holding a
    patients.parquet (the date links to `runs/<as_of>.<n>`, or folders of the layout before
    `runs/`); `runs/` itself, `latest`, staging and other folders are ignored. A latest run whose
    patients.parquet cannot be read (truncated, not Parquet, columns missing) gives None and a
    warning (counts and names only), not an error.

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
    day, path = max(runs)
    try:
        arrow = files.read_arrow(path, columns=columns, filters=[("in_cohort", "==", True)])
    except (OSError, pa.ArrowException) as exc:
        # A damaged file in yesterday's output must not stop tonight's run after all its work
        # (issue 10, finding 6): the change report then counts everyone as new.
        log.warning("previous run %s: patients.parquet cannot be read (%s); the cohort change "
                    "report treats this run as the first", day.isoformat(), type(exc).__name__)
        return None
    return ibis.memtable(arrow.replace_schema_metadata(None))


# ------------------------------------------------------------------ the run folders and links
def swap_in(staging: Path, output_root: Path, as_of: date) -> Path:
    """Publish a fully written staging folder: rename it to `runs/<as_of>.<n>`, then point
    `<as_of>` and (forward only) `latest` at it, each with one atomic symlink replace (module
    docstring). Returns the run folder."""
    output_root = Path(output_root)
    runs = files.private_dir(output_root / RUNS)
    folder = runs / f"{as_of.isoformat()}.{_next_sequence(runs, as_of)}"
    os.rename(staging, folder)  # complete, and nothing names it yet
    crash_point("renamed")
    link = output_root / as_of.isoformat()
    try:
        if link.is_dir() and not link.is_symlink():  # the layout before runs/
            os.rename(link, runs / f"{as_of.isoformat()}.0")
        _point(link, folder)
    except OSError:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    crash_point("linked")
    current = latest_run(output_root)
    if current is None or _run_key(current)[0] <= as_of:
        _point(output_root / LATEST, folder)
    crash_point("latest")
    return folder


def latest_run(output_root: Path) -> Path | None:
    """The run folder `latest` names (`runs/<as_of>.<n>`), or None (no run yet, or a link that
    names no folder)."""
    link = Path(output_root) / LATEST
    if not link.is_symlink():
        return None
    target = Path(output_root) / os.readlink(link)
    return target if target.is_dir() and _run_key(target) is not None else None


def published_runs(output_root: Path) -> list[Path]:
    """Every complete run folder in `runs/`, oldest first (as-of date, then sequence)."""
    runs = Path(output_root) / RUNS
    found = [p for p in runs.iterdir() if _run_key(p) is not None and p.is_dir()] if runs.is_dir() else []
    return sorted(found, key=_run_key)


def prune_runs(output_root: Path, keep: int) -> list[str]:
    """Keep the `keep` newest run folders of `runs/` (by as-of date, then sequence) and the one
    `latest` names; remove the others and the date links that named them. `keep` 0 keeps all.
    Returns the names removed. Call it under the run lock, after a successful publish.

    Each removal is crash-safe: the folder is first renamed `runs/.pruning-<name>` (a leftover
    the next run removes), then its date link is unlinked, then the folder deleted."""
    if keep <= 0:
        return []
    output_root = Path(output_root)
    runs = published_runs(output_root)
    protected = set(runs[-keep:]) | {latest_run(output_root)}
    removed = []
    for folder in runs:
        if folder in protected:
            continue
        doomed = folder.with_name(f".pruning-{folder.name}")
        os.rename(folder, doomed)
        for link in output_root.iterdir():
            if link.is_symlink() and os.readlink(link) == f"{RUNS}/{folder.name}":
                link.unlink()
        shutil.rmtree(doomed)
        removed.append(folder.name)
    if removed:
        log.info("publish: removed %d older run(s) (keep %d)", len(removed), keep)
    return removed


def _run_key(folder: Path) -> tuple[date, int] | None:
    """(as-of date, sequence) of a `runs/<as_of>.<n>` folder name, else None."""
    day, _, sequence = folder.name.rpartition(".")
    try:
        return date.fromisoformat(day), int(sequence)
    except ValueError:
        return None


def _next_sequence(runs: Path, as_of: date) -> int:
    taken = [key[1] for p in runs.iterdir() if (key := _run_key(p)) and key[0] == as_of]
    return max(taken, default=0) + 1


def _point(link: Path, folder: Path) -> None:
    """Make `link` a relative symlink to `folder` with one atomic replace (a `.link-*` temp
    symlink beside it, a leftover if we are killed between the two calls)."""
    tmp = link.with_name(f".link-{link.name}-{os.getpid()}")
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(os.path.relpath(folder, link.parent), tmp)
    os.replace(tmp, link)


# ------------------------------------------------------------------------------------ helpers
def _require(table: ir.Table, columns: Sequence[str], name: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise SchemaError(f"{name} table lacks column(s) {missing}; cannot publish the run")


class _Rows:
    """Counts the rows of a stream as they pass (for the manifest)."""

    def __init__(self) -> None:
        self.count = 0


@contextmanager
def _declared_batches(table: ir.Table, spec: Output, rows: _Rows | None = None) -> Iterator[pa.RecordBatchReader]:
    """The declared columns in the declared order, sorted by the declared key, streamed from the
    engine as Arrow batches (`engine.record_batches`, closed on leaving the block), each checked
    against the declaration as it passes (`_checked`)."""
    table = table.select(*spec.names)
    with record_batches(table.order_by(_sort_keys(table, spec))) as stream:
        yield pa.RecordBatchReader.from_batches(stream.schema, _checked(stream, spec, rows))


def _checked(batches: pa.RecordBatchReader, spec: Output, rows: _Rows | None = None) -> Iterator[pa.RecordBatch]:
    """`batches` unchanged, after checking the stream's schema and then every batch's Arrow types
    against `spec`: TypeError (a bug, not a user error) naming the table and column of the first
    mismatch, whichever batch it is in. `rows` counts the rows that passed."""
    _check_types(batches.schema, spec)
    for batch in batches:
        _check_types(batch.schema, spec)
        if rows is not None:
            rows.count += batch.num_rows
        yield batch


def _check_types(schema: pa.Schema, spec: Output) -> None:
    for column in spec.columns:
        actual = schema.field(column.name).type
        if actual != column.type:
            raise TypeError(
                f"{spec.name}.{column.name} is {actual} but schemas/outputs.py declares "
                f"{column.type}: the code that builds {spec.name} and the declaration disagree")


def _sort_keys(table: ir.Table, spec: Output) -> list[ir.Value]:
    """`spec.sort_key`; a column with a declared value `order` sorts in that order."""
    keys = []
    for name in spec.sort_key:
        order = spec.column(name).order
        keys.append(table[name].cases(*((v, i) for i, v in enumerate(order)), else_=len(order))
                    if order else table[name])
    return keys


def _describe(path: Path, rows: int) -> dict[str, Any]:
    return {"sha256": file_sha256(path), "rows": rows, "bytes": path.stat().st_size}


def _write_cohort(batches: pa.RecordBatchReader, folder: Path, metadata: dict[str, str]) -> dict[str, Any]:
    """One Hive partition per neighbourhood, fixed file names (see module trap), cut from the
    cohort's stream (sorted by neighbourhood first, so each neighbourhood's rows are contiguous):
    one partition file is open at a time."""
    files.private_dir(folder)
    outputs = {}
    names = [n for n in batches.schema.names if n != PARTITION]
    body = pa.schema([batches.schema.field(n) for n in names])
    done: set[str] = set()
    for value, pieces in itertools.groupby(_partition_runs(batches, names), key=lambda run: run[0]):
        if value in done:  # the stream is not sorted by the partition: a bug in _sort_keys
            raise RuntimeError(f"cohort rows of one {PARTITION} are not contiguous")
        done.add(value)
        rows = _Rows()

        def counted(runs=pieces, rows=rows) -> Iterator[pa.RecordBatch]:
            for _, part in runs:
                rows.count += part.num_rows
                yield part

        segment = f"{PARTITION}={urllib.parse.quote(str(value), safe='')}"
        path = files.write_parquet(pa.RecordBatchReader.from_batches(body, counted()),
                                   folder / segment / "part-0.parquet", metadata=metadata)
        outputs[f"cohort/{segment}/part-0.parquet"] = _describe(path, rows.count)
    return outputs


def _partition_runs(batches: pa.RecordBatchReader, names: list[str]) -> Iterator[tuple[Any, pa.RecordBatch]]:
    """(partition value, the batch's rows of it without the partition column), in stream order."""
    for batch in batches:
        keys = batch.column(PARTITION)
        for value in pc.unique(keys).to_pylist():
            yield value, batch.filter(pc.equal(keys, value)).select(names)


def _copy_quarantine(source: Path | None, target: Path) -> dict[str, Any]:
    """Re-write ingest's quarantine files owner-only under `target` (always created).

    Each `<name>.parquet` is published as one file of that name on every engine, whether ingest
    wrote a file (DuckDB) or a folder of part files (Spark): its rows sorted by every column in
    column order (nulls last; the order ingest writes them in), the schema without footer
    metadata (Spark's `org.apache.spark.sql.parquet.row.metadata`), and the fields a quarantine
    row always has (`_NEVER_NULL`) marked required in a file with rows, every other field
    optional. That is the schema DuckDB writes (it infers NOT NULL from ingest's filter on the
    reason, and the malformed-lines table is NOT NULL throughout), whose bytes are pinned; Spark
    marks every field optional. Other files (CSV) are copied as text."""
    files.private_dir(target)
    outputs = {}
    if source is None or not Path(source).is_dir():
        return outputs
    source = Path(source)
    for path in _quarantine_entries(source):
        rel = path.relative_to(source)
        dest = target / rel
        if path.name.lower().endswith(".parquet"):
            table = _quarantine_rows(path)
            files.write_parquet(table, dest)
            rows = table.num_rows
        else:
            text = path.read_text(encoding="utf-8")
            files.private_dir(dest.parent)
            files.write_text(text, dest, private=True)
            rows = max(len(text.splitlines()) - 1, 0)  # CSV: minus the header row
        outputs[f"quarantine/{rel.as_posix()}"] = _describe(dest, rows)
    return outputs


def _quarantine_entries(folder: Path) -> Iterator[Path]:
    """The quarantine's files, a Spark `*.parquet` folder counting as one; hidden ones skipped."""
    for path in sorted(folder.iterdir()):
        if path.name.startswith("."):
            continue
        if path.is_dir() and not path.name.lower().endswith(".parquet"):
            yield from _quarantine_entries(path)
        elif path.is_file() or path.is_dir():
            yield path


# The fields every quarantined row has, per kind of quarantine file (ingest.py): marked required
# in a published file with rows (see _copy_quarantine).
_NEVER_NULL = {"malformed_lines": frozenset({"line", "reason", "text"}), "rows": frozenset({"reason"})}


def _quarantine_rows(path: Path) -> pa.Table:
    """One quarantine table (a file or a folder of part files), normalised as `_copy_quarantine`
    says."""
    parts = [files.read_arrow(part) for part in files.parquet_parts(path)]
    if not parts:  # Spark writes one part file even for no rows: a folder without one is a bug
        raise RuntimeError(f"{path.name}: no Parquet part file in the quarantine folder")
    rows = sum(part.num_rows for part in parts)
    never_null = _NEVER_NULL["malformed_lines" if path.name.endswith(".malformed_lines.parquet") else "rows"]
    schema = pa.schema([field.with_nullable(not (rows and field.name in never_null))
                        for field in parts[0].schema])
    table = pa.concat_tables([part.replace_schema_metadata(None).cast(schema) for part in parts])
    keys = [(name, "ascending") for name in table.column_names]  # nulls last: Arrow's default
    return table.sort_by(keys).combine_chunks() if table.num_rows else table


def _json_default(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return sorted(value) if isinstance(value, set | frozenset) else list(value)
    raise TypeError(f"manifest value of type {type(value).__name__} is not JSON-serialisable")
