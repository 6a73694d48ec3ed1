"""Patient files: the only module that reads or writes patient rows (named `files`, not `io`,
so that it never shadows the standard library).

Everything else works on ibis expressions (set logic, run by the engine) or on aggregates. Files
holding patient-level rows are written owner-only (0600 in 0700 folders), and each file is written
to a temporary name first and renamed into place, so a crash never leaves half a file behind.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import ibis
import pyarrow as pa
import pyarrow.parquet as pq

from npc_risk.errors import InputFileError, OutputError

if TYPE_CHECKING:
    from npc_risk.engine import Engine

PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700
SUPPORTED_SUFFIXES = (".parquet", ".csv")


# ------------------------------------------------------------------------------------ extracts
def extract_files(folder: Path) -> dict[str, Path]:
    """Map table name -> file for an extract folder holding `<table>.parquet` or `<table>.csv`."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputFileError(
            f"{folder}: extract folder not found; pass --input with a folder holding "
            "<table>.parquet or <table>.csv files"
        )
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or not path.is_file():
            continue
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            continue
        name = path.stem
        if name in found:
            raise InputFileError(
                f"{path}: table {name!r} is given twice ({found[name].name} and {path.name}); "
                "keep one file per table"
            )
        found[name] = path
    return found


def read_raw(engine: Engine, path: Path, *, name: str) -> ibis.Table:
    """Register a CSV or Parquet file as a table.

    CSV is read with every column as text, so that ingest can quarantine a row with an
    unparseable value (with a reason) instead of the reader failing the whole file. Parquet keeps
    its own column types: ingest parses only the columns whose type differs from the contract.
    Raises InputFileError for a file that cannot be read at all.
    """
    path = Path(path)
    con = engine.con
    try:
        if path.suffix.lower() == ".csv":
            table = con.read_csv(str(path), table_name=f"raw_{name}", all_varchar=True, header=True)
            # Parse the whole file now: a malformed line further down would otherwise fail
            # later, and DuckDB's message quotes the offending line (patient values).
            table.count().to_pyarrow()
        else:
            table = con.read_parquet(str(path), table_name=f"raw_{name}")
            table.limit(1).to_pyarrow()  # Parquet footers and schemas are checked on open
    except read_errors() as exc:
        reason = type(exc).__name__
        raise InputFileError(
            f"{path}: cannot be read as {path.suffix.lstrip('.').upper()} ({reason}); "
            "check the file is complete and UTF-8 CSV with a header row, or valid Parquet"
        ) from None
    return table


def read_errors() -> tuple[type[BaseException], ...]:
    """The exceptions that mean "this file cannot be read" (not a bug), per installed engine."""
    import duckdb  # noqa: PLC0415

    errors: list[type[BaseException]] = [duckdb.IOException, duckdb.InvalidInputException,
                                         duckdb.ConversionException, OSError, UnicodeDecodeError]
    try:
        from pyspark.errors import AnalysisException  # noqa: PLC0415
    except ImportError:
        pass
    else:
        errors.append(AnalysisException)
    return tuple(errors)


def open_parquet(engine: Engine, path: Path) -> ibis.Table:
    """Register a Parquet file written by the pipeline itself (staged tables, features) as a
    lazy table on the engine."""
    return engine.con.read_parquet(str(path))


def read_arrow(path: Path, *, columns: list[str] | None = None, filters=None) -> pa.Table:
    """Read (part of) a Parquet file into memory, e.g. the previous run's cohort."""
    return pq.read_table(path, columns=columns, filters=filters)


# -------------------------------------------------------------------------------------- writing
def private_dir(path: Path) -> Path:
    """Create a folder (and parents) readable by the owner only.

    Every caller creates a folder under the output or work folder, so a failure here (a
    read-only folder, a file in the way, a full disk) is an OutputError (exit 8), not a bug.
    """
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        os.chmod(path, PRIVATE_DIR_MODE)
    except OSError as exc:
        raise OutputError(
            f"{path}: cannot create the folder ({exc.strerror or type(exc).__name__}); check the "
            "output folder is writable, has free space and is a folder, not a file"
        ) from None
    return path


def _owner_only(path: Path) -> None:
    if path.is_dir():
        os.chmod(path, PRIVATE_DIR_MODE)
        for child in path.rglob("*"):
            os.chmod(child, PRIVATE_DIR_MODE if child.is_dir() else PRIVATE_FILE_MODE)
    else:
        os.chmod(path, PRIVATE_FILE_MODE)


def write_parquet(
    data: ibis.Table | pa.Table,
    path: Path,
    *,
    metadata: Mapping[str, str] | None = None,
    partition_by: list[str] | None = None,
    compression: str = "zstd",
) -> Path:
    """Write patient rows to Parquet, owner-only, atomically (temporary name, then rename).

    `data` is an ibis expression (run by its backend, streamed to the file) or an Arrow table.
    `metadata` is stamped into the Parquet footer (run provenance). `partition_by` writes a
    Hive-partitioned folder instead of one file. `compression`: zstd (smallest; published
    outputs) or snappy (about 20 % faster to write and read, 25 % larger: work-folder files).
    """
    path = Path(path)
    private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp) if tmp.is_dir() else tmp.unlink()
    if isinstance(data, ibis.Table) and not metadata and not partition_by:
        # Let the engine stream the rows to the file (DuckDB's COPY): no copy in Python memory.
        data.to_parquet(tmp, compression=compression)
    else:
        arrow = data.to_pyarrow() if isinstance(data, ibis.Table) else data
        if metadata:
            merged = dict(arrow.schema.metadata or {})
            merged.update({k.encode(): v.encode() for k, v in metadata.items()})
            arrow = arrow.replace_schema_metadata(merged)
        if partition_by:
            pq.write_to_dataset(arrow, tmp, partition_cols=partition_by)
        else:
            pq.write_table(arrow, tmp, compression=compression)
    _owner_only(tmp)
    if path.exists():
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    os.replace(tmp, path)
    return path


class ChunkedParquetWriters:
    """One Parquet file per table in `folder`, appended a chunk at a time (the synthetic city is
    generated a chunk of people at a time, so memory stays flat); each file is written under a
    temporary name, owner-only, and renamed into place on `close()`. zstd, like write_parquet."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.open: dict[str, tuple[pq.ParquetWriter, Path, pa.Schema]] = {}
        self.rows: dict[str, int] = {}

    def write(self, name: str, table: pa.Table) -> None:
        """Append `table` to `<folder>/<name>.parquet` (cast to the first chunk's schema)."""
        if name not in self.open:
            private_dir(self.folder)
            tmp = self.folder / f".{name}.parquet.tmp-{os.getpid()}"
            self.open[name] = (pq.ParquetWriter(tmp, table.schema, compression="zstd"), tmp, table.schema)
            self.rows[name] = 0
        writer, _, schema = self.open[name]
        writer.write_table(table.cast(schema))
        self.rows[name] += table.num_rows

    def close(self) -> None:
        for name, (writer, tmp, _) in self.open.items():
            writer.close()
            os.chmod(tmp, PRIVATE_FILE_MODE)
            os.replace(tmp, self.folder / f"{name}.parquet")
        self.open = {}


def write_text(text: str, path: Path, *, private: bool = False) -> Path:
    """Write a small text file (report, manifest) atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(tmp, PRIVATE_FILE_MODE if private else 0o644)
    os.replace(tmp, path)
    return path


def publish_folder(staging: Path, final: Path) -> Path:
    """Move a fully written staging folder into place in one rename.

    A previous output at `final` is kept as `<final>.previous` until the rename succeeds, then
    removed, so readers see either the old run or the new one, never a mixture.
    """
    staging, final = Path(staging), Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    backup = final.with_name(final.name + ".previous")
    if backup.exists():
        shutil.rmtree(backup)
    try:
        if final.exists():
            os.replace(final, backup)
        os.replace(staging, final)
    except OSError as exc:
        raise OutputError(
            f"{final}: cannot publish the run ({exc.strerror}); check the output folder is "
            "writable and on the same file system as its staging folder"
        ) from None
    if backup.exists():
        shutil.rmtree(backup)
    return final
