"""The run's guard on ingest's derivation: accepted rows are re-checked against the pandera
contract, a large table on a deterministic sample of its people (ingest.assert_contract)."""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pytest

from npc_risk.ingest import ContractViolation, assert_contract

# Accepted clinical events as ingest would hand them on, but with a derivation bug: every
# event's SNOMED code is empty text, which the contract's pattern refuses.
PEOPLE = 40
EVENTS_EACH = 5


def _events(code: str) -> pa.Table:
    n = PEOPLE * EVENTS_EACH
    return pa.table({
        "patient_id": pa.array([f"P{p:03d}" for p in range(PEOPLE) for _ in range(EVENTS_EACH)], pa.string()),
        "date": pa.array([date(2025, 1, 1)] * n, pa.date32()),
        "snomedct_code": pa.array([code] * n, pa.string()),
        "numeric_value": pa.array([None] * n, pa.float64()),
    })


@pytest.mark.parametrize("full_rows", [None, 10_000, 20], ids=["every row", "small table: every row", "sampled"])
def test_a_broken_derivation_is_caught_in_full_and_in_a_sample(engine, full_rows):
    tables = {"clinical_events": engine.temp_table("events", _events(""))}
    rows = PEOPLE * EVENTS_EACH
    broken = r"accepted clinical_events rows break the contract: .*str_matches"
    with pytest.raises(ContractViolation, match=broken) as caught:
        assert_contract(tables, {"clinical_events": rows}, engine=engine, full_rows=full_rows)
    failed = int(str(caught.value).rsplit(": ", 1)[1])  # the count of failure cases, no values
    if full_rows is not None and rows > full_rows:  # 1 person in ceil(200 / 20) = 10, all their rows
        assert 0 < failed < rows and failed % EVENTS_EACH == 0
    else:
        assert failed == rows


@pytest.mark.parametrize("full_rows", [None, 20])
def test_rows_that_meet_the_contract_pass(engine, full_rows):
    tables = {"clinical_events": engine.temp_table("events", _events("22298006"))}
    assert_contract(tables, {"clinical_events": PEOPLE * EVENTS_EACH}, engine=engine, full_rows=full_rows)


def test_only_tables_with_accepted_rows_are_checked(engine):
    """A table with no accepted rows is absent from `accepted` (pandera's ibis backend reports
    not_nullable on an empty table), so even a broken one is not looked at."""
    tables = {"clinical_events": engine.temp_table("events", _events(""))}
    assert_contract(tables, {}, engine=engine)
