"""Cohort selection: who is eligible, who is excluded and why, and the top of each neighbourhood.

Contract (clinical-definitions.md §7):

* **Population**: the `scored` table, one row per person registered and alive on the as-of date.
* **Eligible** = `age >= min_age` and at least one of three routes:
  `ltc_count >= min_ltc_count` (3) | `efi_deficits >= frailty_min_deficits` (9) **and**
  `age >= frailty_min_age` (65) | `hfrs_score > hfrs_high_threshold` (15, strict, as the paper).
  A 64-year-old with 10 deficits is not eligible by frailty. A missing value never makes anyone
  eligible.
* **Exclusion reason** (eligible people only; null for everyone else): the first of
  `EXCLUSION_ORDER` that applies and is switched on: palliative_care, care_home, type1_optout,
  ndo_optout (off by default: the national data opt-out does not cover case-finding, §8), then
  `no_risk_score` (always on: a person without a score cannot be ranked, and is counted rather than
  dropped silently). The order is fixed so each person is counted under exactly one reason and the
  reason counts add up to `excluded`.
* **neighbourhood_rank** (1-based; null unless eligible and not excluded) orders the candidates of
  each neighbourhood by the stable key `selection.tie_break_order` (risk_score desc, efi_deficits
  desc, ltc_count desc, patient_id asc). The key is total (patient_id is unique), so reruns give
  the identical cohort and DuckDB and Spark agree.
* **in_cohort** = `neighbourhood_rank <= cohort_target`, where `cohort_target` =
  `selection.top_count(denominator, cohort_fraction)`: round-half-up(cohort_fraction x
  denominator), the rule the data pack's top group and the model card use too; the
  denominator is the neighbourhood's
  registered population ("all") or its people aged 18+ ("adults"); `in_denominator` flags the
  people it counts. Excluded people (opt-outs included) stay in the denominator and are counted
  by reason: nobody is dropped silently.

Traps:
* ibis `rank()` / `row_number()` are 0-based (engine-notes.md); we add 1.
* `round()` on a float product is not safe for the half-up rule: 0.025 is not exact in binary;
  `selection.top_count` works in integer parts per million, so 2.5 % of 1,020 is exactly
  25.5 -> 26 and of 1,010 is 25.25 -> 25.
* The neighbourhood key is the PCN *code*, LCP name or practice code; a person whose practice
  has no mapping is put in the `unmapped` neighbourhood, never dropped.
* Change since the previous run matches on (patient_id, neighbourhood): someone whose practice
  moved to another neighbourhood has "left" the old one and "entered" the new one. People in
  neighbourhoods that no longer exist are not reported. If the neighbourhood level changed
  between runs the change counts are meaningless (all entered / all left).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from npc_risk.config import NEIGHBOURHOODS, CohortConfig
from npc_risk.errors import SchemaError
from npc_risk.schemas import outputs
from npc_risk.selection import tie_break_order, top_count

# level -> (key column, display-name column)
NEIGHBOURHOOD_LEVELS: dict[str, tuple[str, str]] = {
    "pcn": ("pcn_code", "pcn_name"),
    "lcp": ("lcp_name", "lcp_name"),
    "practice": ("practice_code", "practice_code"),
}
assert set(NEIGHBOURHOOD_LEVELS) == set(NEIGHBOURHOODS)  # the config lists the same levels
ADULT_AGE = 18
UNMAPPED = "unmapped"
# Switchable exclusions in the order they are applied; `no_risk_score` is always applied last.
EXCLUSION_ORDER = ("palliative_care", "care_home", "type1_optout", "ndo_optout")
NO_RISK_SCORE = "no_risk_score"
EXCLUSION_REASONS = (*EXCLUSION_ORDER, NO_RISK_SCORE)

REQUIRED_COLUMNS = (
    "patient_id", "nhs_number", "practice_code", "pcn_code", "pcn_name", "lcp_name", "age",
    "ltc_count", "ltc_conditions", "efi_deficits", "efi_category", "hfrs_score",
    "palliative_care", "care_home", "type1_optout", "risk_score",
)
COHORT_COLUMNS = outputs.COHORT.names  # the published case-finding list (schemas/outputs.py)


def exclusions(config: CohortConfig, optouts: tuple[str, ...]) -> tuple[str, ...]:
    """The switched-on exclusions in `EXCLUSION_ORDER`: the clinical ones `config` turns on and
    the case-finding opt-outs (`[outputs.case_finding]`, e.g. ("type1_optout",))."""
    on = {"palliative_care": config.exclude_palliative_care, "care_home": config.exclude_care_home,
          **{flag: True for flag in optouts}}
    return tuple(r for r in EXCLUSION_ORDER if on.get(r, False))


@dataclass(frozen=True)
class CohortResult:
    """What `select_cohort` returns (all lazy ibis expressions on the input's backend).

    patients: the scored table plus neighbourhood, neighbourhood_name, eligible_ltc,
        eligible_frailty, eligible_hfrs, eligible, exclusion_reason, in_denominator,
        cohort_denominator, cohort_target, neighbourhood_rank (int64, 1-based, null if not a
        candidate), in_cohort.
    cohort: the care coordinators' list (`COHORT_COLUMNS`), people with in_cohort only.
    report: one row per neighbourhood (unsuppressed; see `neighbourhood_report`).
    """

    patients: ir.Table
    cohort: ir.Table
    report: ir.Table
    config: CohortConfig


def _count(cond: ir.BooleanValue) -> ir.IntegerScalar:
    """Number of rows where `cond` is true (null counts as false)."""
    return cond.fill_null(False).cast("int64").sum()


def select_cohort(
    scored: ir.Table,
    *,
    config: CohortConfig,
    optouts: tuple[str, ...] = ("type1_optout",),
    previous_patients: ir.Table | None = None,
    materialise: Callable[[ir.Table], ir.Table] | None = None,
    candidates: Callable[[ir.Table], ir.BooleanValue] | None = None,
) -> CohortResult:
    """Flag eligibility and exclusions, rank within neighbourhood and select the cohort.

    `previous_patients` (patient_id, neighbourhood, in_cohort; e.g. from
    `publish.previous_run`) must live on the same backend as `scored`; when given, the report
    carries entered/left/stayed counts. `optouts` are the opt-out flags the case-finding lists
    apply (`config.outputs.case_finding.applied`; default: type 1 only). `materialise` (e.g.
    `Engine.cache`) computes the ranked people once; the cohort and the report then read them.
    The cohort has no `drivers` yet: they are explained for the selected people afterwards.
    `candidates` (a condition pipeline's selection, definition.py) replaces the three
    eligibility routes and the denominator: eligible = candidates and age >= min_age, and the
    denominator counts the candidates (aged 18+ with `denominator = "adults"`).
    """
    applied = exclusions(config, optouts)
    required = (*REQUIRED_COLUMNS, *(r for r in applied if r not in REQUIRED_COLUMNS))
    missing = [c for c in required if c not in scored.columns]
    if missing:
        raise SchemaError(
            f"scored table lacks column(s) {missing} needed for cohort selection; "
            "run features and the risk score first"
        )
    key_col, name_col = NEIGHBOURHOOD_LEVELS[config.neighbourhood]
    t = scored.mutate(
        neighbourhood=ibis.coalesce(scored[key_col].cast("string"), ibis.literal(UNMAPPED)),
        neighbourhood_name=ibis.coalesce(scored[name_col].cast("string"), ibis.literal(UNMAPPED)),
        eligible_ltc=(scored.ltc_count >= config.min_ltc_count).fill_null(False),
        eligible_frailty=(
            (scored.efi_deficits >= config.frailty_min_deficits)
            & (scored.age >= config.frailty_min_age)
        ).fill_null(False),
        eligible_hfrs=(scored.hfrs_score > config.hfrs_high_threshold).fill_null(False),
    )
    routes = t.eligible_ltc | t.eligible_frailty | t.eligible_hfrs
    if candidates is not None:
        routes = candidates(t)
    t = t.mutate(eligible=((t.age >= config.min_age) & routes).fill_null(False))
    branches = [(t.eligible & t[r].fill_null(False), r) for r in applied]
    branches.append((t.eligible & t.risk_score.isnull(), NO_RISK_SCORE))
    t = t.mutate(exclusion_reason=ibis.cases(*branches, else_=ibis.null("string")))

    by_hood = ibis.window(group_by=t.neighbourhood)
    in_denominator = (
        ibis.literal(True) if config.denominator == "all" else (t.age >= ADULT_AGE).fill_null(False)
    )
    if candidates is not None:
        in_denominator = candidates(t) & in_denominator
    t = t.mutate(_candidate=t.eligible & t.exclusion_reason.isnull(), in_denominator=in_denominator)
    t = t.mutate(cohort_denominator=_count(t.in_denominator).over(by_hood).cast("int64"))
    t = t.mutate(cohort_target=top_count(t.cohort_denominator, config.cohort_fraction))
    ranked = ibis.window(group_by=[t.neighbourhood, t._candidate], order_by=tie_break_order(t))
    t = t.mutate(
        neighbourhood_rank=ibis.ifelse(
            t._candidate, (ibis.row_number().over(ranked) + 1).cast("int64"), ibis.null("int64")
        )
    )
    t = t.mutate(
        in_cohort=(t.neighbourhood_rank.notnull() & (t.neighbourhood_rank <= t.cohort_target))
        .fill_null(False)
    ).drop("_candidate")

    if materialise is not None:
        t = materialise(t)
    cohort = t.filter(t.in_cohort).select(*(c for c in COHORT_COLUMNS if c != "drivers"))
    report = neighbourhood_report(t, previous_patients=previous_patients)
    return CohortResult(patients=t, cohort=cohort, report=report, config=config)


def person_counts(p: ir.Table, *, with_target: bool = True) -> dict[str, ir.IntegerScalar]:
    """The report's counts of people, as aggregates over any grouping of `CohortResult.patients`:
    population, denominator (people `in_denominator`), cohort_target (only with_target: the
    neighbourhood's own, so only for a grouping by neighbourhood), eligible and by route,
    excluded and by reason, selected. datapack.py uses it for LCP and city totals too.
    """
    counts = {
        "population": p.patient_id.count().cast("int64"),
        "denominator": _count(p.in_denominator),
        "cohort_target": p.cohort_target.max(),
        "eligible": _count(p.eligible),
        "eligible_ltc": _count(p.eligible & p.eligible_ltc),
        "eligible_frailty": _count(p.eligible & p.eligible_frailty),
        "eligible_hfrs": _count(p.eligible & p.eligible_hfrs),
        "excluded": _count(p.exclusion_reason.notnull()),
        **{f"excluded_{r}": _count(p.exclusion_reason == r) for r in EXCLUSION_REASONS},
        "selected": _count(p.in_cohort),
    }
    if not with_target:
        del counts["cohort_target"]
    return counts


def neighbourhood_report(
    patients: ir.Table, *, previous_patients: ir.Table | None = None
) -> ir.Table:
    """Per neighbourhood: population, denominator, target, eligible (and by route), excluded by
    reason, selected, and entered/left/stayed/previous_selected (null when there is no previous
    run). Unsuppressed counts: publish through `datapack`, print through `publish.summary_table`.
    """
    p = patients
    counts = p.group_by("neighbourhood").aggregate(
        neighbourhood_name=p.neighbourhood_name.min(),
        **person_counts(p),
    )
    change_cols = ("entered", "left", "stayed", "previous_selected")
    if previous_patients is None:
        return counts.mutate(**{c: ibis.null("int64") for c in change_cols}).order_by(
            "neighbourhood"
        )
    now = p.filter(p.in_cohort).select("patient_id", "neighbourhood", now=ibis.literal(1),
                                       before=ibis.literal(0))
    prev = previous_patients
    before = prev.filter(prev.in_cohort.fill_null(False)).select(
        patient_id=prev.patient_id.cast("string"),
        neighbourhood=prev.neighbourhood.cast("string"),
        now=ibis.literal(0),
        before=ibis.literal(1),
    )
    both = now.union(before)
    person = both.group_by(["neighbourhood", "patient_id"]).aggregate(
        now=both.now.max(), before=both.before.max()
    )
    changes = person.group_by("neighbourhood").aggregate(
        entered=_count((person.now == 1) & (person.before == 0)),
        left=_count((person.now == 0) & (person.before == 1)),
        stayed=_count((person.now == 1) & (person.before == 1)),
        previous_selected=_count(person.before == 1),
    )
    joined = counts.left_join(changes, "neighbourhood")
    joined = joined.select(
        *counts.columns, **{c: joined[c].fill_null(0).cast("int64") for c in change_cols}
    )
    return joined.order_by("neighbourhood")
