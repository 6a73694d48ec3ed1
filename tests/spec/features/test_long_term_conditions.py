"""Spec: the clinical rulebook for LTCs, eFI, HFRS, flags, utilisation and evidence.

Each test builds a few patients in the test, states the rule in its docstring, and puts the
expected per-patient values beside the data. T (the as-of date) is 2026-03-31 throughout.
"""

from datetime import date, timedelta

import pandas as pd
import pytest

from npc_risk.codelists import load_codelists
from npc_risk.config import FeatureConfig
from npc_risk.features import derive_features, memtables

T = date(2026, 3, 31)


def d(days_before: int) -> date:
    return T - timedelta(days=days_before)


@pytest.fixture(scope="module")
def cs():
    return load_codelists()


def run(engine, cs, ids, config=None, dob="1940-01-01", sex="female", **frames):
    patients = [{"patient_id": p, "date_of_birth": dob, "sex": sex} for p in ids]
    regs = [{"patient_id": p, "practice_code": "A1", "start_date": "2026-01-01"} for p in ids]
    r = derive_features(engine, memtables(patients=patients, practice_registrations=regs, **frames),
                        as_of=T, codelists=cs, config=config or FeatureConfig())
    return r, r.person.to_pyarrow().to_pandas().set_index("patient_id").loc[list(ids)]


def ev(pid, days, code, value=None):
    return {"patient_id": pid, "date": d(days), "snomedct_code": code, "numeric_value": value}


def dx(pid, days, code, spell="s"):
    return {"spell_id": f"{spell}-{pid}-{days}", "patient_id": pid, "admission_date": d(days),
            "admission_method": "21", "position": 0, "icd10_code": code, "icd10_code3": code[:3]}


# ---------------------------------------------------------------- LTCs (§3)

def test_ltc_counts_each_condition_once_from_gp_or_hospital(engine, cs):
    """A condition counts once per person whether found in GP codes, hospital ICD-10, or both;
    events dated before the registration start still count (records travel with the patient)."""
    events = [ev("gp_only", 5000, "84114007"), ev("gp_only", 10, "84114007"),  # heart failure x2
              ev("both", 100, "84114007")]
    diags = [dx("both", 50, "I500"), dx("hosp_only", 50, "I110"), dx("hosp_only", 60, "E119")]
    _, p = run(engine, cs, ["gp_only", "both", "hosp_only", "none"], clinical_events=events, apcs_diagnoses=diags)
    #                 gp_only  both   hosp_only       none
    assert list(p.ltc_heart_failure) == [True, True, True, False]
    # I110 is hypertensive heart disease WITH heart failure: it is in both lists (I11 prefix)
    assert list(p.ltc_count) == [1, 1, 3, 0]
    assert list(p.ltc_conditions) == ["heart_failure", "heart_failure",
                                      "diabetes;heart_failure;hypertension", ""]


def test_icd10_prefix_matching_of_code_lists(engine, cs):
    """ICD-10 lists match by prefix on the canonical code: list entry `J44` matches J440/J441/J44;
    list entry `N183` (4 characters) matches N183 but not N181 (CKD stage 1 is not CKD 3-5)."""
    diags = [dx("a", 1, "J441"), dx("b", 1, "J44"), dx("c", 1, "N183"), dx("d", 1, "N181"), dx("e", 1, "J4")]
    _, p = run(engine, cs, list("abcde"), FeatureConfig(preset="qof"), apcs_diagnoses=diags)
    assert list(p.ltc_copd) == [True, True, False, False, False]
    assert list(p.ltc_ckd) == [False, False, True, False, False]  # QOF CKD 3-5 register


EGFR = "1011481000000105"  # eGFR using creatinine (CKD-EPI) per 1.73 square metres


@pytest.mark.parametrize("values, ckd", [
    ([(400, 70.0), (200, 55.0), (10, 58.0)], True),    # last two 55, 58: best 58 < 60
    ([(400, 50.0), (200, 55.0), (10, 61.0)], False),   # last two 55, 61: best 61 (recovered)
    ([(10, 59.9)], True),                               # one value: it is the best
    ([(10, 60.0)], False),                              # 60 is not < 60
    ([(20, 45.0), (10, 0.0)], True),                    # bounds apply to the best: 45
    ([(30, 40.0), (10, 40.0), (10, 90.0)], False),      # same day twice: the higher counts first
    ([(-1, 40.0), (10, 41.0), (5, 42.0)], True),        # a value after T is not read
])
def test_cms_ckd_best_of_last_two_egfr(engine, cs, values, ckd):
    """CMS CKD (§3.1) is a lab rule: the higher of the last two eGFR values on or before T is
    < 60 mL/min (and > 0). CKD codes alone do not make the CMS condition (QOF's register does)."""
    events = [ev("p", days, EGFR, value) for days, value in values]
    events.append(ev("p", 500, "431857002"))  # CKD stage 4 code: not part of the CMS rule
    _, p = run(engine, cs, ["p"], clinical_events=events)
    assert p.loc["p", "ltc_ckd"] == ckd


def test_one_code_maps_to_two_conditions(engine, cs):
    """Code-to-condition is many-to-many: 73211009 Diabetes mellitus is in the LTC diabetes list
    and in the eFI diabetes AND CKD deficit lists (published eFI quirk, §1.4)."""
    _, p = run(engine, cs, ["p"], clinical_events=[ev("p", 3, "73211009")])
    assert p.loc["p", "ltc_diabetes"] and p.loc["p", "efi_diabetes"] and p.loc["p", "efi_chronic_kidney_disease"]


def test_asthma_needs_diagnosis_and_inhaler_in_last_12_months(engine, cs):
    """CMS asthma: Dx ever AND an asthma Rx in (T-365d, T]: day 364 counts, day 365 does not."""
    inh = "39113611000001102"
    meds = [{"patient_id": "rx364", "date": d(364), "dmd_code": inh},
            {"patient_id": "rx365", "date": d(365), "dmd_code": inh},
            {"patient_id": "rx_only", "date": d(3), "dmd_code": inh}]
    events = [ev("rx364", 4000, "195967001"), ev("rx365", 4000, "195967001"), ev("dx_only", 4000, "195967001")]
    _, p = run(engine, cs, ["rx364", "rx365", "rx_only", "dx_only"], clinical_events=events, medications=meds)
    assert list(p.ltc_asthma) == [True, False, False, False]


def test_cancer_counts_only_if_first_diagnosis_within_five_years(engine, cs):
    """CMS cancer: the FIRST-ever cancer code must fall in the last 1826 days; an old cancer
    re-coded recently does not count."""
    events = [ev("new", 1825, "363346000"), ev("old", 1826, "363346000"), ev("old", 10, "363346000")]
    _, p = run(engine, cs, ["new", "old"], clinical_events=events)
    assert list(p.ltc_cancer) == [True, False]


def test_qof_preset_applies_age_floor(engine, cs):
    """QOF preset (§3.2): diabetes counts from age 17; a 16-year-old with a code is not counted."""
    cfg = FeatureConfig(preset="qof")
    _, young = run(engine, cs, ["p"], config=cfg, dob="2009-06-01", clinical_events=[ev("p", 1, "44054006")])
    _, adult = run(engine, cs, ["p"], config=cfg, dob="2008-06-01", clinical_events=[ev("p", 1, "44054006")])
    assert not young.loc["p", "ltc_diabetes"] and adult.loc["p", "ltc_diabetes"]


def test_events_after_T_and_unknown_codes_count_nothing(engine, cs):
    """Look-backs end at T; unknown codes score nothing and never raise (§1.4)."""
    events = [{"patient_id": "p", "date": T + timedelta(days=1), "snomedct_code": "84114007"},
              ev("p", 1, "999999999"), ev("p", 1, "")]
    r, p = run(engine, cs, ["p"], clinical_events=events)
    assert p.loc["p", "ltc_count"] == 0
    um = r.unmatched.to_pyarrow().to_pandas().set_index("source")
    assert um.loc["clinical_events", "events"] == 2 and um.loc["clinical_events", "unmatched_events"] == 2


# ---------------------------------------------------------------- eFI (§1)

EFI_CODES = ["21134002", "271737000", "3723001", "49436004", "230690007", "709044004", "73211009",
             "404640003", "267036007", "161898004", "47850008", "5913000", "15188001", "84114007"]


@pytest.mark.parametrize("n, category", [(0, "fit"), (4, "fit"), (5, "mild"), (8, "mild"),
                                         (9, "moderate"), (12, "moderate"), (13, "severe")])
def test_efi_category_uses_integer_deficit_thresholds(engine, cs, n, category):
    """eFI bands (§1.2): fit 0-4, mild 5-8, moderate 9-12, severe >= 13, from the integer count.
    (73211009 scores both diabetes and CKD, so the codes are chosen to give exactly n.)"""
    codes = [c for c in EFI_CODES if c not in ("73211009",)][:n]
    _, p = run(engine, cs, ["p"], clinical_events=[ev("p", 100, c) for c in codes])
    assert p.loc["p", "efi_deficits"] == n
    assert p.loc["p", "efi_score"] == pytest.approx(n / 36)
    assert p.loc["p", "efi_category"] == category


def test_deficit_counts_once_however_many_codes(engine, cs):
    """One flag per deficit: three falls codes on several dates still score 1 (§1.4)."""
    events = [ev("p", 3000, "161898004"), ev("p", 20, "1912002"), ev("p", 20, "1912002"), ev("p", 1, "279992002")]
    r, p = run(engine, cs, ["p"], clinical_events=events)
    assert p.loc["p", "efi_falls"] and p.loc["p", "efi_deficits"] == 1
    e = r.evidence.to_pyarrow().to_pandas()
    e = e[e.feature == "efi_falls"].set_index("code")
    assert e.loc["1912002", "first_date"] == d(20) and len(e) == 3


@pytest.mark.parametrize("days, distinct, expected", [
    (364, 5, True), (365, 5, False), (0, 5, True), (10, 4, False)])
def test_polypharmacy_five_distinct_medicines_in_last_365_days(engine, cs, days, distinct, expected):
    """Deficit 26: >= 5 distinct medicines issued in (T-365d, T]; the fifth issued exactly 365
    days before T falls outside; repeats of one medicine count once (§1.3)."""
    # salbutamol, carbamazepine, lamotrigine, sertraline, senna: five ingredients
    codes = ["39113611000001102", "322863001", "322981004", "39704111000001102", "42358311000001108"]
    meds = [{"patient_id": "p", "date": d(1), "dmd_code": c} for c in codes[:distinct - 1]]
    meds += [{"patient_id": "p", "date": d(days), "dmd_code": codes[distinct - 1]}]
    meds += [{"patient_id": "p", "date": d(2), "dmd_code": codes[0]}]  # repeat issue
    _, p = run(engine, cs, ["p"], medications=meds)
    assert p.loc["p", "efi_polypharmacy"] == expected


def test_polypharmacy_counts_ingredients_not_products(engine, cs):
    """Deficit 26 counts active ingredients (§1.3): Ventolin, Salamol and generic salbutamol are
    one medicine, carbamazepine 100 mg and 200 mg are one; a code the ingredient map lacks
    counts as its own medicine."""
    salbutamol = ["222311000001102", "3215311000001107", "39113611000001102"]
    carbamazepine = ["322863001", "322864007"]
    others = ["322981004", "39704111000001102"]  # lamotrigine, sertraline
    unknown = "10000000000001"  # no ingredient: its own medicine
    def meds(pid, codes):
        return [{"patient_id": pid, "date": d(10), "dmd_code": c} for c in codes]
    rows = (meds("four", salbutamol + carbamazepine + others)              # 4 ingredients
            + meds("five", salbutamol + carbamazepine + others + [unknown]))
    _, p = run(engine, cs, ["four", "five"], medications=rows)
    assert list(p.efi_polypharmacy) == [False, True]


@pytest.mark.parametrize("sex, value, anaemic", [
    ("female", 11.4, True), ("female", 11.5, False), ("female", 114.0, True), ("female", 115.0, False),
    ("male", 12.9, True), ("male", 13.0, False), ("male", 129.0, True), ("male", 130.0, False),
    ("male", None, False)])
def test_haemoglobin_value_rule_with_unit_split(engine, cs, sex, value, anaemic):
    """Anaemia value rule (§1.5): Hb <= 25 read as g/dL, > 25 as g/L; male < 13 / 130,
    female < 11.5 / 115; null values are ignored."""
    _, p = run(engine, cs, ["p"], sex=sex, clinical_events=[ev("p", 10, "271026005", value)])
    assert p.loc["p", "efi_anaemia"] == anaemic


def test_efi_below_min_age(engine, cs):
    """eFI is validated from 65 (§1.3): default scores everyone and flags the range; `null`
    leaves score and category empty below 65."""
    _, flag = run(engine, cs, ["p"], dob="1970-01-01", clinical_events=[ev("p", 1, "161898004")])
    assert flag.loc["p", "efi_deficits"] == 1 and not flag.loc["p", "efi_in_age_range"]
    _, null = run(engine, cs, ["p"], dob="1970-01-01", config=FeatureConfig(efi_below_min_age="null"),
                  clinical_events=[ev("p", 1, "161898004")])
    assert pd.isna(null.loc["p", "efi_category"]) and null.loc["p", "efi_deficits"] == 1


# ---------------------------------------------------------------- HFRS (§2)

def test_hfrs_window_includes_day_730_not_731(engine, cs):
    """Spells admitted in [T-730d, T] count: an F00 exactly 730 days before T scores 7.1;
    the same 731 days before scores nothing."""
    _, p = run(engine, cs, ["in", "out"], apcs_diagnoses=[dx("in", 730, "F000"), dx("out", 731, "F000")])
    assert list(p.hfrs_score) == [7.1, 0.0]
    assert list(p.hfrs_category) == ["intermediate", "low"]


def test_hfrs_category_counted_once_and_worked_example(engine, cs):
    """§2.2 worked check: F00 on three spells + W19 once = 7.1 + 3.2 = 10.3 (intermediate)."""
    diags = [dx("p", 10, "F000"), dx("p", 200, "F001"), dx("p", 400, "F00"), dx("p", 30, "W19")]
    _, p = run(engine, cs, ["p"], apcs_diagnoses=diags)
    assert p.loc["p", "hfrs_score"] == 10.3 and p.loc["p", "hfrs_category"] == "intermediate"


@pytest.mark.parametrize("codes, score, category", [
    (["R41", "R26"], 5.3, "intermediate"),
    (["F05", "R50", "R50"], 3.3, "low"),
    (["G81", "N17", "K52"], 6.5, "intermediate"),
    (["F00", "G30", "F05", "R41"], 17.0, "high"),
    (["F00", "G81", "R31", "R50", "D64"], 15.0, "intermediate"),  # 7.1+4.4+3.0+0.1+0.4
    (["F00", "G81", "R31", "K52", "Z91"], 15.3, "high"),          # 7.1+4.4+3.0+0.3+0.5
    (["R31", "Z75"], 5.0, "intermediate"),                       # exactly 5.0
    (["R31", "H54"], 4.9, "low"),
])
def test_hfrs_category_edges_in_tenths(engine, cs, codes, score, category):
    """low < 5, intermediate 5-15 inclusive, high > 15, summed in integer tenths (§2.1)."""
    _, p = run(engine, cs, ["p"], apcs_diagnoses=[dx("p", 5 + i, c) for i, c in enumerate(codes)])
    assert p.loc["p", "hfrs_score"] == score and p.loc["p", "hfrs_category"] == category


# ---------------------------------------------------------------- flags (§7.3, §7.4)

def test_care_home_latest_residence_code_wins(engine, cs):
    """care_home: a care-home code not followed by a later own-home code; a tie keeps the flag."""
    events = [ev("ch", 100, "248171000000108"),
              ev("moved_home", 100, "160734000"), ev("moved_home", 50, "224228000"),
              ev("tie", 50, "160734000"), ev("tie", 50, "224228000")]
    _, p = run(engine, cs, ["ch", "moved_home", "tie", "none"], clinical_events=events)
    assert list(p.care_home) == [True, False, True, False]
    assert list(p.efi_requirement_for_care) == [True, True, True, False]


def test_type1_optout_from_table_or_latest_dissent_code(engine, cs):
    """type1_optout: opt_outs type1 OR a dissent code (827241000000103) not withdrawn later."""
    events = [ev("code", 10, "827241000000103"),
              ev("withdrawn", 100, "827241000000103"), ev("withdrawn", 10, "827261000000102")]
    opt = [{"patient_id": "table", "opt_out_type": "type1"}, {"patient_id": "ndoo", "opt_out_type": "ndoo"}]
    _, p = run(engine, cs, ["code", "withdrawn", "table", "ndoo"], clinical_events=events, opt_outs=opt)
    assert list(p.type1_optout) == [True, False, True, False]


def test_palliative_care_from_gp_or_hospital(engine, cs):
    _, p = run(engine, cs, ["gp", "hosp", "none"], clinical_events=[ev("gp", 3, "103735009")],
               apcs_diagnoses=[dx("hosp", 3, "Z515")])
    assert list(p.palliative_care) == [True, True, False]


# ---------------------------------------------------------------- utilisation (§5, conventions §1.8, §1.10)

def test_utilisation_windows_and_definitions(engine, cs):
    """Emergency = admissions.is_emergency_admission, the outcome's code set (21-25, 2A, 2D, 28;
    not 2B transfers or 2C births, §5.1); window (T-365d, T]; bed days are
    LOS to min(discharge, T), same-day = 0, open spells count to T; electives 11/12/13;
    OPA attended 5/6, DNA 3/7; GP attended only; social care active on T."""
    def spell(sid, pid, adm, dis, method):
        return {"spell_id": sid, "patient_id": pid, "admission_date": d(adm),
                "discharge_date": None if dis is None else d(dis), "admission_method": method}
    apcs = [spell("s1", "p", 10, 5, "21"),      # 5 bed days
            spell("s2", "p", 100, 100, "2A"),   # same day: 0
            spell("s3", "p", 3, None, "28"),    # open: 3 days to T
            spell("s4", "p", 365, 360, "21"),   # outside the window
            spell("s5", "p", 200, 198, "12"),   # elective
            spell("s6", "p", 50, 49, "31"),     # maternity: neither
            spell("s7", "p", 40, 30, "2B"),     # transfer: not an emergency admission (was 1 and 10 days)
            spell("s8", "p", 60, 60, "2C")]     # birth at home: not an emergency admission
    ec = [{"attendance_id": f"a{i}", "patient_id": "p", "arrival_date": d(x)} for i, x in enumerate([0, 364, 365])]
    opa = [{"appointment_id": f"o{s}", "patient_id": "p", "appointment_date": d(5), "attendance_status": s}
           for s in "234567"]
    gp = [{"patient_id": "p", "date": d(1), "status": s} for s in ("attended", "attended", "did_not_attend", "cancelled")]
    sc = [{"patient_id": "p", "start_date": d(100), "end_date": None, "service_type": "x"},
          {"patient_id": "p", "start_date": d(100), "end_date": T, "service_type": "x"},
          {"patient_id": "p", "start_date": d(100), "end_date": d(1), "service_type": "x"}]
    _, p = run(engine, cs, ["p", "q"], apcs=apcs, ec=ec, opa=opa, gp_appointments=gp, social_care_packages=sc)
    r = p.loc["p"]
    assert (r.emergency_admissions_12m, r.emergency_bed_days_12m, r.elective_admissions_12m) == (3, 8, 1)
    assert (r.ae_attendances_12m, r.outpatient_attendances_12m, r.outpatient_dnas_12m) == (2, 2, 2)
    assert (r.gp_appointments_12m, r.social_care_packages_active) == (2, 2)
    assert p.loc["q", "emergency_admissions_12m"] == 0


def test_evidence_explains_conditions_and_hfrs(engine, cs):
    """Evidence: one row per (patient, feature, code, source) with first/last dates."""
    r, _ = run(engine, cs, ["p"], clinical_events=[ev("p", 400, "84114007"), ev("p", 10, "84114007")],
               apcs_diagnoses=[dx("p", 20, "F000")])
    e = r.evidence.to_pyarrow().to_pandas()
    row = e[(e.feature == "ltc_heart_failure")].iloc[0]
    assert (row.code, row.first_date, row.last_date, row.source) == ("84114007", d(400), d(10), "clinical_events")
    assert {"hfrs_F00", "ltc_dementia", "efi_heart_failure"} <= set(e.feature)
