"""The transparent respiratory rules: COPD priority groups (§5.1) and the asthma high-risk search
(§5.3), combined into one tier and a rank score for register members.

COPD priority group (COPD register only; the first that holds):
* 1 high risk & complex: latest FEV1 % predicted < 30, or latest MRC grade 5;
* 2 high risk: FEV1 < 50, MRC 4, a COPD exacerbation (§4.1) or a COPD emergency admission in
  the last 12 months;
* 3 medium risk: FEV1 < 80, MRC 2 or 3, >= 2 antibiotic issues or any oral steroid in the last
  12 months, a triple inhaler in the last 6 months, or ICS + LAMA + LABA in the last 6 months;
* 4: none of these.
Departures: home oxygen and cor pulmonale (PG1/PG2) and azithromycin as its own arm have no
packaged list; the latest MRC grade and FEV1 are the latest ever recorded.

Asthma risk factors (asthma register only; NRAD-based search, count of, 0-8): < 3 ICS-containing
issues, >= 6 SABA issues, >= 2 oral-steroid courses, an A&E attendance with an asthma ECDS
diagnosis (resp-ecds-asthma; not all-cause A&E, which would mark a broken wrist as an asthma
risk), an emergency asthma admission, an asthma exacerbation code, a missed GP appointment (did
not attend), no action plan - each in the last 12 months.

resp_rules_tier [D]: 1 = COPD group 1 or >= 3 asthma factors; 2 = group 2 or 2 factors; 3 = group
3 or 1 factor; 4 = a register member with none; null = on neither register.
resp_rules_score [D] = ((4 - tier) x 10 + min(factors, 9)) / 39: a RANK in [0, 1] that orders by
tier, then by asthma factors; not a probability.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from npc_risk.respiratory.rules import Thresholds

ASTHMA_FACTORS = {
    "asthma_factor_low_ics": "fewer than 3 inhaled steroid issues",
    "asthma_factor_saba": "6 or more reliever inhalers",
    "asthma_factor_ocs": "2 or more oral steroid courses",
    "asthma_factor_ae": "an A&E attendance for asthma",
    "asthma_factor_admission": "an emergency asthma admission",
    "asthma_factor_exacerbation": "an asthma attack coded by the GP",
    "asthma_factor_missed_appointment": "a missed GP appointment",
    "asthma_factor_no_action_plan": "no asthma action plan",
}


def asthma_factor_columns(p: ir.Table, th: Thresholds) -> dict[str, ir.BooleanValue]:
    year_plan = p.gap_no_action_plan
    return {
        "asthma_factor_low_ics": p.ics_issues_12m < th["asthma_ics_high_risk_below"],
        "asthma_factor_saba": p.saba_issues_12m >= th["asthma_saba_high_risk"],
        "asthma_factor_ocs": p.ocs_courses_12m >= th["ocs_courses_flag"],
        "asthma_factor_ae": p.asthma_ae_attendances_12m > 0,
        "asthma_factor_admission": p.asthma_emergency_admissions_12m > 0,
        "asthma_factor_exacerbation": p.asthma_exacerbation_codes_12m > 0,
        "asthma_factor_missed_appointment": p.gp_dnas_12m > 0,
        "asthma_factor_no_action_plan": year_plan,
    }


def rules_columns(p: ir.Table, th: Thresholds) -> ir.Table:
    """Add copd_priority_group, asthma_risk_factors, resp_rules_tier, resp_rules_score."""
    fev1, mrc = p.fev1_pct_latest, p.mrc_grade_latest
    pg1 = (fev1 < th["pg1_fev1_below"]).fill_null(False) | (mrc == 5).fill_null(False)
    pg2 = ((fev1 < th["pg2_fev1_below"]).fill_null(False) | (mrc == 4).fill_null(False)
           | (p.copd_exacerbations_12m > 0) | (p.copd_emergency_admissions_12m > 0))
    pg3 = ((fev1 < th["pg3_fev1_below"]).fill_null(False) | mrc.isin([2, 3]).fill_null(False)
           | (p.antibiotic_issues_12m >= th["pg3_antibiotic_issues"]) | (p.ocs_issues_12m > 0)
           | (p.triple_issues_6m > 0)
           | ((p.ics_issues_6m > 0) & (p.laba_issues_6m > 0) & (p.lama_issues_6m > 0)))
    group = ibis.ifelse(pg1, 1, ibis.ifelse(pg2, 2, ibis.ifelse(pg3, 3, 4)))
    p = p.mutate(copd_priority_group=ibis.ifelse(p.copd_register, group, ibis.null("int64")).cast("int64"))
    factors = sum(c.fill_null(False).cast("int64") for c in asthma_factor_columns(p, th).values())
    p = p.mutate(asthma_risk_factors=ibis.ifelse(p.asthma_register, factors, ibis.null("int64")).cast("int64"))
    f = p.asthma_risk_factors.fill_null(0)
    g = p.copd_priority_group.fill_null(4)
    tier = ibis.least(g, ibis.ifelse(f >= 3, 1, ibis.ifelse(f == 2, 2, ibis.ifelse(f == 1, 3, 4))))
    on = p.asthma_register | p.copd_register
    p = p.mutate(resp_rules_tier=ibis.ifelse(on, tier, ibis.null("int64")).cast("int64"))
    score = ((4 - p.resp_rules_tier) * 10 + ibis.least(f, 9)).cast("float64") / 39.0
    return p.mutate(resp_rules_score=score)
