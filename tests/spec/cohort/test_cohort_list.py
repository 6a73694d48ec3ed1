"""Spec: the list a care coordinator gets (cohort/neighbourhood=<key>/part-0.parquet).

Each test builds a tiny scored population in the test with the expected values beside it.
Unspecified columns take the defaults of `person()` (tests/builders/people.py): a 70-year-old in
PCN P1 / LCP L1, no LTCs, no frailty, HFRS 0, no exclusion flags, risk 0.5. The cohort step runs
on the `engine`.
"""

from __future__ import annotations

from npc_risk.cohort import CohortConfig
from tests.builders.people import cohort_result, person


def test_cohort_list_columns_and_rows(engine):
    """The list a care coordinator gets, in rank order; its plain-words `drivers` are explained
    after selection, for the selected people only (steps.drivers), and joined on by the run."""
    rows = [person(f"p{i:02d}", ltc_count=3, risk_score=i / 100) for i in range(40)]
    result = cohort_result(engine, rows, CohortConfig(cohort_fraction=0.05))
    cohort = engine.to_arrow(result.cohort.order_by("neighbourhood_rank"))
    assert cohort.column_names == [
        "neighbourhood", "nhs_number", "patient_id", "practice_code", "neighbourhood_rank",
        "risk_score", "ltc_conditions", "efi_category",
    ]
    assert cohort["patient_id"].to_pylist() == ["p39", "p38"]
    assert cohort["nhs_number"].to_pylist() == ["999p39", "999p38"]
