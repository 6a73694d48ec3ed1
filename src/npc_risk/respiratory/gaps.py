"""Care gaps in plain words, the MDT list and the gap rates per practice and neighbourhood.

* `care_gaps(person, as_of)`: one row per person and open gap (schemas/outputs.py CARE_GAPS):
  patient_id, pathway, gap, detail ("13 reliever inhalers in 12 months and no inhaled steroid",
  "no COPD review since 2024-11-02"), last_seen (the last date the missing process or the
  counted item was recorded, empty if never) and count (the count behind the gap, if any).
  `GAPS` is the one list of gaps: key, person column, pathway and wording.
* `mdt_list(cohort, person, gaps)`: the selected people of each locality with the score, the
  drivers, the rules tier and their open gaps joined in plain words (case-finding; small).
* `gap_rates(patients)`: per pathway and gap, register members and members with the gap, per
  practice, neighbourhood and the city, and the % with the gap (from unrounded counts); every
  count passes planning/disclosure.py (1-7 withheld, the rest rounded to 5, and the differencing
  guard: city = sum of neighbourhoods, neighbourhood = sum of its practices). Planning opt-outs
  (`planning_optout`) are left out, as in neighbourhoods.parquet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa

from npc_risk.planning.disclosure import area_rates
from npc_risk.respiratory.features import flu_season
from npc_risk.schemas.outputs import CARE_GAP_RATES, CARE_GAPS, RESPIRATORY_MDT


@dataclass(frozen=True)
class Gap:
    key: str
    column: str  # the person table's boolean column
    pathway: str  # "asthma", "copd", or "register" (the person's resp_pathway)
    label: str  # the gap in plain words, for the rates table


GAPS: tuple[Gap, ...] = (
    Gap("asthma_no_review", "gap_asthma_no_review", "asthma", "no asthma review in 12 months"),
    Gap("copd_no_review", "gap_copd_no_review", "copd", "no COPD review in 12 months"),
    Gap("no_mrc", "gap_no_mrc", "copd", "no MRC breathlessness grade in 12 months"),
    Gap("pr_not_offered", "gap_pr_not_offered", "copd", "MRC grade 3 or more and no pulmonary rehabilitation offer"),
    Gap("no_flu", "gap_no_flu", "register", "no flu vaccination this season"),
    Gap("smoker_no_offer", "gap_smoker_no_offer", "register",
        "current smoker with no stop-smoking support in 12 months"),
    Gap("no_action_plan", "gap_no_action_plan", "asthma", "no asthma action plan in 12 months"),
    Gap("no_inhaler_technique", "gap_no_inhaler_technique", "register", "no inhaler technique check in 12 months"),
    Gap("saba_overuse", "gap_saba_overuse", "asthma", "3 or more reliever inhalers in 12 months"),
    Gap("saba_without_ics", "gap_saba_without_ics", "asthma", "reliever inhalers and no inhaled steroid"),
    Gap("laba_without_ics", "gap_laba_without_ics", "asthma", "long-acting reliever and no inhaled steroid"),
    Gap("ics_underuse", "gap_ics_underuse", "asthma", "fewer than 4 inhaled steroid issues in 12 months"),
    Gap("ocs_courses", "gap_ocs_courses", "register", "2 or more oral steroid courses in 12 months"),
    Gap("post_attack_no_review", "gap_post_attack_no_review", "asthma",
        "asthma attack with no GP review within 2 working days"),
    Gap("copd_no_spirometry", "gap_copd_no_spirometry", "copd", "COPD diagnosed without confirming spirometry"),
)
PATHWAYS = ("asthma", "copd")


def _d(col: ir.DateValue) -> ir.StringValue:
    return col.cast("string")


def _since(p: ir.Table, col: str, what: str) -> ir.StringValue:
    return ibis.ifelse(p[col].isnull(), f"no {what} on record", f"no {what} since " + _d(p[col]))


def _wording(p: ir.Table, season: str) -> dict[str, tuple[ir.StringValue, ir.Value, ir.Value]]:
    """gap key -> (detail, last_seen, count)."""
    null_date, null_int = ibis.null("date"), ibis.null("int64")
    n = {c: p[c].cast("string") for c in ("saba_issues_12m", "ics_issues_12m", "laba_only_issues_12m",
                                           "ocs_courses_12m", "mrc_grade_latest", "unreviewed_attacks_12m")}
    return {
        "asthma_no_review": (_since(p, "asthma_review_last", "asthma review"), p.asthma_review_last, null_int),
        "copd_no_review": (_since(p, "copd_review_last", "COPD review"), p.copd_review_last, null_int),
        "no_mrc": (_since(p, "mrc_last", "MRC breathlessness grade"), p.mrc_last, null_int),
        "pr_not_offered": ("MRC grade " + n["mrc_grade_latest"] + " on " + _d(p.mrc_graded_last)
                           + " and no pulmonary rehabilitation offer since", p.pr_last, null_int),
        "no_flu": (ibis.ifelse(p.flu_last.isnull(), f"no flu vaccination in the {season} season (none on record)",
                               f"no flu vaccination in the {season} season (last " + _d(p.flu_last) + ")"),
                   p.flu_last, null_int),
        "smoker_no_offer": (ibis.ifelse(p.cessation_last.isnull(),
                                        "current smoker, no stop-smoking support on record",
                                        "current smoker, no stop-smoking support since " + _d(p.cessation_last)),
                            p.cessation_last, null_int),
        "no_action_plan": (_since(p, "action_plan_last", "asthma action plan"), p.action_plan_last, null_int),
        "no_inhaler_technique": (_since(p, "inhaler_technique_last", "inhaler technique check"),
                                 p.inhaler_technique_last, null_int),
        "saba_overuse": (n["saba_issues_12m"] + " reliever inhalers in 12 months (" + p.saba_overuse_level
                         + " level)", p.saba_last, p.saba_issues_12m),
        "saba_without_ics": (n["saba_issues_12m"] + " reliever inhalers in 12 months and no inhaled steroid",
                             p.saba_last, p.saba_issues_12m),
        "laba_without_ics": (n["laba_only_issues_12m"] + " long-acting reliever issues in 12 months and no "
                             "inhaled steroid", null_date, p.laba_only_issues_12m),
        "ics_underuse": ("only " + n["ics_issues_12m"] + " inhaled steroid issues in 12 months", p.ics_last,
                         p.ics_issues_12m),
        "ocs_courses": (n["ocs_courses_12m"] + " oral steroid courses in 12 months", null_date, p.ocs_courses_12m),
        "post_attack_no_review": ("asthma attack ending " + _d(p.unreviewed_attack_last)
                                  + " with no GP review within 2 working days", p.unreviewed_attack_last,
                                  p.unreviewed_attacks_12m),
        "copd_no_spirometry": ("COPD diagnosed " + _d(p.copd_diagnosis_date)
                               + " without FEV1/FVC below 0.7 around the diagnosis", p.copd_diagnosis_date,
                               null_int),
    }


def care_gaps(person: ir.Table, as_of: date) -> ir.Table:
    """One row per person and open gap (module docstring), in CARE_GAPS column order."""
    season = flu_season(as_of)[2]
    parts = []
    for gap in GAPS:
        p = person.filter(person[gap.column].fill_null(False))
        detail, last_seen, count = _wording(p, season)[gap.key]
        pathway = p.resp_pathway if gap.pathway == "register" else ibis.literal(gap.pathway)
        parts.append(p.select(patient_id=p.patient_id, pathway=pathway, gap=ibis.literal(gap.key),
                              detail=detail.name("detail"), last_seen=last_seen.cast("date"),
                              count=count.cast("int64")))
    return ibis.union(*parts).select(*CARE_GAPS.names)


# ------------------------------------------------------------------------------- the MDT list
def mdt_list(cohort: pd.DataFrame, person: pd.DataFrame, gaps: pd.DataFrame) -> pa.Table:
    """The selected people with their score, drivers, rules tier and open gaps (RESPIRATORY_MDT).

    `cohort`: the run's cohort (neighbourhood, nhs_number, patient_id, practice_code,
    neighbourhood_rank, risk_score, drivers); `person`: the respiratory columns by patient_id;
    `gaps`: care_gaps rows of those people. Gaps are joined in GAPS order with "; "."""
    order = {g.key: i for i, g in enumerate(GAPS)}
    g = gaps.assign(_o=gaps["gap"].map(order)).sort_values(["patient_id", "_o", "pathway"], kind="stable")
    words = g.groupby("patient_id", sort=True)["detail"].agg("; ".join)
    cols = ["patient_id", "resp_pathway", "resp_rules_tier", "copd_priority_group", "asthma_risk_factors",
            "open_care_gaps"]
    out = cohort.merge(person[cols], on="patient_id", how="left")
    out["care_gaps"] = out["patient_id"].map(words).fillna("")
    out = out.sort_values(["neighbourhood", "neighbourhood_rank"], kind="stable")
    return _arrow(out, RESPIRATORY_MDT)


def _arrow(frame: pd.DataFrame, spec) -> pa.Table:
    arrays = []
    for c in spec.columns:
        values = frame[c.name].astype(object).where(frame[c.name].notna(), None).tolist()
        arrays.append(pa.array(values, c.type))
    return pa.Table.from_arrays(arrays, names=list(spec.names))


# ------------------------------------------------------------------------------- gap rates
def gap_rate_counts(patients: ir.Table) -> ir.Table:
    """Unsuppressed (practice_code, neighbourhood, neighbourhood_name, pathway, gap, members,
    with_gap) over the planning population of the register (internal; small)."""
    p = patients.filter(patients.planning_optout.isnull()) if "planning_optout" in patients.columns else patients
    parts = []
    for pathway in PATHWAYS:
        members = p.filter(p[f"{pathway}_register"].fill_null(False))
        for gap in (g for g in GAPS if g.pathway in (pathway, "register")):
            has = members[gap.column].fill_null(False)
            parts.append(members.group_by(["practice_code", "neighbourhood", "neighbourhood_name"]).aggregate(
                pathway=ibis.literal(pathway), gap=ibis.literal(gap.key), members=members.count(),
                with_gap=has.cast("int64").sum().cast("decimal(38, 0)").cast("int64")))
    return ibis.union(*parts)


def gap_rates(counts: pd.DataFrame) -> pa.Table:
    """The published gap rates (CARE_GAP_RATES) from `gap_rate_counts` rows (module docstring)."""
    labels = {g.key: g.label for g in GAPS}
    rows = []
    for (pathway, gap), part in counts.groupby(["pathway", "gap"], sort=True):
        cells = zip(part["practice_code"], part["neighbourhood"], part["neighbourhood_name"],
                    part["members"], part["with_gap"], strict=True)
        rows += [{"level": r.level, "area": r.area, "area_name": r.area_name, "pathway": pathway, "gap": gap,
                  "label": labels[gap], "members": r.denominator, "with_gap": r.numerator,
                  "pct_with_gap": r.rate, "suppressed": r.suppressed} for r in area_rates(cells, 100)]
    order = {lvl: i for i, lvl in enumerate(CARE_GAP_RATES.column("level").order)}
    rows.sort(key=lambda r: (order[r["level"]], r["area"], r["pathway"], r["gap"]))
    return pa.Table.from_pylist(rows, schema=pa.schema([(c.name, c.type) for c in CARE_GAP_RATES.columns]))
