"""One entry point per nightly step, choosing model or rules by `RiskConfig.method`.

`score_people` scores everyone (cheap); `explain_people` words the drivers and should be given
only the people who will be read (the cohort), because model drivers cost one scoring pass per
driver group (see `drivers`).
"""

from __future__ import annotations

import pandas as pd

from npc_risk.config import RiskConfig
from npc_risk.errors import ModelError
from npc_risk.respiratory.cyp import cyp_score, explain_cyp
from npc_risk.risk.drivers import explain_model, explain_rules
from npc_risk.risk.model import TrainedModel, score
from npc_risk.risk.rules import rules_score


def _need_model(model: TrainedModel | None) -> TrainedModel:
    if model is None:
        raise ModelError('[risk] method = "model" needs a trained model file; train one first or '
                         'set method = "rules"')
    return model


def score_people(features: pd.DataFrame, *, config: RiskConfig, model: TrainedModel | None = None,
                 points_table: pd.DataFrame | None = None) -> pd.Series:
    """risk_score in [0, 1] per row (a probability for "model", a rank for "rules")."""
    if config.method == "rules":
        return rules_score(features, points_table)
    if config.method == "cyp_points":
        return cyp_score(features)
    return score(_need_model(model), features)


def explain_people(features: pd.DataFrame, *, config: RiskConfig, model: TrainedModel | None = None,
                   points_table: pd.DataFrame | None = None) -> pd.DataFrame:
    """driver_1..n and driver_1_group..n per row (n = config.n_drivers)."""
    if config.method == "rules":
        return explain_rules(features, points_table=points_table, n=config.n_drivers)
    if config.method == "cyp_points":
        return explain_cyp(features, n=config.n_drivers)
    return explain_model(_need_model(model), features, n=config.n_drivers)
