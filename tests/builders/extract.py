"""Test helper: write a tiny CSV extract folder and run ingest over it.

`BASE` holds one clean row per required table, all linked (patient P1 registered at practice
A00001 in LSOA E01000001), so a test that writes `BASE` unchanged gets every row accepted. A test
changes the extract by replacing a table's rows, adding tables, or dropping tables; `dirty_row`
makes a copy of a table's clean row with one value changed (and a fresh key, so the copy does not
collide with the clean row on a unique id).

Values are written as text exactly as given ("" is an empty CSV field), the way a supplier's
extract arrives.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path

import ibis

from npc_risk.engine import Engine
from npc_risk.ingest import IngestResult, TableReport, ingest_extract

AS_OF = date(2026, 3, 31)

# 943 476 5919 is the worked example of nhs-data-conventions.md §4 (check digit 9).
BASE: dict[str, list[dict[str, str]]] = {
    "practices": [{"practice_code": "A00001", "practice_name": "Hillside Surgery", "pcn_code": "U00001",
                   "pcn_name": "North PCN", "lcp_name": "North LCP"}],
    "lsoa_deprivation": [{"lsoa_code": "E01000001", "imd_decile": "3"}],
    "patients": [{"patient_id": "P1", "nhs_number": "9434765919", "date_of_birth": "1950-01-01",
                  "sex": "female", "date_of_death": "", "lsoa_code": "E01000001",
                  "ethnicity_group": "White"}],
    "practice_registrations": [{"patient_id": "P1", "practice_code": "A00001",
                                "start_date": "2000-01-01", "end_date": ""}],
    "clinical_events": [{"patient_id": "P1", "date": "2025-06-01", "snomedct_code": "38341003",
                         "numeric_value": "142.5"}],
    "medications": [{"patient_id": "P1", "date": "2025-06-01", "dmd_code": "319740004"}],
    "gp_appointments": [{"patient_id": "P1", "date": "2025-06-01", "status": "attended"}],
    "apcs": [{"spell_id": "S1", "patient_id": "P1", "admission_date": "2025-01-10",
              "discharge_date": "2025-01-15", "admission_method": "21", "primary_diagnosis": "J44.1",
              "secondary_diagnoses": "I10X,E119"}],
    "ec": [{"attendance_id": "E1", "patient_id": "P1", "arrival_date": "2025-01-10",
            "department_type": "01", "diagnosis_code": "195967001"}],
    "opa": [{"appointment_id": "O1", "patient_id": "P1", "appointment_date": "2025-02-01",
             "attendance_status": "5"}],
}

# Clean rows for the optional tables (absent from the extract unless a test adds them).
OPTIONAL: dict[str, list[dict[str, str]]] = {
    "social_care_packages": [{"patient_id": "P1", "start_date": "2024-01-01", "end_date": "",
                              "service_type": "home care"}],
    "opt_outs": [{"patient_id": "P1", "opt_out_type": "ndoo"}],
}

# The unique key of each table, and a second key value for a dirty copy of the clean row.
FRESH_KEY = {
    "practices": ("practice_code", "B00002"),
    "lsoa_deprivation": ("lsoa_code", "E01000002"),
    "patients": ("patient_id", "P2"),
    "apcs": ("spell_id", "S2"),
    "ec": ("attendance_id", "E2"),
    "opa": ("appointment_id", "O2"),
}


def clean_rows(table: str) -> list[dict[str, str]]:
    return [dict(row) for row in {**BASE, **OPTIONAL}[table]]


def dirty_row(table: str, **changes: str) -> dict[str, str]:
    """The table's clean row with `changes` applied (and a fresh key unless the change sets it)."""
    row = clean_rows(table)[0]
    if table in FRESH_KEY:
        key, value = FRESH_KEY[table]
        row[key] = value
    row.update(changes)
    return row


def write_csv(path: Path, rows: Sequence[Mapping[str, str]], columns: Sequence[str] | None = None,
              *, header: bool = True) -> Path:
    columns = list(columns or (rows[0] if rows else []))
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        if header:
            writer.writerow(columns)
        for row in rows:
            writer.writerow([row.get(c, "") for c in columns])
    return path


def write_extract(
    folder: Path,
    tables: Mapping[str, Sequence[Mapping[str, str]]] | None = None,
    *,
    add: Mapping[str, Sequence[Mapping[str, str]]] | None = None,
    drop: Sequence[str] = (),
    drop_columns: Mapping[str, Sequence[str]] | None = None,
) -> Path:
    """Write `<folder>/<table>.csv` for every table of BASE.

    tables: replace a table's rows (or add a table, e.g. an optional one or `sus_apcs`);
    add: rows appended after the table's clean rows; drop: tables not written;
    drop_columns: columns left out of a table's file.
    """
    content = {name: clean_rows(name) for name in BASE}
    content.update({name: [dict(r) for r in rows] for name, rows in (tables or {}).items()})
    for name, rows in (add or {}).items():
        content.setdefault(name, clean_rows(name))
        content[name] += [dict(r) for r in rows]
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in content.items():
        if name in drop:
            continue
        columns = list(dict.fromkeys(c for row in (rows or clean_rows(name)) for c in row))
        columns = [c for c in columns if c not in (drop_columns or {}).get(name, ())]
        write_csv(folder / f"{name}.csv", rows, columns)
    return folder


def run_ingest(engine: Engine, folder: Path, work: Path, *, as_of: date = AS_OF) -> IngestResult:
    """Ingest a test extract on `engine` (the test's `engine` fixture, which closes it)."""
    return ingest_extract(engine, folder, as_of=as_of, work_dir=work)


def report(result: IngestResult, table: str) -> TableReport:
    return next(r for r in result.reports if r.table == table)


def rows(engine: Engine, table: ibis.Table, *, order_by: Sequence[str] = ()) -> list[dict]:
    """An ibis table's rows as dicts, run on `engine` (sorted by `order_by` for a stable
    comparison)."""
    if order_by:
        table = table.order_by(list(order_by))
    return engine.to_arrow(table).to_pylist()
