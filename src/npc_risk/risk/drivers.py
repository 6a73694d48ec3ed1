"""Per person, the top drivers of their score in plain words.

Groups. Feature columns are explained in groups (`data/risk/driver_templates.csv`): e.g. every
`efi_*` column (deficit flags, count, score, category) is one "frailty" driver and every `ltc_*`
column is one "long-term conditions" driver, so correlated columns do not split one story into
several weak ones. A feature column that matches no group becomes its own group with a generic
template ("<column in words>: <value>"), so new features are explained without code changes.

Model contributions (`model_contributions`): reference substitution ("occlusion"). For each
group g, contribution_g = p(x) - p(x with g's columns set to the reference person), where the
reference is the training median (numbers), absent (flags) or the commonest level (categories)
- see `design.FeatureSpec`. It is vectorised over people: one batched predict per group, so the
cost is (groups + 1) predictions of the rows passed in. Honest limits: it is not a Shapley value;
contributions need not add up to p(x) - p(reference); where two groups interact the credit is
shared unevenly. For the logistic model it ranks groups as coef * (x - reference) does on the
log-odds scale (up to the monotone calibration map). Explain the cohort, not the city: 1M people
x 16 groups is about 16 full scoring passes.

Rules contributions (`rules_contributions`): each feature's points.

Only positive contributions are drivers (for the model, at least
`RiskConfig.driver_min_contribution`, half a percentage point by default): a person with fewer
than n risk-raising groups gets <NA> in the remaining slots. Ties keep template order (stable sort).
"""

from __future__ import annotations

import fnmatch
import string

import numpy as np
import pandas as pd

from npc_risk.risk.model import SCORE_CHUNK_ROWS, TrainedModel
from npc_risk.risk.resources import driver_templates
from npc_risk.risk.rules import rules_points

_FORMATTER = string.Formatter()


def assign_groups(columns, templates: pd.DataFrame) -> dict[str, list[str]]:
    """{group: [frame columns]} in template order, then ungrouped columns as their own group."""
    groups: dict[str, list[str]] = {}
    for col in columns:
        for group, members in templates[["group", "members"]].itertuples(index=False):
            if any(fnmatch.fnmatchcase(col, pat) for pat in members.split()):
                groups.setdefault(group, []).append(col)
                break
        else:
            groups.setdefault(col, []).append(col)
    order = {g: i for i, g in enumerate(templates["group"])}
    return dict(sorted(groups.items(), key=lambda kv: order.get(kv[0], len(order))))


def model_contributions(model: TrainedModel, features: pd.DataFrame,
                        groups: dict[str, list[str]]) -> np.ndarray:
    """(people x groups) probability change from substituting each group's reference values."""
    spec = model.spec
    ref = np.asarray(spec.reference)
    cols = {g: [j for j, s in enumerate(spec.source) if s in members] for g, members in groups.items()}
    out = np.zeros((len(features), len(groups)))
    for start in range(0, len(features), SCORE_CHUNK_ROWS):
        x = spec.matrix(features.iloc[start:start + SCORE_CHUNK_ROWS])
        p = model.estimator.predict_proba(x)[:, 1]
        for k, idx in enumerate(cols.values()):
            if not idx:
                continue
            x_ref = x.copy()
            x_ref[:, idx] = ref[idx]
            out[start:start + len(x), k] = p - model.estimator.predict_proba(x_ref)[:, 1]
    return out


def rules_contributions(features: pd.DataFrame, points_table: pd.DataFrame | None,
                        groups: dict[str, list[str]]) -> np.ndarray:
    points = rules_points(features, points_table)
    return np.column_stack([
        points[[c for c in members if c in points.columns]].sum(axis=1).to_numpy(dtype="float64")
        for members in groups.values()
    ]) if groups else np.zeros((len(features), 0))


def _as_text(values: pd.Series, spec: str) -> np.ndarray:
    if spec:
        x = values.to_numpy(dtype="float64", na_value=np.nan)
        txt = np.char.mod(f"%{spec}", x).astype(object)
        txt[np.isnan(x)] = "unknown"
        return txt
    if pd.api.types.is_float_dtype(values.dtype):
        x = values.to_numpy(dtype="float64", na_value=np.nan)
        whole = np.isfinite(x) & (x == np.round(x))
        txt = np.char.mod("%g", x).astype(object)
        txt[np.isnan(x)] = "unknown"
        txt[whole] = np.char.mod("%d", x[whole]).astype(object) if whole.any() else txt[whole]
        return txt
    return values.astype("string").fillna("unknown").to_numpy(dtype=object)


def render(template: str, frame: pd.DataFrame) -> np.ndarray:
    """Fill `template` for every row of `frame`, vectorised (object array of str)."""
    out = np.full(len(frame), "", dtype=object)
    for literal, field, spec, _ in _FORMATTER.parse(template):
        out = out + literal
        if field is not None:
            out = out + _as_text(frame[field], spec or "")
    return out


def _fields(template: str) -> set[str]:
    return {f for _, f, _, _ in _FORMATTER.parse(template) if f}


def _variant(templates: str, frame: pd.DataFrame) -> str | None:
    """The first of ` | `-separated template variants whose columns the frame has (None if none):
    e.g. a 24-month count in brackets only where the frame carries it."""
    for template in templates.split(" | "):
        if _fields(template) <= set(frame.columns):
            return template
    return None


def _fallback(column: str) -> str:
    return column.replace("_12m", " in the last 12 months").replace("_", " ") + ": {" + column + "}"


def top_drivers(contributions: np.ndarray, features: pd.DataFrame, groups: dict[str, list[str]],
                templates: pd.DataFrame, n: int = 3, min_contribution: float = 0.0) -> pd.DataFrame:
    """driver_1..n (plain words) and driver_1_group..n (group keys) per person.

    A group is a driver only if its contribution is > 0 and >= `min_contribution`.
    """
    names = list(groups)
    order = np.argsort(-contributions, axis=1, kind="stable")[:, :n]
    by_group = templates.set_index("group")
    result = {}
    for k in range(min(n, len(names))):
        chosen = order[:, k]
        value = contributions[np.arange(len(chosen)), chosen]
        positive = (value > 0) & (value >= min_contribution)
        text = np.full(len(chosen), None, dtype=object)
        key = np.full(len(chosen), None, dtype=object)
        for g, name in enumerate(names):
            m = positive & (chosen == g)
            if not m.any():
                continue
            sub = features[m]
            row = by_group.loc[name] if name in by_group.index else None
            template = None if row is None else _variant(row["template"], features)
            if template is not None:
                words = render(template, sub)
                one_template = _variant(row["template_one"], features) if row["template_one"] else None
                if row["count_column"] and one_template:
                    one = sub[row["count_column"]].to_numpy(dtype="float64", na_value=np.nan) == 1
                    words[one] = render(one_template, sub[one])
            else:  # no template, or the frame lacks a column the template names
                words = render(_fallback(groups[name][0]), sub)
            text[m], key[m] = words, name
        result[f"driver_{k + 1}"] = pd.array(text, dtype="string")
        result[f"driver_{k + 1}_group"] = pd.array(key, dtype="string")
    for k in range(len(names), n):
        result[f"driver_{k + 1}"] = pd.array([None] * len(features), dtype="string")
        result[f"driver_{k + 1}_group"] = pd.array([None] * len(features), dtype="string")
    cols = [f"driver_{k + 1}" for k in range(n)] + [f"driver_{k + 1}_group" for k in range(n)]
    return pd.DataFrame(result, index=features.index)[cols]


def explain_model(model: TrainedModel, features: pd.DataFrame, *, n: int | None = None,
                  templates: pd.DataFrame | None = None) -> pd.DataFrame:
    """Top-n plain-words drivers of the model score for each row of `features`."""
    templates = driver_templates() if templates is None else templates
    groups = assign_groups(model.spec.inputs, templates)
    contrib = model_contributions(model, features, groups)
    return top_drivers(contrib, features, groups, templates, n or model.config.n_drivers,
                       model.config.driver_min_contribution)


def explain_rules(features: pd.DataFrame, *, points_table: pd.DataFrame | None = None,
                  n: int = 3, templates: pd.DataFrame | None = None) -> pd.DataFrame:
    """Top-n drivers of the rules score: the features with the most points."""
    from npc_risk.risk.resources import points_table as packaged  # noqa: PLC0415

    table = packaged() if points_table is None else points_table
    templates = driver_templates() if templates is None else templates
    groups = assign_groups(list(dict.fromkeys(table["feature"])), templates)
    contrib = rules_contributions(features, table, groups)
    return top_drivers(contrib, features, groups, templates, n)
