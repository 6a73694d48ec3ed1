"""Spec: long-term conditions, the Cambridge Multimorbidity Score and QOF presets
(clinical-definitions.md §3.1-§3.2).

A condition counts once per person, from GP codes or hospital ICD-10 (prefix-matched on the
canonical code), with its own look-back, prescription and value rules; look-backs end at T
(2026-03-31) and unknown codes count nothing. Each test builds a few patients in the test and
puts the expected per-patient values beside the data.
"""

from datetime import timedelta

import pytest

from npc_risk.config import FeatureConfig
from tests.builders.features import T, days_before, derive, diagnosis, event


def test_ltc_counts_each_condition_once_from_gp_or_hospital(engine, codelists):
    """A condition counts once per person whether found in GP codes, hospital ICD-10, or both;
    events dated before the registration start still count (records travel with the patient)."""
    events = [event("gp_only", 5000, "84114007"), event("gp_only", 10, "84114007"),  # heart failure x2
              event("both", 100, "84114007")]
    diags = [diagnosis("both", 50, "I500"), diagnosis("hosp_only", 50, "I110"), diagnosis("hosp_only", 60, "E119")]
    _, p = derive(engine, codelists, ["gp_only", "both", "hosp_only", "none"], clinical_events=events,
                  apcs_diagnoses=diags)
    #                 gp_only  both   hosp_only       none
    assert list(p.ltc_heart_failure) == [True, True, True, False]
    # I110 is hypertensive heart disease WITH heart failure: it is in both lists (I11 prefix)
    assert list(p.ltc_count) == [1, 1, 3, 0]
    assert list(p.ltc_conditions) == ["heart_failure", "heart_failure",
                                      "diabetes;heart_failure;hypertension", ""]


def test_icd10_prefix_matching_of_code_lists(engine, codelists):
    """ICD-10 lists match by prefix on the canonical code: list entry `J44` matches J440/J441/J44;
    list entry `N183` (4 characters) matches N183 but not N181 (CKD stage 1 is not CKD 3-5)."""
    diags = [diagnosis("a", 1, "J441"), diagnosis("b", 1, "J44"), diagnosis("c", 1, "N183"),
             diagnosis("d", 1, "N181"), diagnosis("e", 1, "J4")]
    _, p = derive(engine, codelists, list("abcde"), config=FeatureConfig(preset="qof"),
                  apcs_diagnoses=diags)
    assert list(p.ltc_copd) == [True, True, False, False, False]
    assert list(p.ltc_ckd) == [False, False, True, False, False]  # QOF CKD 3-5 register


EGFR = "1011481000000105"  # eGFR using creatinine (CKD-EPI) per 1.73 square metres


EGFR_VALUES = [
    # (days before T, eGFR) ...                       CMS CKD
    ([(400, 70.0), (200, 55.0), (10, 58.0)],          True),   # last two 55, 58: best 58 < 60
    ([(400, 50.0), (200, 55.0), (10, 61.0)],          False),  # last two 55, 61: best 61 (recovered)
    ([(10, 59.9)],                                    True),   # one value: it is the best
    ([(10, 60.0)],                                    False),  # 60 is not < 60
    ([(20, 45.0), (10, 0.0)],                         True),   # bounds apply to the best: 45
    ([(30, 40.0), (10, 40.0), (10, 90.0)],            False),  # same day twice: the higher counts first
    ([(-1, 40.0), (10, 41.0), (5, 42.0)],             True),   # a value after T is not read
]


@pytest.fixture(scope="module")
def egfr(module_engine, codelists):
    """One patient per row of EGFR_VALUES (`c<row>`) with those eGFR values and a CKD stage 4
    code 500 days before T (not part of the CMS rule); derived once."""
    ids = [f"c{i}" for i in range(len(EGFR_VALUES))]
    events = [event(pid, days, EGFR, value)
              for pid, (values, _) in zip(ids, EGFR_VALUES, strict=True) for days, value in values]
    events += [event(pid, 500, "431857002") for pid in ids]
    _, person = derive(module_engine, codelists, ids, clinical_events=events)
    return person


@pytest.mark.parametrize("values, ckd", EGFR_VALUES)
def test_cms_ckd_best_of_last_two_egfr(egfr, values, ckd):
    """CMS CKD (§3.1) is a lab rule: the higher of the last two eGFR values on or before T is
    < 60 mL/min (and > 0). CKD codes alone do not make the CMS condition (QOF's register does)."""
    row = EGFR_VALUES.index((values, ckd))
    assert egfr.loc[f"c{row}", "ltc_ckd"] == ckd


def test_one_code_maps_to_two_conditions(engine, codelists):
    """Code-to-condition is many-to-many: 73211009 Diabetes mellitus is in the LTC diabetes list
    and in the eFI diabetes AND CKD deficit lists (published eFI quirk, §1.4)."""
    _, p = derive(engine, codelists, ["p"], clinical_events=[event("p", 3, "73211009")])
    assert p.loc["p", "ltc_diabetes"] and p.loc["p", "efi_diabetes"] and p.loc["p", "efi_chronic_kidney_disease"]


def test_asthma_needs_diagnosis_and_inhaler_in_last_12_months(engine, codelists):
    """CMS asthma: Dx ever AND an asthma Rx in (T-365d, T]: day 364 counts, day 365 does not."""
    inh = "39113611000001102"
    meds = [{"patient_id": "rx364", "date": days_before(364), "dmd_code": inh},
            {"patient_id": "rx365", "date": days_before(365), "dmd_code": inh},
            {"patient_id": "rx_only", "date": days_before(3), "dmd_code": inh}]
    events = [event("rx364", 4000, "195967001"), event("rx365", 4000, "195967001"), event("dx_only", 4000, "195967001")]
    _, p = derive(engine, codelists, ["rx364", "rx365", "rx_only", "dx_only"], clinical_events=events, medications=meds)
    assert list(p.ltc_asthma) == [True, False, False, False]


def test_cancer_counts_only_if_first_diagnosis_within_five_years(engine, codelists):
    """CMS cancer: the FIRST-ever cancer code must fall in the last 1826 days; an old cancer
    re-coded recently does not count."""
    events = [event("new", 1825, "363346000"), event("old", 1826, "363346000"), event("old", 10, "363346000")]
    _, p = derive(engine, codelists, ["new", "old"], clinical_events=events)
    assert list(p.ltc_cancer) == [True, False]


def test_qof_preset_applies_age_floor(engine, codelists):
    """QOF preset (§3.2): diabetes counts from age 17; a 16-year-old with a code is not counted."""
    cfg = FeatureConfig(preset="qof")
    diabetes = [event("p", 1, "44054006")]
    _, young = derive(engine, codelists, ["p"], config=cfg, dob="2009-06-01", clinical_events=diabetes)
    _, adult = derive(engine, codelists, ["p"], config=cfg, dob="2008-06-01", clinical_events=diabetes)
    assert not young.loc["p", "ltc_diabetes"] and adult.loc["p", "ltc_diabetes"]


def test_events_after_T_and_unknown_codes_count_nothing(engine, codelists):
    """Look-backs end at T; unknown codes score nothing and never raise (§1.4)."""
    events = [{"patient_id": "p", "date": T + timedelta(days=1), "snomedct_code": "84114007"},
              event("p", 1, "999999999"), event("p", 1, "")]
    r, p = derive(engine, codelists, ["p"], clinical_events=events)
    assert p.loc["p", "ltc_count"] == 0
    um = engine.to_arrow(r.unmatched).to_pandas().set_index("source")
    assert um.loc["clinical_events", "events"] == 2 and um.loc["clinical_events", "unmatched_events"] == 2
