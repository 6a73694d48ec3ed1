"""Spec: the transparent rules (respiratory-and-packs.md §5.1, §5.3): COPD priority groups, the
asthma high-risk factor count, and the tier and rank score combining them. T is 2026-03-31.
"""

import pandas as pd

from tests.builders.features import event, issues
from tests.builders.respiratory import (
    ACTION_PLAN,
    AECOPD,
    ANTIBIOTIC,
    ASTHMA,
    COPD,
    FEV1_PCT,
    ICS,
    MRC,
    PREDNISOLONE,
    SABA,
    TRIPLE,
    respiratory,
)


def test_copd_priority_groups(engine, codelists):
    cases = {  # id: (extra events, issues, priority group)
        "fev1_29": ([event("fev1_29", 50, FEV1_PCT, 29.0)], [], 1),
        "mrc5": ([event("mrc5", 50, MRC[5])], [], 1),
        "fev1_30": ([event("fev1_30", 50, FEV1_PCT, 30.0)], [], 2),
        "exacerbation": ([event("exacerbation", 50, AECOPD)], [], 2),
        "mrc2": ([event("mrc2", 50, MRC[2])], [], 3),
        "fev1_79": ([event("fev1_79", 50, FEV1_PCT, 79.0)], [], 3),
        "two_antibiotics": ([], issues("two_antibiotics", ANTIBIOTIC, [30, 90]), 3),
        "triple_181": ([], issues("triple_181", TRIPLE, [181]), 3),
        "triple_182": ([], issues("triple_182", TRIPLE, [182]), 4),
        "fev1_80": ([event("fev1_80", 50, FEV1_PCT, 80.0)], [], 4),
    }
    ids = list(cases)
    ev = [event(i, 3000, COPD) for i in ids] + [e for c in cases.values() for e in c[0]]
    rx = [r for c in cases.values() for r in c[1]]
    p = respiratory(engine, codelists, ids, clinical_events=ev, medications=rx)
    assert p["copd_priority_group"].tolist() == [c[2] for c in cases.values()]
    # tier = the group for COPD-only people (4 = a member with no factor)
    assert p["resp_rules_tier"].tolist() == [c[2] for c in cases.values()]


def test_asthma_risk_factors_and_the_combined_tier(engine, codelists):
    """Factors (12 months): < 3 ICS issues, >= 6 SABA, >= 2 OCS courses, asthma admission,
    exacerbation code, missed GP appointment, no action plan. Tier 1 = 3+ factors."""
    ids = ["controlled", "two_factors", "many", "both_registers"]
    ev = [event(i, 900, ASTHMA) for i in ids] + [event(i, 30, ACTION_PLAN) for i in ("controlled", "two_factors")]
    ev += [event("both_registers", 3000, COPD), event("both_registers", 40, MRC[4])]
    rx = (issues("controlled", ICS, [20, 100, 200]) + issues("controlled", SABA, [20])
          + issues("two_factors", SABA, list(range(10, 70, 10))) + issues("two_factors", ICS, [15])
          + issues("many", SABA, list(range(10, 130, 10))) + issues("many", PREDNISOLONE, [50, 150])
          + issues("both_registers", ICS, [20, 100, 200]) + issues("both_registers", SABA, [20]))
    gp = [{"patient_id": "many", "date": "2026-01-05", "status": "did_not_attend"}]
    p = respiratory(engine, codelists, ids, clinical_events=ev, medications=rx, gp_appointments=gp)
    # controlled: 0; two_factors: <3 ICS, >=6 SABA; many: <3 ICS, >=6 SABA, 2 OCS courses,
    # missed appointment, no action plan; both_registers: no action plan (1), COPD MRC 4 (group 2)
    assert p["asthma_risk_factors"].tolist() == [0, 2, 5, 1]
    assert p["resp_rules_tier"].tolist() == [4, 2, 1, 2]
    assert p.loc["both_registers", "resp_pathway"] == "asthma+copd"
    scores = p["resp_rules_score"]
    assert scores["many"] > scores["two_factors"] > scores["controlled"]
    assert pd.isna(respiratory(engine, codelists, ["nobody"]).loc["nobody", "resp_rules_score"])
