"""Spec: exclusions from the cohort, in a fixed order (clinical-definitions.md §7.3-§7.4).

Each test builds a tiny scored population in the test with the expected values beside it.
Unspecified columns take the defaults of `person()` (tests/builders/people.py): a 70-year-old in
PCN P1 / LCP L1, no LTCs, no frailty, HFRS 0, no exclusion flags, risk 0.5. The cohort step runs
on the `engine`.
"""

from __future__ import annotations

from npc_risk.cohort import CohortConfig
from tests.builders.people import person, run_cohort


def test_exclusions_first_reason_in_fixed_order_and_each_counted(engine):
    """Order: palliative_care, care_home, type1_optout, then no_risk_score. Only eligible people
    get a reason; excluded people are never ranked."""
    table = [
        # id, palliative, care_home, type1, risk, expected reason
        ("pal", True, True, True, 0.9, "palliative_care"),
        ("home", False, True, True, 0.9, "care_home"),
        ("t1", False, False, True, 0.9, "type1_optout"),
        ("noscore", False, False, False, None, "no_risk_score"),
        ("ok", False, False, False, 0.1, None),
    ]
    rows = [person(i, ltc_count=3, palliative_care=p, care_home=c, type1_optout=t, risk_score=r)
            for i, p, c, t, r, _ in table]
    rows.append(person("ineligible_home", care_home=True))
    patients, report = run_cohort(engine, rows)
    for pid, *_, reason in table:
        assert patients[pid]["exclusion_reason"] == reason, pid
    assert patients["ineligible_home"]["exclusion_reason"] is None
    assert [pid for pid, p in patients.items() if p["neighbourhood_rank"] is not None] == ["ok"]
    r = report["P1"]
    assert (r["excluded_palliative_care"], r["excluded_care_home"], r["excluded_type1_optout"],
            r["excluded_no_risk_score"], r["excluded"]) == (1, 1, 1, 1, 4)


def test_switched_off_exclusions_are_ranked(engine):
    rows = [person("home", ltc_count=3, care_home=True, type1_optout=True, risk_score=0.9)]
    config = CohortConfig(exclude_care_home=False)
    patients, _ = run_cohort(engine, rows, config)
    assert patients["home"]["exclusion_reason"] == "type1_optout"
    patients, report = run_cohort(engine, rows, config, optouts=())
    assert patients["home"]["exclusion_reason"] is None
    assert patients["home"]["neighbourhood_rank"] == 1
    assert report["P1"]["excluded_care_home"] == 0
