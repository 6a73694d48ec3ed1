"""The model card: what the model was trained on and how well it does, overall and by subgroup.

Contract: `evaluate(scores, outcome, frame, ...)` -> dict of the performance sections (works for the
rules score too, with `is_probability=False`: calibration is then not reported, because a
points total rescaled to 0-1 is a rank, not a probability). `build_card(model, *,
train_features, train_labels, eval_features, eval_labels)` scores a fitted model (from
`model.fit_model`) on both frames, evaluates it on the evaluation frame and adds the provenance
(training window, features, config, versions) and the leakage alarm; fitting never builds it.
`render_markdown(card)` -> the human-readable twin of the JSON.

Every count in the card passes through `metrics.suppress` (0 / "*" / nearest 5); rates come from
unrounded counts and are "*" when their numerator or denominator is 1-7. Nothing patient-level
is ever written. No wall-clock timestamp is written, so the same training gives the same card.
"""

from __future__ import annotations

import logging
import math
import platform

import numpy as np
import pandas as pd
import sklearn

import npc_risk
from npc_risk.admissions import describe_methods
from npc_risk.planning.disclosure import SUPPRESSED_MARK, is_small
from npc_risk.risk.metrics import (
    PUBLISHED_AUROC_RANGE,
    calibration_by_decile,
    calibration_slope_intercept,
    headline_metrics,
    suppress,
    suppressed_rate,
    top_fraction_table,
)
from npc_risk.risk.model import TrainedModel, calibration_split, score
from npc_risk.risk.subgroups import DIMENSIONS, subgroup_tables

log = logging.getLogger(__name__)

REQUIRED_METRICS = ("n", "events", "base_rate", "auroc", "average_precision", "brier")
SUBGROUP_DIMENSIONS = DIMENSIONS  # the card's subgroup tables, in order


def _r(x: float, digits: int = 4) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else round(float(x), digits)


def evaluate(scores, outcome, frame: pd.DataFrame, *, fractions=(0.01, 0.02, 0.03, 0.05),
             is_probability: bool = True) -> dict:
    """Headline metrics, top-fraction table, calibration and subgroup tables (suppressed)."""
    s = np.asarray(scores, dtype="float64")
    y = np.asarray(outcome).astype("int8")
    head = headline_metrics(s, y)
    out: dict = {
        "n": suppress(head["n"]), "events": suppress(head["events"]),
        "base_rate": suppressed_rate(head["events"], head["n"]),
        "auroc": _r(head["auroc"]), "average_precision": _r(head["average_precision"]),
        "brier": _r(head["brier"], 5) if is_probability else None,
    }
    out["top_fractions"] = [
        {"fraction": row["fraction"], "flagged": suppress(row["k"]),
         "true_positives": suppress(row["true_positives"]),
         "ppv": suppressed_rate(row["true_positives"], row["k"]),
         "sensitivity": suppressed_rate(row["true_positives"], row["events"]),
         "lift": SUPPRESSED_MARK if is_small(row["true_positives"]) else _r(row["lift"], 3),
         "score_threshold": _r(row["threshold"])}
        for row in top_fraction_table(s, y, fractions)
    ]
    if is_probability:
        out["calibration"] = calibration_slope_intercept(s, y)
        out["calibration"] = {k: _r(v) for k, v in out["calibration"].items()}
    else:
        out["calibration"] = None
    out["calibration_by_decile"] = [
        {"decile": row["decile"], "n": suppress(row["n"]), "observed": suppress(row["observed"]),
         "expected": round(row["expected"], 1) if is_probability else None,
         "observed_rate": suppressed_rate(row["observed"], row["n"]),
         "mean_predicted": _r(row["mean_predicted"]) if is_probability else None}
        for row in calibration_by_decile(s, y)
    ]
    out["subgroups"] = subgroup_tables(s, y, frame, fractions)
    return out


def leakage_warnings(auroc: float | None, threshold: float) -> list[str]:
    """The leakage alarm text (empty when the AUROC is plausible)."""
    if auroc is None or auroc <= threshold:
        return []
    return [
        f"LEAKAGE ALARM: evaluation AUROC {auroc:.3f} > {threshold:.2f}. A whole-population "
        "12-month emergency admission model rarely exceeds 0.80 (published 0.74-0.80); check that "
        "every feature uses data dated <= the as-of date and that no outcome-derived column is a "
        "feature (clinical-definitions.md §6.3) before using these scores."
    ]


def build_card(model: TrainedModel, *, train_features: pd.DataFrame, train_labels,
               eval_features: pd.DataFrame, eval_labels) -> dict:
    """The model card (JSON-able) of a fitted model: labels are 0/1 row for row with the frames."""
    cfg = model.config
    evaluation = evaluate(score(model, eval_features).to_numpy(), eval_labels, eval_features,
                          fractions=cfg.top_fractions)
    train_head = headline_metrics(score(model, train_features).to_numpy(), train_labels)
    warnings = leakage_warnings(evaluation["auroc"], cfg.leakage_auroc)
    for text in warnings:
        log.warning(text)
    return {
        "card_version": 1,
        "model": {"estimator": cfg.estimator, "calibration": cfg.calibration,
                  "calibration_folds": cfg.calibration_folds,
                  "calibration_split": calibration_split(cfg, len(train_labels))},
        "outcome": f">= 1 emergency admission spell (methods {describe_methods()}) in the 365 "
                   "days after the as-of date (clinical-definitions.md §5)",
        "training_window": {k: str(v) for k, v in model.training_window.items()},
        "features": list(model.spec.columns),
        "feature_inputs": list(model.spec.inputs),
        "config": cfg.to_dict(),
        "training": {"n": suppress(train_head["n"]), "events": suppress(train_head["events"]),
                     "base_rate": suppressed_rate(train_head["events"], train_head["n"]),
                     "auroc": _r(train_head["auroc"])},
        "evaluation": evaluation,
        "published_auroc_range": list(PUBLISHED_AUROC_RANGE),
        "warnings": warnings,
        "versions": {"npc_risk": npc_risk.__version__, "scikit-learn": sklearn.__version__,
                     "python": platform.python_version()},
    }


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


def render_markdown(card: dict) -> str:
    """Human-readable model card (the JSON holds the same numbers)."""
    ev = card["evaluation"]
    lines = ["# Model card: 12-month emergency admission risk", ""]
    lines += [f"> {w}" for w in card.get("warnings", [])] + ([""] if card.get("warnings") else [])
    lines += [f"* Outcome: {card['outcome']}",
              f"* Model: {card['model']['estimator']}, {card['model']['calibration']} calibration"
              + (f" ({card['model']['calibration_split']})" if "calibration_split" in card["model"] else ""),
              "* Training window: " + ", ".join(f"{k} {v}" for k, v in card["training_window"].items()),
              f"* Training: n {card['training']['n']}, base rate {_fmt(card['training']['base_rate'])},"
              f" AUROC {_fmt(card['training']['auroc'])}",
              f"* Features ({len(card['features'])}): " + ", ".join(card["features"]), "",
              "## Evaluation", "",
              "| n | events | base rate | AUROC | average precision | Brier | calibration slope | "
              "calibration intercept |", "|---|---|---|---|---|---|---|---|"]
    cal = ev["calibration"] or {}
    lines.append(f"| {ev['n']} | {ev['events']} | {_fmt(ev['base_rate'])} | {_fmt(ev['auroc'])} | "
                 f"{_fmt(ev['average_precision'])} | {_fmt(ev['brier'])} | "
                 f"{_fmt(cal.get('slope'))} | {_fmt(cal.get('intercept'))} |")
    lo, hi = card["published_auroc_range"]
    lines += ["", f"Published whole-population range: AUROC {lo:.2f}-{hi:.2f}.", "",
              "## Top of the risk list", "", "| top | flagged | PPV | sensitivity | lift |",
              "|---|---|---|---|---|"]
    lines += [f"| {r['fraction']:.0%} | {r['flagged']} | {_fmt(r['ppv'])} | "
              f"{_fmt(r['sensitivity'])} | {_fmt(r['lift'])} |" for r in ev["top_fractions"]]
    lines += ["", "## Calibration by risk decile", "", "| decile | n | observed | expected |",
              "|---|---|---|---|"]
    lines += [f"| {r['decile']} | {r['n']} | {r['observed']} | {r['expected']} |"
              for r in ev["calibration_by_decile"]]
    top = ev["top_fractions"][min(2, len(ev["top_fractions"]) - 1)]["fraction"]
    key = f"top_{top * 100:g}pct"
    for dim, rows in ev["subgroups"].items():
        lines += ["", f"## By {dim.replace('_', ' ')}", "",
                  f"| level | n | events | base rate | AUROC | O/E | flagged ({top:.0%}) | PPV | "
                  "sensitivity |", "|---|---|---|---|---|---|---|---|---|"]
        lines += [f"| {r['level']} | {r['n']} | {r['events']} | {_fmt(r['base_rate'])} | "
                  f"{_fmt(r['auroc'])} | {_fmt(r['observed_over_expected'])} | "
                  f"{r[key]['flagged']} | {_fmt(r[key]['ppv'])} | {_fmt(r[key]['sensitivity'])} |"
                  for r in rows]
    lines += ["", "Counts: 0 stays 0, 1-7 shown as *, others rounded to the nearest 5; rates "
              "from unrounded counts, * when numerator or denominator is 1-7.", ""]
    return "\n".join(lines)
