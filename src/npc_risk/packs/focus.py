"""Where to focus: the indicators on which an area stands out most against the city.

The rule (respiratory-and-packs.md §9.4, "excess admissions"): for every indicator, the
indirectly age-sex standardised ratio (ISR) to the city; an indicator is a candidate when more is
worse and the ratio is significantly above 100 (its 95 % interval excludes 100). Candidates are
ranked outliers first (99.8 % interval also excludes 100, outside the funnel's outer limits), then
by excess events O - E, most first; the top three are named in a short paragraph. Withheld ratios
(small numbers) are never candidates. The funnel plot shows the top candidate (or, when there is
none, the indicator with the largest excess) for every neighbourhood.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from npc_risk.packs import charts
from npc_risk.packs.indicators import INDICATORS

NAMED = 3
WORSE_WHEN_LOWER = {i.key for i in INDICATORS if not i.worse_when_higher}


def _isr(table: pd.DataFrame) -> pd.DataFrame:
    rows = table[(table.statistic == "isr")]
    return rows[~rows.indicator.isin(WORSE_WHEN_LOWER)]


def candidates(table: pd.DataFrame, level: str, key: str) -> pd.DataFrame:
    """The area's significantly-high ISRs, ranked (module rule)."""
    mine = _isr(table)
    mine = mine[(mine.level == level) & (mine.area == key) & (mine.significance == "higher")
                & mine.value.notna()]
    return mine.assign(_outlier=(mine.outlier == "higher")).sort_values(
        ["_outlier", "excess", "indicator"], ascending=[False, False, True], kind="stable")


def sentence(rows: list[dict], name: str) -> str:
    """The plain-words paragraph naming the top candidates."""
    if not rows:
        return (f"{name} is not significantly above the city on any indicator once age and sex are allowed "
                "for: no single indicator stands out as a focus from these data.")
    parts = []
    for r in rows:
        label = r["label"][:1].lower() + r["label"][1:] if r["label"][1:2].islower() else r["label"]
        words = f"{label} ({r['value']:.0f} % of the expected level"
        words += f", about {r['excess']:.0f} more than expected a year" if r["excess"] and r["excess"] >= 1 else ""
        words += ", outside the funnel's 99.8 % limits)" if r["outlier"] == "higher" else ")"
        parts.append(words)
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return (f"Allowing for its age and sex mix, {name} stands out most on {listed}. "
            "These are where the neighbourhood differs most from the city; check them against local knowledge "
            "before choosing a focus.")


def where_to_focus(table: pd.DataFrame, level: str, key: str, name: str) -> dict:
    ranked = candidates(table, level, key)
    top = [_clean(r) for r in ranked.head(NAMED).to_dict("records")]
    mine = _isr(table)
    mine = mine[(mine.level == level) & (mine.area == key)]
    chart_indicator = top[0]["indicator"] if top else _largest_excess(mine)
    spine_rows = [_clean(r) for r in mine.sort_values("label").to_dict("records")]
    ranges = _ranges(_isr(table), level)
    return {
        "paragraph": sentence(top, name), "top": top,
        "ranked": [_clean(r) for r in ranked.to_dict("records")],
        "spine": charts.spine(spine_rows, ranges),
        "spine_rows": [{**r, "range": ranges.get(r["indicator"])} for r in spine_rows],
        "funnel": _funnel(table, level, key, chart_indicator),
    }


def city_summary(table: pd.DataFrame) -> dict:
    """The city pack: which neighbourhoods are outliers on which indicators."""
    isr = _isr(table)
    hoods = isr[(isr.level == "neighbourhood") & (isr.outlier == "higher")]
    names = table.drop_duplicates(["level", "area"]).set_index(["level", "area"]).area_name
    listed = [{"area": names.get(("neighbourhood", r.area), r.area), "label": r.label,
               "value": r.value, "excess": r.excess}
              for r in hoods.sort_values(["excess"], ascending=False).itertuples()]
    text = (f"{len(listed)} neighbourhood-indicator pairs lie above the 99.8 % funnel limits."
            if listed else "No neighbourhood lies above the 99.8 % funnel limits on any indicator.")
    return {"paragraph": text, "top": [], "ranked": [], "outliers": listed[:15], "spine": None, "spine_rows": [],
            "funnel": _funnel(table, "neighbourhood", None, _largest_excess(isr[isr.level == "neighbourhood"]))}


def _largest_excess(rows: pd.DataFrame) -> str:
    shown = rows[rows.excess.notna()]
    if shown.empty:
        return "emergency_admissions"
    return shown.sort_values(["excess", "indicator"], ascending=[False, True]).iloc[0].indicator


def _funnel(table: pd.DataFrame, level: str, key: str | None, indicator: str) -> dict:
    points = table[(table.level == level) & (table.statistic == "isr") & (table.indicator == indicator)]
    label = points.label.iloc[0] if len(points) else indicator
    records = [_clean(r) for r in points.to_dict("records")]
    return {"indicator": indicator, "label": label,
            "svg": charts.funnel(records, key or "", label=f"{label}: all {level}s"),
            "rows": records}


def _ranges(isr: pd.DataFrame, level: str) -> dict[str, tuple[float, float, float, float]]:
    out = {}
    for indicator, rows in isr[(isr.level == level) & isr.value.notna()].groupby("indicator"):
        v = rows.value.to_numpy()
        out[indicator] = (float(v.min()), float(np.percentile(v, 25)), float(np.percentile(v, 75)), float(v.max()))
    return out


def _clean(r: dict) -> dict:
    return {k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()}
