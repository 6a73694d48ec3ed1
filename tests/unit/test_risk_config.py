"""Unit: RiskConfig defaults, from_mapping validation."""

from __future__ import annotations

import pytest

from npc_risk.errors import ConfigError
from npc_risk.risk.config import RiskConfig


def test_empty_section_gives_defaults():
    assert RiskConfig.from_mapping({}) == RiskConfig()
    assert RiskConfig.from_mapping(None).method == "model"


def test_values_are_read_and_lists_become_tuples():
    cfg = RiskConfig.from_mapping({"method": "rules", "seed": 7, "top_fractions": [0.02, 0.03],
                                   "learning_rate": 1, "exclude_features": []})
    assert (cfg.method, cfg.seed, cfg.top_fractions, cfg.learning_rate) == ("rules", 7, (0.02, 0.03), 1.0)
    assert cfg.to_dict()["top_fractions"] == [0.02, 0.03]


@pytest.mark.parametrize(("mapping", "match"), [
    ({"methd": "model"}, "unknown key"),
    ({"method": "magic"}, "method"),
    ({"estimator": "xgboost"}, "estimator"),
    ({"calibration": "platt"}, "calibration"),
    ({"calibration_folds": 1}, "calibration_folds"),
    ({"holdout_practice_fraction": 0.9}, "holdout_practice_fraction"),
    ({"seed": "42"}, "whole number"),
    ({"seed": True}, "whole number"),
    ({"early_stopping": "yes"}, "true or false"),
    ({"top_fractions": [0.0]}, "top_fractions"),
    ({"top_fractions": 0.03}, "list"),
    ({"exclude_features": ["age"]}, "age"),
    ({"leakage_auroc": 1.5}, "leakage_auroc"),
])
def test_bad_values_raise_config_error(mapping, match):
    with pytest.raises(ConfigError, match=match):
        RiskConfig.from_mapping(mapping)


def test_frozen():
    with pytest.raises(AttributeError):
        RiskConfig().seed = 1  # type: ignore[misc]
