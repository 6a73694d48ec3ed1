"""Spec: the electronic Frailty Index (clinical-definitions.md §1.2-§1.5).

36 deficits, each counted once however many codes; the score is deficits / 36 and the category
comes from the integer count; polypharmacy is >= 5 distinct active ingredients issued in
(T-365d, T]; anaemia is also a value rule with a unit split; eFI is validated from 65. T is
2026-03-31 throughout.
"""

import pandas as pd
import pytest

from npc_risk.config import FeatureConfig
from tests.builders.features import days_before, derive, derive_tables, event, registered

EFI_CODES = ["21134002", "271737000", "3723001", "49436004", "230690007", "709044004", "73211009",
             "404640003", "267036007", "161898004", "47850008", "5913000", "15188001", "84114007"]


#           deficits  category
EFI_BANDS = [(0,        "fit"),
             (4,        "fit"),
             (5,        "mild"),
             (8,        "mild"),
             (9,        "moderate"),
             (12,       "moderate"),
             (13,       "severe")]


@pytest.fixture(scope="module")
def efi_bands(module_engine, codelists):
    """One patient per row of EFI_BANDS (`n<deficits>`) with that many deficit codes 100 days
    before T, derived together once. (73211009 scores both diabetes and CKD, so the codes are
    chosen to give exactly n.)"""
    codes = [c for c in EFI_CODES if c not in ("73211009",)]
    events = [event(f"n{n}", 100, c) for n, _ in EFI_BANDS for c in codes[:n]]
    _, person = derive(module_engine, codelists, [f"n{n}" for n, _ in EFI_BANDS], clinical_events=events)
    return person


@pytest.mark.parametrize("n, category", EFI_BANDS)
def test_efi_category_uses_integer_deficit_thresholds(efi_bands, n, category):
    """eFI bands (§1.2): fit 0-4, mild 5-8, moderate 9-12, severe >= 13, from the integer count."""
    p = efi_bands.loc[f"n{n}"]
    assert p["efi_deficits"] == n
    assert p["efi_score"] == pytest.approx(n / 36)
    assert p["efi_category"] == category


def test_deficit_counts_once_however_many_codes(engine, codelists):
    """One flag per deficit: three falls codes on several dates still score 1 (§1.4)."""
    events = [event("p", 3000, "161898004"), event("p", 20, "1912002"), event("p", 20, "1912002"),
              event("p", 1, "279992002")]
    r, p = derive(engine, codelists, ["p"], clinical_events=events)
    assert p.loc["p", "efi_falls"] and p.loc["p", "efi_deficits"] == 1
    e = engine.to_arrow(r.evidence).to_pandas()
    e = e[e.feature == "efi_falls"].set_index("code")
    assert e.loc["1912002", "first_date"] == days_before(20) and len(e) == 3


#              last issue (days before T)  distinct medicines  polypharmacy
POLYPHARMACY = [(364,                        5,                  True),
                (365,                        5,                  False),
                (0,                          5,                  True),
                (10,                         4,                  False)]


@pytest.fixture(scope="module")
def polypharmacy(module_engine, codelists):
    """One patient per row of POLYPHARMACY (`q<row>`): `distinct - 1` medicines issued a day
    before T, the last one `days` before T, and a repeat issue of the first; derived once."""
    # salbutamol, carbamazepine, lamotrigine, sertraline, senna: five ingredients
    codes = ["39113611000001102", "322863001", "322981004", "39704111000001102", "42358311000001108"]
    meds = []
    for i, (days, distinct, _) in enumerate(POLYPHARMACY):
        pid = f"q{i}"
        meds += [{"patient_id": pid, "date": days_before(1), "dmd_code": c} for c in codes[:distinct - 1]]
        meds += [{"patient_id": pid, "date": days_before(days), "dmd_code": codes[distinct - 1]}]
        meds += [{"patient_id": pid, "date": days_before(2), "dmd_code": codes[0]}]  # repeat issue
    _, person = derive(module_engine, codelists, [f"q{i}" for i in range(len(POLYPHARMACY))], medications=meds)
    return person


@pytest.mark.parametrize("days, distinct, expected", POLYPHARMACY)
def test_polypharmacy_five_distinct_medicines_in_last_365_days(polypharmacy, days, distinct, expected):
    """Deficit 26: >= 5 distinct medicines issued in (T-365d, T]; the fifth issued exactly 365
    days before T falls outside; repeats of one medicine count once (§1.3)."""
    row = POLYPHARMACY.index((days, distinct, expected))
    assert polypharmacy.loc[f"q{row}", "efi_polypharmacy"] == expected


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


#              sex       Hb      anaemic
HAEMOGLOBIN = [("female", 11.4,   True),
               ("female", 11.5,   False),
               ("female", 114.0,  True),
               ("female", 115.0,  False),
               ("male",   12.9,   True),
               ("male",   13.0,   False),
               ("male",   129.0,  True),
               ("male",   130.0,  False),
               ("male",   None,   False)]


@pytest.fixture(scope="module")
def haemoglobin(module_engine, codelists):
    """One patient per row of HAEMOGLOBIN (`h<row>`, of that sex) with one haemoglobin value 10
    days before T; derived once."""
    ids = [f"h{i}" for i in range(len(HAEMOGLOBIN))]
    tables = registered(ids)
    for patient, (sex, _, _) in zip(tables["patients"], HAEMOGLOBIN, strict=True):
        patient["sex"] = sex
    events = [event(pid, 10, "271026005", value) for pid, (_, value, _) in zip(ids, HAEMOGLOBIN, strict=True)]
    _, person = derive_tables(module_engine, codelists, clinical_events=events, **tables)
    return person


@pytest.mark.parametrize("sex, value, anaemic", HAEMOGLOBIN)
def test_haemoglobin_value_rule_with_unit_split(haemoglobin, sex, value, anaemic):
    """Anaemia value rule (§1.5): Hb <= 25 read as g/dL, > 25 as g/L; male < 13 / 130,
    female < 11.5 / 115; null values are ignored."""
    row = HAEMOGLOBIN.index((sex, value, anaemic))
    assert haemoglobin.loc[f"h{row}", "efi_anaemia"] == anaemic


def test_efi_below_min_age(engine, codelists):
    """eFI is validated from 65 (§1.3): default scores everyone and flags the range; `null`
    leaves score and category empty below 65."""
    _, flag = derive(engine, codelists, ["p"], dob="1970-01-01", clinical_events=[event("p", 1, "161898004")])
    assert flag.loc["p", "efi_deficits"] == 1 and not flag.loc["p", "efi_in_age_range"]
    _, null = derive(engine, codelists, ["p"], dob="1970-01-01", config=FeatureConfig(efi_below_min_age="null"),
                  clinical_events=[event("p", 1, "161898004")])
    assert pd.isna(null.loc["p", "efi_category"]) and null.loc["p", "efi_deficits"] == 1
