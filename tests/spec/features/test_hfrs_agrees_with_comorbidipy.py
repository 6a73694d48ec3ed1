"""Spec: our HFRS equals comorbidipy's `hfrs()` on the same codes restricted to the window.

comorbidipy 0.5.0 has no dates (engine-notes.md), so the window [T-730d, T] is applied first;
on pandas 3 it needs `pandas.core.common.SettingWithCopyWarning` set before import.
"""

import warnings
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from npc_risk.codelists import load_codelists, load_hfrs_weights
from npc_risk.config import FeatureConfig
from npc_risk.features import derive_features, memtables

T = date(2026, 3, 31)


def _comorbidipy():
    import pandas.core.common
    import pandas.errors

    # pandas 3.1 dropped the class entirely; any Warning subclass satisfies the import
    pandas.core.common.SettingWithCopyWarning = getattr(
        pandas.errors, "SettingWithCopyWarning", type("SettingWithCopyWarning", (Warning,), {}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from comorbidipy import hfrs
    return hfrs


def test_hfrs_matches_comorbidipy(engine):
    hfrs = _comorbidipy()
    rng = np.random.default_rng(7)
    cats = sorted(load_hfrs_weights())
    pool = cats + [c + "1" for c in cats[:40]] + ["I10", "J441", "Z999", "E119"]
    rows = []
    for i in range(60):
        for _ in range(rng.integers(0, 12)):
            rows.append({"spell_id": f"s{i}-{len(rows)}", "patient_id": f"p{i:02d}",
                         "admission_date": T - timedelta(days=int(rng.integers(0, 1000))),
                         "admission_method": "21", "position": 0,
                         "icd10_code": (code := str(rng.choice(pool))), "icd10_code3": code[:3]})
    ids = [f"p{i:02d}" for i in range(60)]
    tables = memtables(
        patients=[{"patient_id": p, "date_of_birth": "1940-01-01", "sex": "male"} for p in ids],
        practice_registrations=[{"patient_id": p, "practice_code": "A1", "start_date": "2020-01-01"} for p in ids],
        apcs_diagnoses=rows)
    r = derive_features(engine, tables, as_of=T, codelists=load_codelists(), config=FeatureConfig())
    ours = {g["patient_id"]: g["hfrs_score"] for g in
            r.person.select("patient_id", "hfrs_score").to_pyarrow().to_pylist()}
    df = pd.DataFrame(rows)
    df = df[(T - df.admission_date).map(lambda x: x.days) <= 730]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = hfrs(df[["patient_id", "icd10_code"]].rename(columns={"icd10_code": "code"}),
                      id="patient_id", code="code")
    theirs = dict(zip(theirs["patient_id"], theirs["hfrs"]))
    for p in ids:
        assert ours[p] == pytest.approx(round(theirs.get(p, 0.0), 1)), p
