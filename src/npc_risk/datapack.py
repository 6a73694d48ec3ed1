"""Neighbourhood statistics: the planning output (`neighbourhoods.parquet`).

`neighbourhood_statistics(patients, report)` returns one row per neighbourhood with **unrounded**
counts (internal only: never write or print it as is). `publishable_neighbourhoods(stats)`
applies small-number suppression (suppression.py, nhs-data-conventions.md §7) and is the only
form that leaves the process.

Concentration of use (the Leeds seed's figures, nhs-data-conventions.md §10.2): the **top group**
of a neighbourhood is its top `top_fraction` (5 %) of people by risk, ranked over the **whole
population** of the neighbourhood (eligible or not, excluded or not; less anyone with a national
data opt-out, as for every planning figure) with the cohort's stable
tie-break key; its size is round-half-up(top_fraction x population) in exact integer arithmetic,
so a neighbourhood of 40 people has a top group of 2. For each of emergency bed days, outpatient
attendances and active social care packages in the last 12 months we publish the share (%) used
by the top group, and GP appointments per person per year in the top group vs everyone.

Other figures: emergency admissions per 1,000 registered people, % with 3+ LTCs (a fixed 3, the
"complex multimorbidity" measure of clinical-definitions §3.2, independent of the cohort's
configurable route), % of people aged 65+ with moderate or severe frailty (>= 9 eFI deficits,
§1.2), cohort size and its % of the denominator.

Traps:
* Rates are computed from unrounded values and then suppressed; counts are suppressed last.
* People without a risk score sort last in the top-group ranking (never first).
* Opt-outs: type 1 opt-out covers identifiable data leaving the practice; these aggregates are
  suppressed and not identifiable, so everybody counts. The national data opt-out (planning
  use) is not applied: `scored` carries no `ndo` flag yet.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from npc_risk.cohort import EXCLUSION_REASONS, fraction_target
from npc_risk.suppression import suppress_count_expr, suppress_rate_expr

TOP_FRACTION = 0.05
LTC_MULTIMORBID = 3  # "3 or more LTCs" (clinical-definitions §3.2)
FRAILTY_AGE = 65
MODERATE_FRAILTY_DEFICITS = 9  # moderate 9-12, severe 13+ (clinical-definitions §1.2)

# activity column in `patients` -> name stem in the statistics
CONCENTRATION = {
    "emergency_bed_days_12m": "emergency_bed_days",
    "outpatient_attendances_12m": "outpatient_attendances",
    "social_care_packages_active": "social_care_packages",
    "gp_appointments_12m": "gp_appointments",
}

REPORT_COUNTS = (
    "population", "denominator", "cohort_target", "eligible", "eligible_ltc",
    "eligible_frailty", "eligible_hfrs", "excluded",
    *(f"excluded_{r}" for r in EXCLUSION_REASONS),
    "selected", "entered", "left", "stayed", "previous_selected",
)
STAT_COUNTS = (
    "planning_population", "ndo_excluded",
    "top_n", "emergency_admissions", "ltc3_plus", "aged_65_plus", "frail_65_plus",
    *CONCENTRATION.values(), *(f"top_{v}" for v in CONCENTRATION.values()),
)


def _count(cond: ir.BooleanValue) -> ir.IntegerScalar:
    return cond.fill_null(False).cast("int64").sum()


def _total(col: ir.NumericValue) -> ir.IntegerScalar:
    return col.fill_null(0).sum().cast("int64")


def neighbourhood_statistics(
    patients: ir.Table, report: ir.Table, *, top_fraction: float = TOP_FRACTION
) -> ir.Table:
    """Unsuppressed per-neighbourhood counts (report columns + `STAT_COUNTS`), by neighbourhood.

    `patients` and `report` are `CohortResult.patients` and `CohortResult.report`.
    """
    # Planning figures leave out people with a national data opt-out (nhs-data-conventions.md
    # §8); the cohort counts above them are direct care and keep everyone. How many were left
    # out is itself published (suppressed), never silently dropped from a denominator.
    ndo = (patients.ndo_optout.fill_null(False) if "ndo_optout" in patients.columns
           else ibis.literal(False))
    opted_out = patients.mutate(_ndo=ndo).group_by("neighbourhood").aggregate(
        ndo_excluded=_count(ibis._._ndo))
    p = patients.filter(~ndo)
    hood = ibis.window(group_by=p.neighbourhood)
    order = [
        p.risk_score.fill_null(-1.0).desc(),
        p.efi_deficits.fill_null(0).desc(),
        p.ltc_count.fill_null(0).desc(),
        p.patient_id.asc(),
    ]
    p = p.mutate(
        _risk_position=(ibis.row_number().over(ibis.window(group_by=p.neighbourhood,
                                                           order_by=order)) + 1).cast("int64"),
        _top_n=fraction_target(p.patient_id.count().over(hood), top_fraction),
    )
    p = p.mutate(_in_top=p._risk_position <= p._top_n)
    activity = {}
    for column, stem in CONCENTRATION.items():
        activity[stem] = _total(p[column])
        activity[f"top_{stem}"] = _total(ibis.ifelse(p._in_top, p[column], 0))
    stats = p.group_by("neighbourhood").aggregate(
        planning_population=p.count().cast("int64"),
        top_n=p._top_n.max(),
        emergency_admissions=_total(p.emergency_admissions_12m),
        ltc3_plus=_count(p.ltc_count >= LTC_MULTIMORBID),
        aged_65_plus=_count(p.age >= FRAILTY_AGE),
        frail_65_plus=_count(
            (p.age >= FRAILTY_AGE) & (p.efi_deficits >= MODERATE_FRAILTY_DEFICITS)
        ),
        **activity,
    )
    stats = stats.join(opted_out, "neighbourhood")
    joined = report.join(stats, "neighbourhood")
    return joined.select(
        "neighbourhood", "neighbourhood_name", *REPORT_COUNTS, *STAT_COUNTS
    ).order_by("neighbourhood")


def publishable_neighbourhoods(stats: ir.Table) -> ir.Table:
    """Suppressed planning table: every count via `suppress_count_expr` (null = suppressed, or
    no previous run for the change counts), every rate from the unrounded values via
    `suppress_rate_expr` (null = suppressed or undefined), one decimal place.
    """
    s = stats
    rates = {
        "pct_selected_of_denominator": suppress_rate_expr(s.selected, s.denominator, scale=100),
        "emergency_admissions_per_1000": suppress_rate_expr(
            s.emergency_admissions, s.planning_population, scale=1000
        ),
        "pct_ltc3_plus": suppress_rate_expr(s.ltc3_plus, s.planning_population, scale=100),
        "pct_65_plus_moderate_severe_frailty": suppress_rate_expr(
            s.frail_65_plus, s.aged_65_plus, scale=100
        ),
        "gp_appointments_per_person": suppress_rate_expr(s.gp_appointments, s.planning_population),
        "gp_appointments_per_person_top": suppress_rate_expr(s.top_gp_appointments, s.top_n),
    }
    for stem in ("emergency_bed_days", "outpatient_attendances", "social_care_packages"):
        rates[f"pct_{stem}_top"] = suppress_rate_expr(s[f"top_{stem}"], s[stem], scale=100)
    counts = {c: suppress_count_expr(s[c]) for c in (*REPORT_COUNTS, *STAT_COUNTS)}
    return s.select("neighbourhood", "neighbourhood_name", **counts, **rates).order_by(
        "neighbourhood"
    )
