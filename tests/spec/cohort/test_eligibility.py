"""Spec: who is eligible for the cohort (clinical-definitions.md §7.2-§7.3).

Each test builds a tiny scored population in the test with the expected values beside it.
Unspecified columns take the defaults of `person()` (tests/builders/people.py): a 70-year-old in
PCN P1 / LCP L1, no LTCs, no frailty, HFRS 0, no exclusion flags, risk 0.5. The cohort step runs
on the `engine`.
"""

from __future__ import annotations

from tests.builders.people import person, run_cohort


def test_eligibility_routes(engine):
    """Any one route makes a person aged >= min_age (18) eligible:
    ltc_count >= 3 | efi_deficits >= 9 and age >= 65 | hfrs_score > 15 (strictly)."""
    table = [
        # id,  age, ltc, deficits, hfrs, eligible
        ("ltc2", 50, 2, 0, 0.0, False),
        ("ltc3", 50, 3, 0, 0.0, True),
        ("frail64", 64, 0, 10, 0.0, False),  # frailty route needs 65+
        ("frail65", 65, 0, 9, 0.0, True),
        ("frail8", 80, 0, 8, 0.0, False),
        ("hfrs15", 50, 0, 0, 15.0, False),  # high is > 15, not >= 15
        ("hfrs151", 50, 0, 0, 15.1, True),
        ("child", 17, 5, 0, 20.0, False),  # below min_age, whatever the routes say
        ("adult18", 18, 3, 0, 0.0, True),
    ]
    rows = [person(i, age=a, ltc_count=n, efi_deficits=d, hfrs_score=h) for i, a, n, d, h, _ in table]
    patients, report = run_cohort(engine, rows)
    for pid, *_, expected in table:
        assert patients[pid]["eligible"] is expected, pid
    assert report["P1"]["eligible"] == 4
    assert report["P1"]["eligible_ltc"] == 2
    assert report["P1"]["eligible_frailty"] == 1
    assert report["P1"]["eligible_hfrs"] == 1


def test_missing_values_never_make_anyone_eligible(engine):
    rows = [person("x", age=None, ltc_count=None, efi_deficits=None, hfrs_score=None)]
    patients, _ = run_cohort(engine, rows)
    assert patients["x"]["eligible"] is False
    assert patients["x"]["neighbourhood_rank"] is None
