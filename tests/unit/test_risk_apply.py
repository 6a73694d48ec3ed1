"""Unit: the method switch (model vs rules) for scoring and drivers."""

from __future__ import annotations

import pytest

from npc_risk.errors import ModelError
from npc_risk.risk import RiskConfig, explain_people, rules_score, score_people
from tests.builders.synthetic import synthetic_features


def test_rules_method_needs_no_model():
    frame, _, _ = synthetic_features(500, seed=3)
    cfg = RiskConfig.from_mapping({"method": "rules", "n_drivers": 2})
    assert score_people(frame, config=cfg).equals(rules_score(frame))
    why = explain_people(frame, config=cfg)
    assert list(why.columns) == ["driver_1", "driver_2", "driver_1_group", "driver_2_group"]


def test_model_method_without_a_model_is_a_model_error():
    frame, _, _ = synthetic_features(10, seed=3)
    with pytest.raises(ModelError, match="trained model"):
        score_people(frame, config=RiskConfig())


def test_rules_score_can_be_evaluated_without_calibration_claims():
    from npc_risk.risk import evaluate

    frame, _, y = synthetic_features(2000, seed=4)
    report = evaluate(rules_score(frame), y, frame, is_probability=False)
    assert report["calibration"] is None and report["brier"] is None
    assert report["auroc"] > 0.6
    assert all(r["expected"] is None for r in report["calibration_by_decile"])
