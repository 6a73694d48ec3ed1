"""Functional: `npc-risk validate` end to end, for cron.

Rules (errors.py, cli.py): a user error prints ONE line on stderr, `npc-risk: <kind>: <message>`,
naming what failed and how to fix it, and exits with its class's code: 3 input file (missing
folder or table, unreadable file, unknown table name), 4 schema (missing column); a bad option is
a usage error (2); success exits 0 and writes OUTPUT/validation/report.json. Nothing printed ever
holds a patient-level value (NHS number, patient id, date of birth, codes).
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from npc_risk.cli import app
from tests.builders.extract import clean_rows, dirty_row, write_csv, write_extract

AS_OF = "2026-03-31"



def validate(input_dir, output, *extra):
    return CliRunner().invoke(
        app, ["validate", "--input", str(input_dir), "--as-of", AS_OF, "--output", str(output), *extra]
    )


def error_line(result) -> str:
    """The one stderr line of a user error (no traceback); log lines of steps already run may
    come before it."""
    lines = [line for line in result.stderr.splitlines() if line.startswith("npc-risk: ")]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_success_exits_0_and_writes_report_json(tmp_path):
    extract = write_extract(tmp_path / "extract", add={"patients": [dirty_row("patients", sex="F")]})
    result = validate(extract, tmp_path / "out")
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "out" / "validation" / "report.json").read_text())
    assert report["as_of"] == AS_OF
    patients = next(t for t in report["tables"] if t["table"] == "patients")
    assert (patients["rows_read"], patients["accepted"], patients["quarantined"]) == (2, 1, 1)
    assert patients["reasons"] == {"invalid sex": 1}
    assert (tmp_path / "out" / "validation" / "quarantine" / "patients.parquet").is_file()
    assert "invalid sex" in result.stdout


def test_missing_extract_folder_exits_3_naming_the_folder(tmp_path):
    missing = tmp_path / "no-such-extract"
    result = validate(missing, tmp_path / "out")
    assert result.exit_code == 3
    line = error_line(result)
    assert line.startswith("npc-risk: input error: ")
    assert str(missing) in line
    assert "extract folder not found" in line


def test_missing_required_table_exits_3_naming_table_and_fix(tmp_path):
    extract = write_extract(tmp_path / "extract", drop=["patients"])
    result = validate(extract, tmp_path / "out")
    assert result.exit_code == 3
    line = error_line(result)
    assert "required table 'patients' not found" in line
    assert "add patients.parquet or patients.csv" in line


def test_missing_required_column_exits_4_naming_file_and_column(tmp_path):
    extract = write_extract(tmp_path / "extract", drop_columns={"clinical_events": ["snomedct_code"]})
    result = validate(extract, tmp_path / "out")
    assert result.exit_code == 4, result.output
    line = error_line(result)
    assert line.startswith("npc-risk: schema error: ")
    assert str(extract / "clinical_events.csv") in line
    assert "required column 'snomedct_code' is missing" in line


def test_unreadable_parquet_exits_3_naming_the_file(tmp_path):
    extract = write_extract(tmp_path / "extract", drop=["practices"])
    (extract / "practices.parquet").write_bytes(b"PAR1 this is not a parquet file \x00\xff\x13")
    result = validate(extract, tmp_path / "out")
    assert result.exit_code == 3, result.output
    line = error_line(result)
    assert str(extract / "practices.parquet") in line
    assert "cannot be read as PARQUET" in line


def test_unknown_table_name_exits_3(tmp_path):
    extract = write_extract(tmp_path / "extract")
    write_csv(extract / "foo.csv", [{"a": "1"}])
    result = validate(extract, tmp_path / "out")
    assert result.exit_code == 3
    line = error_line(result)
    assert "unknown table 'foo'" in line
    assert str(extract / "foo.csv") in line


def test_same_table_twice_exits_3(tmp_path):
    extract = write_extract(tmp_path / "extract")  # apcs.csv, and now sus_apcs.csv (also apcs)
    write_csv(extract / "sus_apcs.csv", [], ["APCS_Ident", "Der_Pseudo_NHS_Number", "Admission_Date",
                                             "Discharge_Date", "Admission_Method", "Der_Diagnosis_All"])
    result = validate(extract, tmp_path / "out")
    assert result.exit_code == 3
    assert "is given twice" in error_line(result)


@pytest.mark.parametrize("as_of", ["2026-13-01", "31/03/2026", "yesterday"])
def test_bad_as_of_is_a_usage_error(tmp_path, as_of):
    extract = write_extract(tmp_path / "extract")
    result = CliRunner().invoke(app, ["validate", "--input", str(extract), "--as-of", as_of,
                                      "--output", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "--as-of" in result.output


# Values that must never be printed: identifiers, an NHS number, a date of birth, codes.
SECRETS = {
    "patient_id": "PSEUDO7Q3K9",
    "nhs_number": "4010232137",
    "bad_nhs_number": "4010232138",
    "date_of_birth": "1937-08-14",
    "snomedct_code": "271737000",
    "spell_id": "SPELL5X8Z2",
}


def _dirty_extract(folder):
    s = SECRETS
    return write_extract(folder, add={
        "patients": [
            dirty_row("patients", patient_id=s["patient_id"], nhs_number=s["nhs_number"],
                      date_of_birth=s["date_of_birth"]),
            dirty_row("patients", patient_id=s["patient_id"] + "B", nhs_number=s["bad_nhs_number"]),
        ],
        "clinical_events": [
            dirty_row("clinical_events", patient_id=s["patient_id"], snomedct_code=s["snomedct_code"]),
            dirty_row("clinical_events", patient_id="UNKNOWN" + s["patient_id"], date="2026-13-45"),
        ],
        "apcs": [
            dirty_row("apcs", spell_id=s["spell_id"], patient_id=s["patient_id"],
                      secondary_diagnoses="ZZ9 Q99Q9 " + s["nhs_number"]),
            dirty_row("apcs", spell_id=s["spell_id"], patient_id=s["patient_id"], admission_method="2E"),
        ],
    })


def _assert_no_secret(result):
    printed = result.stdout + result.stderr
    for name, value in SECRETS.items():
        assert value not in printed, f"{name} printed"


def test_no_patient_value_is_printed_for_a_dirty_extract(tmp_path):
    result = validate(_dirty_extract(tmp_path / "extract"), tmp_path / "out")
    assert result.exit_code == 0, result.output
    _assert_no_secret(result)
    assert "invalid NHS number" in result.stdout  # the reasons are printed, the values are not


def test_no_patient_value_is_printed_when_a_header_row_is_missing(tmp_path):
    """Regression (the missing-column message listed the file's column names): a CSV written
    without its header row has a patient's values where the column names should be. The
    schema error must name the file and the missing column without echoing that first row."""
    extract = _dirty_extract(tmp_path / "extract")
    patients = clean_rows("patients") + [dirty_row("patients", patient_id=SECRETS["patient_id"],
                                                   nhs_number=SECRETS["nhs_number"],
                                                   date_of_birth=SECRETS["date_of_birth"])]
    write_csv(extract / "patients.csv", patients[::-1], list(patients[0]), header=False)
    result = validate(extract, tmp_path / "out")
    assert result.exit_code == 4, result.output
    assert "patients.csv" in error_line(result)
    _assert_no_secret(result)


def test_quiet_prints_no_log_lines(tmp_path):
    result = validate(write_extract(tmp_path / "extract"), tmp_path / "out", "--quiet")
    assert result.exit_code == 0, result.output
    assert " INFO " not in result.stderr
