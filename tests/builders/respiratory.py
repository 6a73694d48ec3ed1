"""Patients and their respiratory records for the respiratory spec tests
(`respiratory.respiratory_features` over memtables).

Dates are days before the as-of date T (2026-03-31 unless a test passes `as_of`), so a test reads
like its rule ("a review 364 days before T counts, 365 does not"). Codes are named by what they
are (ASTHMA, SABA, ...): real codes from the packaged resp-* lists.

`respiratory(engine, codelists, ids, **tables)` registers every id (born `dob`, at practice A1
from `start`) and returns the person frame indexed by patient_id, in the order of `ids`;
`cyp(...)` the same for the children's asthma chapter (respiratory + cyp_asthma columns).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import pandas as pd

from npc_risk.codelists import CodelistSet
from npc_risk.engine import Engine
from npc_risk.respiratory import respiratory_features
from npc_risk.respiratory.cyp import cyp_features, under_18
from tests.builders.features import T, days_before, event, issues, memtables, registered

# SNOMED CT (clinical events)
ASTHMA = "195967001"  # Asthma
ASTHMA_ATTACK = "708038006"  # Acute exacerbation of asthma (AST_COD)
ASTHMA_RESOLVED = "162660004"
COPD = "13645005"  # Chronic obstructive pulmonary disease
AECOPD = "195951007"
COPD_RESOLVED = "941201000000103"
ASTHMA_REVIEW = "394700004"
COPD_REVIEW = "394703002"
MRC = {1: "391120009", 2: "391123006", 3: "391124000", 4: "391125004", 5: "391126003"}
MRC_SCORE = "450755002"  # grade in numeric_value
MMRC_2 = "1099391000000103"  # mMRC 2 = MRC 3
FEV1FVC = "407603001"
FEV1_PCT = "313223002"
PR_REFERRAL = "24461000000105"
PR_DECLINED = "305371000000101"
SMOKER, EX_SMOKER, NEVER_SMOKED = "77176002", "8517006", "266919005"
CESSATION = "315232003"
FLU = "822851000000102"
ACTION_PLAN = "527171000000103"
INHALER_TECHNIQUE = "170614009"
ASTHMA_ADMISSION_GP = "183478001"

# SNOMED CT (A&E diagnoses: resp-ecds-diagnosis, resp-ecds-asthma)
AE_ASTHMA = "195967001"  # Asthma (both lists)
AE_ASTHMA_ATTACK = "708038006"  # Acute exacerbation of asthma (both lists)
AE_PNEUMONIA = "233604007"  # Pneumonia (respiratory)
AE_BRONCHIOLITIS = "4120002"  # Bronchiolitis (respiratory)
AE_HEAD_INJURY = "82271004"  # Injury of head (neither)

# dm+d (prescriptions)
SABA = "35936511000001108"  # Salbutamol 100micrograms/dose inhaler
ICS = "3112411000001105"  # Pulmicort 200 Turbohaler
ICS_LABA = "32926011000001100"  # Symbicort 200/6 (also MART)
LABA = "39110811000001105"  # Salmeterol 25micrograms/dose inhaler
LAMA = "33596311000001107"  # Tiotropium 10microgram capsules
TRIPLE = "34681611000001100"  # Trimbow
PREDNISOLONE = "325427002"  # Prednisolone 5mg tablets
ANTIBIOTIC = "324070004"  # Doxycycline 50mg capsules


def asthma_patient(pid: str, *, dx: int = 1000, rx: int = 30, as_of: date = T) -> tuple[list[dict], list[dict]]:
    """(events, medications) of a treated asthma patient: diagnosis `dx` days and a SABA and ICS
    issue `rx` days before T."""
    return ([event(pid, dx, ASTHMA, as_of=as_of)],
            issues(pid, SABA, [rx], as_of=as_of) + issues(pid, ICS, [rx], as_of=as_of))


def spell(pid: str, admitted: int, discharged: int | None, code: str, *, method: str = "21",
          as_of: date = T) -> tuple[dict, dict]:
    """(apcs row, apcs_diagnoses primary row) of a spell admitted/discharged days before T."""
    sid = f"s-{pid}-{admitted}"
    adm = days_before(admitted, as_of)
    dis = None if discharged is None else days_before(discharged, as_of)
    return ({"spell_id": sid, "patient_id": pid, "admission_date": adm, "discharge_date": dis,
             "admission_method": method, "primary_diagnosis": code},
            {"spell_id": sid, "patient_id": pid, "admission_date": adm, "discharge_date": dis,
             "admission_method": method, "position": 0, "icd10_code": code, "icd10_code3": code[:3]})


def attendance(pid: str, days: int, code: str | None, *, as_of: date = T) -> dict:
    """An ec row: an A&E attendance `days` before T with ECDS diagnosis `code` (None: not recorded)."""
    return {"attendance_id": f"e-{pid}-{days}-{code}", "patient_id": pid, "arrival_date": days_before(days, as_of),
            "department_type": "01", "diagnosis_code": code}


def respiratory(engine: Engine, codelists: CodelistSet, ids: Sequence[str], *, as_of: date = T,
                dob: str = "1960-01-01", start: str = "2020-01-01", patients: list[dict] | None = None,
                **tables) -> pd.DataFrame:
    """The respiratory person frame for the registered `ids` (index patient_id, order of `ids`)."""
    base = registered(ids, dob=dob, start=start)
    if patients is not None:
        base["patients"] = patients
    result = respiratory_features(engine, memtables(**{**base, **tables}), as_of=as_of, codelists=codelists)
    person = engine.to_arrow(result.person).to_pandas().set_index("patient_id")
    return person.loc[list(ids)]


def on(pid: str, day: str, code: str, value: float | None = None, *, as_of: date = T) -> dict:
    """A clinical_events row on an ISO date (for rules written in dates: flu seasons, 2023-04-01)."""
    return event(pid, (as_of - date.fromisoformat(day)).days, code, value, as_of=as_of)


def text(value) -> str | None:
    """A text cell as str, or None when empty (pandas shows a missing string as None or NaN)."""
    return value if isinstance(value, str) else None


def cyp(engine: Engine, codelists: CodelistSet, ids: Sequence[str], *, as_of: date = T, dob: str = "2016-01-01",
        start: str = "2020-01-01", patients: list[dict] | None = None, **tables) -> pd.DataFrame:
    """The respiratory and cyp_asthma columns and the age of the children among `ids` (the
    `under_18` population: someone 18 or over on T has no row), indexed by patient_id in the
    order of `ids`."""
    base = registered(ids, dob=dob, start=start)
    if patients is not None:
        base["patients"] = patients
    frames = memtables(**{**base, **tables})
    resp = respiratory_features(engine, frames, as_of=as_of, codelists=codelists)
    child = cyp_features(engine, frames, as_of=as_of, codelists=codelists)
    person = engine.to_arrow(child.person).to_pandas().set_index("patient_id")
    person = person.join(engine.to_arrow(resp.person).to_pandas().set_index("patient_id"), how="left")
    ages = engine.to_arrow(under_18(frames, as_of).select("patient_id", "age")).to_pandas().set_index("patient_id")
    person = person.join(ages, how="left")
    return person.loc[[i for i in ids if i in person.index]]
