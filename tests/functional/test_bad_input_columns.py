"""Issue 10, finding 8: duplicate column names, fractional integers, zero-byte tables.

The rules (ingest.py):
* a column named twice in a header (names compared without case, as DuckDB compares them) is a
  one-line input error, exit 3, naming the file, the column and its positions, and the fix: which
  copy holds the data cannot be known (the reader used to take the first, silently);
* an integer column takes whole numbers only: `3.5` and `1e1` are quarantined as unparseable,
  not rounded to 4 and read as 10 (`3.0`, as pandas writes an integer column holding nulls, is 3);
* a zero-byte optional table is read as an absent one, with a note in its report; a zero-byte
  required table is a one-line input error, exit 3.
"""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
from typer.testing import CliRunner

from npc_risk.cli import app
from npc_risk.errors import InputFileError
from npc_risk.ingest import EMPTY_FILE_NOTE
from tests.builders.extract import clean_rows, dirty_row, report, rows, run_ingest, write_csv, write_extract

AS_OF = "2026-03-31"



def _validate(extract, output):
    return CliRunner().invoke(app, ["validate", "--input", str(extract), "--as-of", AS_OF,
                                    "--output", str(output), "--quiet"])


def _one_error_line(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


# ------------------------------------------------------------------------ duplicate column names
def test_duplicate_column_name_is_a_one_line_input_error(tmp_path):
    extract = write_extract(tmp_path / "extract")
    header = ["patient_id", "nhs_number", "date_of_birth", "sex", "date_of_death", "sex"]
    (extract / "patients.csv").write_text(",".join(header) + "\nP1,9434765919,1950-01-01,female,,male\n")
    result = _validate(extract, tmp_path / "out")
    assert result.exit_code == InputFileError.exit_code == 3, result.output
    line = _one_error_line(result)
    assert line.startswith(f"npc-risk: input error: {extract / 'patients.csv'}: column 'sex' appears 2 times")
    assert "(columns 4, 6)" in line
    assert "rename or remove the extra copies" in line
    assert "9434765919" not in line and "1950-01-01" not in line  # no value of the row


def test_duplicate_column_names_differing_in_case_are_duplicates(tmp_path):
    extract = write_extract(tmp_path / "extract")
    rows_ = clean_rows("gp_appointments")
    write_csv(extract / "gp_appointments.csv", [r | {"Status": "cancelled"} for r in rows_],
              ["patient_id", "date", "status", "Status"])
    result = _validate(extract, tmp_path / "out")
    assert result.exit_code == 3, result.output
    line = _one_error_line(result)
    assert "column 'status' appears 2 times in the header (columns 3, 4, spelled 'Status', 'status'" in line


def test_duplicate_column_name_in_parquet_is_a_one_line_input_error(tmp_path):
    extract = write_extract(tmp_path / "extract", drop=["medications"])
    table = pa.table([pa.array(["P1"]), pa.array(["2025-06-01"]), pa.array(["319740004"]), pa.array(["1"])],
                     names=["patient_id", "date", "dmd_code", "date"])
    pq.write_table(table, extract / "medications.parquet")
    result = _validate(extract, tmp_path / "out")
    assert result.exit_code == 3, result.output
    assert "medications.parquet: column 'date' appears 2 times in the header (columns 2, 4)" in _one_error_line(result)


def test_file_without_a_header_row_is_a_missing_column_even_with_repeated_values(tmp_path):
    """A headerless file's first row holds values (patient data) where the names should be;
    two equal values there are not reported as a duplicate column (which would print the
    value): the missing-column error comes first and names no value."""
    extract = write_extract(tmp_path / "extract")
    secret = "PSEUDO8W2R4"
    event = dirty_row("clinical_events", patient_id=secret, snomedct_code="38341003", numeric_value=secret)
    write_csv(extract / "clinical_events.csv", [event], list(event), header=False)
    result = _validate(extract, tmp_path / "out")
    assert result.exit_code == 4, result.output
    line = _one_error_line(result)
    assert "required column 'patient_id' is missing" in line
    assert secret not in result.stdout + result.stderr


# -------------------------------------------------------------------- fractional integer values
DECILES = [
    # imd_decile  -> reason (None: accepted with that value)
    ("3.5",        "unparseable imd_decile"),
    ("1e1",        "unparseable imd_decile"),
    ("0x10",       "unparseable imd_decile"),  # DuckDB's cast reads hex as 16
    ("1_000",      "unparseable imd_decile"),  # ... and digit groups as 1000
    ("3.0",        None),                      # pandas writes an int column with nulls like this
    (" +4 ",       None),
]


def test_fractional_integers_are_quarantined_not_rounded(engine, tmp_path):
    lsoas = [dirty_row("lsoa_deprivation", lsoa_code=f"E01{i:06d}", imd_decile=value)
             for i, (value, _) in enumerate(DECILES, start=100)]
    extract = write_extract(tmp_path / "extract", add={"lsoa_deprivation": lsoas})
    result = run_ingest(engine, extract, tmp_path / "work")
    got = report(result, "lsoa_deprivation")
    assert (got.rows_read, got.accepted, got.quarantined) == (7, 3, 4)
    assert got.reasons == {"unparseable imd_decile": 4}
    quarantined = pq.read_table(result.quarantine_dir / "lsoa_deprivation.parquet").to_pylist()
    assert sorted(r["imd_decile"] for r in quarantined) == sorted(v for v, reason in DECILES if reason)
    accepted = rows(engine, result.tables["lsoa_deprivation"], order_by=["lsoa_code"])
    assert [r["imd_decile"] for r in accepted] == [3, 3, 4]  # BASE's 3, then 3.0 and +4


def test_fractional_value_in_a_parquet_float_column_is_quarantined(engine, tmp_path):
    extract = write_extract(tmp_path / "extract", drop=["lsoa_deprivation"])
    pq.write_table(pa.table({"lsoa_code": ["E01000001", "E01000002", "E01000003"],
                             "imd_decile": pa.array([3.0, 3.5, 10.0], pa.float64())}),
                   extract / "lsoa_deprivation.parquet")
    result = run_ingest(engine, extract, tmp_path / "work")
    got = report(result, "lsoa_deprivation")
    assert (got.accepted, got.reasons) == (2, {"unparseable imd_decile": 1})


# ---------------------------------------------------------------------------- zero-byte tables
def test_zero_byte_optional_table_is_read_as_absent_with_a_note(engine, tmp_path):
    extract = write_extract(tmp_path / "extract")
    (extract / "opt_outs.csv").write_bytes(b"")
    (extract / "social_care_packages.parquet").write_bytes(b"")
    result = run_ingest(engine, extract, tmp_path / "work")
    for table, file in [("opt_outs", "opt_outs.csv"), ("social_care_packages", "social_care_packages.parquet")]:
        got = report(result, table)
        assert (got.file, got.rows_read, got.notes) == (file, 0, {EMPTY_FILE_NOTE: 1})
        assert engine.count(result.tables[table]) == 0
    assert report(result, "patients").accepted == 1


def test_zero_byte_optional_table_lets_the_run_go_on(tmp_path):
    extract = write_extract(tmp_path / "extract")
    (extract / "opt_outs.csv").write_bytes(b"")
    result = _validate(extract, tmp_path / "out")
    assert result.exit_code == 0, result.output
    tables = json.loads((tmp_path / "out" / "validation" / "report.json").read_text())["tables"]
    opt_outs = next(t for t in tables if t["table"] == "opt_outs")
    assert opt_outs["notes"] == {EMPTY_FILE_NOTE: 1}


def test_zero_byte_required_table_is_a_one_line_input_error(tmp_path):
    extract = write_extract(tmp_path / "extract")
    (extract / "medications.csv").write_bytes(b"")
    result = _validate(extract, tmp_path / "out")
    assert result.exit_code == 3, result.output
    line = _one_error_line(result)
    assert line == (f"npc-risk: input error: {extract / 'medications.csv'}: required table 'medications' is an "
                    "empty file (0 bytes); export it again (a table with no rows still needs its header row)")
