"""The transparent alternative: a points score anyone can check by hand.

Points table (`data/risk/rules_points.csv`, one row per band): `feature,min,max,category,points`.
Numeric rows give an inclusive band [min, max] (empty max = no upper limit); category rows match
the text value (case and surrounding blanks ignored). Packaged table:

    prior emergency admissions (12 m)  0 -> 0, 1 -> 3, 2 -> 5, 3+ -> 7
    long-term conditions (ltc_count)   0-1 -> 0, 2-3 -> 1, 4-5 -> 2, 6+ -> 3
    eFI category                       fit 0, mild 1, moderate 2, severe 3
    HFRS category                      low 0, intermediate 1, high 2
    age                                0-64 -> 0, 65-74 -> 1, 75-84 -> 2, 85+ -> 3

Prior emergency admissions carry the most points because they are the strongest single predictor
in every published model (clinical-definitions.md §6.3); the weights are a judgement [U], to be
checked against local data with the model card's metrics - not fitted coefficients.

Score = total points / maximum possible points (the sum over features of each feature's largest
band), so it lies in [0, 1]. It is a RANK, not a probability: do not read 0.4 as "40 % risk",
and the model card reports no calibration for it. A value in no band (missing, negative, an
unknown category) scores 0 points for that feature and is counted in the log.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from npc_risk.errors import ModelError
from npc_risk.risk.resources import points_table as packaged_points_table

log = logging.getLogger(__name__)


def rules_points(features: pd.DataFrame, points_table: pd.DataFrame | None = None) -> pd.DataFrame:
    """Points per person per feature (columns = table features, in table order), int64."""
    table = packaged_points_table() if points_table is None else points_table
    missing = sorted(set(table["feature"]) - set(features.columns))
    if missing:
        raise ModelError(f"the rules points table needs column(s) {missing} that the feature "
                         "frame lacks; check the feature step or the points table")
    out = {}
    for feature, rows in table.groupby("feature", sort=False):
        points = np.zeros(len(features), dtype="int64")
        matched = np.zeros(len(features), dtype=bool)
        numeric = rows[rows["category"] == ""]
        if len(numeric):
            x = features[feature].to_numpy(dtype="float64", na_value=np.nan)
            for lo, hi, pts in numeric[["min", "max", "points"]].itertuples(index=False):
                hit = (x >= lo) & ((x <= hi) if pd.notna(hi) else True) & ~matched
                points[hit] = int(pts)
                matched |= hit
        cats = rows[rows["category"] != ""]
        if len(cats):
            v = features[feature].astype("string").str.strip().str.lower().to_numpy(
                dtype=object, na_value=None)
            for cat, pts in cats[["category", "points"]].itertuples(index=False):
                hit = (v == cat.strip().lower()) & ~matched
                points[hit] = int(pts)
                matched |= hit
        unmatched = int((~matched).sum())
        if unmatched:
            log.info("rules score: %d people have a %s value in no band (0 points)", unmatched, feature)
        out[feature] = points
    return pd.DataFrame(out, index=features.index)


def max_points(points_table: pd.DataFrame | None = None) -> int:
    table = packaged_points_table() if points_table is None else points_table
    return int(table.groupby("feature")["points"].max().sum())


def rules_score(features: pd.DataFrame, points_table: pd.DataFrame | None = None) -> pd.Series:
    """Total points rescaled to [0, 1] (see module docstring); index = features.index."""
    table = packaged_points_table() if points_table is None else points_table
    top = max_points(table)
    if top <= 0:
        raise ModelError("the rules points table awards no points; every score would be 0")
    total = rules_points(features, table).sum(axis=1).to_numpy()
    return pd.Series(total / top, index=features.index, name="risk_score", dtype="float64")
