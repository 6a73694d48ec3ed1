"""Unit: metrics agree with scikit-learn and with hand arithmetic; suppression rule."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from npc_risk.risk.metrics import (
    calibration_by_decile,
    calibration_slope_intercept,
    headline_metrics,
    suppress,
    suppressed_rate,
    top_fraction_table,
)
from npc_risk.selection import top_count

# 20 people, scores descending by position except where noted; 6 events (base rate 0.3).
SCORES = np.array([0.95, 0.90, 0.85, 0.80, 0.75, 0.70, 0.65, 0.60, 0.55, 0.50,
                   0.45, 0.40, 0.35, 0.30, 0.25, 0.20, 0.15, 0.10, 0.05, 0.01])
OUTCOME = np.array([1, 0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0])


def test_top_fractions_by_hand():
    # top 5% = 1 person (1 event), 10% = 2 (1), 15% = 3 (2), 25% = 5 (3)
    rows = top_fraction_table(SCORES, OUTCOME, (0.05, 0.10, 0.15, 0.25))
    assert [r["k"] for r in rows] == [1, 2, 3, 5]
    assert [r["true_positives"] for r in rows] == [1, 1, 2, 3]
    assert [r["ppv"] for r in rows] == pytest.approx([1.0, 0.5, 2 / 3, 0.6])
    assert [r["sensitivity"] for r in rows] == pytest.approx([1 / 6, 1 / 6, 2 / 6, 3 / 6])
    assert [r["lift"] for r in rows] == pytest.approx([1 / 0.3, 0.5 / 0.3, (2 / 3) / 0.3, 2.0])


def test_top_fraction_ignores_input_order_except_for_ties():
    perm = np.random.default_rng(0).permutation(20)
    a = top_fraction_table(SCORES, OUTCOME, (0.15,))[0]
    b = top_fraction_table(SCORES[perm], OUTCOME[perm], (0.15,))[0]
    assert a["true_positives"] == b["true_positives"]
    # ties: stable order keeps the first in the input
    assert top_fraction_table([0.5, 0.5], [0, 1], (0.5,))[0]["true_positives"] == 0


def test_top_k_is_the_cohorts_round_half_up():
    """The card's top f of n is selection.top_count(n, f), the cohort's rule: round-half-up, so
    1 % of 20 is 0 people (it was ceil, 1, before the rule was written once) and 2.5 % of 1,010
    is 25 (ceil gave 26)."""
    #        fraction  n     k   (ceil gave)
    table = [(0.01,    20,   0),  # 0.2 -> 0   (1)
             (0.03,    20,   1),  # 0.6 -> 1   (1)
             (0.05,    20,   1),  # 1.0        (1)
             (0.025,   20,   1),  # 0.5 -> 1   (1)
             (0.5,     20,   10),
             (0.025,   1010, 25),  # 25.25 -> 25 (26)
             (0.025,   1020, 26),  # 25.5 -> 26  (26)
             (0.03,    0,    0)]
    assert [top_count(n, f) for f, n, _ in table] == [k for _, _, k in table]
    rows = top_fraction_table(SCORES, OUTCOME, (0.01,))
    assert rows[0]["k"] == 0 and rows[0]["true_positives"] == 0 and np.isnan(rows[0]["ppv"])


def test_headline_agrees_with_sklearn():
    h = headline_metrics(SCORES, OUTCOME)
    assert h["auroc"] == pytest.approx(roc_auc_score(OUTCOME, SCORES))
    assert h["average_precision"] == pytest.approx(average_precision_score(OUTCOME, SCORES))
    assert h["brier"] == pytest.approx(brier_score_loss(OUTCOME, SCORES))
    assert (h["n"], h["events"], h["base_rate"]) == (20, 6, 0.3)


def test_calibration_by_decile_sums():
    rows = calibration_by_decile(SCORES, OUTCOME)
    assert len(rows) == 10 and all(r["n"] == 2 for r in rows)
    assert sum(r["observed"] for r in rows) == 6
    assert sum(r["expected"] for r in rows) == pytest.approx(SCORES.sum())
    assert rows[-1]["observed"] == 1 and rows[-1]["expected"] == pytest.approx(1.85)


def test_calibration_slope_and_intercept_recover_truth():
    rng = np.random.default_rng(1)
    p = rng.uniform(0.01, 0.6, 200_000)
    y = rng.random(p.size) < p
    perfect = calibration_slope_intercept(p, y)
    assert perfect["slope"] == pytest.approx(1, abs=0.03)
    assert perfect["intercept"] == pytest.approx(0, abs=0.02)
    logit = np.log(p / (1 - p))
    too_extreme = 1 / (1 + np.exp(-2 * logit))  # predictions twice as extreme -> slope 0.5
    assert calibration_slope_intercept(too_extreme, y)["slope"] == pytest.approx(0.5, abs=0.03)


@pytest.mark.parametrize(("count", "shown"), [
    (0, 0), (1, "*"), (7, "*"), (8, 10), (12, 10), (13, 15), (15, 15), (17, 15), (18, 20), (1003, 1005),
])
def test_suppression(count, shown):
    assert suppress(count) == shown


def test_suppressed_rate():
    assert suppressed_rate(3, 100) == "*"
    assert suppressed_rate(30, 5) == "*"
    assert suppressed_rate(0, 100) == 0.0
    assert suppressed_rate(10, 40) == 0.25
    assert suppressed_rate(5, 0) is None
