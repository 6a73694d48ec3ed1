"""Risk step: 12-month emergency admission risk, its model card and plain-words drivers.

Modules: `apply` (score / explain by config.method), `labels` (outcome as an ibis expression),
`design` (feature frame -> matrix), `model`
(fit / train / score), `persist` (skops save/load + card files), `card` and `metrics` and `subgroups`
(performance, suppressed), `rules` (transparent points score), `drivers` (top reasons in plain
words), `oracle` (model vs true risk on synthetic data), `resources` (packaged CSV data);
`RiskConfig` lives in `npc_risk.config`. The test frame with a known risk is
`tests/builders/synthetic.py`.

Typical use (pipeline):

    cfg = RiskConfig.from_mapping(toml["risk"])
    window = training_windows(as_of)  # checked again by train_model (leakage guard)
    model = train_model(train_x, train_y, eval_x, eval_y, config=cfg, training_window=window)
    save_model(model, models / "risk.skops")
    p = score_people(person, config=cfg, model=load_model(models / "risk.skops"))
    why = explain_people(person.loc[cohort], config=cfg, model=model)  # cohort only: see drivers
"""

from npc_risk.config import RiskConfig
from npc_risk.risk.apply import explain_people, score_people
from npc_risk.risk.card import build_card, evaluate
from npc_risk.risk.drivers import explain_model, explain_rules
from npc_risk.risk.labels import (
    LabelWindow,
    check_training_window,
    check_windows,
    emergency_admission_label,
    label_window,
    training_windows,
)
from npc_risk.risk.metrics import suppress, suppressed_rate
from npc_risk.risk.model import TrainedModel, fit_model, holdout_practices, score, train_model
from npc_risk.risk.oracle import oracle_comparison
from npc_risk.risk.persist import load_model, save_model
from npc_risk.risk.rules import rules_points, rules_score

__all__ = [
    "LabelWindow", "RiskConfig", "TrainedModel", "build_card", "check_training_window", "check_windows",
    "emergency_admission_label", "evaluate", "explain_model", "explain_people", "explain_rules",
    "fit_model", "holdout_practices", "label_window", "load_model", "oracle_comparison", "rules_points",
    "rules_score", "save_model", "score", "score_people", "suppress", "suppressed_rate", "train_model",
    "training_windows",
]
