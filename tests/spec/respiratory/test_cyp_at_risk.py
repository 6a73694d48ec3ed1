"""Spec: children's asthma list 1, at risk of an asthma attack (respiratory-and-packs.md §1.2,
§4.2, §5.2-5.3; docs/respiratory.md). T is 2026-03-31; days are days before T; "last 12 months"
= (T - 365 d, T], so day 364 is in and day 365 is out. Children are born 2016-01-01 (age 10)
unless a case says otherwise. Points (data/respiratory/cyp_points.csv): >= 2 attacks 20, 1 attack
13, >= 2 OCS courses 11, >= 6 relievers 12, < 3 inhaled steroids 4, a missed appointment 5, no
review 2, no action plan 2.
"""

import pandas as pd

from npc_risk.respiratory.cyp import cyp_score, explain_cyp, factor_words, max_points
from tests.builders.features import event, issues
from tests.builders.respiratory import (
    ACTION_PLAN,
    ASTHMA,
    ASTHMA_ADMISSION_GP,
    ASTHMA_ATTACK,
    ASTHMA_RESOLVED,
    ASTHMA_REVIEW,
    ICS,
    PREDNISOLONE,
    SABA,
    cyp,
    spell,
)

CARED_FOR = (ASTHMA_REVIEW, ACTION_PLAN)  # a review and a plan 30 days ago close those two factors


def well(pid: str, *, ics: int = 4) -> tuple[list[dict], list[dict]]:
    """(events, medications) of a child on the register with no factor: diagnosed 1000 days ago,
    reviewed and given a plan 30 days ago, `ics` inhaled-steroid issues and 1 reliever in 12 months."""
    ev = [event(pid, 1000, ASTHMA)] + [event(pid, 30, code) for code in CARED_FOR]
    rx = issues(pid, SABA, [20]) + issues(pid, ICS, [20 + 60 * k for k in range(ics)])
    return ev, rx


def child(pid: str, dob: str) -> dict:
    return {"patient_id": pid, "date_of_birth": dob, "sex": "female"}


def test_cyp_register_has_no_age_6_floor_and_stops_at_18(engine, codelists):
    """§1.2: age < 18, unresolved asthma code, an inhaled treatment in 12 months; no QOF age-6 floor."""
    cases = {  # id: (born, on the CYP register, on the QOF asthma register)
        "age4": ("2021-04-01", True, False),
        "age5": ("2021-03-31", True, False),
        "age6": ("2020-03-31", True, True),
        "age17": ("2008-04-01", True, True),
        "age18": ("2008-03-31", None, None),  # 18 on T: not in the under-18 population
    }
    ids = list(cases)
    ev, rx = zip(*(well(i) for i in ids), strict=True)
    p = cyp(engine, codelists, ids, patients=[child(i, c[0]) for i, c in cases.items()],
            clinical_events=sum(ev, []), medications=sum(rx, []))
    assert list(p.index) == ["age4", "age5", "age6", "age17"]
    assert p["age"].tolist() == [4, 5, 6, 17]
    got = {i: (bool(p.loc[i, "cyp_asthma_register"]), bool(p.loc[i, "asthma_register"])) for i in p.index}
    assert got == {i: (c[1], c[2]) for i, c in cases.items() if c[1] is not None}


def test_cyp_register_needs_an_unresolved_code_and_treatment_in_12_months(engine, codelists):
    cases = {  # id: (asthma code day, resolved code day, inhaler day, on the register)
        "treated_364": (1000, None, 364, True),
        "treated_365": (1000, None, 365, False),
        "resolved_after": (1000, 500, 30, False),
        "coded_again": (100, 500, 30, True),
        "same_day": (500, 500, 30, False),  # a same-day resolved code wins
    }
    ids = list(cases)
    ev = [event(i, c[0], ASTHMA) for i, c in cases.items()]
    ev += [event(i, c[1], ASTHMA_RESOLVED) for i, c in cases.items() if c[1] is not None]
    rx = [r for i, c in cases.items() for r in issues(i, ICS, [c[2]])]
    p = cyp(engine, codelists, ids, clinical_events=ev, medications=rx)
    assert p["cyp_asthma_register"].tolist() == [c[3] for c in cases.values()]


def test_attacks_are_admissions_and_coded_attacks_merged_within_14_days(engine, codelists):
    """An emergency J45/J46 admission, the GP's emergency-admission code or an exacerbation code is an
    attack day; days <= 14 after the previous are the same attack (§4.2); only the last 12 months."""
    cases = {  # id: (exacerbation code days, GP admission code days, admitted day or None, attacks)
        "admission_and_gp_code": ([], [95], 100, 1),  # the GP codes the admission 5 days later
        "codes_14_apart": ([100, 86], [], None, 1),
        "codes_15_apart": ([100, 85], [], None, 2),
        "day_364": ([364], [], None, 1),
        "day_365": ([365], [], None, 0),
        "none": ([], [], None, 0),
    }
    ids = list(cases)
    ev = [r for i in ids for r in well(i)[0]]
    ev += [event(i, d, ASTHMA_ATTACK) for i, c in cases.items() for d in c[0]]
    ev += [event(i, d, ASTHMA_ADMISSION_GP) for i, c in cases.items() for d in c[1]]
    rx = [r for i in ids for r in well(i)[1]]
    spells = [spell(i, c[2], c[2] - 3, "J45.9") for i, c in cases.items() if c[2] is not None]
    p = cyp(engine, codelists, ids, clinical_events=ev, medications=rx,
            apcs=[s for s, _ in spells], apcs_diagnoses=[d for _, d in spells])
    assert p["cyp_attacks_12m"].tolist() == [c[3] for c in cases.values()]
    assert p["cyp_factor_attacks"].tolist() == [c[3] > 0 for c in cases.values()]
    # >= 2 attacks is the heaviest band (20 points), 1 attack 13
    assert p["cyp_points"].tolist() == [13, 13, 20, 13, 0, 0]


def test_each_factor_on_its_own_with_its_365_day_boundary(engine, codelists):
    """One factor per child, everything else cared for (so the points are that factor's alone)."""
    cases = {  # id: (extra events, extra medications, factor column or None, points)
        "ocs_two_courses": ([], issues("ocs_two_courses", PREDNISOLONE, [100, 85]), "cyp_factor_ocs", 11),
        "ocs_one_course": ([], issues("ocs_one_course", PREDNISOLONE, [100, 86]), None, 0),  # 14 days: one course
        "saba_6": ([], issues("saba_6", SABA, [40, 50, 60, 70, 80]), "cyp_factor_reliever", 12),  # + the 1 of well()
        "saba_5_and_old": ([], issues("saba_5_and_old", SABA, [40, 50, 60, 365]), None, 0),
        "dna_364": ([], [], "cyp_factor_missed_appointment", 5),
        "dna_365": ([], [], None, 0),
    }
    ids = list(cases)
    ev = [r for i in ids for r in well(i)[0]] + [r for c in cases.values() for r in c[0]]
    rx = [r for i in ids for r in well(i)[1]] + [r for c in cases.values() for r in c[1]]
    gp = [{"patient_id": "dna_364", "date": "2025-04-01", "status": "did_not_attend"},
          {"patient_id": "dna_365", "date": "2025-03-31", "status": "did_not_attend"}]
    p = cyp(engine, codelists, ids, clinical_events=ev, medications=rx, gp_appointments=gp)
    for i, (_, _, factor, points) in cases.items():
        on = {f for f in ("cyp_factor_ocs", "cyp_factor_reliever", "cyp_factor_missed_appointment",
                          "cyp_factor_low_ics", "cyp_factor_no_review", "cyp_factor_no_action_plan",
                          "cyp_factor_attacks") if p.loc[i, f]}
        assert on == ({factor} if factor else set()), i
        assert p.loc[i, "cyp_points"] == points, i
        assert bool(p.loc[i, "cyp_at_risk"]) == (factor is not None), i


def test_inhaled_steroid_review_and_action_plan_factors(engine, codelists):
    cases = {  # id: (ICS issues, review day, plan day, factors on)
        "ics_none": (0, 30, 30, {"cyp_factor_low_ics"}),
        "ics_2": (2, 30, 30, {"cyp_factor_low_ics"}),
        "ics_3": (3, 30, 30, set()),
        "review_364": (4, 364, 30, set()),
        "review_365": (4, 365, 30, {"cyp_factor_no_review"}),
        "plan_365": (4, 30, 365, {"cyp_factor_no_action_plan"}),
    }
    ids = list(cases)
    ev = [event(i, 1000, ASTHMA) for i in ids]
    ev += [event(i, c[1], ASTHMA_REVIEW) for i, c in cases.items()]
    ev += [event(i, c[2], ACTION_PLAN) for i, c in cases.items()]
    rx = [r for i, c in cases.items()
          for r in issues(i, SABA, [20]) + issues(i, ICS, [20 + 60 * k for k in range(c[0])])]
    p = cyp(engine, codelists, ids, clinical_events=ev, medications=rx)
    columns = ("cyp_factor_low_ics", "cyp_factor_no_review", "cyp_factor_no_action_plan")
    got = {i: {c for c in columns if p.loc[i, c]} for i in ids}
    assert got == {i: c[3] for i, c in cases.items()}
    assert p["cyp_points"].tolist() == [4, 4, 0, 0, 2, 2]


def test_a_child_with_several_factors_has_their_points_and_words(engine, codelists):
    """2 oral steroid courses, 6 relievers and no inhaled steroid, no review since 2025-01-14 (441
    days before T), no plan ever: 11 + 12 + 4 + 2 + 2 = 31 points."""
    pid = "several"
    ev = [event(pid, 1000, ASTHMA), event(pid, 441, ASTHMA_REVIEW)]
    rx = issues(pid, SABA, [10, 40, 70, 100, 130, 160]) + issues(pid, PREDNISOLONE, [200, 50])
    p = cyp(engine, codelists, [pid], clinical_events=ev, medications=rx)
    row = p.loc[pid]
    assert row["cyp_factors"] == 5 and row["cyp_points"] == 31
    words = [w for _, _, w in factor_words(row)]
    assert words == ["2 oral steroid courses in 12 months",
                     "6 reliever inhalers and no inhaled steroid in 12 months",
                     "no asthma review since 2025-01-14",
                     "no asthma action plan on record"]
    drivers = explain_cyp(p, n=3)
    assert drivers.loc[pid, ["driver_1", "driver_2", "driver_3"]].tolist() == [
        "6 reliever inhalers and no inhaled steroid in 12 months", "2 oral steroid courses in 12 months",
        "no asthma review since 2025-01-14"]  # most points first; ties keep the listed order
    assert cyp_score(p).loc[pid] == 31 / max_points()


def test_the_points_order_and_the_score_are_stable(engine, codelists):
    """The score is points / the maximum (56): a rank. Not on the register: 0 points, no factor."""
    ids = ["two_attacks", "one_attack", "no_plan_only", "not_on_register"]
    ev = [r for i in ids[:3] for r in well(i)[0]]
    ev = [e for e in ev if not (e["patient_id"] == "no_plan_only" and e["snomedct_code"] == ACTION_PLAN)]
    ev += [event("two_attacks", 200, ASTHMA_ATTACK), event("two_attacks", 20, ASTHMA_ATTACK),
           event("one_attack", 20, ASTHMA_ATTACK), event("not_on_register", 20, ASTHMA_ATTACK)]
    rx = [r for i in ids[:3] for r in well(i)[1]]
    p = cyp(engine, codelists, ids, clinical_events=ev, medications=rx)
    assert max_points() == 56
    assert p["cyp_points"].tolist() == [20, 13, 2, 0]
    score = cyp_score(p)
    assert score.tolist() == [20 / 56, 13 / 56, 2 / 56, 0.0]
    assert not p.loc["not_on_register", "cyp_at_risk"]
    assert pd.Series(score).is_monotonic_decreasing
