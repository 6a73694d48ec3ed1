"""Spec: who entered, left and stayed since the previous run (clinical-definitions.md §7.3).

Each test builds a tiny scored population in the test with the expected values beside it.
Unspecified columns take the defaults of `person()` (tests/builders/people.py): a 70-year-old in
PCN P1 / LCP L1, no LTCs, no frailty, HFRS 0, no exclusion flags, risk 0.5. The cohort step runs
on the `engine`.
"""

from __future__ import annotations

from npc_risk.cohort import CohortConfig
from tests.builders.people import person, run_cohort


def test_change_since_previous_run(engine):
    """Matched on (patient_id, neighbourhood): stayed = in both cohorts, entered = now only,
    left = before only (whether they died, moved or dropped down the ranking)."""
    rows = [person(f"p{i:02d}", ltc_count=3, risk_score=i / 100) for i in range(40)]
    previous = [
        {"patient_id": "p39", "neighbourhood": "P1", "in_cohort": True},   # stays
        {"patient_id": "p10", "neighbourhood": "P1", "in_cohort": True},   # leaves
        {"patient_id": "gone", "neighbourhood": "P1", "in_cohort": True},  # leaves (died)
        {"patient_id": "p38", "neighbourhood": "P1", "in_cohort": False},  # enters
        {"patient_id": "p11", "neighbourhood": "P1", "in_cohort": False},  # still out
    ]
    _, report = run_cohort(engine, rows, CohortConfig(cohort_fraction=0.05), previous)
    r = report["P1"]
    assert (r["entered"], r["left"], r["stayed"], r["previous_selected"], r["selected"]) == (
        1, 2, 1, 3, 2
    )
    _, first_run = run_cohort(engine, rows, CohortConfig(cohort_fraction=0.05))
    assert first_run["P1"]["entered"] is None  # no previous run: unknown, not zero
