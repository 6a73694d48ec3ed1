"""Train, calibrate and apply the 12-month emergency admission model.

Contract
* `fit_model(features, labels, *, config, training_window)` -> `TrainedModel` without a card:
  fitting and calibration only.
* `train_model(train_features, train_labels, eval_features, eval_labels, *, config,
  training_window)` -> `TrainedModel` with its card: a thin function that checks the window,
  holds out practices, calls `fit_model`, then `card.build_card` (the card is built from the
  model and the evaluation frame, apart from fitting). The pipeline builds the temporal split
  with `labels.training_windows`: training features as of T - 730 d with labels in
  (T - 730 d, T - 365 d]; evaluation features as of T - 365 d with the labels after it.
  `labels.check_training_window` runs on every training: a label window that starts before
  its features' as-of date is a ModelError (leakage). Frames are one row per person; labels
  are 0/1, aligned row for row (an array by position; a Series must also carry the frame's
  index, else ModelError - a Series indexed by patient_id against a RangeIndex frame would
  otherwise pair the wrong people silently). Optionally a share of practices is held out
  (`config.holdout_practice_fraction`).
* `score(model, features)` -> Series of calibrated probabilities in [0, 1], index = features.index,
  deterministic (no randomness at prediction time).

Method (config.estimator): HistGradientBoostingClassifier (default: handles non-linear age and
utilisation effects and missing values; measured closest to the oracle on synthetic data) or an
L2 logistic regression on median-imputed, standardised features. Either is wrapped in
CalibratedClassifierCV, with k = config.calibration_folds:
* cross-fitted (a window of fewer than `config.calibration_holdout_min_people`): the calibrator
  is fitted on out-of-fold predictions of a stratified k-fold (seeded), then one final model is
  fitted on all training rows: k + 1 fits, every row used for both, which small windows need;
* held out (a larger window): one model fitted on a stratified (k-1)/k of the rows (seeded) and
  the calibrator on the other 1/k: one fit of (k-1)/k rows, about 6x less work at k = 3. At the
  default 200,000 people the held-out third holds ~5,800 outcomes at an 8.6 % base rate, ample
  for a two-parameter sigmoid, and the trees lose a third of rows they do not miss (measured at
  1M people: README, Performance). Issue 14: the four fits were 60-65 % of `train` at 1M.

Traps
* Never pass patient_id, practice codes or outcome columns as features: `design.FeatureSpec`
  refuses them by name (see its docstring), whatever the caller puts in the frame.
* Class weights would destroy calibration: none are used. Oversampling likewise.
* Evaluation AUROC above `config.leakage_auroc` (0.85) is a leakage alarm (§6.3): it is logged
  as a warning and written into the model card; training does not stop, a person must look.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupShuffleSplit, StratifiedKFold, StratifiedShuffleSplit
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from npc_risk.config import RiskConfig
from npc_risk.errors import ModelError
from npc_risk.risk.design import FeatureSpec
from npc_risk.risk.labels import check_training_window

log = logging.getLogger(__name__)

SCORE_CHUNK_ROWS = 200_000  # bounds the float64 design matrix at ~200k x 100 x 8 B = 160 MB
# The fewest people with, and without, the outcome that either window may hold for a model to be
# trained here. A floor for "fitting and evaluating are possible", not for "the model is good":
# the calibration folds (3 by default) then hold at least 3 events each, and the evaluation's
# AUROC and calibration slope are estimable. A 100-person city had 7 training events and its
# calibration slope fit was singular (a numpy LinAlgError traceback; issue 10, finding 5).
MIN_OUTCOMES = 10


@dataclass
class TrainedModel:
    """A fitted, calibrated estimator with everything needed to apply and explain it.

    estimator: fitted CalibratedClassifierCV (predict_proba on `spec.matrix(frame)`).
    spec: the feature columns, their encoding and driver reference values.
    card: the model card (dict, JSON-able; see `card.build_card`); empty after `fit_model`.
    """

    estimator: Any
    spec: FeatureSpec
    config: RiskConfig
    training_window: dict
    card: dict = field(default_factory=dict)

    @property
    def features(self) -> tuple[str, ...]:
        return self.spec.columns


def holds_out(config: RiskConfig, people: int) -> bool:
    """True when a window of `people` training rows is calibrated on a held-out share."""
    return people >= config.calibration_holdout_min_people


def make_estimator(config: RiskConfig, people: int = 0) -> CalibratedClassifierCV:
    """The unfitted, calibrated estimator for `config` (seeded), cross-fitted or, from
    `config.calibration_holdout_min_people` training rows, calibrated on a held-out share
    (module docstring)."""
    if config.estimator == "hist_gradient_boosting":
        base = HistGradientBoostingClassifier(
            learning_rate=config.learning_rate, max_iter=config.max_iter,
            max_leaf_nodes=config.max_leaf_nodes, min_samples_leaf=config.min_samples_leaf,
            l2_regularization=config.l2_regularization, early_stopping=config.early_stopping,
            validation_fraction=0.1, n_iter_no_change=20, random_state=config.seed,
        )
    else:
        base = Pipeline([
            ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
            ("scale", StandardScaler()),
            ("logistic", LogisticRegression(C=config.logistic_c, max_iter=2000,
                                            random_state=config.seed)),
        ])
    if holds_out(config, people):
        held_out = StratifiedShuffleSplit(n_splits=1, test_size=1 / config.calibration_folds,
                                          random_state=config.seed)
        return CalibratedClassifierCV(base, method=config.calibration, cv=held_out, ensemble=True)
    folds = StratifiedKFold(n_splits=config.calibration_folds, shuffle=True,
                            random_state=config.seed)
    return CalibratedClassifierCV(base, method=config.calibration, cv=folds, ensemble=False)


def calibration_split(config: RiskConfig, people: int) -> str:
    """How `make_estimator` calibrates for a window of `people` rows, in the card's words."""
    if holds_out(config, people):
        k = config.calibration_folds
        return f"held out: model on {k - 1}/{k} of the rows, {config.calibration} calibrator on the other 1/{k}"
    return f"cross-fitted: {config.calibration_folds} folds, then one model on all rows"


def _labels(labels, n: int, what: str, index: pd.Index | None = None) -> np.ndarray:
    if isinstance(labels, pd.Series) and index is not None and not labels.index.equals(index):
        raise ModelError(f"{what}: the label Series' index differs from the feature frame's; "
                         "align them first (e.g. merge on patient_id, then take the column)")
    y = np.asarray(labels)
    if y.shape != (n,):
        raise ModelError(f"{what}: {y.shape[0] if y.ndim else 0} labels for {n} feature rows; "
                         "labels must align with the feature frame row for row")
    if pd.isna(y).any() or not np.isin(y, (0, 1)).all():
        raise ModelError(f"{what}: labels must be 0/1 with no missing values")
    y = y.astype("int8")
    if y.min() == y.max():
        raise ModelError(f"{what}: labels are all {int(y[0])}; need both outcomes to train/evaluate")
    return y


def _enough_outcomes(y: np.ndarray, what: str, config: RiskConfig) -> None:
    """ModelError (what to do instead) when a window has too few people with, or without, the
    outcome to train and evaluate a model (MIN_OUTCOMES); counts only in the message."""
    events = int(y.sum())
    floor = max(MIN_OUTCOMES, config.calibration_folds)
    if min(events, len(y) - events) < floor:
        raise ModelError(
            f"{what}: {events:,} of {len(y):,} people had the outcome; at least {floor} with and "
            f"{floor} without it are needed to train a model, so this extract is too small. Pass "
            "--model with a model trained on a larger extract (`npc-risk train`), or use the "
            'rules score: [risk] method = "rules" in the pipeline config'
        )


def holdout_practices(practice_codes: pd.Series, *, fraction: float, seed: int) -> set[str]:
    """Practices held out of training (GroupShuffleSplit over practice_code, seeded).

    Deterministic for a given set of codes and seed whatever the row order: the split runs on
    the sorted distinct codes, one row per practice.
    """
    codes = np.array(sorted(practice_codes.dropna().astype(str).unique()))
    if len(codes) < 2:
        raise ModelError("holding out practices needs at least 2 practices in the training frame")
    split = GroupShuffleSplit(n_splits=1, test_size=fraction, random_state=seed)
    _, test = next(split.split(codes, groups=codes))
    return set(codes[test].tolist())


def train_model(
    train_features: pd.DataFrame,
    train_labels,
    eval_features: pd.DataFrame,
    eval_labels,
    *,
    config: RiskConfig,
    training_window: dict,
) -> TrainedModel:
    """Check the window, fit, then build the card; returns the model with it (module docstring)."""
    from npc_risk.risk.card import build_card  # noqa: PLC0415 (card imports this module's score)

    if config.method != "model":
        raise ModelError('train_model needs [risk] method = "model"; the rules score needs no training')
    check_training_window(training_window)
    started = time.perf_counter()
    y_train = _labels(train_labels, len(train_features), "training labels", train_features.index)
    y_eval = _labels(eval_labels, len(eval_features), "evaluation labels", eval_features.index)
    window = dict(training_window)
    if config.holdout_practice_fraction > 0:
        held = holdout_practices(train_features["practice_code"],
                                 fraction=config.holdout_practice_fraction, seed=config.seed)
        keep_train = ~train_features["practice_code"].astype(str).isin(held).to_numpy()
        keep_eval = eval_features["practice_code"].astype(str).isin(held).to_numpy()
        train_features, y_train = train_features[keep_train], y_train[keep_train]
        eval_features, y_eval = eval_features[keep_eval], y_eval[keep_eval]
        window["held_out_practices"] = len(held)
        log.info("held out %d practices: %d training and %d evaluation rows remain",
                 len(held), len(train_features), len(eval_features))
        y_train = _labels(y_train, len(train_features), "training labels after practice hold-out")
        y_eval = _labels(y_eval, len(eval_features), "evaluation labels after practice hold-out")

    _enough_outcomes(y_train, "training window", config)
    _enough_outcomes(y_eval, "evaluation window", config)
    fitting = time.perf_counter()
    model = fit_model(train_features, y_train, config=config, training_window=window)
    log.info("phase fit and calibrate: %.1f s", time.perf_counter() - fitting)
    carding = time.perf_counter()
    model.card = build_card(model, train_features=train_features, train_labels=y_train,
                            eval_features=eval_features, eval_labels=y_eval)
    log.info("phase model card: %.1f s", time.perf_counter() - carding)
    log.info("trained %s on %d people (%d events) in %.1f s; evaluation AUROC %.3f on %d people",
             config.estimator, len(y_train), int(y_train.sum()), time.perf_counter() - started,
             model.card["evaluation"]["auroc"], len(y_eval))
    return model


def fit_model(features: pd.DataFrame, labels, *, config: RiskConfig,
              training_window: dict) -> TrainedModel:
    """The fitted, calibrated estimator on `features` (no evaluation, no card)."""
    y = _labels(labels, len(features), "training labels", features.index)
    spec, x = FeatureSpec.fit_matrix(features, exclude=config.exclude_features)
    estimator = make_estimator(config, len(y)).fit(x, y)
    return TrainedModel(estimator, spec, config, dict(training_window))


def score(model: TrainedModel, features: pd.DataFrame) -> pd.Series:
    """Calibrated probability of >= 1 emergency admission in the next 12 months, per person."""
    if len(features) == 0:
        return pd.Series([], index=features.index, dtype="float64", name="risk_score")
    parts = []
    for start in range(0, len(features), SCORE_CHUNK_ROWS):
        chunk = features.iloc[start:start + SCORE_CHUNK_ROWS]
        parts.append(model.estimator.predict_proba(model.spec.matrix(chunk))[:, 1])
    p = np.clip(np.concatenate(parts), 0.0, 1.0)
    return pd.Series(p, index=features.index, name="risk_score")
