"""Spec: ingest quarantines each bad row once, with a reason, and hands on typed accepted rows.

The rulebook (ingest.py, schemas/contract.py, schemas/tables.py): a row is quarantined with the
FIRST rule it breaks, in this order: missing value, unparseable value, invalid value or format,
invalid NHS number, date-order rule, date after the as-of date, unknown reference (patient,
practice), duplicate. Every other row is accepted with typed values. Nothing is dropped silently:
rows read == accepted + quarantined, and the quarantine file keeps the raw text and the reason.

In ONE_DIRTY_VALUE, each case is a table's clean row (tests/builders/extract.py: one linked row per
table, as-of 2026-03-31) with ONE value changed; that row must be quarantined with exactly the
reason beside it, and every clean row must stay accepted.
"""

from __future__ import annotations

from datetime import date

import pyarrow.parquet as pq
import pytest

from tests.builders.extract import (
    AS_OF,
    BASE,
    FRESH_KEY,
    OPTIONAL,
    clean_rows,
    dirty_row,
    report,
    rows,
    run_ingest,
    write_csv,
    write_extract,
)

ONE_DIRTY_VALUE = [
    # table                   column               raw value         reason
    # -- missing required value (empty or blank field)
    ("patients",               "date_of_birth",     "",               "missing date_of_birth"),
    ("patients",               "sex",               "   ",            "missing sex"),
    ("clinical_events",        "snomedct_code",     "",               "missing snomedct_code"),
    ("practices",              "pcn_name",          "",               "missing pcn_name"),
    ("apcs",                   "admission_date",    "",               "missing admission_date"),
    # -- unparseable: dates must be ISO YYYY-MM-DD and real; numbers must parse
    ("patients",               "date_of_birth",     "2020-13-01",     "unparseable date_of_birth"),
    ("patients",               "date_of_birth",     "01/02/2020",     "unparseable date_of_birth"),
    ("patients",               "date_of_birth",     "2021-02-29",     "unparseable date_of_birth"),
    ("apcs",                   "discharge_date",    "unknown",        "unparseable discharge_date"),
    ("clinical_events",        "numeric_value",     "high",           "unparseable numeric_value"),
    ("clinical_events",        "numeric_value",     "12,5",           "unparseable numeric_value"),
    ("lsoa_deprivation",       "imd_decile",        "three",          "unparseable imd_decile"),
    # -- invalid value (isin, range)
    ("patients",               "sex",               "F",              "invalid sex"),
    ("patients",               "ethnicity_group",   "white",          "invalid ethnicity_group"),
    ("gp_appointments",        "status",            "DNA",            "invalid status"),
    ("ec",                     "department_type",   "5",              "invalid department_type"),
    ("opa",                    "attendance_status", "1",              "invalid attendance_status"),
    ("lsoa_deprivation",       "imd_decile",        "11",             "invalid imd_decile"),
    ("lsoa_deprivation",       "imd_decile",        "0",              "invalid imd_decile"),
    # -- invalid format (code patterns)
    ("clinical_events",        "snomedct_code",     "38341003X",      "invalid snomedct_code"),
    ("clinical_events",        "snomedct_code",     "0038341003",     "invalid snomedct_code"),
    ("medications",            "dmd_code",          "abc123456",      "invalid dmd_code"),
    ("practice_registrations", "practice_code",     "A0001",          "invalid practice_code"),
    ("practices",              "practice_code",     "a00002",         "invalid practice_code"),
    ("practices",              "pcn_code",          "X00001",         "invalid pcn_code"),
    ("patients",               "lsoa_code",         "E0100001",       "invalid lsoa_code"),
    ("apcs",                   "admission_method",  "2E",             "invalid admission_method"),
    ("patients",               "nhs_number",        "943476591",      "invalid nhs_number"),     # 9 digits
    ("patients",               "nhs_number",        "94347659190",    "invalid nhs_number"),     # 11 digits
    # spaces removed, then Modulus 11 fails
    ("patients",               "nhs_number",        "943 476 5918",   "invalid NHS number"),
    # -- invalid NHS number: right shape, wrong Modulus 11 check digit
    ("patients",               "nhs_number",        "9434765918",     "invalid NHS number"),
    ("patients",               "nhs_number",        "9990000000",     "invalid NHS number"),     # stem never issued
    # -- date-order rules
    ("patients",               "date_of_death",     "1949-12-31",     "date of death before birth"),
    ("apcs",                   "discharge_date",    "2025-01-09",     "discharge before admission"),
    ("practice_registrations", "end_date",          "1999-12-31",     "registration ends before it starts"),
    # -- after the as-of date (2026-03-31)
    ("patients",               "date_of_birth",     "2026-04-01",     "date_of_birth after as-of date"),
    ("patients",               "date_of_death",     "2026-04-01",     "date_of_death after as-of date"),
    ("clinical_events",        "date",              "2026-04-01",     "date after as-of date"),
    ("medications",            "date",              "2030-01-01",     "date after as-of date"),
    ("gp_appointments",        "date",              "2026-04-01",     "date after as-of date"),
    ("apcs",                   "discharge_date",    "2026-04-01",     "discharge_date after as-of date"),
    ("ec",                     "arrival_date",      "2026-04-01",     "arrival_date after as-of date"),
    ("opa",                    "appointment_date",  "2026-04-01",     "appointment_date after as-of date"),
    ("practice_registrations", "start_date",        "2026-04-01",     "start_date after as-of date"),
    # -- unknown references (among accepted rows)
    ("clinical_events",        "patient_id",        "P404",           "unknown patient_id"),
    ("apcs",                   "patient_id",        "P404",           "unknown patient_id"),
    ("practice_registrations", "patient_id",        "P404",           "unknown patient_id"),
    ("practice_registrations", "practice_code",     "Z99999",         "unknown practice_code"),
]


def _lookup(table: str) -> str:
    """The column that identifies a case's row in its table's quarantine file."""
    return "patient_id" if "patient_id" in clean_rows(table)[0] else FRESH_KEY[table][0]


def _tag(i: int, table: str) -> str:
    """Case i's own identifier: a patient of its own, or its own practice / LSOA code."""
    return {"practices": f"B{i:05d}", "lsoa_deprivation": f"E01{i:06d}"}.get(table, f"C{i:02d}")


@pytest.fixture(scope="module")
def one_dirty_value(module_engine, tmp_path_factory):
    """All ONE_DIRTY_VALUE cases in one extract (ingest is run once, not once per case).

    Case i's row is its table's clean row with the case's value, on a patient of its own (C<i>,
    a clean patient added to `patients`) or with its own practice / LSOA code, and its own unique
    id, so the cases cannot interfere. Returns the ingest result and, per (table, id), the reason
    in the quarantine file.
    """
    add: dict[str, list[dict]] = {}
    for i, (table, column, raw, _) in enumerate(ONE_DIRTY_VALUE):
        row = dirty_row(table)
        tag = _tag(i, table)
        row[_lookup(table)] = tag
        if table in FRESH_KEY and FRESH_KEY[table][0] != _lookup(table):
            row[FRESH_KEY[table][0]] += f"-{i}"  # e.g. spell S2-7
        if _lookup(table) == "patient_id" and table != "patients":
            add.setdefault("patients", []).append(dirty_row("patients", patient_id=tag))
        row[column] = raw
        add.setdefault(table, []).append(row)
    folder = tmp_path_factory.mktemp("one_dirty_value")
    result = run_ingest(module_engine, write_extract(folder / "extract", add=add), folder / "work")
    reasons = {}
    for table in {t for t, *_ in ONE_DIRTY_VALUE}:
        for row in pq.read_table(result.quarantine_dir / f"{table}.parquet").to_pylist():
            reasons[(table, row[_lookup(table)])] = row["reason"]
    return result, add, reasons


@pytest.mark.parametrize(
    ("i", "table", "column", "raw", "reason"), [(i, *case) for i, case in enumerate(ONE_DIRTY_VALUE)],
    ids=[f"{t}.{c}={v!r}->{r}" for t, c, v, r in ONE_DIRTY_VALUE],
)
def test_one_dirty_value_quarantines_its_row_with_the_reason(one_dirty_value, i, table, column, raw, reason):
    """A clean row with this one value changed is quarantined with exactly this reason."""
    _, _, reasons = one_dirty_value
    ident = raw.strip() if column == _lookup(table) else _tag(i, table)
    assert reasons[(table, ident)] == reason


def test_one_dirty_value_leaves_every_clean_row_accepted(one_dirty_value):
    """Only the dirty rows are quarantined: rows read == accepted + quarantined, and every
    clean row (BASE plus the cases' own clean patients) is accepted."""
    result, add, reasons = one_dirty_value
    dirty_patients = sum(t == "patients" for t, *_ in ONE_DIRTY_VALUE)
    for table in BASE:
        got = report(result, table)
        dirty = sum(t == table for t, *_ in ONE_DIRTY_VALUE)
        clean = len(BASE[table]) + len(add.get(table, [])) - dirty
        assert (got.rows_read, got.accepted, got.quarantined) == (clean + dirty, clean, dirty), table
    assert len(reasons) == len(ONE_DIRTY_VALUE)
    assert dirty_patients == sum(report(result, "patients").reasons.values())


OPTIONAL_TABLE_CASES = [
    # table                   column         raw value      reason
    ("social_care_packages", "end_date",     "2023-12-31",  "package ends before it starts"),
    ("social_care_packages", "start_date",   "2026-04-01",  "start_date after as-of date"),
    ("social_care_packages", "patient_id",   "P404",        "unknown patient_id"),
    ("opt_outs",             "opt_out_type", "type2",       "invalid opt_out_type"),
]


@pytest.mark.parametrize(("table", "column", "raw", "reason"), OPTIONAL_TABLE_CASES,
                         ids=[f"{t}.{c}->{r}" for t, c, _, r in OPTIONAL_TABLE_CASES])
def test_optional_tables_follow_the_same_rules(engine, tmp_path, table, column, raw, reason):
    extract = write_extract(tmp_path / "extract",
                            tables={table: clean_rows(table) + [dirty_row(table, **{column: raw})]})
    got = report(run_ingest(engine, extract, tmp_path / "work"), table)
    assert (got.accepted, got.reasons) == (1, {reason: 1})


def test_clean_extract_is_accepted_whole(engine, tmp_path):
    result = run_ingest(engine, write_extract(tmp_path / "extract"), tmp_path / "work")
    for table in BASE:
        got = report(result, table)
        assert (got.rows_read, got.accepted, got.quarantined) == (1, 1, 0), table


def test_dates_on_the_as_of_date_are_accepted(engine, tmp_path):
    """'Not after the as-of date' means on the day is fine; the day after is quarantined."""
    day = AS_OF.isoformat()
    extract = write_extract(tmp_path / "extract", add={
        "clinical_events": [dirty_row("clinical_events", date=day)],
        "apcs": [dirty_row("apcs", admission_date=day, discharge_date=day)],
    })
    result = run_ingest(engine, extract, tmp_path / "work")
    assert report(result, "clinical_events").accepted == 2
    assert report(result, "apcs").accepted == 2


def test_a_row_breaking_several_rules_gets_the_first_reason(engine, tmp_path):
    """Order: missing, unparseable, invalid, NHS number, date order, as-of, unknown reference."""
    events = [
        # patient_id date          snomedct_code  numeric_value  -> reason
        ("P404",     "",           "38341003X",   "x"),        # missing date
        ("P404",     "2026-13-01", "38341003X",   ""),         # unparseable date
        ("P404",     "2026-04-01", "38341003X",   ""),         # invalid snomedct_code
        ("P404",     "2026-04-01", "38341003",    ""),         # date after as-of date
    ]
    extract = write_extract(tmp_path / "extract", add={"clinical_events": [
        {"patient_id": p, "date": d, "snomedct_code": s, "numeric_value": v} for p, d, s, v in events
    ]})
    got = report(run_ingest(engine, extract, tmp_path / "work"), "clinical_events")
    assert got.reasons == {
        "missing date": 1,
        "unparseable date": 1,
        "invalid snomedct_code": 1,
        "date after as-of date": 1,
    }
    patients = [
        dirty_row("patients", patient_id="P2", nhs_number="9434765918",      # bad check digit and
                  date_of_birth="1950-01-01", date_of_death="1940-01-01"),  # death before birth
        dirty_row("patients", patient_id="P3", date_of_birth="1950-01-01",   # death before birth,
                  date_of_death="2027-01-01"),                              # and after as-of
    ]
    extract = write_extract(tmp_path / "extract2", add={"patients": patients})
    got = report(run_ingest(engine, extract, tmp_path / "work2"), "patients")
    assert got.reasons == {"invalid NHS number": 1, "date_of_death after as-of date": 1}


def test_invalid_value_comes_before_invalid_nhs_number(engine, tmp_path):
    """Regression (the NHS number check ran in column order, before the checks of the columns
    after nhs_number): the documented order puts every invalid value or format first, so a
    patient with a bad check digit AND an invalid sex or LSOA code is quarantined as the
    invalid value."""
    patients = [
        # patient_id  nhs_number     sex       lsoa_code     -> reason
        ("P2",        "9434765918",  "F",      "E01000001"),  # invalid sex
        ("P3",        "9434765918",  "female", "E0100001"),   # invalid lsoa_code
        ("P4",        "9434765918",  "female", "E01000001"),  # invalid NHS number
    ]
    extract = write_extract(tmp_path / "extract", add={"patients": [
        dirty_row("patients", patient_id=p, nhs_number=n, sex=s, lsoa_code=lsoa) for p, n, s, lsoa in patients
    ]})
    got = report(run_ingest(engine, extract, tmp_path / "work"), "patients")
    assert got.reasons == {"invalid sex": 1, "invalid lsoa_code": 1, "invalid NHS number": 1}


# ----------------------------------------------------------------------------------- duplicates
def test_exact_duplicate_rows_keep_one_copy(engine, tmp_path):
    """Exact copies of a row (same values in every column) are one row: one is accepted, the
    other copies are quarantined as 'duplicate row'."""
    spell = clean_rows("apcs")[0]
    extract = write_extract(tmp_path / "extract", tables={"apcs": [spell, spell, spell]})
    result = run_ingest(engine, extract, tmp_path / "work")
    got = report(result, "apcs")
    assert (got.accepted, got.reasons) == (1, {"duplicate row": 2})
    assert [r["spell_id"] for r in rows(engine, result.tables["apcs"])] == ["S1"]


def test_copies_differing_only_in_blank_padding_are_exact_duplicates(engine, tmp_path):
    """Values are compared after trimming, so ' S1 ' and 'S1' are the same spell id."""
    spell = clean_rows("apcs")[0]
    padded = {k: f" {v} " for k, v in spell.items()}
    extract = write_extract(tmp_path / "extract", tables={"apcs": [spell, padded]})
    got = report(run_ingest(engine, extract, tmp_path / "work"), "apcs")
    assert (got.accepted, got.reasons) == (1, {"duplicate row": 1})


def test_blanks_at_either_end_are_stripped_and_inner_ones_kept(engine, tmp_path):
    """Space, tab, line feed, carriage return, vertical tab and form feed are stripped at both
    ends of a value (and only there), whatever the first and last characters are."""
    cases = [
        # patient_id  sex as delivered        sex as read  reason
        ("P1",        " female",              "female",    None),
        ("P2",        "female\t",             "female",    None),
        ("P3",        "\x0bmale\x0c",          "male",      None),
        ("P4",        "\r\n female \x0b\t",     "female",    None),
        ("P5",        "\t\x0c \r",             None,        "missing sex"),
        ("P6",        "fe male",              None,        "invalid sex"),
        ("P7",        "\u00e9female ",         None,        "invalid sex"),  # é: not ASCII, kept
        ("P8",        "vf",                   None,        "invalid sex"),  # not eaten as blanks
    ]
    patients = [dirty_row("patients", patient_id=p, sex=raw) for p, raw, _, _ in cases]
    extract = write_extract(tmp_path / "extract", tables={"patients": patients})
    result = run_ingest(engine, extract, tmp_path / "work")
    accepted = {r["patient_id"]: r["sex"] for r in rows(engine, result.tables["patients"])}
    quarantined = {r["patient_id"]: r["reason"] for r in pq.read_table(
        tmp_path / "work" / "quarantine" / "patients.parquet").to_pylist()}
    for patient, _, sex, reason in cases:
        assert (accepted.get(patient), quarantined.get(patient)) == (sex, reason), patient


def test_duplicated_key_with_conflicting_values_quarantines_every_version(engine, tmp_path):
    """Two rows share a unique id but disagree elsewhere: there is no telling which is right,
    so all of them are quarantined."""
    versions = [
        # patient_id  date_of_birth  sex
        ("P1",        "1950-01-01",  "female"),
        ("P1",        "1950-01-01",  "male"),
        ("P1",        "1951-06-01",  "female"),
    ]
    patients = [dirty_row("patients", patient_id=p, date_of_birth=d, sex=s) for p, d, s in versions]
    extract = write_extract(tmp_path / "extract", tables={"patients": patients})
    result = run_ingest(engine, extract, tmp_path / "work")
    got = report(result, "patients")
    assert (got.accepted, got.reasons) == (0, {"duplicated patient_id with conflicting values": 3})
    # ... and with no accepted P1, every row referring to P1 is an unknown patient.
    assert report(result, "clinical_events").reasons == {"unknown patient_id": 1}


def test_exact_copies_plus_a_conflicting_version(engine, tmp_path):
    """Copies collapse first ('duplicate row'), then the surviving versions conflict."""
    a = dirty_row("ec", attendance_id="E1", department_type="01")
    b = dirty_row("ec", attendance_id="E1", department_type="03")
    extract = write_extract(tmp_path / "extract", tables={"ec": [a, a, b]})
    got = report(run_ingest(engine, extract, tmp_path / "work"), "ec")
    assert (got.accepted, got.reasons) == (
        0, {"duplicate row": 1, "duplicated attendance_id with conflicting values": 2})


def test_valid_row_is_not_a_duplicate_of_an_already_quarantined_row(engine, tmp_path):
    """Regression (duplicate flag counted quarantined rows as copies): a spell resubmitted with
    a garbled discharge date ('unknown', quarantined as unparseable) types to the same values as
    the clean spell (discharge date null). The clean spell must be accepted, not quarantined as a
    'duplicate row' of the garbled one, which would lose spell S1 altogether."""
    clean = clean_rows("apcs")[0] | {"discharge_date": ""}
    garbled = clean | {"discharge_date": "unknown"}
    extract = write_extract(tmp_path / "extract", tables={"apcs": [garbled, clean]})
    got = report(run_ingest(engine, extract, tmp_path / "work"), "apcs")
    assert (got.accepted, got.reasons) == (1, {"unparseable discharge_date": 1})


def test_unique_key_only_applies_to_keyed_tables(engine, tmp_path):
    """Event tables have no unique id: two identical events (e.g. two issues of the same drug on
    one day) are both kept."""
    issue = clean_rows("medications")[0]
    extract = write_extract(tmp_path / "extract", tables={"medications": [issue, issue]})
    assert report(run_ingest(engine, extract, tmp_path / "work"), "medications").accepted == 2


# ---------------------------------------------------------------------- accepted and quarantined
def test_accepted_rows_keep_their_typed_values(engine, tmp_path):
    extract = write_extract(tmp_path / "extract", tables={
        "clinical_events": [
            # patient_id  date           snomedct_code  numeric_value
            {"patient_id": "P1", "date": "2025-06-01", "snomedct_code": "38341003", "numeric_value": "142.5"},
            {"patient_id": "P1", "date": " 2025-06-02T09:30:00 ", "snomedct_code": "38341003", "numeric_value": ""},
        ],
        "apcs": [clean_rows("apcs")[0] | {"admission_method": "2a", "discharge_date": ""}],
    })
    result = run_ingest(engine, extract, tmp_path / "work")
    assert rows(engine, result.tables["clinical_events"], order_by=["date"]) == [
        {"patient_id": "P1", "date": date(2025, 6, 1), "snomedct_code": "38341003", "numeric_value": 142.5},
        {"patient_id": "P1", "date": date(2025, 6, 2), "snomedct_code": "38341003", "numeric_value": None},
    ]
    assert rows(engine, result.tables["patients"]) == [{
        "patient_id": "P1", "nhs_number": "9434765919", "date_of_birth": date(1950, 1, 1),
        "sex": "female", "date_of_death": None, "lsoa_code": "E01000001", "ethnicity_group": "White",
    }]
    assert rows(engine, result.tables["lsoa_deprivation"]) == [{"lsoa_code": "E01000001", "imd_decile": 3}]
    schema = result.tables["lsoa_deprivation"].schema()
    assert (str(schema["imd_decile"]), str(schema["lsoa_code"])) == ("int64", "string")
    assert str(result.tables["clinical_events"].schema()["numeric_value"]) == "float64"
    # Lower-case admission methods are invalid in canonical files (only the SUS adapter upper-cases).
    assert report(result, "apcs").reasons == {"invalid admission_method": 1}


def test_quarantine_file_holds_the_raw_text_and_the_reason(engine, tmp_path):
    bad = dirty_row("patients", date_of_birth="01/02/1950", sex="F")
    result = run_ingest(engine, write_extract(tmp_path / "extract", add={"patients": [bad]}), tmp_path / "work")
    quarantined = pq.read_table(result.quarantine_dir / "patients.parquet").to_pylist()
    assert quarantined == [{
        "patient_id": "P2", "nhs_number": "9434765919", "date_of_birth": "01/02/1950", "sex": "F",
        "date_of_death": None, "lsoa_code": "E01000001", "ethnicity_group": "White",
        "reason": "unparseable date_of_birth",
    }]
    # A table with nothing quarantined still gets an (empty) quarantine file.
    assert pq.read_table(result.quarantine_dir / "practices.parquet").num_rows == 0


def test_annotated_file_keeps_raw_text_only_for_quarantined_rows(engine, tmp_path):
    bad = dirty_row("patients", sex="F")
    run_ingest(engine, write_extract(tmp_path / "extract", add={"patients": [bad]}), tmp_path / "work")
    annotated = pq.read_table(tmp_path / "work" / "ingest" / "patients.parquet").to_pylist()
    by_id = {r["patient_id"]: r for r in annotated}
    assert by_id["P1"]["reason"] is None and by_id["P1"]["raw_sex"] is None
    assert (by_id["P2"]["reason"], by_id["P2"]["raw_sex"]) == ("invalid sex", "F")


# ------------------------------------------------------------------------ absent tables, columns
def test_absent_optional_table_is_an_empty_table_with_its_columns(engine, tmp_path):
    result = run_ingest(engine, write_extract(tmp_path / "extract"), tmp_path / "work")
    for table, columns in [
        ("social_care_packages", {"patient_id": "string", "start_date": "date", "end_date": "date",
                                  "service_type": "string"}),
        ("opt_outs", {"patient_id": "string", "opt_out_type": "string"}),
    ]:
        empty = result.tables[table]
        assert {k: str(v).rstrip("?").lstrip("!") for k, v in empty.schema().items()} == columns
        assert engine.count(empty) == 0
        assert report(result, table).file is None


def test_present_optional_table_is_ingested(engine, tmp_path):
    extract = write_extract(tmp_path / "extract", tables=dict(OPTIONAL))
    result = run_ingest(engine, extract, tmp_path / "work")
    assert report(result, "opt_outs").accepted == 1
    assert rows(engine, result.tables["social_care_packages"]) == [
        {"patient_id": "P1", "start_date": date(2024, 1, 1), "end_date": None, "service_type": "home care"}
    ]


def test_absent_optional_columns_are_filled_with_nulls(engine, tmp_path):
    """nhs_number, lsoa_code, ethnicity_group (patients), numeric_value (clinical_events),
    secondary_diagnoses (apcs) and department_type (ec) may be left out of a file."""
    extract = write_extract(tmp_path / "extract", drop_columns={
        "patients": ["ethnicity_group", "nhs_number", "lsoa_code"],
        "clinical_events": ["numeric_value"],
        "ec": ["department_type"],
        "apcs": ["secondary_diagnoses"],
    })
    result = run_ingest(engine, extract, tmp_path / "work")
    patient = rows(engine, result.tables["patients"])[0]
    assert (patient["ethnicity_group"], patient["nhs_number"], patient["lsoa_code"]) == (None, None, None)
    assert rows(engine, result.tables["clinical_events"])[0]["numeric_value"] is None
    assert rows(engine, result.tables["ec"])[0]["department_type"] is None
    assert [r["position"] for r in rows(engine, result.tables["apcs_diagnoses"])] == [0]


# ------------------------------------------------------------------------------- apcs_diagnoses
def test_apcs_diagnoses_one_row_per_position_with_canonical_codes(engine, tmp_path):
    """Position 0 is the primary; secondary codes follow 1, 2, ... in the order written, split on
    any of , ; | or spaces. Tokens that are not ICD-10 are dropped and counted in a note."""
    spell = clean_rows("apcs")[0] | {
        "primary_diagnosis": "j44.1d",
        "secondary_diagnoses": "I10X; f05.1 | M32.1+,N08.5*  E11.9- ZZ9,,G473-",
    }
    result = run_ingest(engine, write_extract(tmp_path / "extract", tables={"apcs": [spell]}), tmp_path / "work")
    got = [(r["position"], r["icd10_code"], r["icd10_code3"])
           for r in rows(engine, result.tables["apcs_diagnoses"], order_by=["position"])]
    assert got == [
        # position  code    code3      raw token
        (0,         "J441", "J44"),    # j44.1d (primary)
        (1,         "I10",  "I10"),    # I10X
        (2,         "F051", "F05"),    # f05.1
        (3,         "M321", "M32"),    # M32.1+
        (4,         "N085", "N08"),    # N08.5*
        (5,         "E119", "E11"),    # E11.9-
        #                                 ZZ9 (position 6) is not ICD-10: dropped, counted
        (7,         "G473", "G47"),    # G473-
    ]
    assert report(result, "apcs").notes == {"diagnosis tokens not valid ICD-10 (dropped)": 1}
    first = rows(engine, result.tables["apcs_diagnoses"], order_by=["position"])[0]
    assert {k: first[k] for k in ("spell_id", "patient_id", "admission_method")} == {
        "spell_id": "S1", "patient_id": "P1", "admission_method": "21"}


def test_apcs_diagnoses_only_from_accepted_spells(engine, tmp_path):
    bad = dirty_row("apcs", patient_id="P404", primary_diagnosis="I10X")
    result = run_ingest(engine, write_extract(tmp_path / "extract", add={"apcs": [bad]}), tmp_path / "work")
    assert {r["spell_id"] for r in rows(engine, result.tables["apcs_diagnoses"])} == {"S1"}


def test_leading_separator_does_not_skip_a_position(engine, tmp_path):
    """Regression (SUS strings start with '||'): the empty piece before a leading separator is
    not a token and must not use up a position; the first secondary code is position 1."""
    spell = clean_rows("apcs")[0] | {"primary_diagnosis": "E119", "secondary_diagnoses": "||E119 ,J849"}
    result = run_ingest(engine, write_extract(tmp_path / "extract", tables={"apcs": [spell]}), tmp_path / "work")
    got = [(r["position"], r["icd10_code"])
           for r in rows(engine, result.tables["apcs_diagnoses"], order_by=["position"])]
    assert got == [(0, "E119"), (1, "E119"), (2, "J849")]


def test_sus_apcs_file_maps_onto_apcs(engine, tmp_path):
    """A SUS+ spell file (`sus_apcs.csv`, NCDR/UDAL column names) feeds the apcs table.
    Der_Diagnosis_All holds every episode's codes ('||' between episodes, ',' between codes);
    its first code is the primary when Spell_Primary_Diagnosis is absent; the admission method
    is upper-cased."""
    sus = [
        # APCS_Ident  Der_Pseudo_NHS_Number  Admission_Date  Discharge_Date  Admission_Method  Der_Diagnosis_All
        ("1001",      "P1",                  "2025-01-10",   "2025-01-15",   "2a",    "||E119 ,J849 ,K869 ||I801"),
        ("1002",      "P1",                  "2025-03-01",   "",             "11",    ""),
        ("1003",      "P404",                "2025-03-01",   "2025-03-02",   "21",    "||I10X"),
    ]
    columns = ["APCS_Ident", "Der_Pseudo_NHS_Number", "Admission_Date", "Discharge_Date",
               "Admission_Method", "Der_Diagnosis_All"]
    extract = write_extract(tmp_path / "extract", drop=["apcs"])
    write_csv(extract / "sus_apcs.csv", [dict(zip(columns, r, strict=True)) for r in sus], columns)
    result = run_ingest(engine, extract, tmp_path / "work")

    got = report(result, "apcs")
    assert (got.file, got.rows_read, got.accepted, got.reasons) == (
        "sus_apcs.csv", 3, 2, {"unknown patient_id": 1})
    assert rows(engine, result.tables["apcs"], order_by=["spell_id"]) == [
        {"spell_id": "1001", "patient_id": "P1", "admission_date": date(2025, 1, 10),
         "discharge_date": date(2025, 1, 15), "admission_method": "2A", "primary_diagnosis": "E119",
         "secondary_diagnoses": "||E119 ,J849 ,K869 ||I801"},
        {"spell_id": "1002", "patient_id": "P1", "admission_date": date(2025, 3, 1),
         "discharge_date": None, "admission_method": "11", "primary_diagnosis": None,
         "secondary_diagnoses": None},
    ]
    codes = {(r["spell_id"], r["icd10_code"]) for r in rows(engine, result.tables["apcs_diagnoses"])}
    assert codes == {("1001", "E119"), ("1001", "J849"), ("1001", "K869"), ("1001", "I801")}
    assert result.input_files["apcs"].name == "sus_apcs.csv"


def test_sus_apcs_spell_primary_wins_when_present(engine, tmp_path):
    columns = ["APCS_Ident", "Der_Pseudo_NHS_Number", "Admission_Date", "Discharge_Date",
               "Admission_Method", "Der_Diagnosis_All", "Spell_Primary_Diagnosis"]
    sus = [("1001", "P1", "2025-01-10", "2025-01-15", "21", "||E119 ,J849 ||I801", "J849")]
    extract = write_extract(tmp_path / "extract", drop=["apcs"])
    write_csv(extract / "sus_apcs.csv", [dict(zip(columns, r, strict=True)) for r in sus], columns)
    result = run_ingest(engine, extract, tmp_path / "work")
    assert rows(engine, result.tables["apcs"])[0]["primary_diagnosis"] == "J849"
