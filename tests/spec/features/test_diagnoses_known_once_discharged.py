"""Spec: hospital diagnoses count as of T only if the spell was discharged by T.

Rule (clinical-definitions.md §6.3): "Spells that start <= T but end after T: only
admission-time facts may be used (no discharge diagnoses added after T)". Diagnoses are coded at
discharge, so a spell admitted before T and discharged after it contributes no diagnoses to HFRS,
LTC flags or palliative flags as of T. A spell discharged on T counts; an open spell (no
discharge date in the extract) counts, as the extract holds what was coded by then.
"""

from datetime import date

import ibis
import pandas as pd
import pytest

from npc_risk.features.as_of import diagnoses_known_at
from tests.builders.features import derive_tables

T = date(2025, 3, 31)


@pytest.fixture(scope="module")
def people(module_engine, codelists):
    ids = ["discharged_before", "discharged_on_T", "discharged_after", "still_open"]
    discharge = {"discharged_before": "2025-03-20", "discharged_on_T": "2025-03-31",
                 "discharged_after": "2025-04-20", "still_open": None}
    patients = [{"patient_id": i, "date_of_birth": "1935-01-01", "sex": "female"} for i in ids]
    regs = [{"patient_id": i, "practice_code": "A1", "start_date": "2000-01-01"} for i in ids]
    # F001 dementia in Alzheimer's disease with late onset (HFRS category F00: 7.1) and W19 fall
    # (3.2) on one spell each. F001, not a bare F00: the real dementia lists name 4-character codes
    # only, and the test must pass with a folder built from them as well as the packaged one.
    diagnoses = [
        {"spell_id": f"s-{i}-{code}", "patient_id": i, "admission_date": "2025-03-15",
         "discharge_date": discharge[i], "admission_method": "21", "position": pos,
         "icd10_code": code, "icd10_code3": code[:3]}
        for i in ids for pos, code in enumerate(["F001", "W19"])
    ]
    _, person = derive_tables(module_engine, codelists, as_of=T, patients=patients,
                              practice_registrations=regs, apcs_diagnoses=diagnoses)
    return person


@pytest.mark.parametrize(("who", "hfrs", "dementia"), [
    ("discharged_before", 10.3, True),
    ("discharged_on_T", 10.3, True),
    ("discharged_after", 0.0, False),   # coded after T: not known as of T
    ("still_open", 10.3, True),
])
def test_diagnoses_count_once_the_spell_is_discharged(people, who, hfrs, dementia):
    assert people.loc[who, "hfrs_score"] == pytest.approx(hfrs)
    assert bool(people.loc[who, "ltc_dementia"]) is dementia


#  spell  admitted    discharged  known_at_T
SPELLS = """
a      2025-03-15  2025-03-20  1
b      2025-03-15  2025-03-31  1
c      2025-03-15  2025-04-20  0
d      2025-03-15  -           1
e      2025-03-31  2025-03-31  1
f      2025-04-01  2025-04-02  0
"""


def test_diagnoses_known_at_is_the_one_rule(engine):
    """features.as_of.diagnoses_known_at: code-list matching, unmatched counts and HFRS use it."""
    rows = [line.split() for line in SPELLS.strip().splitlines()]
    day = lambda s: None if s == "-" else date.fromisoformat(s)
    diag = ibis.memtable(pd.DataFrame({"spell_id": [r[0] for r in rows],
                                       "admission_date": [day(r[1]) for r in rows],
                                       "discharge_date": [day(r[2]) for r in rows]}),
                         schema={"spell_id": "string", "admission_date": "date", "discharge_date": "date"})
    known = engine.to_arrow(diagnoses_known_at(diag, T))["spell_id"].to_pylist()
    assert sorted(known) == [r[0] for r in rows if r[3] == "1"]
