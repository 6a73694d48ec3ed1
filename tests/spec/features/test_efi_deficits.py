"""Spec: the electronic Frailty Index (clinical-definitions.md §1.2-§1.5).

36 deficits, each counted once however many codes; the score is deficits / 36 and the category
comes from the integer count; polypharmacy is >= 5 distinct active ingredients issued in
(T-365d, T]; anaemia is also a value rule with a unit split; eFI is validated from 65. T is
2026-03-31 throughout.
"""

import pandas as pd
import pytest

from npc_risk.config import FeatureConfig
from tests.builders.features import days_before, derive, event

EFI_CODES = ["21134002", "271737000", "3723001", "49436004", "230690007", "709044004", "73211009",
             "404640003", "267036007", "161898004", "47850008", "5913000", "15188001", "84114007"]


@pytest.mark.parametrize("n, category", [(0, "fit"), (4, "fit"), (5, "mild"), (8, "mild"),
                                         (9, "moderate"), (12, "moderate"), (13, "severe")])
def test_efi_category_uses_integer_deficit_thresholds(engine, codelists, n, category):
    """eFI bands (§1.2): fit 0-4, mild 5-8, moderate 9-12, severe >= 13, from the integer count.
    (73211009 scores both diabetes and CKD, so the codes are chosen to give exactly n.)"""
    codes = [c for c in EFI_CODES if c not in ("73211009",)][:n]
    _, p = derive(engine, codelists, ["p"], clinical_events=[event("p", 100, c) for c in codes])
    assert p.loc["p", "efi_deficits"] == n
    assert p.loc["p", "efi_score"] == pytest.approx(n / 36)
    assert p.loc["p", "efi_category"] == category


def test_deficit_counts_once_however_many_codes(engine, codelists):
    """One flag per deficit: three falls codes on several dates still score 1 (§1.4)."""
    events = [event("p", 3000, "161898004"), event("p", 20, "1912002"), event("p", 20, "1912002"),
              event("p", 1, "279992002")]
    r, p = derive(engine, codelists, ["p"], clinical_events=events)
    assert p.loc["p", "efi_falls"] and p.loc["p", "efi_deficits"] == 1
    e = engine.to_arrow(r.evidence).to_pandas()
    e = e[e.feature == "efi_falls"].set_index("code")
    assert e.loc["1912002", "first_date"] == days_before(20) and len(e) == 3


@pytest.mark.parametrize("days, distinct, expected", [
    (364, 5, True), (365, 5, False), (0, 5, True), (10, 4, False)])
def test_polypharmacy_five_distinct_medicines_in_last_365_days(engine, codelists, days, distinct, expected):
    """Deficit 26: >= 5 distinct medicines issued in (T-365d, T]; the fifth issued exactly 365
    days before T falls outside; repeats of one medicine count once (§1.3)."""
    # salbutamol, carbamazepine, lamotrigine, sertraline, senna: five ingredients
    codes = ["39113611000001102", "322863001", "322981004", "39704111000001102", "42358311000001108"]
    meds = [{"patient_id": "p", "date": days_before(1), "dmd_code": c} for c in codes[:distinct - 1]]
    meds += [{"patient_id": "p", "date": days_before(days), "dmd_code": codes[distinct - 1]}]
    meds += [{"patient_id": "p", "date": days_before(2), "dmd_code": codes[0]}]  # repeat issue
    _, p = derive(engine, codelists, ["p"], medications=meds)
    assert p.loc["p", "efi_polypharmacy"] == expected


def test_polypharmacy_counts_ingredients_not_products(engine, codelists):
    """Deficit 26 counts active ingredients (§1.3): Ventolin, Salamol and generic salbutamol are
    one medicine, carbamazepine 100 mg and 200 mg are one; a code the ingredient map lacks
    counts as its own medicine."""
    salbutamol = ["222311000001102", "3215311000001107", "39113611000001102"]
    carbamazepine = ["322863001", "322864007"]
    others = ["322981004", "39704111000001102"]  # lamotrigine, sertraline
    unknown = "10000000000001"  # no ingredient: its own medicine
    def meds(pid, codes):
        return [{"patient_id": pid, "date": days_before(10), "dmd_code": c} for c in codes]
    rows = (meds("four", salbutamol + carbamazepine + others)              # 4 ingredients
            + meds("five", salbutamol + carbamazepine + others + [unknown]))
    _, p = derive(engine, codelists, ["four", "five"], medications=rows)
    assert list(p.efi_polypharmacy) == [False, True]


@pytest.mark.parametrize("sex, value, anaemic", [
    ("female", 11.4, True), ("female", 11.5, False), ("female", 114.0, True), ("female", 115.0, False),
    ("male", 12.9, True), ("male", 13.0, False), ("male", 129.0, True), ("male", 130.0, False),
    ("male", None, False)])
def test_haemoglobin_value_rule_with_unit_split(engine, codelists, sex, value, anaemic):
    """Anaemia value rule (§1.5): Hb <= 25 read as g/dL, > 25 as g/L; male < 13 / 130,
    female < 11.5 / 115; null values are ignored."""
    _, p = derive(engine, codelists, ["p"], sex=sex, clinical_events=[event("p", 10, "271026005", value)])
    assert p.loc["p", "efi_anaemia"] == anaemic


def test_efi_below_min_age(engine, codelists):
    """eFI is validated from 65 (§1.3): default scores everyone and flags the range; `null`
    leaves score and category empty below 65."""
    _, flag = derive(engine, codelists, ["p"], dob="1970-01-01", clinical_events=[event("p", 1, "161898004")])
    assert flag.loc["p", "efi_deficits"] == 1 and not flag.loc["p", "efi_in_age_range"]
    _, null = derive(engine, codelists, ["p"], dob="1970-01-01", config=FeatureConfig(efi_below_min_age="null"),
                  clinical_events=[event("p", 1, "161898004")])
    assert pd.isna(null.loc["p", "efi_category"]) and null.loc["p", "efi_deficits"] == 1
