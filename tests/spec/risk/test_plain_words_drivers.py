"""Spec: plain-words drivers of the model score for a hand-made person.

Rule: the top 3 driver groups by positive contribution (probability change when the group is set
to the reference person), worded from `data/risk/driver_templates.csv`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from npc_risk.config import RiskConfig
from npc_risk.risk.design import ORDINAL_LEVELS, FeatureSpec
from npc_risk.risk.drivers import assign_groups, explain_model, render, top_drivers
from npc_risk.risk.model import TrainedModel
from npc_risk.risk.resources import driver_templates


@pytest.fixture
def model_and_frame(small_model, small_frames):
    """The session's small trained model (tests/builders/model.py) and its held-out frame."""
    return small_model, small_frames.held


def _person(frame: pd.DataFrame, **values) -> pd.DataFrame:
    """A typical (reference-like) person, then the given values."""
    row = frame.iloc[[0]].copy()
    for col in row.columns:
        if col.startswith(("ltc_", "efi_")) and row[col].dtype == bool:
            row[col] = False
    row[["age", "emergency_admissions_12m", "ltc_count", "efi_deficits", "hfrs_score",
         "emergency_bed_days_12m", "ae_attendances_12m", "gp_appointments_12m",
         "outpatient_attendances_12m", "outpatient_dnas_12m", "elective_admissions_12m",
         "social_care_packages_active", "emergency_admissions_24m", "ae_attendances_24m",
         "gp_appointments_24m", "outpatient_attendances_24m"]] = [40, 0, 0, 0, 0.0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 4, 0]
    row["efi_score"], row["efi_category"], row["hfrs_category"] = 0.0, "fit", "low"
    row["palliative_care"], row["care_home"] = False, False
    for col, value in values.items():
        row[col] = value
    return row


def test_hand_made_person_gets_the_right_words(model_and_frame):
    model, frame = model_and_frame
    person = _person(frame, age=87, emergency_admissions_12m=2, emergency_admissions_24m=3,
                     emergency_bed_days_12m=0, ae_attendances_12m=2, ae_attendances_24m=2, efi_deficits=14,
                     efi_score=14 / 36,
                     efi_category="severe", ltc_count=5, ltc_heart_failure=True,
                     ltc_copd=True, ltc_diabetes=True, ltc_hypertension=True, ltc_ckd=True)
    why = explain_model(model, person)
    words = set(why.iloc[0, :3])
    assert words <= {
        "2 emergency admissions in the last 12 months (3 in the last 24)", "severe frailty (eFI 0.39)",
        "5 long-term conditions", "aged 87", "2 A&E attendances in the last 12 months (2 in the last 24)"}
    assert len(words) == 3  # every driver is a true fact about them, worded from the templates


class LinearStub:
    """predict_proba = sigmoid(w . x): a model whose contributions can be worked out by hand."""

    def __init__(self, weights):
        self.weights = np.asarray(weights, dtype="float64")

    def predict_proba(self, x):
        p = 1 / (1 + np.exp(-(np.nan_to_num(x) @ self.weights - 4)))
        return np.column_stack([1 - p, p])


def test_contributions_rank_groups_by_their_effect():
    """With log-odds weights 0.6 per admission, 0.3 per LTC, 0.05 per year of age and 3 per
    eFI unit: person X (2 admissions, 5 LTCs, aged 87, eFI 0.39) has log-odds gains over the
    reference (0 admissions, 1 LTC, aged 50, eFI 0) of 1.2, 1.2, 1.85 and 1.17; age, then the
    tie of admissions and LTCs broken by template order (admissions first)."""
    frame = pd.DataFrame({
        "age": [87, 50], "emergency_admissions_12m": [2, 0], "ltc_count": [5, 1],
        "efi_score": [14 / 36, 0.0], "efi_category": ["severe", "fit"],
    })
    spec = FeatureSpec(numeric=("age", "emergency_admissions_12m", "ltc_count", "efi_score"),
                       boolean=(), ordinal=(), onehot=(), reference=(50.0, 0.0, 1.0, 0.0))
    model = TrainedModel(LinearStub([0.05, 0.6, 0.3, 3.0]), spec, RiskConfig(), {})
    why = explain_model(model, frame)
    assert list(why.iloc[0, :3]) == ["aged 87", "2 emergency admissions in the last 12 months",
                                     "5 long-term conditions"]
    assert list(why.iloc[0, 3:]) == ["age", "emergency_admissions", "long_term_conditions"]
    assert why.iloc[1, :3].isna().all()  # the reference person has no drivers


def test_reference_person_has_no_drivers(model_and_frame):
    """The reference person (training medians, no flags, commonest levels) has no drivers, and
    small differences from it (a little older, two more GP appointments) stay below the
    minimum contribution."""
    model, frame = model_and_frame
    spec, ref = model.spec, dict(zip(model.spec.columns, model.spec.reference, strict=True))
    person = frame.iloc[[0]].copy()
    for col in spec.numeric + spec.boolean:
        person[col] = ref[col]
    for col in spec.ordinal:
        person[col] = ORDINAL_LEVELS[col][int(ref[col])]
    for col, levels in spec.onehot:
        person[col] = next(lv for lv in levels if ref[f"{col}={lv}"] == 1)
    assert explain_model(model, person).iloc[0, :3].isna().all()
    person["age"] += 2
    person["gp_appointments_12m"] += 2
    assert explain_model(model, person).iloc[0, :3].isna().all()


def test_words_from_templates_vectorised():
    frame = pd.DataFrame({"efi_category": ["severe", "mild"], "efi_score": [0.3889, 0.1667],
                          "emergency_admissions_12m": [1, 3], "age": [87, 45]})
    templates = driver_templates()
    groups = assign_groups(frame.columns, templates)
    assert list(groups) == ["emergency_admissions", "frailty", "age"]
    contrib = np.array([[0.3, 0.2, 0.1], [0.0, 0.5, -0.1]])
    why = top_drivers(contrib, frame, groups, templates, n=3)
    assert list(why.iloc[0, :3]) == ["1 emergency admission in the last 12 months",
                                     "severe frailty (eFI 0.39)", "aged 87"]
    assert why.iloc[1, 0] == "mild frailty (eFI 0.17)"
    assert why.iloc[1, 1:3].isna().all()  # zero and negative contributions are not drivers
    assert list(render("{age} / {efi_score:.1f}", frame)) == ["87 / 0.4", "45 / 0.2"]


def test_unknown_feature_gets_a_generic_sentence():
    frame = pd.DataFrame({"medicines_12m": [9]})
    templates = driver_templates()
    groups = assign_groups(frame.columns, templates)
    why = top_drivers(np.array([[0.2]]), frame, groups, templates, n=3)
    assert why.iloc[0, 0] == "medicines in the last 12 months: 9"


def test_missing_values_are_worded_unknown():
    frame = pd.DataFrame({"efi_category": pd.array([None], dtype="string"),
                          "efi_score": [np.nan]})
    assert list(render("{efi_category} frailty (eFI {efi_score:.2f})", frame)) == [
        "unknown frailty (eFI unknown)"]
