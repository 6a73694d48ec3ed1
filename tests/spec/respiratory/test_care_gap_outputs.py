"""Spec: what the respiratory pipeline publishes beside the usual outputs: the care gaps in plain
words, the gap rates under the disclosure rule, and the respiratory outcome. T is 2026-03-31.
"""

from datetime import date

import pandas as pd

from npc_risk.respiratory import respiratory_features
from npc_risk.respiratory.gaps import care_gaps, gap_rates, mdt_list
from npc_risk.respiratory.outcome import respiratory_admission_label
from tests.builders.features import T, event, issues, memtables, registered
from tests.builders.respiratory import ASTHMA, COPD, COPD_REVIEW, SABA, on, spell


def test_care_gaps_in_plain_words_with_their_evidence(engine, codelists):
    ev = [event("a", 900, ASTHMA), event("c", 3000, COPD), on("c", "2024-11-02", COPD_REVIEW)]
    rx = issues("a", SABA, list(range(10, 140, 10)))  # 13 relievers, no inhaled steroid
    tables = memtables(**registered(["a", "c"], dob="1960-01-01", start="2020-01-01"),
                       clinical_events=ev, medications=rx)
    person = respiratory_features(engine, tables, as_of=T, codelists=codelists).person
    gaps = engine.to_arrow(care_gaps(person, T)).to_pandas().set_index(["patient_id", "gap"])
    assert gaps.loc[("a", "saba_without_ics"), "detail"] == "13 reliever inhalers in 12 months and no inhaled steroid"
    assert gaps.loc[("a", "saba_without_ics"), "count"] == 13
    assert str(gaps.loc[("a", "saba_without_ics"), "last_seen"]) == "2026-03-21"
    assert gaps.loc[("a", "saba_overuse"), "detail"] == "13 reliever inhalers in 12 months (urgent level)"
    assert gaps.loc[("c", "copd_no_review"), "detail"] == "no COPD review since 2024-11-02"
    assert gaps.loc[("a", "asthma_no_review"), "detail"] == "no asthma review on record"
    assert gaps.loc[("c", "no_flu"), "detail"] == "no flu vaccination in the 2025/26 season (none on record)"
    assert set(gaps.loc["a"].index) == {"asthma_no_review", "no_flu", "no_action_plan", "no_inhaler_technique",
                                        "saba_overuse", "saba_without_ics"}
    assert set(gaps.loc["c"].index) == {"copd_no_review", "no_mrc", "no_flu", "no_inhaler_technique"}
    assert gaps.loc[("c", "no_mrc"), "pathway"] == "copd" and gaps.loc[("a", "no_flu"), "pathway"] == "asthma"


def test_gap_rates_pass_the_disclosure_rule_with_the_differencing_guard():
    """Practice P1 has 5 members with the gap (1-7: withheld); P2, the only other practice of
    neighbourhood N1, is withheld as its complement (N1 - P2 would give P1 back). Counts >= 8 round
    to 5; rates come from the unrounded counts."""
    counts = pd.DataFrame([
        # practice, neighbourhood, name, pathway, gap, members, with_gap
        ("P1", "N1", "North", "asthma", "no_flu", 20, 5),
        ("P2", "N1", "North", "asthma", "no_flu", 30, 12),
        ("P3", "N2", "South", "asthma", "no_flu", 9, 0),
    ], columns=["practice_code", "neighbourhood", "neighbourhood_name", "pathway", "gap", "members", "with_gap"])
    rates = gap_rates(counts).to_pandas().set_index(["level", "area"])
    expected = {  # (level, area): (members, with_gap, pct_with_gap, suppressed)
        ("practice", "P1"): (20, None, None, True),
        ("practice", "P2"): (30, None, None, True),
        ("practice", "P3"): (10, 0, 0.0, False),
        ("neighbourhood", "N1"): (50, 15, 34.0, False),
        ("neighbourhood", "N2"): (10, 0, 0.0, False),
        ("city", "all"): (60, 15, 28.8, False),
    }

    def cell(v):
        return None if pd.isna(v) else v

    got = {k: tuple(cell(rates.loc[k, c]) for c in ("members", "with_gap", "pct_with_gap", "suppressed"))
           for k in expected}
    assert got == expected
    assert rates.loc[("neighbourhood", "N1"), "area_name"] == "North"
    assert list(rates.index.get_level_values("level")) == ["practice"] * 3 + ["neighbourhood"] * 2 + ["city"]


def test_respiratory_admission_outcome(engine):
    """An emergency admission with a J00-J99 primary diagnosis in (T, T + 365 d]."""
    start = date(2025, 3, 31)
    rows = [spell("copd", -30, -35, "J44.1", as_of=start)[0],          # 30 days after: 1
            spell("day365", -365, -366, "J18.9", as_of=start)[0],      # day 365: in
            spell("day366", -366, -367, "J18.9", as_of=start)[0],      # day 366: out
            spell("elective", -30, -31, "J44.1", method="11", as_of=start)[0],
            spell("heart", -30, -31, "I21.9", as_of=start)[0],
            spell("before", 0, -2, "J45.9", as_of=start)[0]]           # admitted on T: before the window
    apcs = memtables(apcs=rows)["apcs"]
    got = engine.to_arrow(respiratory_admission_label(apcs, start=start)).to_pandas()
    labels = dict(zip(got.patient_id, got.label, strict=True))
    assert labels == {"copd": 1, "day365": 1, "day366": 0, "elective": 0, "heart": 0, "before": 0}


def test_mdt_list_carries_score_drivers_tier_and_gaps_in_words():
    """One row per selected person, in locality and rank order; gaps joined in the GAPS order."""
    cohort = pd.DataFrame([
        {"neighbourhood": "L2", "nhs_number": None, "patient_id": "b", "practice_code": "A1",
         "neighbourhood_rank": 1, "risk_score": 0.2, "drivers": "13 reliever inhalers in the last 12 months"},
        {"neighbourhood": "L1", "nhs_number": "9434765919", "patient_id": "a", "practice_code": "A2",
         "neighbourhood_rank": 1, "risk_score": 0.4, "drivers": "MRC breathlessness grade 4"},
    ])
    person = pd.DataFrame([
        {"patient_id": "a", "resp_pathway": "copd", "resp_rules_tier": 2, "copd_priority_group": 2,
         "asthma_risk_factors": None, "open_care_gaps": 2},
        {"patient_id": "b", "resp_pathway": "asthma", "resp_rules_tier": 1, "copd_priority_group": None,
         "asthma_risk_factors": 3, "open_care_gaps": 0},
    ])
    gaps = pd.DataFrame([
        {"patient_id": "a", "pathway": "copd", "gap": "no_flu", "detail": "no flu vaccination in the 2025/26 season"},
        {"patient_id": "a", "pathway": "copd", "gap": "copd_no_review", "detail": "no COPD review since 2024-11-02"},
    ])
    rows = mdt_list(cohort, person, gaps).to_pylist()
    assert [r["patient_id"] for r in rows] == ["a", "b"]  # L1 before L2
    assert rows[0]["care_gaps"] == "no COPD review since 2024-11-02; no flu vaccination in the 2025/26 season"
    assert rows[1]["care_gaps"] == "" and rows[1]["asthma_risk_factors"] == 3 and rows[1]["copd_priority_group"] is None
    assert rows[0]["drivers"] == "MRC breathlessness grade 4" and rows[0]["resp_rules_tier"] == 2
