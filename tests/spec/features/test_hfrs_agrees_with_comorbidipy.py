"""Spec: our HFRS equals comorbidipy's `hfrs()` on the same codes restricted to the window.

comorbidipy 0.5.0 has no dates (engine-notes.md), so the window [T-730d, T] is applied first;
on pandas 3 it needs `pandas.core.common.SettingWithCopyWarning` set before import.
"""

import warnings
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from tests.builders.features import T, derive_tables, registered


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


def test_hfrs_matches_comorbidipy(engine, codelists, hfrs_weights):
    hfrs = _comorbidipy()
    rng = np.random.default_rng(7)
    cats = sorted(hfrs_weights)
    pool = cats + [c + "1" for c in cats[:40]] + ["I10", "J441", "Z999", "E119"]
    rows = []
    for i in range(60):
        for _ in range(rng.integers(0, 12)):
            rows.append({"spell_id": f"s{i}-{len(rows)}", "patient_id": f"p{i:02d}",
                         "admission_date": T - timedelta(days=int(rng.integers(0, 1000))),
                         "admission_method": "21", "position": 0,
                         "icd10_code": (code := str(rng.choice(pool))), "icd10_code3": code[:3]})
    ids = [f"p{i:02d}" for i in range(60)]
    _, person = derive_tables(engine, codelists, as_of=T, apcs_diagnoses=rows,
                              **registered(ids, sex="male", start="2020-01-01"))
    ours = person["hfrs_score"].to_dict()
    df = pd.DataFrame(rows)
    df = df[(T - df.admission_date).map(lambda x: x.days) <= 730]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = hfrs(df[["patient_id", "icd10_code"]].rename(columns={"icd10_code": "code"}),
                      id="patient_id", code="code")
    theirs = dict(zip(theirs["patient_id"], theirs["hfrs"], strict=True))
    for p in ids:
        assert ours[p] == pytest.approx(round(theirs.get(p, 0.0), 1)), p
