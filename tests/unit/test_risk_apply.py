"""Unit: the method switch (model vs rules) for scoring and drivers."""

from __future__ import annotations

import pytest

from npc_risk.errors import ModelError
from npc_risk.risk import RiskConfig, explain_people, rules_score, score_people
from npc_risk.risk.synthetic import synthetic_features


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
