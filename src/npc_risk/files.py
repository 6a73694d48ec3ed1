"""Patient files: the only module that reads or writes patient rows (named `files`, not `io`,
so that it never shadows the standard library).

Everything else works on ibis expressions (set logic, run by the engine) or on aggregates. Files
holding patient-level rows are written owner-only (0600 in 0700 folders), and each file is written
to a temporary name first and renamed into place, so a crash never leaves half a file behind.
"""

from __future__ import annotations

import csv
import errno
import gzip
import io
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import ibis
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from npc_risk.errors import InputFileError, OutputError

if TYPE_CHECKING:
    from npc_risk.engine import Engine

PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700
SUPPORTED_SUFFIXES = (".csv.gz", ".csv", ".parquet")  # longest first


# ------------------------------------------------------------------------------------ extracts
def table_name(path: Path) -> str | None:
    """The table a path in an extract folder holds, or None if it is not a table file.

    `<table>.csv`, `<table>.csv.gz`, `<table>.parquet`, or a folder of Parquet part files
    (`<table>/part-0.parquet ...` or `<table>.parquet/part-0.parquet ...`, as Spark and
    ibis' `to_parquet` on Spark write them; engine-notes.md).
    """
    lower = path.name.lower()
    if path.is_dir():
        if not parquet_parts(path):
            return None
        return path.name[: -len(".parquet")] if lower.endswith(".parquet") else path.name
    if not path.is_file():
        return None
    for suffix in SUPPORTED_SUFFIXES:
        if lower.endswith(suffix):
            return path.name[: -len(suffix)]
    return None


def parquet_parts(path: Path) -> list[Path]:
    """The Parquet files of a table: the file itself, or the visible `*.parquet` part files of
    a folder (Spark's `_SUCCESS` and `.crc` files, and hidden files, are not parts)."""
    if not path.is_dir():
        return [path]
    return sorted(p for p in path.iterdir()
                  if p.is_file() and p.name.lower().endswith(".parquet") and not p.name.startswith((".", "_")))


def extract_files(folder: Path) -> dict[str, Path]:
    """Map table name -> file (or folder of Parquet parts) for an extract folder."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputFileError(
            f"{folder}: extract folder not found; pass --input with a folder holding "
            "<table>.parquet or <table>.csv files"
        )
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith("."):
            continue
        name = table_name(path)
        if name is None:
            if path.name.lower().endswith(SUPPORTED_SUFFIXES):
                # Named like a table but not readable as one: skipping it would silently drop a
                # table (an opt-outs file, say), so it stops the run (issue 10 catalogue).
                what = ("a symlink to nothing" if path.is_symlink() and not path.exists() else
                        "a folder with no .parquet part files" if path.is_dir() else "not a regular file")
                raise InputFileError(
                    f"{path}: named like a table file but is {what}; replace it with the table's "
                    "file or remove it from the extract folder"
                )
            continue
        if name in found:
            raise InputFileError(
                f"{path}: table {name!r} is given twice ({found[name].name} and {path.name}); "
                "keep one file per table"
            )
        found[name] = path
    return found


def is_empty(path: Path) -> bool:
    """A zero-byte file (a table whose export wrote nothing, not even a header row)."""
    path = Path(path)
    return path.is_file() and path.stat().st_size == 0


@dataclass
class RawTable:
    """A table file registered on the engine, before any contract rule.

    `table`: CSV rows with every column as text, or Parquet with its own types.
    `header`: the column names as the file gives them, in file order (blank names as "").
    `malformed`: CSV lines that could not be split into the header's columns (columns `line`,
    `reason`, `text`: the line's first 10,000 characters, as DuckDB keeps them; patient-level),
    or None when there were none; `malformed_counts` counts them per reason. `staged`: the work
    files behind them (discard() removes them).
    """

    table: ibis.Table
    header: tuple[str, ...]
    malformed: ibis.Table | None = None
    malformed_counts: dict[str, int] = field(default_factory=dict)
    staged: tuple[Path, ...] = ()

    def discard(self) -> None:
        """Remove the staged work files (patient-level text) once the table is written."""
        for path in self.staged:
            path.unlink(missing_ok=True)

    def duplicates(self) -> dict[str, list[int]]:
        """Column names given more than once (compared without case, as DuckDB and SQL
        compare them), each with its 1-based positions in the header. Blank names are not
        compared."""
        positions: dict[str, list[int]] = {}
        for i, name in enumerate(self.header, start=1):
            if name:
                positions.setdefault(name.lower(), []).append(i)
        return {self.header[p[0] - 1]: p for p in positions.values() if len(p) > 1}


def read_raw(engine: Engine, path: Path, *, name: str, scratch: Path, expected: Collection[str] = ()) -> RawTable:
    """Register a CSV file, a Parquet file or a folder of Parquet parts as a raw table.

    CSV is read with every column as text, so that ingest can quarantine a row with an
    unparseable value (with a reason) instead of the reader failing the whole file. Its format
    comes from its header row and the contract, never from the data rows (_csv_format): a
    malformed data line cannot be taken for the header. A line that cannot be split into the
    header's columns (too many or too few fields, unbalanced quotes, not UTF-8, longer than
    2 MiB) is kept aside with its line number and a reason (RawTable.malformed), and the rest
    of the file is read. The file is parsed once, by DuckDB, into `<scratch>/<name>.raw.parquet`
    (owner-only, all text), whatever the engine.

    Parquet keeps its own column types: ingest parses only the columns whose type differs from
    the contract. Raises InputFileError for a file that cannot be read at all.
    """
    path = Path(path)
    kind = "PARQUET" if path.is_dir() or path.name.lower().endswith(".parquet") else "CSV"
    try:
        if kind == "CSV":
            return _read_csv(engine, path, name=name, scratch=Path(scratch), expected=set(expected))
        parts = parquet_parts(path)
        header = tuple(pq.read_schema(parts[0]).names)
        source = [str(p) for p in parts] if path.is_dir() else str(path)
        table = engine.con.read_parquet(source, table_name=f"raw_{name}")
        table.limit(1).to_pyarrow()  # Parquet footers and schemas are checked on open
    except read_errors() as exc:
        if out_of_space(exc):  # staging the rows in the scratch folder filled the disk
            raise OutputError(
                f"{scratch}: no space left on the disk while staging {path.name} (the input is "
                "fine); free space on the output folder's disk, or pass --output on a larger one"
            ) from None
        # The engine's message may quote a data line (patient values): only its type is shown.
        raise InputFileError(
            f"{path}: cannot be read as {kind} ({type(exc).__name__}); check the file is complete "
            "and UTF-8 CSV with a header row, or valid Parquet"
        ) from None
    return RawTable(table, header)


def out_of_space(exc: BaseException) -> bool:
    """A write failed because the disk (or the user's quota) is full: an output error (exit 8),
    never the fault of the input being read at the time (issue 10, finding 3). DuckDB reports it
    as an IOException whose text carries the OS message, not an errno; the text is only tested,
    never shown."""
    if getattr(exc, "errno", None) in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(exc)
    return "No space left on device" in text or "Disk quota exceeded" in text


def read_errors() -> tuple[type[BaseException], ...]:
    """The exceptions that mean "this file cannot be read" (not a bug), per installed engine."""
    import duckdb  # noqa: PLC0415

    errors: list[type[BaseException]] = [duckdb.IOException, duckdb.InvalidInputException,
                                         duckdb.ConversionException, OSError, EOFError,
                                         UnicodeDecodeError, pa.ArrowException]
    try:
        from pyspark.errors import AnalysisException  # noqa: PLC0415
    except ImportError:
        pass
    else:
        errors.append(AnalysisException)
    return tuple(errors)


# ----------------------------------------------------------------------------------------- CSV
CSV_DELIMITERS = (",", "\t", ";", "|")  # in order of preference when the header cannot tell
GZIP_MAGIC = b"\x1f\x8b"
# DuckDB's own default max_line_size, made explicit so that the quarantine reason states it. No
# field of the contract comes near it (the longest, a SUS spell's diagnoses, is a few kB), so a
# longer line is a broken one (e.g. a stray quote) and is quarantined, not read.
MAX_LINE_BYTES = 2 * 1024 * 1024
_BLOCK = 8 * 1024 * 1024

# DuckDB rejects-table error types -> quarantine reason, most telling first (a line can break
# several: a short line gets one MISSING COLUMNS per absent field).
MALFORMED_REASONS = {
    "LINE SIZE OVER MAXIMUM": "malformed line: longer than 2 MiB",
    "INVALID ENCODING": "malformed line: not UTF-8",
    "INVALID UNICODE": "malformed line: not UTF-8",
    "UNQUOTED VALUE": "malformed line: unbalanced quotes",
    "TOO MANY COLUMNS": "malformed line: more fields than the header",
    "MISSING COLUMNS": "malformed line: fewer fields than the header",
}


@dataclass(frozen=True)
class CsvFormat:
    """What a CSV file's header row says: compression, delimiter and the column names."""

    compression: str  # "gzip" or "none", from the file's first bytes (not its name)
    delimiter: str
    header: tuple[str, ...]


def _open_bytes(path: Path, compression: str) -> BinaryIO:
    return gzip.open(path, "rb") if compression == "gzip" else open(path, "rb")


def csv_format(path: Path, expected: Collection[str] = ()) -> CsvFormat:
    """Read a CSV file's format from its first line and the contract's column names.

    The delimiter is the one of CSV_DELIMITERS that splits the header row into the most
    `expected` column names (then into the most fields; then the first in the list). The data
    rows play no part: a sniffer that looked at them took an unquoted comma in a practice name
    for the header of a two-row file (issue 10, finding 7).
    """
    path = Path(path)
    with open(path, "rb") as handle:
        compression = "gzip" if handle.read(2) == GZIP_MAGIC else "none"
    with _open_bytes(path, compression) as handle:
        first = b""
        while not re.search(rb"[\r\n]", first) and len(first) <= MAX_LINE_BYTES:
            block = handle.read(64 * 1024)
            if not block:
                break
            first += block
    line = re.split(rb"\r\n|\r|\n", first, maxsplit=1)[0]
    if len(line) > MAX_LINE_BYTES:
        raise InputFileError(
            f"{path}: the first line is longer than 2 MiB, so it is not a header row; the file "
            "must be CSV with a header row naming its columns"
        )
    try:
        text = line.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        raise InputFileError(
            f"{path}: the header row is not UTF-8 text; save the file as UTF-8 CSV"
        ) from None
    expected = set(expected)
    best: tuple[tuple[int, int, int], str, list[str]] | None = None
    for rank, delimiter in enumerate(CSV_DELIMITERS):
        fields = [f.strip() for f in next(csv.reader([text], delimiter=delimiter), [""])] or [""]
        key = (sum(f in expected for f in fields), len(fields), -rank)
        if best is None or key > best[0]:
            best = (key, delimiter, fields)
    _, delimiter, fields = best
    return CsvFormat(compression, delimiter, tuple(fields))


def _reader_names(header: tuple[str, ...]) -> list[str]:
    """Unique column names for the reader: a blank or repeated name (DuckDB compares names
    without case) gets its position appended. Ingest reports repeated names as an error after
    the required columns are found (RawTable.duplicates)."""
    names: list[str] = []
    seen: set[str] = set()
    for i, name in enumerate(header, start=1):
        candidate = name if name and name.lower() not in seen else f"{name or 'column'} (column {i})"
        while candidate.lower() in seen:
            candidate += "'"
        seen.add(candidate.lower())
        names.append(candidate)
    return names


def _read_csv(engine: Engine, path: Path, *, name: str, scratch: Path, expected: set[str]) -> RawTable:
    fmt = csv_format(path, expected)
    private_dir(scratch)
    staged = scratch / f"{name}.raw.parquet"
    lines = scratch / f"{name}.malformed_lines.parquet"
    copy = scratch / f".{name}.lf.csv"
    con, own = _duckdb(engine)
    try:
        try:
            counts = _stage_csv(con, path, fmt, staged=staged, lines=lines)
        except read_errors():
            # DuckDB's strict parser stops at a file mixing line endings (CRLF and LF rows, or a
            # stray CR inside a field): read a copy with every line break made LF instead.
            if not _has_carriage_return(path, fmt.compression):
                raise
            _normalise_line_breaks(path, fmt.compression, copy)
            counts = _stage_csv(con, copy, CsvFormat("none", fmt.delimiter, fmt.header),
                                staged=staged, lines=lines)
    finally:
        if own:
            con.close()
    table = engine.con.read_parquet(str(staged), table_name=f"raw_{name}")
    malformed = engine.con.read_parquet(str(lines), table_name=f"malformed_{name}") if counts else None
    return RawTable(table, fmt.header, malformed, counts, staged=(staged, lines, copy))


def _duckdb(engine: Engine):
    """The DuckDB connection that parses CSV: the engine's own (its memory limit and spill
    folder apply), or a private one when the engine is another backend."""
    import duckdb  # noqa: PLC0415

    if engine.backend == "duckdb":
        return engine.con.con, False
    return duckdb.connect(), True


class LinesUnaccounted(AssertionError):
    """The CSV reader returned and rejected fewer records than the file has lines: a defect of
    the reader (rows would be lost silently), not of the file. Counts only in the message."""


def _stage_csv(con, path: Path, fmt: CsvFormat, *, staged: Path, lines: Path) -> dict[str, int]:
    """Parse `path` once into `staged` (text Parquet); lines DuckDB rejects go to `lines`
    (line, reason, text) with their physical line numbers. Returns the count per reason.

    `parallel = false`: DuckDB 2.0's parallel CSV scanner with store_rejects silently lost rows
    once a buffer held many rejected lines (1M lines, the first half with an extra field: 0 of
    the 500,000 good rows returned and 450,617 of the 500,000 bad ones recorded; serial: all of
    both), and it parsed 120 MB no faster on 2 cores. The reader's count is checked against the
    file's own lines all the same (scan_lines). Every value is a query parameter (file paths may
    hold an apostrophe: issue 10, finding 4).
    """
    tag = uuid.uuid4().hex
    rejects, scans, errors = f"npc_rejects_{tag}", f"npc_scans_{tag}", f"npc_lines_{tag}"
    tmp = staged.with_name(f".{staged.name}.tmp-{os.getpid()}")
    columns = {n: "VARCHAR" for n in _reader_names(fmt.header)}
    registered = False
    try:
        (good,), = con.execute(
            "COPY (SELECT * FROM read_csv($path, header = true, auto_detect = false, columns = $columns, "
            "delim = $delim, quote = '\"', escape = '\"', compression = $compression, "
            "max_line_size = $max_line, null_padding = false, strict_mode = true, parallel = false, "
            f"store_rejects = true, rejects_table = '{rejects}', rejects_scan = '{scans}', rejects_limit = 0)"
            ") TO $out (FORMAT parquet, COMPRESSION snappy)",
            {"path": str(path), "columns": columns, "delim": fmt.delimiter, "compression": fmt.compression,
             "max_line": MAX_LINE_BYTES, "out": str(tmp)},
        ).fetchall()
        _owner_only(tmp)
        # One row per rejected line, with its most telling error.
        priority = " ".join(f"WHEN ? THEN {i}" for i in range(len(MALFORMED_REASONS)))
        reason = " ".join("WHEN ? THEN ?" for _ in MALFORMED_REASONS)
        con.execute(
            f"CREATE TEMP TABLE {errors} AS SELECT byte_offset, "
            f"CASE error_type {reason} ELSE 'malformed line: ' || lower(error_type) END AS reason, text FROM ("
            "SELECT line_byte_position AS byte_offset, "
            f"arg_min(error_type, CASE error_type {priority} ELSE 99 END) AS error_type, "
            "trim(any_value(csv_line), chr(10) || chr(13)) AS text "
            f"FROM {rejects} GROUP BY line_byte_position)",
            [*(p for kv in MALFORMED_REASONS.items() for p in kv), *MALFORMED_REASONS],
        ).fetchall()
        offsets = np.asarray(con.execute(f"SELECT byte_offset FROM {errors} ORDER BY byte_offset")
                             .fetchnumpy()["byte_offset"], dtype=np.int64)
        scan = scan_lines(path, fmt.compression, offsets)
        numbers = scan.numbers
        dropped = _unaccounted_record(path, fmt, read=int(good), rejected=len(offsets), scan=scan)
        if dropped is not None:  # the unterminated quoted record the serial reader left out
            line, text = dropped
            past_the_end = np.iinfo(np.int64).max  # it has no offset of the reader's
            con.execute(f"INSERT INTO {errors} VALUES (?, ?, ?)",
                        [past_the_end, MALFORMED_REASONS["UNQUOTED VALUE"], text]).fetchall()
            offsets, numbers = np.append(offsets, past_the_end), np.append(numbers, line)
        os.replace(tmp, staged)
        if len(offsets) == 0:
            lines.unlink(missing_ok=True)
            return {}
        con.register(f"{errors}_numbers", pa.table({"byte_offset": pa.array(offsets, pa.int64()),
                                                    "line": pa.array(numbers, pa.int64())}))
        registered = True
        tmp_lines = lines.with_name(f".{lines.name}.tmp-{os.getpid()}")
        con.execute(
            f"COPY (SELECT n.line, e.reason, e.text FROM {errors} e JOIN {errors}_numbers n USING (byte_offset) "
            "ORDER BY n.line) TO $out (FORMAT parquet, COMPRESSION snappy)", {"out": str(tmp_lines)}).fetchall()
        _owner_only(tmp_lines)
        os.replace(tmp_lines, lines)
        counts = con.execute(f"SELECT reason, count(*) FROM {errors} GROUP BY reason").fetchall()
        return {reason: int(n) for reason, n in counts}
    finally:
        if registered:
            con.unregister(f"{errors}_numbers")
        for table in (errors, rejects, scans):
            con.execute(f"DROP TABLE IF EXISTS {table}").fetchall()
        tmp.unlink(missing_ok=True)


def _unaccounted_record(path: Path, fmt: CsvFormat, *, read: int, rejected: int,
                        scan: LineScan) -> tuple[int, str] | None:
    """Check the reader's records (read + rejected) against the file; return the one record it
    may leave out (line number, first line), or raise LinesUnaccounted.

    Without a quote in the file every non-empty line after the header is one record, exactly.
    With quotes a record may span lines, so fewer records than lines is checked by counting the
    records again with Python's csv module (C; about 1 s per million rows, and only then). The
    serial reader leaves out a quoted field left open to the end of the file (a delivery cut
    short inside quotes, or a stray opening quote): that record is returned, to be quarantined
    as unbalanced quotes, as the parallel reader did.
    """
    records, data_lines = read + rejected, scan.lines - 1  # minus the header row
    if records == data_lines:
        return None
    counted = None
    if records < data_lines and scan.quoted:
        counted = _csv_records(path, fmt)
        if counted.records == records:
            return None
        if counted.records == records + 1 and counted.last_quotes % 2 == 1:
            return counted.last_line, counted.last_text[:10_000]
    raise LinesUnaccounted(
        f"{path}: the CSV reader accounted for {records:,} records ({read:,} read, {rejected:,} "
        f"rejected) in {data_lines:,} non-empty lines after the header"
        + (f" ({counted.records:,} records)" if counted else "")
    )


@dataclass(frozen=True)
class _CsvRecords:
    records: int  # non-empty records after the header
    last_line: int  # the line where the last of them starts
    last_text: str  # ... that line
    last_quotes: int  # double quotes in the last record (odd: its quoted field never closes)


def _csv_records(path: Path, fmt: CsvFormat) -> _CsvRecords:
    """Count a CSV's records with Python's csv module (quote and escape `"`, as DuckDB reads it)."""

    class Lines:
        """The file's lines as csv.reader pulls them, noting the first line of each record."""

        def __init__(self, handle):
            self.handle, self.number, self.start, self.first, self.quotes = handle, 0, 1, "", 0

        def __iter__(self):
            return self

        def __next__(self) -> str:
            line = next(self.handle)
            self.number += 1
            if self.number == self.start:
                self.first, self.quotes = line.rstrip("\r\n"), 0
            self.quotes += line.count('"')
            return line

    limit = csv.field_size_limit()
    csv.field_size_limit(2**31 - 1)  # a record may be the rest of the file
    try:
        with _open_bytes(path, fmt.compression) as raw, io.TextIOWrapper(
                raw, encoding="utf-8", errors="replace", newline="") as text:
            lines = Lines(text)
            reader = csv.reader(lines, delimiter=fmt.delimiter, quotechar='"', doublequote=True, strict=False)
            next(reader, None)  # the header
            records, last = 0, (0, "", 0)
            while True:
                lines.start = lines.number + 1
                row = next(reader, None)
                if row is None:
                    break
                if row:  # an empty line is no record (DuckDB skips them too)
                    records += 1
                    last = (lines.start, lines.first, lines.quotes)
    finally:
        csv.field_size_limit(limit)
    return _CsvRecords(records, *last)


@dataclass(frozen=True)
class LineScan:
    numbers: np.ndarray  # the 1-based line of each offset asked for
    lines: int  # non-empty lines (DuckDB skips empty ones)
    quoted: bool  # the file holds a double quote (so a record may span lines)


def scan_lines(path: Path, compression: str, offsets) -> LineScan:
    """One pass over a (decompressed) file, a block at a time: the line number of each byte
    offset (ascending), the number of non-empty lines, and whether any quote occurs.

    A line break is LF, CRLF or a lone CR, as an editor counts them; a quoted field that spans
    lines counts its lines, so the number is the line a person finds in the file (DuckDB's own
    `line` counts records, and skips empty lines).
    """
    offsets = np.asarray(offsets, dtype=np.int64)
    numbers = np.empty(len(offsets), dtype=np.int64)
    breaks, start, done, nonempty, quoted = 0, 0, 0, 0, False
    previous = 10  # the byte before the file: as if after a line break
    with _open_bytes(path, compression) as handle:
        while block := handle.read(_BLOCK):
            data = np.frombuffer(block, dtype=np.uint8)
            before = np.empty_like(data)
            before[0] = previous
            before[1:] = data[:-1]
            is_break = (data == 10) | (data == 13)
            after_break = (before == 10) | (before == 13)
            nonempty += int(np.count_nonzero(~is_break & after_break))
            quoted = quoted or bool((data == 34).any())
            at = np.flatnonzero((data == 13) | ((data == 10) & (before != 13))) + start  # CRLF: its CR
            end = start + len(block)
            upto = int(np.searchsorted(offsets, end, side="left"))
            numbers[done:upto] = breaks + np.searchsorted(at, offsets[done:upto], side="left") + 1
            breaks += len(at)
            done, start, previous = upto, end, int(data[-1])
    numbers[done:] = breaks + 1
    return LineScan(numbers, nonempty, quoted)


def _has_carriage_return(path: Path, compression: str) -> bool:
    with _open_bytes(path, compression) as handle:
        while block := handle.read(_BLOCK):
            if b"\r" in block:
                return True
    return False


def _normalise_line_breaks(path: Path, compression: str, target: Path) -> None:
    """Copy a (decompressed) file with every CRLF and lone CR made LF, owner-only. Each line
    break stays one line break, so line numbers are those of the original file."""
    with _open_bytes(path, compression) as source, open(target, "wb") as out:
        os.chmod(target, PRIVATE_FILE_MODE)
        pending_cr = False
        while block := source.read(_BLOCK):
            if pending_cr:
                block = b"\r" + block
            pending_cr = block.endswith(b"\r")
            if pending_cr:
                block = block[:-1]
            out.write(block.replace(b"\r\n", b"\n").replace(b"\r", b"\n"))
        if pending_cr:
            out.write(b"\n")


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


# Rows per row group of every Parquet file written from Arrow: pyarrow's own default for
# pq.write_table (min(rows, 1024 * 1024), pyarrow/_parquet.pyx _DEFAULT_ROW_GROUP_SIZE). A stream
# cut into row groups at the same boundaries gives a byte-identical file (tests/unit/test_publish_stream.py).
ROW_GROUP_ROWS = 1024 * 1024


def write_parquet(
    data: ibis.Table | pa.Table | pa.RecordBatchReader,
    path: Path,
    *,
    metadata: Mapping[str, str] | None = None,
    partition_by: list[str] | None = None,
    compression: str = "zstd",
) -> Path:
    """Write patient rows to Parquet, owner-only, atomically (temporary name, then rename).

    `data` is an ibis expression (run by its backend, streamed to the file), an Arrow table, or
    a stream of Arrow batches (`pa.RecordBatchReader`: written through `write_batches`, holding
    one row group in memory at a time; the bytes are those `pq.write_table` gives for the same
    rows). `metadata` is stamped into the Parquet footer (run provenance). `partition_by` writes
    a Hive-partitioned folder instead of one file (not for a stream). `compression`: zstd
    (smallest; published outputs) or snappy (about 20 % faster to write and read, 25 % larger:
    work-folder files). On any failure the temporary file is removed; a full disk is an
    OutputError (exit 8), anything else is raised as it is (e.g. a bad input file read while
    the rows stream: the caller classifies it).
    """
    path = Path(path)
    private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp) if tmp.is_dir() else tmp.unlink()
    try:
        if isinstance(data, pa.RecordBatchReader):
            if partition_by:
                raise ValueError("write_parquet: partition_by is not supported for a stream")  # a bug
            write_batches(data, tmp, metadata=metadata, compression=compression)
        elif isinstance(data, ibis.Table) and not metadata and not partition_by:
            # Let the engine stream the rows to the file (DuckDB's COPY): no copy in Python memory.
            data.to_parquet(tmp, compression=compression)
        else:
            arrow = data.to_pyarrow() if isinstance(data, ibis.Table) else data
            if metadata:
                arrow = arrow.replace_schema_metadata(_merged(arrow.schema, metadata))
            if partition_by:
                pq.write_to_dataset(arrow, tmp, partition_cols=partition_by)
            else:
                pq.write_table(arrow, tmp, compression=compression)
    except Exception as exc:
        shutil.rmtree(tmp, ignore_errors=True) if tmp.is_dir() else tmp.unlink(missing_ok=True)
        if not out_of_space(exc):
            raise
        raise OutputError(
            f"{path.parent}: no space left on the disk while writing {path.name} (the inputs are "
            "fine); free space on the output folder's disk, or pass --output on a larger one"
        ) from None
    _owner_only(tmp)
    if path.exists():
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    os.replace(tmp, path)
    return path


def write_batches(batches: pa.RecordBatchReader, path: Path, *, metadata: Mapping[str, str] | None = None,
                  compression: str = "zstd", row_group_rows: int | None = None) -> int:
    """Write a stream of Arrow batches to one Parquet file at `path`; return the rows written.

    Batches are collected until `row_group_rows` rows (default ROW_GROUP_ROWS) are pending, then
    exactly that many are combined into one contiguous chunk and written as one row group; the
    rest, at the end. That is what `pq.write_table` does with the whole table combined (it
    slices it into row groups of ROW_GROUP_ROWS), so the file is byte-identical to it, while
    memory holds one row group plus one batch, whatever the number of rows. No rows at all:
    one empty row group, as `pq.write_table` writes. Each batch must have the stream's schema
    (ValueError otherwise, a bug); `metadata` is merged into the footer's schema metadata.

    Trap: writing each batch as it comes (`ParquetWriter.write_batch`) would give one row group
    per batch, and combining fewer rows would move the page boundaries: both change the bytes.
    """
    rows = int(row_group_rows or ROW_GROUP_ROWS)
    schema = batches.schema
    if metadata:
        schema = schema.with_metadata(_merged(schema, metadata))
    written = 0
    pending: list[pa.RecordBatch] = []
    count = 0
    with pq.ParquetWriter(path, schema, compression=compression) as writer:
        for batch in batches:
            if not batch.schema.equals(batches.schema, check_metadata=False):
                raise ValueError(f"{path.name}: a batch's schema differs from the stream's")  # a bug
            if not batch.num_rows:
                continue
            pending.append(batch)
            count += batch.num_rows
            while count >= rows:
                table = pa.Table.from_batches(pending, schema=batches.schema)
                writer.write_table(table.slice(0, rows).combine_chunks(), row_group_size=rows)
                written += rows
                rest = table.slice(rows)
                pending, count = rest.to_batches(), rest.num_rows
        if count or not written:
            table = pa.Table.from_batches(pending, schema=batches.schema).combine_chunks()
            writer.write_table(table)  # row_group_size None: min(rows, 1024 * 1024), as write_table
            written += table.num_rows
    return written


def _merged(schema: pa.Schema, metadata: Mapping[str, str]) -> dict[bytes, bytes]:
    merged = dict(schema.metadata or {})
    merged.update({k.encode(): v.encode() for k, v in metadata.items()})
    return merged


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
