"""Spec: the A&E diagnosis (ec.diagnosis_code, ECDS EC_DIAGNOSIS as a SNOMED CT concept id) is an
optional, nullable column checked like clinical_events.snomedct_code: 6-18 digits, no leading
zero. A bad code quarantines its row with `invalid diagnosis_code`; an empty one is accepted as no
diagnosis; a file without the column is read with nulls (older extracts still load).
"""

from __future__ import annotations

import pyarrow.parquet as pq

from tests.builders.extract import clean_rows, dirty_row, report, rows, run_ingest, write_extract


def test_bad_codes_are_quarantined_and_blank_ones_accepted(engine, tmp_path):
    cases = {  # attendance_id: (diagnosis_code as written, reason or None when accepted)
        "E10": ("195967001", None),  # asthma
        "E11": ("", None),  # not recorded
        "E12": ("J45X", "invalid diagnosis_code"),  # an ICD-10 code in the SNOMED column
        "E13": ("0195967001", "invalid diagnosis_code"),  # leading zero
        "E14": ("19596", "invalid diagnosis_code"),  # 5 digits
    }
    add = [dirty_row("ec", attendance_id=i, diagnosis_code=code) for i, (code, _) in cases.items()]
    result = run_ingest(engine, write_extract(tmp_path / "extract", add={"ec": add}), tmp_path / "work")
    quarantined = {r["attendance_id"]: r["reason"]
                   for r in pq.read_table(result.quarantine_dir / "ec.parquet").to_pylist()}
    assert quarantined == {i: reason for i, (_, reason) in cases.items() if reason}
    accepted = {r["attendance_id"]: r["diagnosis_code"]
                for r in rows(engine, result.tables["ec"]) if r["attendance_id"] in cases}
    assert accepted == {"E10": "195967001", "E11": None}
    assert report(result, "ec").accepted == 1 + 2  # the clean row and the two good ones


def test_a_file_without_the_column_is_read_with_nulls(engine, tmp_path):
    folder = write_extract(tmp_path / "extract", drop_columns={"ec": ["diagnosis_code"]})
    result = run_ingest(engine, folder, tmp_path / "work")
    assert report(result, "ec").accepted == len(clean_rows("ec"))
    assert [r["diagnosis_code"] for r in rows(engine, result.tables["ec"])] == [None]
