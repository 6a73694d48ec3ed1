"""Spec: care processes and gaps of register members (respiratory-and-packs.md §2.3-2.4, §8).
T is 2026-03-31; "last 12 months" = (T - 365 d, T]; the flu season holding T is 2025/26
(1 Sep 2025 to 31 Mar 2026).
"""

from datetime import date

from tests.builders.features import event, issues
from tests.builders.respiratory import (
    ACTION_PLAN,
    ASTHMA,
    ASTHMA_REVIEW,
    CESSATION,
    COPD,
    COPD_REVIEW,
    EX_SMOKER,
    FLU,
    INHALER_TECHNIQUE,
    MMRC_2,
    MRC,
    MRC_SCORE,
    PR_DECLINED,
    PR_REFERRAL,
    SABA,
    SMOKER,
    on,
    respiratory,
    text,
)


def _asthma(ids, extra=()):
    return [event(i, 800, ASTHMA) for i in ids] + list(extra), [r for i in ids for r in issues(i, SABA, [30])]


def test_reviews_action_plans_and_inhaler_technique_count_for_12_months(engine, codelists):
    ids = ["d364", "d365", "never"]
    ev, rx = _asthma(ids, [event("d364", 364, ASTHMA_REVIEW), event("d364", 364, ACTION_PLAN),
                           event("d364", 364, INHALER_TECHNIQUE),
                           event("d365", 365, ASTHMA_REVIEW), event("d365", 365, ACTION_PLAN),
                           event("d365", 365, INHALER_TECHNIQUE)])
    ev += [event("copd364", 2000, COPD), event("copd364", 364, COPD_REVIEW),
           event("copd365", 2000, COPD), event("copd365", 365, COPD_REVIEW)]
    p = respiratory(engine, codelists, [*ids, "copd364", "copd365"], clinical_events=ev, medications=rx)
    #                     d364   d365  never
    assert p.loc[ids, "gap_asthma_no_review"].tolist() == [False, True, True]
    assert p.loc[ids, "gap_no_action_plan"].tolist() == [False, True, True]
    assert p.loc[ids, "gap_no_inhaler_technique"].tolist() == [False, True, True]
    assert str(p.loc["d365", "asthma_review_last"]) == "2025-03-31"  # the evidence: last seen
    assert p.loc[["copd364", "copd365"], "gap_copd_no_review"].tolist() == [False, True]
    assert not p.loc["never", "gap_copd_no_review"]  # not on the COPD register


def test_mrc_grade_and_pulmonary_rehabilitation_offer(engine, codelists):
    """no_mrc: no MRC/mMRC code in 12 months. pr_not_offered: the latest graded MRC is in the last
    12 months, >= 3, and no PR code on or after its date."""
    ids = ["no_mrc", "mrc2", "mrc3", "mrc3_referred_same_day", "mrc3_declined_before", "mmrc2",
           "score_4", "mrc4_old"]
    ev = [event(i, 2000, COPD) for i in ids] + [
        event("mrc2", 100, MRC[2]),
        event("mrc3", 100, MRC[3]),
        event("mrc3_referred_same_day", 100, MRC[3]), event("mrc3_referred_same_day", 100, PR_REFERRAL),
        event("mrc3_declined_before", 100, MRC[3]), event("mrc3_declined_before", 101, PR_DECLINED),
        event("mmrc2", 50, MMRC_2),                  # mMRC 2 = MRC 3
        event("score_4", 50, MRC_SCORE, 4.0),        # the score code: grade from its value
        event("mrc4_old", 365, MRC[4]),              # outside the 12 months: no_mrc, not pr_not_offered
    ]
    p = respiratory(engine, codelists, ids, clinical_events=ev)
    expected = {  # id: (gap_no_mrc, gap_pr_not_offered)
        "no_mrc": (True, False), "mrc2": (False, False), "mrc3": (False, True),
        "mrc3_referred_same_day": (False, False), "mrc3_declined_before": (False, True),
        "mmrc2": (False, True), "score_4": (False, True), "mrc4_old": (True, False),
    }
    assert {i: (bool(p.loc[i, "gap_no_mrc"]), bool(p.loc[i, "gap_pr_not_offered"])) for i in ids} == expected
    assert p.loc["mmrc2", "mrc_grade_latest"] == 3 and p.loc["score_4", "mrc_grade_latest"] == 4


def test_flu_vaccination_in_this_season(engine, codelists):
    """Season 2025/26 = 2025-09-01 .. 2026-03-31 at T = 2026-03-31."""
    ids = ["aug31", "sep1", "mar31", "none"]
    ev, rx = _asthma(ids, [on("aug31", "2025-08-31", FLU), on("sep1", "2025-09-01", FLU),
                           on("mar31", "2026-03-31", FLU)])
    p = respiratory(engine, codelists, ids, clinical_events=ev, medications=rx)
    assert p["gap_no_flu"].tolist() == [True, False, False, True]


def test_flu_season_edges_across_the_year(engine, codelists):
    """From April to August the season that ended on 31 March is the one reported; from
    1 September a new season starts and last season's vaccination no longer counts."""
    def run(as_of, day):
        ev = [event("p", 800, ASTHMA, as_of=as_of), on("p", day, FLU, as_of=as_of)]
        rx = issues("p", SABA, [30], as_of=as_of)
        return bool(respiratory(engine, codelists, ["p"], as_of=as_of, clinical_events=ev,
                                medications=rx).loc["p", "gap_no_flu"])

    assert run(date(2026, 8, 31), "2025-10-01") is False   # still the 2025/26 season
    assert run(date(2026, 9, 1), "2026-03-31") is True     # 2026/27 has begun
    assert run(date(2026, 9, 1), "2026-09-01") is False


def test_smoker_without_a_cessation_offer(engine, codelists):
    """Age >= 15; latest status current (codes before age 11 ignored; same day: current wins);
    no cessation intervention in 12 months."""
    ids = ["smoker", "offered", "offered_365", "quit", "age14", "child_code"]
    patients = [{"patient_id": i, "date_of_birth": "1980-01-01", "sex": "female"} for i in ids[:4]] + [
        {"patient_id": "age14", "date_of_birth": "2011-06-01", "sex": "female"},
        {"patient_id": "child_code", "date_of_birth": "2000-06-01", "sex": "female"}]
    ev, rx = _asthma(ids, [
        event("smoker", 100, SMOKER),
        event("offered", 100, SMOKER), event("offered", 50, CESSATION),
        event("offered_365", 100, SMOKER), event("offered_365", 365, CESSATION),
        event("quit", 100, SMOKER), event("quit", 100, EX_SMOKER), event("quit", 20, EX_SMOKER),
        event("age14", 10, SMOKER),
        on("child_code", "2010-01-01", SMOKER),  # aged 9: a parent's smoking, ignored
    ])
    p = respiratory(engine, codelists, ids, patients=patients, clinical_events=ev, medications=rx)
    assert p["gap_smoker_no_offer"].tolist() == [True, False, True, False, False, False]
    assert p.loc["quit", "smoking_status"] == "ex"
    assert text(p.loc["child_code", "smoking_status"]) is None


def test_no_gaps_for_people_on_neither_register(engine, codelists):
    ev = [event("ex_asthma", 800, ASTHMA)]  # diagnosis, no treatment in 12 months
    p = respiratory(engine, codelists, ["ex_asthma", "nobody"], clinical_events=ev)
    assert p["open_care_gaps"].tolist() == [0, 0]
    assert p["resp_pathway"].isna().all()
