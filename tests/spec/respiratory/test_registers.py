"""Spec: the asthma and COPD registers and the "ever coded" flags (respiratory-and-packs.md §1).
T is 2026-03-31 (a Tuesday); "last 12 months" = (T - 365 d, T].
"""

import pandas as pd

from tests.builders.features import event, issues
from tests.builders.respiratory import (
    AECOPD,
    ASTHMA,
    ASTHMA_ATTACK,
    ASTHMA_RESOLVED,
    COPD,
    COPD_RESOLVED,
    COPD_REVIEW,
    FEV1FVC,
    ICS,
    SABA,
    on,
    respiratory,
)


def test_asthma_register_needs_an_unresolved_diagnosis_and_treatment_in_12_months(engine, codelists):
    ev = [
        event("treated", 900, ASTHMA),                                     # on the register
        event("rx_364", 900, ASTHMA),                                      # SABA 364 days ago: in
        event("rx_365", 900, ASTHMA),                                      # SABA 365 days ago: out
        event("resolved", 900, ASTHMA), event("resolved", 400, ASTHMA_RESOLVED),   # resolved after dx
        event("recurred", 900, ASTHMA_RESOLVED), event("recurred", 400, ASTHMA),   # dx after resolved
        event("same_day", 400, ASTHMA), event("same_day", 400, ASTHMA_RESOLVED),   # a tie: resolved
        event("attack_only", 100, ASTHMA_ATTACK),                          # AST_COD exacerbation code
    ]
    rx = (issues("treated", SABA, [10]) + issues("rx_364", SABA, [364]) + issues("rx_365", SABA, [365])
          + issues("resolved", ICS, [10]) + issues("recurred", ICS, [10]) + issues("same_day", ICS, [10])
          + issues("attack_only", SABA, [5]) + issues("untreated_rx_only", SABA, [5]))
    ids = ["treated", "rx_364", "rx_365", "resolved", "recurred", "same_day", "attack_only", "untreated_rx_only"]
    p = respiratory(engine, codelists, ids, clinical_events=ev, medications=rx)
    expected = {  # id: (asthma_register, asthma_ever)
        "treated": (True, True), "rx_364": (True, True), "rx_365": (False, True),
        "resolved": (False, True), "recurred": (True, True), "same_day": (False, True),
        "attack_only": (True, True), "untreated_rx_only": (False, False),
    }
    assert {i: (bool(p.loc[i, "asthma_register"]), bool(p.loc[i, "asthma_ever"])) for i in ids} == expected


def test_asthma_register_starts_at_age_6(engine, codelists):
    """Born 2020-03-31: 6 on T (the birthday counts). Born 2020-04-01: still 5."""
    ids = ["six", "five"]
    patients = [{"patient_id": "six", "date_of_birth": "2020-03-31", "sex": "male"},
                {"patient_id": "five", "date_of_birth": "2020-04-01", "sex": "male"}]
    ev = [event(i, 300, ASTHMA) for i in ids]
    rx = [r for i in ids for r in issues(i, SABA, [20])]
    p = respiratory(engine, codelists, ids, patients=patients, clinical_events=ev, medications=rx)
    assert p["asthma_register"].tolist() == [True, False]
    assert p["asthma_ever"].tolist() == [True, True]


def test_copd_register_rules_1_to_4(engine, codelists):
    """Rule 1: diagnosed before 2023-04-01. Rules 2-3 (rule 2 here): on/after, FEV1/FVC < 0.7 from
    93 days before to 186 days after the diagnosis (a value above 1 is a percentage). Rule 4: the
    rest diagnosed on/after (still on the register). Diagnosis date = earliest COPD code after
    the latest resolved code."""
    ev = [
        on("r1", "2023-03-31", COPD),                                                       # rule 1
        on("r1_edge", "2023-04-01", COPD),                                                  # rule 4
        on("pct", "2024-01-10", COPD), on("pct", "2024-07-14", FEV1FVC, 65.0),              # +186 d, 65 %: rule 2
        on("late", "2024-01-10", COPD), on("late", "2024-07-15", FEV1FVC, 0.6),             # +187 d: rule 4
        on("before", "2024-01-10", COPD), on("before", "2023-10-09", FEV1FVC, 0.6),         # -93 d: rule 2
        on("too_early", "2024-01-10", COPD), on("too_early", "2023-10-08", FEV1FVC, 0.6),   # -94 d: rule 4
        on("normal", "2024-01-10", COPD), on("normal", "2024-01-20", FEV1FVC, 0.75),        # not < 0.7: rule 4
        on("edge_07", "2024-01-10", COPD), on("edge_07", "2024-01-20", FEV1FVC, 70.0),      # 0.70 is not < 0.7
        on("resolved", "2019-05-01", COPD), on("resolved", "2021-05-01", COPD_RESOLVED),    # off; ever coded
        on("again", "2019-05-01", COPD), on("again", "2020-05-01", COPD_RESOLVED),
        on("again", "2024-02-01", AECOPD), on("again", "2025-02-01", COPD),                 # back on 2024-02-01: rule 4
        on("review_only", "2025-02-01", COPD_REVIEW),                         # a review is not a diagnosis
    ]
    ids = ["r1", "r1_edge", "pct", "late", "before", "too_early", "normal", "edge_07", "resolved", "again",
           "review_only"]
    p = respiratory(engine, codelists, ids, clinical_events=ev)
    expected = {  # id: (copd_register, copd_register_rule, copd_ever)
        "r1": (True, 1, True), "r1_edge": (True, 4, True), "pct": (True, 2, True), "late": (True, 4, True),
        "before": (True, 2, True), "too_early": (True, 4, True), "normal": (True, 4, True),
        "edge_07": (True, 4, True), "resolved": (False, None, True), "again": (True, 4, True),
        "review_only": (False, None, False),
    }
    rule = p["copd_register_rule"].astype("Int64")
    got = {i: (bool(p.loc[i, "copd_register"]), None if rule[i] is pd.NA else int(rule[i]),
               bool(p.loc[i, "copd_ever"])) for i in ids}
    assert got == expected
    assert str(p.loc["again", "copd_diagnosis_date"]) == "2024-02-01"
    assert p.loc["r1_edge", "gap_copd_no_spirometry"] and not p.loc["pct", "gap_copd_no_spirometry"]
    assert not p.loc["r1", "gap_copd_no_spirometry"]


def test_copd_spirometry_around_a_recent_registration(engine, codelists):
    """Registered in the last 12 months: FEV1/FVC near the registration date also confirms."""
    ev = [on("moved", "2024-01-10", COPD), on("moved", "2025-09-01", FEV1FVC, 0.55),
          on("stayed", "2024-01-10", COPD), on("stayed", "2025-09-01", FEV1FVC, 0.55)]
    regs = [{"patient_id": "moved", "practice_code": "A1", "start_date": "2025-08-01"},
            {"patient_id": "stayed", "practice_code": "A1", "start_date": "2020-01-01"}]
    p = respiratory(engine, codelists, ["moved", "stayed"], clinical_events=ev, practice_registrations=regs)
    assert p["copd_register_rule"].tolist() == [2, 4]
