"""Issue 10, finding 7: one malformed CSV line must not cost the whole file.

The rule (ingest.py, files.read_raw): a CSV's format (compression, delimiter, column names) comes
from its header row and the contract, never from a data row. A line that cannot be split into the
header's columns is read and quarantined, with its line number and a reason starting `malformed
line:`, in `quarantine/<table>.malformed_lines.parquet` (line, reason, text); every other line
is read as usual, and rows read = accepted + quarantined still holds. Mixed line endings and
gzipped CSV are read, and a Parquet folder of part files is one table.

Each test writes the clean one-row-per-table extract of tests/builders/extract.py and replaces
one table's file with the bad delivery.
"""

from __future__ import annotations

import gzip
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from npc_risk.cli import app
from npc_risk.files import MAX_LINE_BYTES
from tests.builders.extract import clean_rows, dirty_row, report, rows, run_ingest, write_extract

AS_OF = "2026-03-31"
PRACTICES = "practice_code,practice_name,pcn_code,pcn_name,lcp_name\n"
HILLSIDE = "A00001,Hillside Surgery,U00001,North PCN,North LCP\n"  # the practice BASE refers to
VALE = "B00003,Vale Surgery,U00001,North PCN,North LCP\n"
SMITH_JONES = "B00002,Smith, Jones and Partners,U00001,North PCN,North LCP\n"  # 6 fields, not 5



def _extract(tmp_path, name: str, data: bytes | str, *, file: str | None = None):
    """The clean extract with `<name>.csv` replaced by `data` (written as bytes, as delivered)."""
    extract = write_extract(tmp_path / "extract")
    (extract / f"{name}.csv").unlink()
    content = data.encode("utf-8") if isinstance(data, str) else data
    (extract / (file or f"{name}.csv")).write_bytes(content)
    return extract


def _malformed(result, table: str) -> list[dict]:
    path = result.quarantine_dir / f"{table}.malformed_lines.parquet"
    return pq.read_table(path).to_pylist() if path.exists() else []


def _counts(result, table: str) -> tuple[int, int, int]:
    got = report(result, table)
    assert got.rows_read == got.accepted + got.quarantined
    return got.rows_read, got.accepted, got.quarantined


def _validate(extract, output):
    return CliRunner().invoke(app, ["validate", "--input", str(extract), "--as-of", AS_OF,
                                    "--output", str(output), "--quiet"])


# ----------------------------------------------------------------------------- malformed lines
def test_unquoted_comma_in_a_practice_name_is_quarantined_with_its_line_number(engine, tmp_path):
    """Line 3 has six fields under a five-column header: it is quarantined, with its line
    number and its text, and the practices on lines 2 and 4 are accepted."""
    extract = _extract(tmp_path, "practices", PRACTICES + HILLSIDE + SMITH_JONES + VALE)
    result = run_ingest(engine, extract, tmp_path / "work")
    assert _counts(result, "practices") == (3, 2, 1)
    assert report(result, "practices").reasons == {"malformed line: more fields than the header": 1}
    assert _malformed(result, "practices") == [{
        "line": 3, "reason": "malformed line: more fields than the header", "text": SMITH_JONES.rstrip("\n")}]
    accepted = rows(engine, result.tables["practices"], order_by=["practice_code"])
    assert [r["practice_code"] for r in accepted] == ["A00001", "B00003"]
    assert accepted[1]["practice_name"] == "Vale Surgery"
    # The table's own quarantine file keeps its columns; the malformed line is not in it.
    assert pq.read_table(result.quarantine_dir / "practices.parquet").num_rows == 0


def test_row_cut_short_is_quarantined(engine, tmp_path):
    events = "patient_id,date,snomedct_code,numeric_value\n"
    extract = _extract(tmp_path, "clinical_events",
                       events + "P1,2025-06-01,38341003,142.5\nP1,2025-06-02\nP1,2025-06-03,38341003,\n")
    result = run_ingest(engine, extract, tmp_path / "work")
    assert _counts(result, "clinical_events") == (3, 2, 1)
    assert [(r["line"], r["reason"]) for r in _malformed(result, "clinical_events")] == [
        (3, "malformed line: fewer fields than the header")]


def test_truncated_last_line_is_quarantined(engine, tmp_path):
    """The delivery stopped mid-row (no line break at the end): the partial row is quarantined,
    every complete row is accepted."""
    extract = _extract(tmp_path, "practices", PRACTICES + HILLSIDE + VALE + "B00004,Brook Sur")
    result = run_ingest(engine, extract, tmp_path / "work")
    assert _counts(result, "practices") == (3, 2, 1)
    assert [(r["line"], r["reason"], r["text"]) for r in _malformed(result, "practices")] == [
        (4, "malformed line: fewer fields than the header", "B00004,Brook Sur")]


def test_truncated_last_line_inside_quotes_is_quarantined(engine, tmp_path):
    extract = _extract(tmp_path, "practices", PRACTICES + HILLSIDE + VALE + 'B00004,"Brook Sur')
    result = run_ingest(engine, extract, tmp_path / "work")
    assert _counts(result, "practices") == (3, 2, 1)
    assert report(result, "practices").reasons == {"malformed line: unbalanced quotes": 1}


def test_small_file_with_a_bad_row_is_not_misreported_as_a_missing_column(tmp_path):
    """Regression (DuckDB's sniffer took the malformed row of a header + 2 rows file for the
    header, and the run stopped with "required column missing", exit 4): the header decides the
    format, so the run goes on and the bad row is quarantined."""
    extract = _extract(tmp_path, "practices", PRACTICES + SMITH_JONES + HILLSIDE)
    result = _validate(extract, tmp_path / "out")
    assert result.exit_code == 0, result.output
    tables = json.loads((tmp_path / "out" / "validation" / "report.json").read_text())["tables"]
    practices = next(t for t in tables if t["table"] == "practices")
    assert (practices["rows_read"], practices["accepted"], practices["quarantined"]) == (2, 1, 1)
    assert practices["reasons"] == {"malformed line: more fields than the header": 1}
    malformed = pq.read_table(tmp_path / "out" / "validation" / "quarantine" / "practices.malformed_lines.parquet")
    assert malformed.column("line").to_pylist() == [2]


def test_line_numbers_count_physical_lines_across_quoted_line_breaks_and_crlf(engine, tmp_path):
    """The line number is the one an editor shows: a quoted name spanning two lines counts two,
    and CRLF is one line break."""
    body = PRACTICES + 'B00005,"Riverside\nSurgery",U00001,North PCN,North LCP\n' + HILLSIDE + SMITH_JONES
    extract = _extract(tmp_path, "practices", body.replace("\n", "\r\n"))
    result = run_ingest(engine, extract, tmp_path / "work")
    assert _counts(result, "practices") == (3, 2, 1)
    assert [r["line"] for r in _malformed(result, "practices")] == [5]


def test_no_value_of_a_malformed_line_is_printed(tmp_path):
    """The reader's own message quotes the bad line; neither it nor the line's values reach
    any stream: only counts and the reason."""
    secret_id, secret_nhs = "PSEUDO4T7Y1", "4010232137"
    patients = "patient_id,nhs_number,date_of_birth,sex,date_of_death\n"
    extract = _extract(tmp_path, "patients", patients + "P1,9434765919,1950-01-01,female,\n"
                       f"{secret_id},{secret_nhs},1937-08-14,female,,extra\n{secret_id}B,{secret_nhs}\n")
    result = CliRunner().invoke(app, ["validate", "--input", str(extract), "--as-of", AS_OF,
                                      "--output", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    printed = result.stdout + result.stderr
    assert "malformed line" in printed
    for value in (secret_id, secret_nhs, "1937-08-14"):
        assert value not in printed


# ----------------------------------------------------------------- line endings, size, gzip
def test_mixed_crlf_and_lf_line_endings_are_read(engine, tmp_path):
    """A file edited on two systems: CRLF header and first row, LF after (DuckDB's strict parser
    stops at the change). Every row is read, and line numbers stay right."""
    body = PRACTICES.replace("\n", "\r\n") + HILLSIDE.replace("\n", "\r\n") + VALE + SMITH_JONES
    extract = _extract(tmp_path, "practices", body)
    result = run_ingest(engine, extract, tmp_path / "work")
    assert _counts(result, "practices") == (3, 2, 1)
    assert [r["line"] for r in _malformed(result, "practices")] == [4]
    names = [r["practice_name"] for r in rows(engine, result.tables["practices"], order_by=["practice_code"])]
    assert names == ["Hillside Surgery", "Vale Surgery"]  # no stray CR at the end of any value
    assert [r["lcp_name"] for r in rows(engine, result.tables["practices"])] == ["North LCP"] * 2


def test_line_over_2_mib_is_quarantined(engine, tmp_path):
    """Quarantined, not read: no field of the contract comes near 2 MiB (the longest, a SUS
    spell's diagnoses, is a few kB), so a longer line is a broken one (a stray quote that ran on,
    a field of binary junk); raising the reader's limit would only move the limit. The rest of
    the file is read."""
    huge = "B00002," + "x" * (MAX_LINE_BYTES + 1024) + ",U00001,North PCN,North LCP\n"
    extract = _extract(tmp_path, "practices", PRACTICES + HILLSIDE + huge + VALE)
    result = run_ingest(engine, extract, tmp_path / "work")
    assert _counts(result, "practices") == (3, 2, 1)
    assert report(result, "practices").reasons == {"malformed line: longer than 2 MiB": 1}
    assert [r["line"] for r in _malformed(result, "practices")] == [3]


@pytest.mark.parametrize("file", ["practices.csv.gz", "practices.csv"], ids=["named .csv.gz", "named .csv"])
def test_gzipped_csv_is_read(engine, tmp_path, file):
    """Compression is read from the file's first bytes, so a gzipped file is read whether it is
    named `.csv.gz` or `.csv`; a malformed line in it is quarantined like any other."""
    data = gzip.compress((PRACTICES + HILLSIDE + SMITH_JONES + VALE).encode("utf-8"), mtime=0)
    extract = _extract(tmp_path, "practices", data, file=file)
    result = run_ingest(engine, extract, tmp_path / "work")
    assert _counts(result, "practices") == (3, 2, 1)
    assert [r["line"] for r in _malformed(result, "practices")] == [3]
    assert report(result, "practices").file == file


def test_semicolon_delimited_file_is_read_from_its_header(engine, tmp_path):
    """The delimiter is the one that splits the header into the contract's names, even when a
    data row holds a comma."""
    body = PRACTICES.replace(",", ";") + HILLSIDE.replace(",", ";") + "B00002;Smith, Jones;U00001;North PCN;North LCP\n"
    result = run_ingest(engine, _extract(tmp_path, "practices", body), tmp_path / "work")
    assert _counts(result, "practices") == (2, 2, 0)


# ------------------------------------------------------------------------- Parquet part files
def _parquet_parts(folder, rows_per_part: list[list[dict]]) -> None:
    folder.mkdir(parents=True)
    for i, part in enumerate(rows_per_part):
        pq.write_table(pa.Table.from_pylist(part), folder / f"part-{i}.parquet")
    (folder / "_SUCCESS").write_bytes(b"")  # Spark's marker is not a part


@pytest.mark.parametrize("folder", ["clinical_events", "clinical_events.parquet"])
def test_parquet_folder_of_part_files_is_read_as_one_table(engine, tmp_path, folder):
    """`table/part-0.parquet, part-1.parquet` (as Spark writes a table) is one table."""
    extract = write_extract(tmp_path / "extract", drop=["clinical_events"])
    first = clean_rows("clinical_events")
    second = [dirty_row("clinical_events", date="2025-07-01"), dirty_row("clinical_events", snomedct_code="0")]
    _parquet_parts(extract / folder, [first, second])
    result = run_ingest(engine, extract, tmp_path / "work")
    assert _counts(result, "clinical_events") == (3, 2, 1)
    assert report(result, "clinical_events").reasons == {"invalid snomedct_code": 1}
    assert report(result, "clinical_events").file == folder


def test_unclosed_quote_mid_file_is_one_quarantined_record(engine, tmp_path):
    """A stray opening quote runs to the end of the file: by the CSV rules everything after it
    is one field, so the rest of the file is one malformed record (quarantined with the line
    where it starts), and the rows before it are accepted. DuckDB's serial reader leaves such a
    record out altogether; ingest counts and quarantines it (files._unaccounted_record)."""
    body = PRACTICES + HILLSIDE + 'B00002,"Smith and Jones,U00001,North PCN,North LCP\n' + VALE + VALE
    result = run_ingest(engine, _extract(tmp_path, "practices", body), tmp_path / "work")
    assert _counts(result, "practices") == (2, 1, 1)
    assert [(r["line"], r["reason"], r["text"]) for r in _malformed(result, "practices")] == [
        (3, "malformed line: unbalanced quotes", 'B00002,"Smith and Jones,U00001,North PCN,North LCP')]


@pytest.mark.slow
def test_many_malformed_lines_are_all_counted(engine, tmp_path):
    """Regression (DuckDB 2.0's parallel CSV reader with store_rejects): in a file of 1M lines
    whose first half had an extra field, 0 of the 500,000 good rows were returned and 450,617 of
    the 500,000 bad lines recorded; the rest vanished. Read serially, every line is accounted for
    (and files.scan_lines checks the count against the file's lines)."""
    from npc_risk import files

    n = 1_000_000
    path = tmp_path / "t.csv"
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("a,b,c\n")
        handle.writelines(f"P{i},x,z{',extra' if i < n // 2 else ''}\n" for i in range(n))
    raw = files.read_raw(engine, path, name="t", scratch=tmp_path / "work", expected={"a", "b", "c"})
    assert engine.count(raw.table) == n // 2
    assert raw.malformed_counts == {"malformed line: more fields than the header": n // 2}
    lines = engine.to_arrow(raw.malformed.select("line").order_by("line")).column("line").to_pylist()
    assert lines == list(range(2, n // 2 + 2))
