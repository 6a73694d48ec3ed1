"""One pack page's content, assembled from the tidy figures table and neighbourhoods.parquet.

`page(table, planning, level, key, name)` returns everything the template shows for one area,
already formatted: counts as published (withheld shown as `*`), rates to one decimal, ratios to
whole numbers, the charts as inline SVG (packs/charts.py) and the "where to focus" result
(packs/focus.py). Nothing here computes a statistic; it only picks and formats.
"""

from __future__ import annotations

import pandas as pd

from npc_risk.packs import charts, focus
from npc_risk.packs.indicators import INDICATORS, band_label
from npc_risk.planning.disclosure import display_suppressed

# The Leeds seed's concentration figures, shown beside each area's (the top 5 % by risk use...)
LEEDS_TOP_SHARE = {"emergency_bed_days": 50.0, "outpatient_attendances": 19.0, "social_care_packages": 80.0}
LEEDS_TOP_GP_APPOINTMENTS = 15.0  # a year per person in the top 5 %
CONCENTRATION = (  # neighbourhoods.parquet column, what it measures, the Leeds figure
    ("pct_emergency_bed_days_top", "Unplanned bed days", LEEDS_TOP_SHARE["emergency_bed_days"]),
    ("pct_outpatient_attendances_top", "Outpatient attendances", LEEDS_TOP_SHARE["outpatient_attendances"]),
    ("pct_social_care_packages_top", "Social care packages", LEEDS_TOP_SHARE["social_care_packages"]),
)

def _fmt(value, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "*"
    return f"{value:,.{digits}f}"


def _count(value) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return display_suppressed(None)
    return f"{int(value):,}"


def _rows(table: pd.DataFrame, **match) -> list[dict]:
    mask = pd.Series(True, index=table.index)
    for k, v in match.items():
        mask &= table[k] == v
    records = table[mask].to_dict("records")
    for r in records:
        for k, v in r.items():
            if isinstance(v, float) and v != v:
                r[k] = None
    return records


def page(table: pd.DataFrame, planning: pd.DataFrame, level: str, key: str, name: str) -> dict:
    """Everything one page shows (the template only formats)."""
    mine = table[(table.level == level) & (table.area == key)]
    city = table[table.level == "city"]
    need = [r for r in _rows(mine, section="need") if r["statistic"] in ("crude", "dsr")]
    isr = {r["indicator"]: r for r in _rows(mine, statistic="isr")}
    use = _rows(mine, section="use", statistic="crude")
    pyramid_rows = _rows(mine, indicator="population")
    city_pyramid = {r["breakdown"].split(":", 1)[1]: r["value"] for r in _rows(city, indicator="population")}
    cells = {r["breakdown"].split(":", 1)[1]: r["value"] for r in pyramid_rows}
    bands = sorted({c.split("|")[0] for c in city_pyramid if c != "other|other"})
    labels = [band_label(int(b)) for b in bands]
    relabel = {f"{b}|{s}": f"{lab}|{s}" for b, lab in zip(bands, labels, strict=True) for s in ("female", "male")}
    plan = planning[(planning.level == level) & (planning.neighbourhood == (key if level != "city" else "all"))]
    plan_row = {k: (None if isinstance(v, float) and v != v else v)
                for k, v in (plan.iloc[0].to_dict() if len(plan) else {}).items()}
    total = next((r["denominator"] for r in pyramid_rows), None)
    focus_result = focus.where_to_focus(table, level, key, name) if level != "city" else focus.city_summary(table)
    return {
        "level": level, "key": key, "name": name, "population": _count(total),
        "population_change": _change(plan_row.get("population"), plan_row.get("previous_population")),
        "pyramid_svg": charts.pyramid({relabel[c]: v for c, v in cells.items() if c in relabel},
                                      {relabel[c]: v for c, v in city_pyramid.items() if c in relabel},
                                      labels),
        "pyramid_rows": [{"cell": relabel.get(r["breakdown"].split(":", 1)[1], "other recorded sex"),
                          "count": _count(r["numerator"]), "pct": _fmt(r["value"]), "city": _fmt(r["comparator"])}
                         for r in pyramid_rows],
        "mix": {dim: [{"group": r["breakdown"].split(":", 1)[1], "count": _count(r["numerator"]),
                       "pct": _fmt(r["value"]), "city": _fmt(r["comparator"])}
                      for r in _rows(mine, indicator=ind)]
                for dim, ind in (("IMD quintile (1 = most deprived)", "population_imd"),
                                 ("Ethnic group", "population_ethnicity"))},
        "need": _need_rows(need, isr), "use": _use_rows(use, isr),
        "concentration": [{"what": what, "here": _fmt(plan_row.get(col)), "leeds": _fmt(leeds, 0),
                           "city": _fmt(_city_value(planning, col))} for col, what, leeds in CONCENTRATION]
        + [{"what": "GP appointments a year per person in the top 5 %",
            "here": _fmt(plan_row.get("gp_appointments_per_person_top")), "leeds": _fmt(LEEDS_TOP_GP_APPOINTMENTS, 0),
            "city": _fmt(_city_value(planning, "gp_appointments_per_person_top"))}],
        "cohort": _cohort(plan_row), "risk": _risk(mine),
        "fairness": _fairness(mine), "focus": focus_result,
    }


def _change(now, before) -> str | None:
    """"+120" / "-35" / "no change" between two published populations, or None when either is
    withheld (or there is no earlier run)."""
    if now is None or before is None or (isinstance(before, float) and before != before):
        return None
    delta = int(now) - int(before)
    return "no change" if delta == 0 else f"{delta:+,}"


def _city_value(planning: pd.DataFrame, column: str):
    row = planning[planning.level == "city"]
    value = row.iloc[0][column] if len(row) else None
    return None if isinstance(value, float) and value != value else value


def _need_rows(need: list[dict], isr: dict) -> list[dict]:
    by_indicator: dict[str, dict] = {}
    for r in need:
        entry = by_indicator.setdefault(r["indicator"], {"label": r["label"], "count": _count(r["numerator"]),
                                                         "denominator": _count(r["denominator"])})
        entry[r["statistic"]] = {"value": _fmt(r["value"]), "ci": _ci(r), "city": _fmt(r["comparator"]),
                                 "sig": r["significance"]}
    out = []
    fixed = [i.key for i in INDICATORS]  # multimorbidity and frailty first, in their declared order
    for ind, entry in sorted(by_indicator.items(), key=lambda kv: (
            fixed.index(kv[0]) if kv[0] in fixed else len(fixed), kv[1]["label"])):
        entry.setdefault("dsr", {"value": "*", "ci": "", "city": "*", "sig": "not compared"})
        entry["isr"] = _isr_cell(isr.get(ind))
        out.append(entry)
    return out


def _use_rows(use: list[dict], isr: dict) -> list[dict]:
    return [{"label": r["label"], "count": _count(r["numerator"]), "value": _fmt(r["value"]), "ci": _ci(r),
             "city": _fmt(r["comparator"]), "sig": r["significance"], "isr": _isr_cell(isr.get(r["indicator"]))}
            for r in use]


def _isr_cell(r: dict | None) -> dict:
    if not r:
        return {"value": "*", "ci": "", "sig": "not compared", "excess": "*"}
    return {"value": _fmt(r["value"], 0), "ci": _ci(r, 0), "sig": r["significance"],
            "excess": _fmt(r["excess"], 0) if r["excess"] is not None else "*"}


def _ci(r: dict, digits: int = 1) -> str:
    if r.get("lower") is None or r.get("upper") is None:
        return ""
    return f"{_fmt(r['lower'], digits)} to {_fmt(r['upper'], digits)}"


def _cohort(plan: dict) -> list[dict]:
    items = [("Registered population", "population"), ("Cohort denominator", "denominator"),
             ("Cohort target (2-3 %)", "cohort_target"), ("Eligible (any route)", "eligible"),
             ("  eligible by 3+ long-term conditions", "eligible_ltc"),
             ("  eligible by moderate/severe frailty (65+)", "eligible_frailty"),
             ("  eligible by HFRS > 15", "eligible_hfrs"), ("Excluded", "excluded"),
             ("  palliative care", "excluded_palliative_care"), ("  care home", "excluded_care_home"),
             ("  type 1 opt-out", "excluded_type1_optout"), ("  national data opt-out", "excluded_ndo_optout"),
             ("  no risk score", "excluded_no_risk_score"), ("Selected", "selected"),
             ("Selected as % of denominator", "pct_selected_of_denominator"),
             ("Entered since the previous run", "entered"), ("Left since the previous run", "left"),
             ("Stayed", "stayed")]
    return [{"what": what, "value": (_fmt(plan.get(col)) + " %" if col.startswith("pct") else _count(plan.get(col)))}
            for what, col in items]


def _risk(mine: pd.DataFrame) -> dict:
    rows = _rows(mine, indicator="risk_distribution")
    groups = [r["breakdown"].split(":", 1)[1].lstrip("0") or "0" for r in rows]
    groups = [g if not g.startswith("-") else "0" + g for g in groups]
    return {"svg": charts.bars(groups, [r["value"] for r in rows], xlabel="% of people with a risk score"),
            "rows": [{"group": g, "count": _count(r["numerator"]), "pct": _fmt(r["value"])}
                     for g, r in zip(groups, rows, strict=True)]}


def _fairness(mine: pd.DataFrame) -> dict:
    """The cohort's mix against the mix of emergency admissions, per breakdown: one chart of four
    panels and a table per breakdown."""
    panels, tables = [], []
    for dim, title in (("imd", "IMD quintile (1 = most deprived)"), ("sex", "Sex"), ("age", "Age band"),
                       ("ethnicity", "Ethnic group")):
        cohort = {r["breakdown"]: r for r in _rows(mine, indicator="cohort_mix")
                  if r["breakdown"].startswith(dim + ":")}
        need = {r["breakdown"]: r for r in _rows(mine, indicator="need_mix") if r["breakdown"].startswith(dim + ":")}
        keys = sorted(cohort)
        groups = [k.split(":", 1)[1] for k in keys]
        panels.append((title, groups, [cohort[k]["value"] for k in keys],
                       [need[k]["value"] if k in need else None for k in keys]))
        tables.append({
            "title": title,
            "rows": [{"group": g, "cohort": _count(cohort[k]["numerator"]), "cohort_pct": _fmt(cohort[k]["value"]),
                      "need": _count(need[k]["numerator"]) if k in need else "*",
                      "need_pct": _fmt(need[k]["value"]) if k in need else "*"}
                     for g, k in zip(groups, keys, strict=True)],
        })
    svg = charts.paired_bars(panels, labels=("Cohort", "Emergency admissions"), xlabel="% of the area's total")
    return {"svg": svg, "tables": tables}


