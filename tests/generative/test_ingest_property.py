"""Generative: ingest never loses or invents a row, whatever the dirt.

Contract (ingest.py): for every table, rows read == rows accepted + rows quarantined, and rows
read == the rows in the file. hypothesis draws small extracts mixing clean rows with every kind
of dirt (blank, unparseable and out-of-range values, bad codes, bad check digits, dates after the
as-of date or out of order, unknown patients and practices, exact copies, conflicting versions of
a unique id, stray separators); the files ingest writes must agree with its report: the annotated
file `ingest/<table>.parquet` holds every row read, of which `reason IS NULL` are the accepted;
`quarantine/<table>.parquet` holds the quarantined, each with a reason; and every accepted row
meets the full pandera contract (the proof of ingest's derivation of its rules from the models).

One ingest per example (about 1-2 s), so the example count is modest.
"""

from __future__ import annotations

import itertools

import pyarrow.compute as pc
import pyarrow.parquet as pq
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from npc_risk.ingest import assert_contract
from tests.builders.extract import BASE, FRESH_KEY, clean_rows, report, run_ingest, write_extract

# Small pools, so copies, conflicting versions and unknown references come up often.
KEYS = {
    "practices": ["A00001", "B00002"],
    "lsoa_deprivation": ["E01000001", "E01000002"],
    "patients": ["P1", "P2", "P3"],
    "apcs": ["S1", "S2", "S3"],
    "ec": ["E1", "E2"],
    "opa": ["O1", "O2"],
}
PATIENT_IDS = ["P1", "P2", "P3", "P404"]
PRACTICE_CODES = ["A00001", "B00002", "Z99999"]
DIRT = [
    "", "   ", "2020-13-01", "01/02/2020", "2021-02-29", "2026-04-01", "1800-01-01", "2026-03-31",
    "abc", "12,5", "1e3", "-1", "0", "11", "9434765918", "9990000000", "943 476 5919", "P404",
    "A0001", "a00001", "2E", "2a", "ZZ9", "0038341003", "38341003X", "I10X;E119|J44", '"quoted"',
    "é", "NULL", "nan",
]
EXTRA_TABLES = ("social_care_packages", "opt_outs")
counter = itertools.count()


@st.composite
def table_rows(draw, table: str) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for _ in range(draw(st.integers(0, 6))):
        if rows and draw(st.integers(0, 4)) == 0:  # an exact copy of an earlier row
            rows.append(dict(draw(st.sampled_from(rows))))
            continue
        row = clean_rows(table)[0]
        if table in KEYS:
            row[FRESH_KEY[table][0]] = draw(st.sampled_from(KEYS[table]))
        if "patient_id" in row and table != "patients":
            row["patient_id"] = draw(st.sampled_from(PATIENT_IDS))
        if "practice_code" in row and table != "practices":
            row["practice_code"] = draw(st.sampled_from(PRACTICE_CODES))
        for column in draw(st.lists(st.sampled_from(sorted(row)), max_size=2)):
            row[column] = draw(st.sampled_from(DIRT))
        rows.append(row)
    return rows


@st.composite
def extracts(draw) -> dict[str, list[dict[str, str]]]:
    tables = {name: draw(table_rows(name)) for name in BASE}
    for name in EXTRA_TABLES:
        if draw(st.booleans()):
            tables[name] = draw(table_rows(name))
    return tables


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(extracts())
def test_every_row_read_is_accepted_or_quarantined(module_engine, tmp_path_factory, tables):
    folder = tmp_path_factory.mktemp(f"extract{next(counter)}")
    _check_every_row_accounted_for(module_engine, folder, tables)


def _check_every_row_accounted_for(engine, folder, tables):
    result = run_ingest(engine, write_extract(folder / "extract", tables), folder / "work")
    for name in list(BASE) + [t for t in EXTRA_TABLES if t in tables]:
        got = report(result, name)
        assert got.rows_read == len(tables[name]), name
        assert got.rows_read == got.accepted + got.quarantined, name
        assert got.quarantined == sum(got.reasons.values()), name
        for reason in got.reasons:  # see them with pytest --hypothesis-show-statistics
            event(f"{name}: {reason}")

        annotated = pq.read_table(folder / "work" / "ingest" / f"{name}.parquet")
        assert annotated.num_rows == got.rows_read, name
        assert annotated.filter(pc.is_null(annotated["reason"])).num_rows == got.accepted, name

        quarantine = pq.read_table(result.quarantine_dir / f"{name}.parquet")
        assert quarantine.num_rows == got.quarantined, name
        assert quarantine["reason"].null_count == 0, name
        assert engine.count(result.tables[name]) == got.accepted, name
    for name in EXTRA_TABLES:
        if name not in tables:
            assert report(result, name).file is None
            assert engine.count(result.tables[name]) == 0
    # The derivation's proof: every accepted row of every table meets the full pandera contract
    # (the run re-checks a sample of a large table only; ingest.assert_contract).
    assert_contract(result.tables, {r.table: r.accepted for r in result.reports if r.accepted}, full_rows=None)

