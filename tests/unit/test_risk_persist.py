"""Unit: skops save/load, the trusted-types check and the model card files."""

from __future__ import annotations

import json
import pickle
from dataclasses import replace

import numpy as np
import pytest
import skops.io as sio

from npc_risk.config import CALIBRATIONS, ESTIMATORS
from npc_risk.errors import ModelError
from npc_risk.risk.card import REQUIRED_METRICS, SUBGROUP_DIMENSIONS
from npc_risk.risk.model import score
from npc_risk.risk.persist import FORMAT, TRUSTED_TYPES, load_model, save_model
from tests.builders.model import FAST, train_small_model


class NotAModel:
    """A type no npc_risk model contains."""

    def __init__(self):
        self.x = 1


@pytest.fixture(scope="module")
def saved(small_model, tmp_path_factory):
    """The session's small model (tests/builders/model.py), saved once."""
    path = save_model(small_model, tmp_path_factory.mktemp("m") / "risk.skops")
    return small_model, path


def test_round_trip_gives_identical_scores(saved, small_frames):
    model, path = saved
    frames = small_frames
    loaded = load_model(path)
    np.testing.assert_array_equal(score(loaded, frames[2]).to_numpy(), score(model, frames[2]).to_numpy())
    assert loaded.spec == model.spec and loaded.config == model.config
    assert loaded.card == json.loads(json.dumps(model.card))


def test_card_files_hold_every_metric_and_subgroup(saved):
    _, path = saved
    card = json.loads(path.with_name("risk.card.json").read_text())
    ev = card["evaluation"]
    for key in REQUIRED_METRICS:
        assert ev[key] is not None, key
    assert set(ev["calibration"]) == {"slope", "intercept"}
    assert [r["decile"] for r in ev["calibration_by_decile"]] == list(range(1, 11))
    assert [r["fraction"] for r in ev["top_fractions"]] == [0.01, 0.02, 0.03, 0.05]
    assert {"ppv", "sensitivity", "lift"} <= set(ev["top_fractions"][0])
    assert set(ev["subgroups"]) == set(SUBGROUP_DIMENSIONS)
    for rows in ev["subgroups"].values():
        for row in rows:
            for f in ("1", "2", "3", "5"):
                assert {"ppv", "sensitivity", "lift", "flagged"} <= set(row[f"top_{f}pct"])
            assert row["n"] == "*" or row["n"] % 5 == 0  # suppressed counts
            assert row["events"] == "*" or row["events"] % 5 == 0
    assert card["training_window"] == {
        "train_features_as_of": "2024-03-31", "train_label_window": "(2024-03-31, 2025-03-31]",
        "eval_features_as_of": "2025-03-31", "eval_label_window": "(2025-03-31, 2026-03-31]"}
    assert "age" in card["features"] and card["training"]["n"] == 5000
    md = path.with_name("risk.card.md").read_text()
    for heading in ("## Evaluation", "## Top of the risk list", "## Calibration by risk decile",
                    "## By imd quintile", "## By sex", "## By age band", "## By ethnicity group"):
        assert heading in md


def test_pickle_file_is_refused_without_unpickling(tmp_path):
    path = tmp_path / "risk.skops"
    path.write_bytes(pickle.dumps({"format": FORMAT}))
    with pytest.raises(ModelError, match="not a skops model file"):
        load_model(path)


def test_missing_file(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        load_model(tmp_path / "absent.skops")


def test_disallowed_type_is_refused(tmp_path):
    path = tmp_path / "risk.skops"
    sio.dump({"format": FORMAT, "estimator": NotAModel()}, path)
    with pytest.raises(ModelError, match="refusing to load 1 type") as info:
        load_model(path)
    assert "NotAModel" in str(info.value) and str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_skops_file_of_another_shape_is_refused(tmp_path):
    path = tmp_path / "risk.skops"
    sio.dump({"something": [1, 2]}, path)
    with pytest.raises(ModelError, match="not an npc_risk model"):
        load_model(path)


def test_save_refuses_other_suffixes(saved, tmp_path):
    with pytest.raises(ModelError, match=".skops"):
        save_model(saved[0], tmp_path / "risk.pkl")


def test_trusted_list_is_exactly_what_our_estimators_need(small_frames):
    """Recompute the trusted list: fails when a scikit-learn upgrade changes the types."""
    needed = set()
    for estimator in ESTIMATORS:
        for calibration in CALIBRATIONS:
            for holdout_from in (10**9, 1_000):  # cross-fitted, and calibrated on a held-out share
                config = replace(FAST, estimator=estimator, calibration=calibration,
                                 calibration_holdout_min_people=holdout_from)
                model = train_small_model(small_frames, config)
                needed |= set(sio.get_untrusted_types(data=sio.dumps({"estimator": model.estimator})))
    assert needed == set(TRUSTED_TYPES)
