"""Performance by subgroup (IMD quintile, sex, age band, ethnic group), suppressed for publication.

Contract: `subgroup_tables(scores, outcome, frame, fractions)` returns {dimension: [row, ...]}
with one row per level, every count passed through `metrics.suppress` and every rate through
`metrics.suppressed_rate`. Top-fraction figures use the POPULATION-wide cut (as many people as a
cohort of that fraction, `selection.top_count`; ties at the cut broken by input position), so a
subgroup's "flagged" is how many of its members the cohort reaches - the equity question - not
a within-group top k.

Trap: AUROC within a subgroup is a model output (a "complex statistic" that HES rules leave
uncontrolled) but it is meaningless with few events: it is reported only when the subgroup has
at least 8 events and 8 non-events.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from npc_risk.planning.disclosure import display_suppressed, is_small
from npc_risk.risk.metrics import suppress, suppressed_rate, top_order
from npc_risk.selection import top_count

AGE_BANDS = ((0, 17), (18, 44), (45, 64), (65, 74), (75, 84), (85, 200))
# clinical-definitions.md §6.2: calibration by age band, sex, IMD quintile and neighbourhood.
DIMENSIONS = ("imd_quintile", "sex", "age_band", "ethnicity_group", "neighbourhood")


def subgroup_labels(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per-person level of each dimension as object arrays ("unknown" when missing or absent)."""
    n = len(frame)
    out: dict[str, np.ndarray] = {}
    if "imd_decile" in frame:
        dec = frame["imd_decile"].to_numpy(dtype="float64", na_value=np.nan)
        q = np.where(np.isnan(dec), 0, (np.nan_to_num(dec) + 1) // 2).astype(int)
        out["imd_quintile"] = np.where(q > 0, np.char.add("Q", q.astype(str)), "unknown").astype(object)
    if "age" in frame:
        age = frame["age"].to_numpy(dtype="float64", na_value=np.nan)
        band = np.full(n, "unknown", dtype=object)
        for lo, hi in AGE_BANDS:
            band[(age >= lo) & (age <= hi)] = f"{lo}+" if hi >= 200 else f"{lo}-{hi}"
        out["age_band"] = band
    for col in ("sex", "ethnicity_group"):
        if col in frame:
            out[col] = frame[col].astype("string").fillna("unknown").to_numpy(dtype=object)
    if "pcn_code" in frame:  # the default neighbourhood (PCN)
        out["neighbourhood"] = frame["pcn_code"].astype("string").fillna("unknown").to_numpy(dtype=object)
    return {d: out[d] for d in DIMENSIONS if d in out}


def subgroup_tables(scores, outcome, frame: pd.DataFrame, fractions=(0.01, 0.02, 0.03, 0.05)) -> dict:
    s = np.asarray(scores, dtype="float64")
    y = np.asarray(outcome).astype("int8")
    order = top_order(s)
    flagged = {}
    for f in fractions:
        mask = np.zeros(len(s), dtype=bool)
        mask[order[: top_count(len(s), f)]] = True
        flagged[f] = mask
    tables = {}
    for dim, levels in subgroup_labels(frame).items():
        rows = []
        for level in sorted(set(levels.tolist())):
            m = levels == level
            n, events = int(m.sum()), int(y[m].sum())
            base = suppressed_rate(events, n)
            row = {
                "level": level, "n": suppress(n), "events": suppress(events), "base_rate": base,
                "mean_predicted": display_suppressed(None if is_small(n) else round(float(s[m].mean()), 4)),
                "observed_over_expected": _ratio(events, float(s[m].sum()), n),
                "auroc": round(float(roc_auc_score(y[m], s[m])), 4)
                if events >= 8 and n - events >= 8 else None,
            }
            for f, mask in flagged.items():
                k, tp = int((m & mask).sum()), int(y[m & mask].sum())
                ppv = suppressed_rate(tp, k)
                lift = (round(ppv / (events / n), 3)
                        if isinstance(ppv, float) and isinstance(base, float) and events else ppv)
                row[f"top_{_pct(f)}"] = {
                    "flagged": suppress(k), "true_positives": suppress(tp), "ppv": ppv,
                    "sensitivity": suppressed_rate(tp, events), "lift": lift,
                    "share_of_group_flagged": suppressed_rate(k, n),
                }
            rows.append(row)
        tables[dim] = rows
    return tables


def _ratio(events: int, expected: float, n: int) -> float | str | None:
    """Observed / expected, suppressed like a rate (its numerator is a count)."""
    if expected <= 0:
        return None
    return display_suppressed(None if is_small(events) or is_small(n) else round(events / expected, 3))


def _pct(f: float) -> str:
    return f"{f * 100:g}pct"
