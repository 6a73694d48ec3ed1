"""Unit: training, calibration, determinism, splits and the leakage alarm on synthetic frames."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from npc_risk.config import RiskConfig
from npc_risk.errors import ModelError
from npc_risk.risk.card import build_card
from npc_risk.risk.model import fit_model, holdout_practices, score, train_model
from npc_risk.risk.oracle import oracle_comparison
from tests.builders.model import FAST, WINDOW


@pytest.fixture
def frames(small_frames):
    """(train, y, held, y_eval, truth): the session's small frames (tests/builders/model.py)."""
    return small_frames


@pytest.fixture
def model(small_model):
    """The session's small model, trained on `frames` with FAST under WINDOW."""
    return small_model


def test_probabilities_are_calibrated_and_in_range(model, frames):
    p = score(model, frames[2])
    assert p.index.equals(frames[2].index) and p.name == "risk_score"
    assert p.between(0, 1).all() and p.notna().all()
    assert p.mean() == pytest.approx(frames[3].mean(), abs=0.02)  # calibration in the large


def test_model_is_useful_and_not_above_the_oracle(model, frames):
    held, y_eval, truth = frames[2], frames[3], frames[4]
    cmp = oracle_comparison(score(model, held), truth, y_eval)
    assert 0.70 < cmp["model_auroc"] <= cmp["oracle_auroc"] + 0.005
    assert not cmp["model_above_oracle"]
    assert cmp["published_auroc_range"] == (0.74, 0.80)
    assert "oracle" in cmp["note"]
    both = oracle_comparison(score(model, held), truth, y_eval, knowable_probability=truth)
    assert both["knowable_auroc"] == cmp["oracle_auroc"] and "knowable oracle" in both["note"]


def test_fitting_and_the_card_are_separate(model, frames):
    """fit_model fits only; build_card(model, frames) gives the card train_model attaches."""
    train, y, held, y_eval, _ = frames
    fitted = fit_model(train, y, config=FAST, training_window=WINDOW)
    assert fitted.card == {}
    np.testing.assert_array_equal(score(fitted, held).to_numpy(), score(model, held).to_numpy())
    card = build_card(fitted, train_features=train, train_labels=y, eval_features=held,
                      eval_labels=y_eval)
    assert card == model.card
    assert card["training_window"] == {
        "train_features_as_of": "2024-03-31", "train_label_window": "(2024-03-31, 2025-03-31]",
        "eval_features_as_of": "2025-03-31", "eval_label_window": "(2025-03-31, 2026-03-31]"}


def test_a_leaking_training_window_stops_training(frames):
    """The label window must start on or after its features' as-of date (labels.check_windows),
    checked on every training, whether the window holds dates or the card's "(start, end]"."""
    train, y, held, y_eval, _ = frames
    leaky = {**{k: str(v) for k, v in WINDOW.items()}, "train_label_window": "(2024-03-30, 2025-03-30]"}
    with pytest.raises(ModelError, match="overlap"):
        train_model(train, y, held, y_eval, config=FAST, training_window=leaky)
    with pytest.raises(ModelError, match="lacks eval_features_as_of"):
        train_model(train, y, held, y_eval, config=FAST,
                    training_window={k: v for k, v in WINDOW.items() if not k.startswith("eval_features")})


def test_training_twice_gives_identical_scores(model, frames):
    """A second training on the same frames, configuration and window as the session's model
    gives identical scores and an identical card."""
    train, y, held, y_eval, _ = frames
    a = model
    b = train_model(train, y, held, y_eval, config=FAST, training_window=WINDOW)
    np.testing.assert_array_equal(score(a, held).to_numpy(), score(b, held).to_numpy())
    assert a.card == b.card


@pytest.mark.parametrize("estimator", ["hist_gradient_boosting", "logistic"])
def test_shuffled_labels_give_auroc_near_half(frames, estimator):
    train, y, held, y_eval, _ = frames
    rng = np.random.default_rng(5)
    config = RiskConfig(estimator=estimator, min_samples_leaf=20, max_iter=30, calibration_folds=2)
    m = train_model(train, rng.permutation(y), held, rng.permutation(y_eval), config=config,
                    training_window=WINDOW)
    assert m.card["evaluation"]["auroc"] == pytest.approx(0.5, abs=0.06)


def test_a_large_window_is_calibrated_on_a_held_out_share_with_one_fit(frames):
    """From calibration_holdout_min_people rows: one model on (k-1)/k of the rows, the sigmoid on
    the other 1/k (risk.model); below it, k folds and a final model. Both are calibrated, and the
    card says which was used."""
    from dataclasses import replace

    train, y, held, y_eval, _ = frames
    large = replace(FAST, calibration_folds=3, calibration_holdout_min_people=len(train))
    small = replace(FAST, calibration_folds=3, calibration_holdout_min_people=len(train) + 1)
    held_out = train_model(train, y, held, y_eval, config=large, training_window=WINDOW)
    cross = train_model(train, y, held, y_eval, config=small, training_window=WINDOW)
    assert type(held_out.estimator.cv).__name__ == "StratifiedShuffleSplit"
    assert held_out.estimator.cv.test_size == pytest.approx(1 / 3)
    assert len(held_out.estimator.calibrated_classifiers_) == 1  # one model, not an ensemble
    assert held_out.card["model"]["calibration_split"].startswith("held out: model on 2/3 of the rows")
    assert cross.card["model"]["calibration_split"].startswith("cross-fitted: 3 folds")
    for m in (held_out, cross):
        assert score(m, held).mean() == pytest.approx(y_eval.mean(), abs=0.02)  # calibration in the large
    assert held_out.card["evaluation"]["auroc"] == pytest.approx(cross.card["evaluation"]["auroc"], abs=0.03)


def test_identifiers_opt_out_and_ethnicity_are_not_features(model):
    used = set(model.spec.inputs)
    assert not used & {"patient_id", "practice_code", "pcn_code", "type1_optout", "ethnicity_group"}
    assert {"age", "emergency_admissions_12m", "efi_category", "ltc_heart_failure"} <= used


def test_new_ltc_column_flows_in(frames):
    train, y, held, y_eval, _ = frames
    rng = np.random.default_rng(3)
    train = train.assign(ltc_epilepsy=rng.random(len(train)) < 0.01)
    held = held.assign(ltc_epilepsy=rng.random(len(held)) < 0.01)
    m = train_model(train, y, held, y_eval, config=FAST, training_window=WINDOW)
    assert "ltc_epilepsy" in m.spec.inputs
    with pytest.raises(ModelError, match="retrain"):
        score(m, held.drop(columns="ltc_epilepsy"))


def test_leakage_alarm_is_written_and_logged(frames, caplog):
    train, y, held, y_eval, _ = frames
    # A column that is the outcome in disguise (innocent name, so the name guard cannot catch it).
    leak_train = train.assign(district_nurse_visits=y * 3)
    leak_held = held.assign(district_nurse_visits=y_eval * 3)
    with caplog.at_level(logging.WARNING, logger="npc_risk.risk"):
        m = train_model(leak_train, y, leak_held, y_eval, config=FAST, training_window=WINDOW)
    assert m.card["evaluation"]["auroc"] > 0.85
    assert m.card["warnings"] and "LEAKAGE ALARM" in m.card["warnings"][0]
    assert any("LEAKAGE ALARM" in r.getMessage() for r in caplog.records)


def test_logs_hold_no_patient_values(frames, caplog):
    train, y, held, y_eval, _ = frames
    with caplog.at_level(logging.DEBUG, logger="npc_risk"):
        train_model(train, y, held, y_eval, config=FAST, training_window=WINDOW)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert train["patient_id"].iloc[0] not in text and "B80" not in text


def test_held_out_practices(frames):
    train, y, held, y_eval, _ = frames
    held_set = holdout_practices(train["practice_code"], fraction=0.25, seed=7)
    assert len(held_set) == 5
    assert held_set == holdout_practices(train["practice_code"].iloc[::-1], fraction=0.25, seed=7)
    cfg = RiskConfig(min_samples_leaf=20, max_iter=30, calibration_folds=2,
                     holdout_practice_fraction=0.25)
    m = train_model(train, y, held, y_eval, config=cfg, training_window=WINDOW)
    assert m.training_window["held_out_practices"] == 5
    in_model = holdout_practices(train["practice_code"], fraction=0.25, seed=cfg.seed)
    n_eval = int(held["practice_code"].isin(in_model).sum())
    assert m.card["evaluation"]["n"] == 5 * round(n_eval / 5)


def test_bad_labels_are_model_errors(frames):
    train, y, held, y_eval, _ = frames
    with pytest.raises(ModelError, match="align"):
        train_model(train, y[:-1], held, y_eval, config=FAST, training_window=WINDOW)
    with pytest.raises(ModelError, match="all 0"):
        train_model(train, np.zeros_like(y), held, y_eval, config=FAST, training_window=WINDOW)
    with pytest.raises(ModelError, match="index"):
        train_model(train, pd.Series(y, index=train["patient_id"]), held, y_eval, config=FAST,
                    training_window=WINDOW)
    with pytest.raises(ModelError, match="0/1"):
        train_model(train, y * 2, held, y_eval, config=FAST, training_window=WINDOW)


def test_rules_method_does_not_train(frames):
    train, y, held, y_eval, _ = frames
    with pytest.raises(ModelError, match="rules"):
        train_model(train, y, held, y_eval, config=RiskConfig(method="rules"), training_window={})


def test_score_of_empty_frame(model, frames):
    assert score(model, frames[2].iloc[:0]).empty


def test_logistic_scores_agree_in_ranking_with_its_own_contract(frames):
    train, y, held, y_eval, _ = frames
    cfg = RiskConfig(estimator="logistic", calibration_folds=2)
    m = train_model(train, y, held, y_eval, config=cfg, training_window=WINDOW)
    p = score(m, held)
    assert roc_auc_score(y_eval, p) > 0.7
    assert pd.Series(p).is_unique or p.nunique() > 0.9 * len(p)  # sigmoid keeps ranks distinct


def test_nullable_flags_from_arrow_are_booleans():
    from npc_risk.risk.design import FeatureSpec

    frame = pd.DataFrame({"age": [70, 80, 90], "ltc_copd": pd.Series([True, None, False], dtype=object),
                          "sex": ["female", "male", None]})
    spec = FeatureSpec.fit(frame)
    assert spec.boolean == ("ltc_copd",)
    x = spec.matrix(frame)
    np.testing.assert_array_equal(x[:, 1], [1.0, np.nan, 0.0])
    np.testing.assert_array_equal(x[:, 2:], [[1, 0], [0, 1], [0, 0]])  # unseen/missing: zeros
