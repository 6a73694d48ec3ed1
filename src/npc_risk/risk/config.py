"""`RiskConfig`: the `[risk]` section of the pipeline TOML, validated.

Contract: `RiskConfig.from_mapping(d)` accepts exactly the field names below; an unknown key, a
wrong type or an out-of-range value raises `ConfigError` naming the key and the allowed values.
Defaults are the ones the model card was measured with, so an empty `[risk]` section is valid.

Trap: `seed` fixes every random choice in training (inner calibration folds, early-stopping
split, held-out practices). Two runs with the same config and the same frames give identical
scores; changing the seed changes the model a little, and that is expected.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from npc_risk import settings
from npc_risk.errors import ConfigError

METHODS = ("model", "rules")
ESTIMATORS = ("hist_gradient_boosting", "logistic")
CALIBRATIONS = ("sigmoid", "isotonic")

# Identifiers, geography, free text and the opt-out flag are never predictors. Held as a constant
# (not config) because using any of them would be a bug, not a modelling choice.
NEVER_FEATURES = frozenset({
    "patient_id", "nhs_number", "practice_code", "practice_name", "pcn_code", "pcn_name",
    "lcp_name", "lsoa_code", "ltc_conditions", "type1_optout", "ndo", "date_of_birth",
    "date_of_death", "neighbourhood", "label",
})


@dataclass(frozen=True)
class RiskConfig:
    """Settings for the 12-month emergency admission risk score.

    method: "model" (calibrated scikit-learn model) or "rules" (transparent points table).
    estimator: "hist_gradient_boosting" (default; measured closest to the oracle on synthetic
        data) or "logistic" (L2-regularised logistic regression on standardised features).
    exclude_features: extra feature columns to leave out. Ethnicity is excluded by default: it is
        incompletely recorded in GP data and its use as a predictor of need is contested; the model
        card still reports performance by ethnic group (fairness audit).
    calibration: "sigmoid" keeps the model's ranking exactly (no ties), "isotonic" can fit a
        non-logistic miscalibration but creates tied scores.
    calibration_folds: folds of the inner cross-validation that fits the calibrator on
        out-of-fold predictions (CalibratedClassifierCV, ensemble=False: one final model).
    holdout_practice_fraction: 0 = off; else this share of practices (GroupShuffleSplit by
        practice_code) is removed from training and is the only part of the evaluation frame used.
    leakage_auroc: evaluation AUROC above this writes a leakage warning (clinical-definitions §6.3).
    driver_min_contribution: a model driver must raise the probability by at least this much
        (0.005 = half a percentage point, about a tenth of a 6 % base rate; a judgement), so
        that noise such as "sex recorded as female" is not offered as a reason.
    """

    method: str = "model"
    estimator: str = "hist_gradient_boosting"
    seed: int = 20260331
    exclude_features: tuple[str, ...] = ("ethnicity_group",)
    calibration: str = "sigmoid"
    calibration_folds: int = 3
    holdout_practice_fraction: float = 0.0
    # 0.1 x 150 trees: at 0.05 early stopping still used 296 of 300 trees, and predicting 880k
    # people through ~300 trees took 26 s of a 71 s nightly run (make bench, 1M people).
    learning_rate: float = 0.1
    max_iter: int = 150
    max_leaf_nodes: int = 15
    min_samples_leaf: int = 100
    l2_regularization: float = 1.0
    early_stopping: bool = True
    logistic_c: float = 1.0
    top_fractions: tuple[float, ...] = (0.01, 0.02, 0.03, 0.05)
    leakage_auroc: float = 0.85
    n_drivers: int = 3
    driver_min_contribution: float = 0.005

    def __post_init__(self) -> None:
        _check_choice("method", self.method, METHODS)
        _check_choice("estimator", self.estimator, ESTIMATORS)
        _check_choice("calibration", self.calibration, CALIBRATIONS)
        _check_range("calibration_folds", self.calibration_folds, 2, 10)
        _check_range("holdout_practice_fraction", self.holdout_practice_fraction, 0.0, 0.5)
        _check_range("learning_rate", self.learning_rate, 1e-4, 1.0)
        _check_range("max_iter", self.max_iter, 1, 5000)
        _check_range("max_leaf_nodes", self.max_leaf_nodes, 2, 255)
        _check_range("min_samples_leaf", self.min_samples_leaf, 1, 100_000)
        _check_range("l2_regularization", self.l2_regularization, 0.0, 1e6)
        _check_range("logistic_c", self.logistic_c, 1e-6, 1e6)
        _check_range("leakage_auroc", self.leakage_auroc, 0.5, 1.0)
        _check_range("n_drivers", self.n_drivers, 1, 10)
        _check_range("driver_min_contribution", self.driver_min_contribution, 0.0, 0.5)
        if not self.top_fractions or any(not 0 < f <= 0.5 for f in self.top_fractions):
            raise ConfigError(
                f"[risk] top_fractions = {list(self.top_fractions)}: each must be in (0, 0.5], "
                "e.g. [0.01, 0.02, 0.03, 0.05]"
            )
        bad = sorted(set(self.exclude_features) & {"age"})
        if bad:  # age is the strongest non-utilisation predictor; removing it is almost surely a typo
            raise ConfigError(f"[risk] exclude_features may not exclude {bad}")

    @classmethod
    def from_mapping(cls, d: Mapping[str, Any] | None) -> RiskConfig:
        """Build from the parsed `[risk]` table; unknown keys and bad values raise ConfigError."""
        d = dict(d or {})
        known = {f.name: f for f in fields(cls)}
        settings.reject_unknown("risk", d, known)
        kwargs: dict[str, Any] = {}
        for key, value in d.items():
            default = getattr(cls, key)
            kwargs[key] = _coerce(key, value, default)
        return cls(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (tuples become lists) for the model card and the manifest."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


def _coerce(key: str, value: Any, default: Any) -> Any:
    return settings.coerce("risk", key, value, default)


def _check_choice(key: str, value: Any, allowed: tuple[str, ...]) -> None:
    settings.check_choice("risk", key, value, allowed)


def _check_range(key: str, value: Any, lo: float, hi: float, example: str | None = None) -> None:
    settings.check_range("risk", key, value, lo, hi, example)