"""Spec: children's asthma list 2, possibly undiagnosed (ASTCF00, respiratory-and-packs.md §5.3;
docs/respiratory.md). Aged 5-17 on T, no unresolved asthma diagnosis, and any of: wheeze coded in
2 years; >= 2 relievers in 1 year; >= 2 inhaled steroids in 2 years or >= 1 in 1 year; oral
prednisolone in 1 year; an asthma review coded in 5 years. T is 2026-03-31; days are days before
T; 1 year = (T - 365 d, T], 2 years = (T - 730 d, T], 5 years = (T - 1825 d, T].
Children are born 2016-01-01 (age 10) unless a case says otherwise.
"""

from npc_risk.respiratory.cyp import case_finding_words
from tests.builders.features import event, issues
from tests.builders.respiratory import ASTHMA, ASTHMA_RESOLVED, ASTHMA_REVIEW, ICS, PREDNISOLONE, SABA, cyp

WHEEZE = "56018004"  # Wheezing (resp-wheeze)
RULES = ("cf_wheeze", "cf_saba", "cf_ics", "cf_ocs", "cf_review")


def child(pid: str, dob: str = "2016-01-01") -> dict:
    return {"patient_id": pid, "date_of_birth": dob, "sex": "male"}


def test_ages_5_to_17_on_the_as_of_date(engine, codelists):
    cases = {  # id: (born, listed); everyone has wheeze coded 30 days ago
        "age4": ("2021-04-01", False),
        "age5": ("2021-03-31", True),
        "age17": ("2008-04-01", True),
        "age18": ("2008-03-31", None),  # not in the under-18 population at all
    }
    ids = list(cases)
    p = cyp(engine, codelists, ids, patients=[child(i, c[0]) for i, c in cases.items()],
            clinical_events=[event(i, 30, WHEEZE) for i in ids])
    assert list(p.index) == ["age4", "age5", "age17"]
    assert p["cf_wheeze"].tolist() == [True, True, True]  # the rule holds; the age decides the list
    assert p["cyp_possibly_undiagnosed"].tolist() == [False, True, True]


def test_each_rule_with_its_window_edge(engine, codelists):
    cases = {  # id: (events, medications, rules met)
        "wheeze_729": ([event("wheeze_729", 729, WHEEZE)], [], {"cf_wheeze"}),
        "wheeze_730": ([event("wheeze_730", 730, WHEEZE)], [], set()),
        "saba_2": ([], issues("saba_2", SABA, [10, 364]), {"cf_saba"}),
        "saba_1_and_old": ([], issues("saba_1_and_old", SABA, [10, 365]), set()),
        "saba_same_day": ([], issues("saba_same_day", SABA, [10, 10]), set()),  # one issue date
        "ics_1_in_year": ([], issues("ics_1_in_year", ICS, [364]), {"cf_ics"}),
        "ics_2_in_2y": ([], issues("ics_2_in_2y", ICS, [400, 729]), {"cf_ics"}),
        "ics_1_in_2y": ([], issues("ics_1_in_2y", ICS, [400, 730]), set()),
        "pred_364": ([], issues("pred_364", PREDNISOLONE, [364]), {"cf_ocs"}),
        "pred_365": ([], issues("pred_365", PREDNISOLONE, [365]), set()),
        "review_1824": ([event("review_1824", 1824, ASTHMA_REVIEW)], [], {"cf_review"}),
        "review_1825": ([event("review_1825", 1825, ASTHMA_REVIEW)], [], set()),
    }
    ids = list(cases)
    p = cyp(engine, codelists, ids, clinical_events=[e for c in cases.values() for e in c[0]],
            medications=[m for c in cases.values() for m in c[1]])
    got = {i: {r for r in RULES if p.loc[i, r]} for i in ids}
    assert got == {i: c[2] for i, c in cases.items()}
    assert p["cyp_possibly_undiagnosed"].tolist() == [bool(c[2]) for c in cases.values()]
    assert p["cf_rules_met"].tolist() == [len(c[2]) for c in cases.values()]


def test_an_unresolved_asthma_diagnosis_excludes_and_a_resolved_one_does_not(engine, codelists):
    cases = {  # id: (asthma code day, resolved day, listed)
        "diagnosed": (900, None, False),
        "diagnosed_untreated_long_ago": (3000, None, False),  # not on the register, still diagnosed
        "resolved": (900, 400, True),
        "never": (None, None, True),
    }
    ids = list(cases)
    ev = [event(i, 30, WHEEZE) for i in ids]
    ev += [event(i, c[0], ASTHMA) for i, c in cases.items() if c[0] is not None]
    ev += [event(i, c[1], ASTHMA_RESOLVED) for i, c in cases.items() if c[1] is not None]
    p = cyp(engine, codelists, ids, clinical_events=ev)
    assert p["cyp_possibly_undiagnosed"].tolist() == [c[2] for c in cases.values()]
    assert not p["cyp_asthma_register"].any()  # no inhaler in 12 months: nobody on list 1 here


def test_the_reasons_in_plain_words(engine, codelists):
    pid = "several"
    ev = [event(pid, 100, WHEEZE), event(pid, 1000, ASTHMA_REVIEW)]  # 2025-12-21, 2023-07-05
    rx = issues(pid, SABA, [20, 40, 60]) + issues(pid, ICS, [500, 600]) + issues(pid, PREDNISOLONE, [99])
    p = cyp(engine, codelists, [pid], clinical_events=ev, medications=rx)
    row = p.loc[pid]
    assert row["cf_rules_met"] == 5
    assert case_finding_words(row) == [
        "wheeze coded 2025-12-21",
        "3 reliever inhalers in 12 months",
        "2 inhaled steroid issues in 2 years",
        "1 oral prednisolone issue in 12 months",
        "asthma review coded 2023-07-05 with no asthma diagnosis",
    ]
