# ruff: noqa: E501  (one case per line, like the config table of tests/unit/test_config.py: reads better unwrapped)
"""The bad-input catalogue (issue 10): realistic bad deliveries, each run through the nightly run's
ingest step (steps.ingest: read, quarantine, contract) on the tiny linked extract of
tests/builders/extract.py with one thing broken.

Each case ends either in quarantine with reasons (and rows read = accepted + quarantined for
every table), or in one user error with its exit code (and so nothing is published). The
expected outcome of every case is the table in docs/operations.md ("Bad-input catalogue"): the
test runs each case and compares its outcome with its row there, so the table is true. After a
deliberate change, regenerate the table with

    uv run --frozen --no-sync python -m tests.functional.test_bad_input_catalogue

and read the diff before committing it.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from npc_risk import steps
from npc_risk.errors import NpcRiskError
from tests.builders.extract import clean_rows, dirty_row, write_extract

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "operations.md"
BEGIN, END = "<!-- catalogue:begin -->", "<!-- catalogue:end -->"
AS_OF = date(2026, 3, 31)


# ------------------------------------------------------------------------------ how to break it
def _text(rows: list[dict], *, delimiter: str = ",", eol: str = "\n") -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator=eol)
    writer.writerow(list(rows[0]))
    writer.writerows([list(r.values()) for r in rows])
    return out.getvalue()


def _put(table: str, data: str | bytes, file: str | None = None) -> Callable[[Path], None]:
    """Replace `<table>.csv` by `data` (bytes as delivered), optionally under another name."""
    def mutate(extract: Path) -> None:
        (extract / f"{table}.csv").unlink(missing_ok=True)
        (extract / (file or f"{table}.csv")).write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return mutate


def _add(table: str, **changes: str) -> Callable[[Path], None]:
    """Append a copy of the table's clean row with `changes` (and a fresh key)."""
    return _put(table, _text(clean_rows(table) + [dirty_row(table, **changes)]))


def _rows(table: str, rows: list[dict]) -> Callable[[Path], None]:
    return _put(table, _text(rows))


def _parquet(table: str, arrow: pa.Table | None = None, data: bytes | None = None) -> Callable[[Path], None]:
    def mutate(extract: Path) -> None:
        (extract / f"{table}.csv").unlink()
        target = extract / f"{table}.parquet"
        if data is not None:
            target.write_bytes(data)
        else:
            pq.write_table(arrow, target)
    return mutate


def _arrow(table: str, **types: pa.DataType) -> pa.Table:
    """The clean row as Parquet, text columns except `types` (cast from their text)."""
    row = clean_rows(table)[0]
    columns = {k: pa.array([v or None], pa.string()) for k, v in row.items()}
    for name, kind in types.items():
        columns[name] = columns[name].cast(kind) if kind != pa.float64() else pa.array([float(row[name])])
    return pa.table(columns)


def _truncated_parquet() -> bytes:
    sink = io.BytesIO()
    pq.write_table(_arrow("patients"), sink)
    whole = sink.getvalue()
    return whole[: len(whole) // 2]


def _drop(table: str) -> Callable[[Path], None]:
    return lambda extract: (extract / f"{table}.csv").unlink()


def _many(*mutations: Callable[[Path], None]) -> Callable[[Path], None]:
    def mutate(extract: Path) -> None:
        for m in mutations:
            m(extract)
    return mutate


PRACTICES = _text(clean_rows("practices"))
PATIENTS = _text(clean_rows("patients"))
PATIENT = clean_rows("patients")[0]
EVENTS_HEADER = "patient_id,date,snomedct_code,numeric_value\n"
EVENT = "P1,2025-06-01,38341003,142.5\n"


def _symlink_to_nothing(extract: Path) -> None:
    (extract / "opt_outs.csv").symlink_to(extract / "absent.csv")


def _folder_named_like_a_table(extract: Path) -> None:
    (extract / "opt_outs.csv").mkdir()


def _folder_of_parts(extract: Path) -> None:
    (extract / "clinical_events.csv").unlink()
    folder = extract / "clinical_events"
    folder.mkdir()
    rows = clean_rows("clinical_events")
    pq.write_table(pa.Table.from_pylist(rows), folder / "part-0.parquet")
    pq.write_table(pa.Table.from_pylist([dict(rows[0], date="2025-07-01")]), folder / "part-1.parquet")
    (folder / "_SUCCESS").write_bytes(b"")


def _empty_folder_named_like_a_table(extract: Path) -> None:
    (extract / "clinical_events.csv").unlink()
    (extract / "clinical_events").mkdir()


def _unknown_file(extract: Path) -> None:
    (extract / "patients_old.csv").write_text(PATIENTS, encoding="utf-8")


def _twice(extract: Path) -> None:
    pq.write_table(_arrow("practices"), extract / "practices.parquet")


def _missing_folder(extract: Path) -> None:
    for path in extract.iterdir():
        path.unlink()
    extract.rmdir()


# ----------------------------------------------------------------------------------- the cases
@dataclass(frozen=True)
class Case:
    id: str
    what: str
    mutate: Callable[[Path], None]


CASES = [
    # files and folders
    Case("no-extract-folder", "the extract folder is missing", _missing_folder),
    Case("missing-required", "patients.csv missing", _drop("patients")),
    Case("zero-byte-required", "patients.csv is 0 bytes", _put("patients", b"")),
    Case("zero-byte-optional", "opt_outs.csv is 0 bytes", _put("opt_outs", b"")),
    Case("header-only-required", "patients.csv has its header and no rows", _put("patients", PATIENTS.splitlines()[0] + "\n")),
    Case("header-only-optional", "opt_outs.csv header only (nobody opted out this month)",
         _put("opt_outs", "patient_id,opt_out_type\n")),
    Case("unknown-file", "an extra file patients_old.csv in the folder", _unknown_file),
    Case("table-twice", "practices as both .csv and .parquet", _twice),
    Case("dangling-symlink", "opt_outs.csv is a symlink to a missing file", _symlink_to_nothing),
    Case("folder-named-like-a-file", "opt_outs.csv is a folder", _folder_named_like_a_table),
    Case("empty-parts-folder", "clinical_events/ is an empty folder (an export that wrote nothing)",
         _empty_folder_named_like_a_table),
    Case("parquet-parts-folder", "clinical_events/ holds part-0, part-1 and _SUCCESS", _folder_of_parts),
    # encodings, delimiters, line endings, compression
    Case("utf8-bom", "practices.csv starts with a UTF-8 BOM", _put("practices", "\ufeff" + PRACTICES)),
    Case("utf16", "practices.csv saved as UTF-16", _put("practices", PRACTICES.encode("utf-16"))),
    Case("latin1-line", "a practice name in Latin-1 (not UTF-8)",
         _put("practices", PRACTICES.encode() + "B00003,Caf\u00e9 Surgery,U00001,North PCN,North LCP\n".encode("latin-1"))),
    Case("semicolon", "practices.csv delimited by ;", _put("practices", _text(clean_rows("practices"), delimiter=";"))),
    Case("tab", "practices.csv delimited by tabs", _put("practices", _text(clean_rows("practices"), delimiter="\t"))),
    Case("pipe", "practices.csv delimited by |", _put("practices", _text(clean_rows("practices"), delimiter="|"))),
    Case("colon", "practices.csv delimited by : (not a supported delimiter)",
         _put("practices", _text(clean_rows("practices"), delimiter=":"))),
    Case("crlf", "patients.csv with CRLF line endings", _put("patients", _text(clean_rows("patients"), eol="\r\n"))),
    Case("mixed-eol", "clinical_events.csv mixing CRLF and LF",
         _put("clinical_events", EVENTS_HEADER.replace("\n", "\r\n") + EVENT + EVENT.replace("2025-06", "2025-07").replace("\n", "\r\n"))),
    Case("gzip-named-gz", "practices.csv.gz (gzipped)", _put("practices", gzip.compress(PRACTICES.encode(), mtime=0), "practices.csv.gz")),
    Case("gzip-named-csv", "gzipped content named practices.csv", _put("practices", gzip.compress(PRACTICES.encode(), mtime=0))),
    Case("gzip-truncated", "practices.csv.gz cut short in transfer",
         _put("practices", gzip.compress(PRACTICES.encode() * 50, mtime=0)[:40], "practices.csv.gz")),
    # quoting and line structure
    Case("unquoted-comma", "an unquoted comma in a practice name",
         _put("practices", PRACTICES + "B00002,Smith, Jones and Partners,U00001,North PCN,North LCP\n")),
    Case("row-cut-short", "a clinical event line with two of four fields", _put("clinical_events", EVENTS_HEADER + EVENT + "P1,2025-07-01\n")),
    Case("truncated-last-line", "the last line cut mid-field, no newline",
         _put("clinical_events", EVENTS_HEADER + EVENT + "P1,2025-0")),
    Case("unbalanced-quote", "a quote opened and never closed", _put("practices", PRACTICES + 'B00002,"Vale Surgery,U00001,North PCN,North LCP\n')),
    Case("nul-byte", "a NUL byte inside a practice name", _put("practices", PRACTICES + "B00002,Vale\x00Surgery,U00001,North PCN,North LCP\n")),
    Case("huge-field", "a 3 MiB practice name", _put("practices", PRACTICES + "B00002," + "x" * (3 << 20) + ",U00001,North PCN,North LCP\n")),
    # columns
    Case("no-header", "patients.csv without its header row", _put("patients", PATIENTS.split("\n", 1)[1])),
    Case("missing-column", "patients.csv without date_of_birth",
         _rows("patients", [{k: v for k, v in PATIENT.items() if k != "date_of_birth"}])),
    Case("duplicate-column", "sex given twice in patients.csv", _put("patients", PATIENTS.splitlines()[0] + ",sex\n" + PATIENTS.splitlines()[1] + ",male\n")),
    Case("extra-column", "an extra column (gp_name) in patients.csv", _rows("patients", [dict(PATIENT, gp_name="Dr A")])),
    Case("reordered-columns", "patients.csv columns in another order", _rows("patients", [dict(reversed(list(PATIENT.items())))])),
    Case("upper-case-names", "patients.csv column names in capitals",
         _put("patients", PATIENTS.splitlines()[0].upper() + "\n" + PATIENTS.splitlines()[1] + "\n")),
    # values
    Case("dmy-date", "date of birth as 01/01/1950", _add("patients", date_of_birth="01/01/1950")),
    Case("impossible-date", "date of birth 1950-02-30", _add("patients", date_of_birth="1950-02-30")),
    Case("future-birth", "date of birth after the as-of date", _add("patients", date_of_birth="2027-01-01")),
    Case("far-future-event", "a clinical event dated 2099-01-01", _put("clinical_events", EVENTS_HEADER + EVENT + "P1,2099-01-01,38341003,\n")),
    Case("discharge-before-admission", "a spell discharged before it was admitted",
         _add("apcs", admission_date="2025-01-15", discharge_date="2025-01-10")),
    Case("bad-nhs-check-digit", "NHS number with a wrong check digit", _add("patients", nhs_number="9434765918")),
    Case("nhs-with-spaces", "NHS number written 943 476 5919", _rows("patients", [dict(PATIENT, nhs_number="943 476 5919")])),
    Case("nhs-as-float", "NHS number as 9434765919.0 (a spreadsheet's float)", _rows("patients", [dict(PATIENT, nhs_number="9434765919.0")])),
    Case("nhs-parquet-float", "patients.parquet with nhs_number stored as a double", _parquet("patients", _arrow("patients", nhs_number=pa.float64()))),
    Case("dates-parquet-int", "patients.parquet with date_of_birth as an integer (19500101)",
         _parquet("patients", _arrow("patients").set_column(2, "date_of_birth", pa.array([19500101], pa.int64())))),
    Case("truncated-parquet", "patients.parquet cut in half", _parquet("patients", data=_truncated_parquet())),
    Case("csv-named-parquet", "CSV text saved as patients.parquet", _parquet("patients", data=PATIENTS.encode())),
    Case("fractional-decile", "IMD decile 3.5", _add("lsoa_deprivation", imd_decile="3.5")),
    Case("exponent-decile", "IMD decile 1e1", _add("lsoa_deprivation", imd_decile="1e1")),
    Case("decile-out-of-range", "IMD decile 11", _add("lsoa_deprivation", imd_decile="11")),
    Case("unknown-sex", "sex coded X", _add("patients", sex="X")),
    Case("unknown-practice", "a registration at a practice not in practices.csv", _add("practice_registrations", practice_code="Z99999", patient_id="P1", start_date="2010-01-01")),
    Case("orphan-event", "a clinical event for a patient not in patients.csv", _put("clinical_events", EVENTS_HEADER + EVENT + "P9,2025-06-01,38341003,\n")),
    Case("empty-patient-id", "a clinical event with no patient_id", _put("clinical_events", EVENTS_HEADER + EVENT + ",2025-06-01,38341003,\n")),
    Case("duplicate-conflicting-key", "patient P1 twice with different dates of birth",
         _rows("patients", [PATIENT, dict(PATIENT, date_of_birth="1951-01-01")])),
    Case("exact-duplicate-row", "the same clinical event line twice", _put("clinical_events", EVENTS_HEADER + EVENT + EVENT)),
    Case("snomed-with-term", "a SNOMED code with its term pasted in (38341003 |Hypertension|)",
         _put("clinical_events", EVENTS_HEADER + EVENT + "P1,2025-07-01,38341003 |Hypertension|,\n")),
    Case("dmd-in-e-notation", "a dm+d code as 3.1974E+08 (opened in a spreadsheet)", _add("medications", dmd_code="3.1974E+08")),
    Case("icd10-lower-dotted", "an ICD-10 code written j44.1", _add("apcs", primary_diagnosis="j44.1")),
    Case("non-numeric-value", "a blood pressure value written 'high'", _put("clinical_events", EVENTS_HEADER + EVENT + "P1,2025-07-01,38341003,high\n")),
    Case("every-patient-invalid", "every patient row quarantined (all NHS numbers invalid)",
         _rows("patients", [dict(PATIENT, nhs_number="1234567890")])),
]


# ------------------------------------------------------------------------------- the outcomes
def outcome(engine, case: Case, tmp: Path) -> str:
    """Run one case through the run's ingest step; its outcome as one line for the table."""
    extract = write_extract(tmp / "extract")
    case.mutate(extract)
    try:
        result = steps.ingest(engine, input_dir=extract, as_of=AS_OF, work_dir=tmp / "work")
    except NpcRiskError as exc:
        message = str(exc).replace(str(extract), "EXTRACT")
        assert "Traceback" not in message and str(tmp) not in message
        return f"exit {exc.exit_code} ({exc.kind}): {message}"
    parts = []
    for report in result.reports:
        assert report.rows_read == report.accepted + report.quarantined, report.table
        if report.quarantined:
            reasons = ", ".join(f"{reason} ({n})" for reason, n in sorted(report.reasons.items()))
            parts.append(f"{report.table}: {report.quarantined} of {report.rows_read} quarantined: {reasons}")
        for note, n in sorted(report.notes.items()):
            if n:
                parts.append(f"{report.table}: {note} ({n})")
    return "read; " + "; ".join(parts) if parts else "read, every row accepted"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(outcomes: dict[str, str]) -> str:
    lines = [BEGIN, "", "| # | case | bad delivery | outcome |", "|---|---|---|---|"]
    lines += [f"| {i} | `{c.id}` | {_cell(c.what)} | {_cell(outcomes[c.id])} |" for i, c in enumerate(CASES, 1)]
    return "\n".join(lines + ["", END])


def documented() -> dict[str, str]:
    """case id -> the outcome in docs/operations.md's table."""
    text = DOC.read_text(encoding="utf-8")
    table = text[text.index(BEGIN):text.index(END)]
    found = {}
    for line in table.splitlines():
        cells = re.split(r"(?<!\\) \| ", line.strip().strip("|").strip())
        if len(cells) == 4 and cells[1].startswith("`"):
            found[cells[1].strip("`")] = cells[3].replace("\\|", "|")
    return found


def test_the_catalogue_has_at_least_40_distinct_cases_all_documented():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)) >= 40
    assert list(documented()) == ids


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_delivery_has_its_documented_outcome(module_engine, tmp_path, case):
    assert outcome(module_engine, case, tmp_path) == documented()[case.id]


def main() -> None:  # pragma: no cover - the regeneration command in the module docstring
    import tempfile

    from npc_risk.config import RunConfig
    from npc_risk.engine import Engine

    outcomes = {}
    with tempfile.TemporaryDirectory() as tmp, Engine.open(RunConfig(), spill_dir=Path(tmp) / "spill") as engine:
        for case in CASES:
            outcomes[case.id] = outcome(engine, case, Path(tmp) / case.id)
            print(f"{case.id}: {outcomes[case.id][:150]}", file=sys.stderr)
    text = DOC.read_text(encoding="utf-8")
    start, end = text.index(BEGIN), text.index(END) + len(END)
    DOC.write_text(text[:start] + render(outcomes) + text[end:], encoding="utf-8")


if __name__ == "__main__":  # pragma: no cover
    main()
