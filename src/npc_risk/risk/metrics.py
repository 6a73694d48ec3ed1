"""Performance metrics for a risk score, and NHS small-number suppression.

All functions are pure (arrays in, numbers out), deterministic and vectorised.

Top-k convention: the top f of n people is the first k = `selection.top_count(n, f)` people in
descending score order: round-half-up(f x n), the cohort's own rule, so the card's "top 2.5 %"
has as many people as a cohort of 2.5 % (2.5 % of 1,010 is 25; of 20 people 1 % is 0). Ties are
broken by position in the input (a stable sort), not by the cohort's tie-break key (eFI
deficits, LTC count, patient_id), so at a tied score on the cut the card may count different
people than the cohort selects. PPV = events among them / k (undefined when k = 0);
sensitivity = events among them / all events; lift = PPV / base rate.

Suppression (nhs-data-conventions.md §7, npc_risk rule): a published count stays 0 if 0,
becomes "*" if 1-7, otherwise is rounded to the nearest 5 (8 -> 10, 12 -> 10, 13 -> 15). Rates
are computed from unrounded counts and suppressed when their numerator or denominator is 1-7.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from npc_risk.planning.disclosure import display_suppressed, suppress_count, suppress_rate
from npc_risk.selection import top_count

PUBLISHED_AUROC_RANGE = (0.74, 0.80)  # clinical-definitions.md §6.2 (QAdmissions, Rahimian, CMS)


def suppress(count: int) -> int | str:
    """A model-card count with NHS small-number suppression (npc_risk.planning.disclosure): 0 -> 0,
    1-7 -> "*", else the nearest multiple of 5."""
    return display_suppressed(suppress_count(int(count)))


def suppressed_rate(numerator: int, denominator: int, digits: int = 4) -> float | str | None:
    """numerator / denominator, or "*" when either count is 1-7, None when the denominator is 0."""
    if denominator == 0:
        return None
    value = suppress_rate(numerator, denominator)
    return display_suppressed(None if value is None else round(value, digits))


def _as_arrays(scores, outcome) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(scores, dtype="float64")
    y = np.asarray(outcome).astype("int8")
    if s.shape != y.shape or s.ndim != 1:
        raise ValueError("scores and outcome must be 1-d and the same length")
    if np.isnan(s).any():
        raise ValueError("scores contain NaN")
    return s, y


def top_order(scores) -> np.ndarray:
    """Indices in descending score order; ties keep input order (stable)."""
    return np.argsort(-np.asarray(scores, dtype="float64"), kind="stable")


def top_fraction_table(scores, outcome, fractions=(0.01, 0.02, 0.03, 0.05)) -> list[dict]:
    """PPV, sensitivity and lift at each top fraction, with the raw counts behind them."""
    s, y = _as_arrays(scores, outcome)
    order = top_order(s)
    cum_events = np.cumsum(y[order])
    events, n = int(y.sum()), len(y)
    base = events / n if n else float("nan")
    rows = []
    for f in fractions:
        k = top_count(n, f)
        tp = int(cum_events[k - 1]) if k else 0
        ppv = tp / k if k else float("nan")
        rows.append({
            "fraction": f, "k": k, "true_positives": tp, "events": events,
            "ppv": ppv,
            "sensitivity": tp / events if events else float("nan"),
            "lift": ppv / base if base else float("nan"),
            "threshold": float(s[order[k - 1]]) if k else float("nan"),
        })
    return rows


def calibration_by_decile(scores, outcome, groups: int = 10) -> list[dict]:
    """Observed vs expected events in equal-sized groups of ascending predicted risk.

    Group 1 is the lowest risk. Groups are made by rank (stable), so tied scores may straddle a
    boundary; with n not divisible by 10 the first groups are one person larger (np.array_split).
    """
    s, y = _as_arrays(scores, outcome)
    order = np.argsort(s, kind="stable")
    rows = []
    for g, idx in enumerate(np.array_split(order, groups), start=1):
        if not len(idx):
            continue
        observed, expected = int(y[idx].sum()), float(s[idx].sum())
        rows.append({
            "decile": g, "n": len(idx), "observed": observed, "expected": expected,
            "observed_rate": observed / len(idx), "mean_predicted": expected / len(idx),
            "observed_over_expected": observed / expected if expected > 0 else float("nan"),
        })
    return rows


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-8, 1 - 1e-8)
    return np.log(p / (1 - p))


def calibration_slope_intercept(probabilities, outcome) -> dict[str, float]:
    """Calibration slope and calibration-in-the-large (intercept with logit(p) as offset).

    slope: b in logit P(y) = a + b * logit(p) (ideal 1; < 1 means predictions too extreme).
    intercept: a in logit P(y) = a + logit(p) (ideal 0; > 0 means risk under-predicted).
    Fitted by Newton-Raphson on the unpenalised logistic likelihood (sklearn has no offsets).
    Only meaningful for probabilities - not for the rules score.
    """
    p, y = _as_arrays(probabilities, outcome)
    if y.min() == y.max():
        return {"slope": float("nan"), "intercept": float("nan")}
    z = _logit(p)
    slope = _newton(np.column_stack([np.ones_like(z), z]), y, np.zeros_like(z))[1]
    intercept = _newton(np.ones((len(z), 1)), y, z)[0]
    return {"slope": float(slope), "intercept": float(intercept)}


def _newton(x: np.ndarray, y: np.ndarray, offset: np.ndarray, steps: int = 50) -> np.ndarray:
    beta = np.zeros(x.shape[1])
    for _ in range(steps):
        eta = np.clip(x @ beta + offset, -30, 30)
        mu = 1 / (1 + np.exp(-eta))
        w = mu * (1 - mu) + 1e-12
        step = np.linalg.solve(x.T @ (x * w[:, None]), x.T @ (y - mu))
        beta += step
        if np.abs(step).max() < 1e-10:
            break
    return beta


def headline_metrics(probabilities, outcome) -> dict[str, float]:
    """n, events, base rate, AUROC, average precision and Brier score (sklearn's definitions)."""
    p, y = _as_arrays(probabilities, outcome)
    both = 0 < y.sum() < len(y)
    return {
        "n": len(y), "events": int(y.sum()), "base_rate": float(y.mean()) if len(y) else float("nan"),
        "auroc": float(roc_auc_score(y, p)) if both else float("nan"),
        "average_precision": float(average_precision_score(y, p)) if both else float("nan"),
        "brier": float(brier_score_loss(y, p)) if len(y) else float("nan"),
    }
