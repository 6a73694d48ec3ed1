"""How close is the model to the best possible score on the same people?

On synthetic data the generator knows each person's true probability of admission (the
"oracle"). Scoring the same evaluation people with the oracle gives the ceiling for AUROC and
PPV: the gap is what better features or a better model could still win; a model ABOVE the oracle
has leaked the outcome. Real data has no oracle; there the published range (c about 0.74-0.80,
clinical-definitions.md §6.2) is the yardstick.

Two oracles: `true_probability` uses the outcome year's own random shock (drawn when the year
happens, so no model of the past can know it: an unattainable ceiling); `knowable_probability`
integrates that shock out (synth/activity.RateModel.knowable_probability): the fair ceiling, and
the one a model should "come close to".

Two outcomes, each with both oracles in `truth/persons.parquet` (`TRUTH_COLUMNS`):
* any emergency admission in the 12 months after the as-of date (the nightly model's outcome);
* a respiratory emergency admission: primary diagnosis in ICD-10 chapter X, J00-J99
  (respiratory-and-packs.md §6 "all respiratory"), for the respiratory pipeline (issue 11). Its
  latent probability thins each person's emergency rate by their chance that a spell is coded
  respiratory (synth/services.Coder.respiratory_share); the rate itself carries the respiratory
  care model (synth/respiratory.py): poor control, low engagement (no review, no action plan), a
  reliever without an inhaled steroid, smoking and COPD severity raise it, so the care gaps the
  rules find are predictive, not decoration. A pipeline counting a narrower set (e.g. J09-J47)
  should compare against its own count of `truth/future_apcs.parquet`; the probability stays the
  J00-J99 one.
"""

from __future__ import annotations

import numpy as np

from npc_risk.risk.metrics import PUBLISHED_AUROC_RANGE, headline_metrics, top_fraction_table

# outcome -> (true probability, knowable probability, next-year count) columns of truth/persons.parquet
TRUTH_COLUMNS = {
    "emergency_admission": ("true_probability", "knowable_probability", "emergency_admissions"),
    "respiratory_emergency_admission": ("true_respiratory_probability", "knowable_respiratory_probability",
                                        "respiratory_emergency_admissions"),
}


def oracle_comparison(scores, truth_probability, outcome, *, fraction: float = 0.03,
                      knowable_probability=None) -> dict:
    """Model vs oracle AUROC and PPV at the top `fraction` (3 %) on the same people.

    Returns n, events, base_rate, model_auroc, oracle_auroc, auroc_gap (oracle - model),
    model_ppv_top, oracle_ppv_top, ppv_ratio (model / oracle), published_auroc_range,
    model_above_oracle (a leakage signal) and a one-line note for the report; with
    `knowable_probability` also knowable_auroc, knowable_ppv_top and knowable_gap.
    """
    s = np.asarray(scores, dtype="float64")
    t = np.asarray(truth_probability, dtype="float64")
    y = np.asarray(outcome).astype("int8")
    model, oracle = headline_metrics(s, y), headline_metrics(t, y)
    m_top = top_fraction_table(s, y, (fraction,))[0]
    o_top = top_fraction_table(t, y, (fraction,))[0]
    lo, hi = PUBLISHED_AUROC_RANGE
    gap = oracle["auroc"] - model["auroc"]
    above = bool(model["auroc"] > oracle["auroc"] + 0.005)
    extra, known = {}, ""
    if knowable_probability is not None:
        k = np.asarray(knowable_probability, dtype="float64")
        k_auroc, k_top = headline_metrics(k, y)["auroc"], top_fraction_table(k, y, (fraction,))[0]
        extra = {"knowable_auroc": k_auroc, "knowable_ppv_top": k_top["ppv"],
                 "knowable_gap": k_auroc - model["auroc"]}
        known = (f"knowable oracle AUROC {k_auroc:.3f} (gap {k_auroc - model['auroc']:.3f}), "
                 f"PPV {k_top['ppv']:.1%}; ")
    note = (f"model AUROC {model['auroc']:.3f} vs oracle {oracle['auroc']:.3f} (gap {gap:.3f}); "
            f"PPV at top {fraction:.0%} {m_top['ppv']:.1%} vs {o_top['ppv']:.1%}; {known}"
            f"published range {lo:.2f}-{hi:.2f}"
            + ("; MODEL ABOVE ORACLE: probable leakage" if above else ""))
    return {**extra,
        "n": model["n"], "events": model["events"], "base_rate": model["base_rate"],
        "model_auroc": model["auroc"], "oracle_auroc": oracle["auroc"], "auroc_gap": gap,
        "fraction": fraction, "model_ppv_top": m_top["ppv"], "oracle_ppv_top": o_top["ppv"],
        "ppv_ratio": m_top["ppv"] / o_top["ppv"] if o_top["ppv"] else float("nan"),
        "published_auroc_range": PUBLISHED_AUROC_RANGE, "model_above_oracle": above, "note": note,
    }
