"""Spec: leakage hygiene at the label/feature boundary (clinical-definitions.md §6.3).

Rule: features use data dated <= T; the label uses (T, T + 365]. Corrupting anything inside the
label window must not change a single feature value, and corrupting anything outside it must not
change a single label. The pipeline extends FEATURE_BUILDERS with the real feature step; the
stand-in here is the prior-12-month emergency admission count built from the same code list.
"""

from __future__ import annotations

from datetime import date, timedelta

import ibis
import numpy as np
import pandas as pd
import pytest

from npc_risk.admissions import is_emergency_admission
from npc_risk.risk.design import FeatureSpec
from npc_risk.risk.labels import emergency_admission_label

T = date(2025, 3, 31)
SCHEMA = {"spell_id": "string", "patient_id": "string", "admission_date": "date",
          "admission_method": "string"}


def prior_emergency_admissions(engine, apcs: ibis.Table, *, as_of: date) -> pd.DataFrame:
    """Stand-in feature: emergency spells in [as_of - 365 d, as_of] per person (on `engine`)."""
    t = apcs.filter(is_emergency_admission(apcs.admission_method),
                    apcs.admission_date <= as_of,
                    apcs.admission_date >= as_of - timedelta(days=365))
    out = engine.to_arrow(t.group_by("patient_id").agg(emergency_admissions_12m=t.count())).to_pandas()
    return out.sort_values("patient_id").reset_index(drop=True)


FEATURE_BUILDERS = [prior_emergency_admissions]


def _spells(seed: int, n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    offsets = rng.integers(-700, 730, n)
    return pd.DataFrame({
        "spell_id": [f"S{i}" for i in range(n)],
        "patient_id": [f"P{i:03d}" for i in rng.integers(0, 120, n)],
        "admission_date": [T + timedelta(days=int(d)) for d in offsets],
        "admission_method": rng.choice(["21", "22", "2A", "2B", "2C", "11", "28"], n),
    })


def _corrupt(frame: pd.DataFrame, mask: np.ndarray, seed: int) -> pd.DataFrame:
    """Shuffle admission methods among the masked rows (the caller also deletes some)."""
    rng = np.random.default_rng(seed)
    out = frame.copy()
    out.loc[mask, "admission_method"] = rng.permutation(out.loc[mask, "admission_method"].to_numpy())
    return out


@pytest.mark.parametrize("build", FEATURE_BUILDERS)
def test_features_ignore_the_label_window(engine, build):
    spells = _spells(1)
    in_label = np.array([T < d <= T + timedelta(days=365) for d in spells["admission_date"]])
    corrupted = _corrupt(spells, in_label, seed=2)
    corrupted = corrupted[~(in_label & (np.arange(len(spells)) % 3 == 0))]  # and delete some
    before = build(engine, ibis.memtable(spells, schema=SCHEMA), as_of=T)
    after = build(engine, ibis.memtable(corrupted, schema=SCHEMA), as_of=T)
    pd.testing.assert_frame_equal(before, after)
    # ibis 12 .to_pandas() on string columns raises pandas 3's Pandas4Warning: go via Arrow.
    lab_before, lab_after = (
        engine.to_arrow(emergency_admission_label(ibis.memtable(f, schema=SCHEMA), start=T)).to_pandas()
        for f in (spells, corrupted))
    assert not lab_before.sort_values("patient_id").reset_index(drop=True).equals(
        lab_after.sort_values("patient_id").reset_index(drop=True))  # the corruption was real


def test_label_ignores_everything_outside_its_window(engine):
    spells = _spells(3)
    outside = np.array([not T < d <= T + timedelta(days=365) for d in spells["admission_date"]])
    corrupted = _corrupt(spells, outside, seed=4)
    population = ibis.memtable(spells[["patient_id"]], schema={"patient_id": "string"})
    got = [engine.to_arrow(emergency_admission_label(ibis.memtable(f, schema=SCHEMA), start=T,
                                                     population=population))
           .to_pandas().sort_values("patient_id").reset_index(drop=True)
           for f in (spells, corrupted)]
    pd.testing.assert_frame_equal(*got)


def test_model_matrix_never_reads_identifiers_or_outcome_columns():
    frame = pd.DataFrame({
        "patient_id": ["a", "b"], "practice_code": ["B1", "B2"], "pcn_code": ["U1", "U2"],
        "age": [70, 80], "label": [0, 1], "outcome_12m": [0, 1], "truth_probability": [0.1, 0.2],
        "emergency_admissions_next_12m": [0, 3], "type1_optout": [False, True],
    })
    spec = FeatureSpec.fit(frame)
    assert spec.inputs == ("age",)
