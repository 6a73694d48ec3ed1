"""Spec: inhaler and oral-steroid rules, COPD exacerbations, post-attack follow-up and
respiratory admissions (respiratory-and-packs.md §2.4, §3.3, §4, §6). T is 2026-03-31 (Tuesday).
One issue = one distinct issue date per class.
"""

from tests.builders.features import event, issues
from tests.builders.respiratory import (
    AECOPD,
    ANTIBIOTIC,
    ASTHMA,
    ASTHMA_ADMISSION_GP,
    ASTHMA_REVIEW,
    COPD,
    COPD_REVIEW,
    ICS,
    ICS_LABA,
    LABA,
    PREDNISOLONE,
    SABA,
    TRIPLE,
    respiratory,
    spell,
    text,
)


def test_reliever_overuse_levels_and_reliever_without_inhaled_steroid(engine, codelists):
    cases = {  # id: (SABA issue days, ICS-containing issue days, level, saba_without_ics, ics_underuse)
        "two": ([10, 20], [15], None, False, True),
        "three": ([10, 20, 30], [15, 45, 75, 105], "review", False, False),
        "six": (list(range(10, 70, 10)), [15], "priority", False, True),
        "twelve": (list(range(10, 130, 10)), [], "urgent", True, False),
        "thirteen_old": (list(range(10, 130, 10)) + [365], [], "urgent", True, False),  # day 365 is out
        "same_day_twice": ([10, 10, 20], [], None, True, False),  # two issues on one day count once
    }
    ids = list(cases)
    ev = [event(i, 900, ASTHMA) for i in ids]
    rx = [r for i, (s, c, *_) in cases.items() for r in issues(i, SABA, s) + issues(i, ICS, c)]
    p = respiratory(engine, codelists, ids, clinical_events=ev, medications=rx)
    assert p["saba_issues_12m"].tolist() == [2, 3, 6, 12, 12, 2]
    got = {i: (text(p.loc[i, "saba_overuse_level"]), bool(p.loc[i, "gap_saba_without_ics"]),
               bool(p.loc[i, "gap_ics_underuse"])) for i in ids}
    assert got == {i: (lvl, no_ics, under) for i, (_, _, lvl, no_ics, under) in cases.items()}


def test_combination_inhaler_counts_as_inhaled_steroid_and_laba_alone_does_not(engine, codelists):
    ids = ["combo", "laba_alone"]
    ev = [event(i, 900, ASTHMA) for i in ids]
    rx = issues("combo", SABA, [10]) + issues("combo", ICS_LABA, [10]) + issues("laba_alone", LABA, [10])
    p = respiratory(engine, codelists, ids, clinical_events=ev, medications=rx)
    assert p["gap_saba_without_ics"].tolist() == [False, False]
    assert p["gap_laba_without_ics"].tolist() == [False, True]


def test_oral_steroid_courses_merge_issues_up_to_14_days_apart(engine, codelists):
    """A course continues while each issue is <= 14 days after the previous; a review day's issue
    is ignored; issues 365 days ago are outside."""
    cases = {  # id: (prednisolone issue days, review days, courses, gap_ocs_courses)
        "gap14": ([100, 86], [], 1, False),
        "gap15": ([100, 85], [], 2, True),
        "chain": ([100, 90, 80, 70], [], 1, False),
        "review_day": ([100, 50], [50], 1, False),
        "old": ([365, 200], [], 1, False),
    }
    ids = list(cases)
    ev = [event(i, 900, ASTHMA) for i in ids] + [event(i, d, ASTHMA_REVIEW) for i, c in cases.items() for d in c[1]]
    rx = [r for i, c in cases.items() for r in issues(i, PREDNISOLONE, c[0]) + issues(i, ICS, [30])]
    p = respiratory(engine, codelists, ids, clinical_events=ev, medications=rx)
    assert p["ocs_courses_12m"].tolist() == [c[2] for c in cases.values()]
    assert p["gap_ocs_courses"].tolist() == [c[3] for c in cases.values()]


def test_copd_exacerbations_rothnie(engine, codelists):
    """Events: an AECOPD code, or an antibiotic and an oral steroid issued the same day; none on a
    COPD review day; events fewer than 14 days apart are one exacerbation."""
    ev = [event(i, 3000, COPD) for i in ("apart13", "apart14", "abx_ocs", "abx_only", "review")]
    ev += [event("apart13", 100, AECOPD), event("apart13", 87, AECOPD),
           event("apart14", 100, AECOPD), event("apart14", 86, AECOPD),
           event("review", 40, COPD_REVIEW)]
    rx = (issues("abx_ocs", ANTIBIOTIC, [60]) + issues("abx_ocs", PREDNISOLONE, [60])
          + issues("abx_only", ANTIBIOTIC, [60]) + issues("abx_only", PREDNISOLONE, [61])
          + issues("review", ANTIBIOTIC, [40]) + issues("review", PREDNISOLONE, [40]))
    ids = ["apart13", "apart14", "abx_ocs", "abx_only", "review"]
    p = respiratory(engine, codelists, ids, clinical_events=ev, medications=rx)
    assert p["copd_exacerbations_12m"].tolist() == [1, 2, 1, 0, 0]


def test_post_attack_review_within_two_working_days(engine, codelists):
    """Discharged Friday 2026-03-20 (11 days before T): the deadline is Tuesday 2026-03-24."""
    ids = ["tue", "wed", "none", "gp_coded", "recent"]
    ev = [event(i, 900, ASTHMA) for i in ids] + [
        event("tue", 7, ASTHMA_REVIEW),            # Tuesday 24th: in time
        event("wed", 6, ASTHMA_REVIEW),            # Wednesday 25th: late
        event("gp_coded", 20, ASTHMA_ADMISSION_GP),  # GP-coded admission, no review
    ]
    rx = [r for i in ids for r in issues(i, ICS, [30])]
    rows = [spell(i, 14, 11, "J459") for i in ("tue", "wed", "none")] + [spell("recent", 2, 0, "J45")]
    p = respiratory(engine, codelists, ids, clinical_events=ev, medications=rx,
                    apcs=[a for a, _ in rows], apcs_diagnoses=[d for _, d in rows])
    # "recent": discharged on T (Tuesday), deadline Thursday: not yet due
    assert p["gap_post_attack_no_review"].tolist() == [False, True, True, True, False]
    assert str(p.loc["none", "unreviewed_attack_last"]) == "2026-03-20"


def test_respiratory_emergency_admissions_and_bed_days(engine, codelists):
    """Primary diagnosis in chapter X, emergency methods only, known at T; 12 and 24 months."""
    rows = [spell("p", 30, 25, "J441"),          # COPD, 5 bed days
            spell("p", 100, 100, "J45"),         # asthma, same day: 0 bed days
            spell("p", 200, 190, "J181"),        # pneumonia, 10 bed days
            spell("p", 500, 495, "J440"),        # 24 months only
            spell("p", 50, 45, "I219"),          # not respiratory
            spell("p", 60, 55, "J449", method="11"),  # elective
            spell("p", 3, None, "J440")]         # still in hospital: counts, 3 bed days to T (as_of.py)
    p = respiratory(engine, codelists, ["p"], apcs=[a for a, _ in rows], apcs_diagnoses=[d for _, d in rows])
    r = p.loc["p"]
    counts = (r.resp_emergency_admissions_12m, r.resp_emergency_admissions_24m, r.resp_emergency_bed_days_12m)
    assert counts == (4, 5, 18)
    assert (r.asthma_emergency_admissions_12m, r.copd_emergency_admissions_12m) == (1, 2)


def test_triple_inhaler_counts_as_inhaled_steroid(engine, codelists):
    ev = [event("t", 900, ASTHMA)]
    rx = issues("t", SABA, [10]) + issues("t", TRIPLE, [20])
    p = respiratory(engine, codelists, ["t"], clinical_events=ev, medications=rx)
    assert p.loc["t", "ics_issues_12m"] == 1 and not p.loc["t", "gap_saba_without_ics"]
