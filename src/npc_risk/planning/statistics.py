"""Neighbourhood statistics: the planning output (`neighbourhoods.parquet`).

`neighbourhood_statistics(patients, report)` returns the **unrounded** counts (internal only:
never write or print it as is). `publishable_neighbourhoods(stats)` applies small-number
suppression and the differencing guard (suppression.py, nhs-data-conventions.md §7) and is the
only form that leaves the process.

Rows (`level`), in this order:

| level | one row per | `neighbourhood` / `neighbourhood_name` |
|---|---|---|
| neighbourhood | neighbourhood (the cohort's unit: PCN, LCP or practice), by key | key / name |
| lcp | local care partnership (`lcp_name` of the practice; `unmapped` if none), by name | LCP name / LCP name |
| city | the whole population | `all` / `All neighbourhoods` |

The LCP rows are left out when they would repeat the neighbourhood rows (neighbourhood = LCP)
or when no practice has an LCP. The internal table also has `part` rows and an `in_lcp` column
(see "Totals" below); neither is published.

Totals (HES convention, §7): every LCP and city figure is computed from the **unrounded** data of
its people and then suppressed like any other count; rates from the unrounded values. They are
never sums of published (rounded) cells. Counts of people and activity are counted over the
people of the unit. Figures that only exist per neighbourhood (`cohort_target` and the change
counts `entered`, `left`, `stayed`, `previous_selected`) are the sum over the neighbourhoods
inside the unit; an LCP that cuts through a neighbourhood has no such figure (null). The top
group is the unit's own top 5 % (below), not the union of its neighbourhoods' top groups.

PCNs need not nest in LCPs (a PCN's practices may belong to different LCPs). The part of a split
neighbourhood that lies in one LCP is a `part` row: never published, but the differencing guard
treats it as a cell (an LCP total minus the neighbourhoods inside it gives it).

Differencing guard (suppression.complementary_suppression): additive identities, each checked
for every count column where all its cells exist:

* city = sum of the neighbourhood rows; city = sum of the LCP rows;
* LCP = sum of its neighbourhoods and parts; split neighbourhood = sum of its parts;
* within each row: population = planning_population + ndo_excluded + type1_excluded;
  excluded = sum of excluded_<reason>; population = denominator + the people outside the
  denominator (a hidden cell); selected = entered + stayed; previous_selected = stayed + left.

Links (a withheld source withholds its target): denominator -> cohort_target (2.5 % of it),
planning_population -> top_n (5 % of it). A rate is published only if its numerator and
denominator both are. Differences of nested counts that are not published partitions
(eligible - selected, bed days - top group's bed days) are left to rounding, as HES does.

Opt-outs (nhs-data-conventions.md §8; config.OutputsConfig): the case-finding counts (population,
denominator, eligible, excluded by reason, selected and the change counts) count everyone, as the
cohort does; the cohort step applies the case-finding opt-out rules as exclusion reasons. The
**planning** figures (planning_population and everything computed from the people: admissions,
LTCs, frailty, activity, top group) leave out the people with an opt-out that `optouts` names
(default: the national data opt-out only; a type 1 opt-out covers identifiable GP data leaving
the practice, and these aggregates are suppressed and not identifiable, so by default type 1
opt-outs count). A missing flag column means nobody has that opt-out. Each person left out is
counted once, under the first
applying reason in the order ndo_optout, type1_optout (`ndo_excluded`, `type1_excluded`), so
population = planning_population + ndo_excluded + type1_excluded: nobody is dropped silently.

Concentration of use (the Leeds seed's figures, nhs-data-conventions.md §10.2): the **top group**
of a unit is its top `top_fraction` (5 %) of people by risk, ranked over the **whole planning
population** of the unit (eligible or not, excluded or not) with the cohort's stable
tie-break key (`selection.tie_break_order`); its size is `selection.top_count`:
round-half-up(top_fraction x population) in exact integer arithmetic, so a neighbourhood of 40
people has a top group of 2. For each of emergency bed days, outpatient
attendances and active social care packages in the last 12 months we publish the share (%) used
by the top group, and GP appointments per person per year in the top group vs everyone.

Other figures: emergency admissions per 1,000 registered people, % with 3+ LTCs (a fixed 3, the
"complex multimorbidity" measure of clinical-definitions §3.2, independent of the cohort's
configurable route), % of people aged 65+ with moderate or severe frailty (>= 9 eFI deficits,
§1.2), cohort size and its % of the denominator.

Traps:
* Rates are computed from unrounded values and then suppressed; counts are suppressed last.
* People without a risk score sort last in the top-group ranking (never first).
* A neighbourhood whose people have all opted out still has its row (planning figures 0).
* `publishable_neighbourhoods` runs the guard in Python over the aggregate rows (a few hundred
  at most), so it executes `stats`; `neighbourhood_statistics` itself stays lazy.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Hashable, Sequence

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc

from npc_risk.cohort import EXCLUSION_REASONS, UNMAPPED, person_counts
from npc_risk.frailty import efi_at_least
from npc_risk.planning.disclosure import (
    Family,
    complementary_suppression,
    suppress_count_expr,
    suppress_rate_expr,
)
from npc_risk.schemas.outputs import NEIGHBOURHOODS
from npc_risk.selection import tie_break_order, top_count

TOP_FRACTION = 0.05
LTC_MULTIMORBID = 3  # "3 or more LTCs" (clinical-definitions §3.2)
FRAILTY_AGE = 65  # moderate or severe frailty: frailty.efi_at_least(deficits, "moderate")

LEVELS = ("neighbourhood", "lcp", "city")  # published, in this order
PART = "part"  # internal: a split neighbourhood's share of one LCP
CITY_KEY = "all"
CITY_NAME = "All neighbourhoods"

# Planning opt-outs: flag column -> count column, in the order a reason is assigned.
PLANNING_REMOVALS = {"ndo_optout": "ndo_excluded", "type1_optout": "type1_excluded"}
PLANNING_OPTOUTS = ("ndo_optout",)  # default: what the pipeline has always applied (§8)

# activity column in `patients` -> name stem in the statistics
CONCENTRATION = {
    "emergency_bed_days_12m": "emergency_bed_days",
    "outpatient_attendances_12m": "outpatient_attendances",
    "social_care_packages_active": "social_care_packages",
    "gp_appointments_12m": "gp_appointments",
}

CHANGE_COUNTS = ("entered", "left", "stayed", "previous_selected")
REPORT_COUNTS = (
    "population", "denominator", "cohort_target", "eligible", "eligible_ltc",
    "eligible_frailty", "eligible_hfrs", "excluded",
    *(f"excluded_{r}" for r in EXCLUSION_REASONS),
    "selected", *CHANGE_COUNTS,
)
STAT_COUNTS = (
    "planning_population", *PLANNING_REMOVALS.values(),
    "top_n", "emergency_admissions", "ltc3_plus", "aged_65_plus", "frail_65_plus",
    *CONCENTRATION.values(), *(f"top_{v}" for v in CONCENTRATION.values()),
)
# Counts that exist per neighbourhood only: summed over the neighbourhoods inside a unit.
PER_NEIGHBOURHOOD = ("cohort_target", *CHANGE_COUNTS)
# Counts of the unit's own top group: not sums of the children, so in no family.
TOP_GROUP = ("top_n", *(f"top_{v}" for v in CONCENTRATION.values()))
ADDITIVE = tuple(c for c in (*REPORT_COUNTS, *STAT_COUNTS) if c not in TOP_GROUP)
# counts of people over any grouping (sums of the parts)
PEOPLE_COUNTS = tuple(c for c in ADDITIVE if c not in PER_NEIGHBOURHOOD)

# published rate -> (numerator, denominator, scale)
RATES: dict[str, tuple[str, str, float]] = {
    "pct_selected_of_denominator": ("selected", "denominator", 100),
    "emergency_admissions_per_1000": ("emergency_admissions", "planning_population", 1000),
    "pct_ltc3_plus": ("ltc3_plus", "planning_population", 100),
    "pct_65_plus_moderate_severe_frailty": ("frail_65_plus", "aged_65_plus", 100),
    "gp_appointments_per_person": ("gp_appointments", "planning_population", 1),
    "gp_appointments_per_person_top": ("top_gp_appointments", "top_n", 1),
    **{f"pct_{stem}_top": (f"top_{stem}", stem, 100)
       for stem in ("emergency_bed_days", "outpatient_attendances", "social_care_packages")},
}
# (source, target): the target is derived from the source, so it is withheld with it
LINKS = (("denominator", "cohort_target"), ("planning_population", "top_n"))
# within-row partitions: parent -> children (all published columns)
ROW_FAMILIES = (
    ("population", ("planning_population", *PLANNING_REMOVALS.values())),
    ("excluded", tuple(f"excluded_{r}" for r in EXCLUSION_REASONS)),
    ("selected", ("entered", "stayed")),
    ("previous_selected", ("stayed", "left")),
)
OUTSIDE_DENOMINATOR = "_outside_denominator"  # hidden cell: population - denominator
INTERNAL = ("in_lcp",)
# The published columns, their order and the order of the levels (publish sorts by it) are
# declared in schemas/outputs.py; a figure computed here but not declared there (or the
# reverse) is a bug.
PUBLISHED_COLUMNS = NEIGHBOURHOODS.names
assert set(PUBLISHED_COLUMNS) == {"level", "neighbourhood", "neighbourhood_name", *REPORT_COUNTS,
                                  *STAT_COUNTS, *RATES}, "datapack and schemas/outputs.py disagree"
assert NEIGHBOURHOODS.column("level").order == LEVELS, "datapack and schemas/outputs.py disagree"
LEVEL_RANK = {level: rank for rank, level in enumerate((*LEVELS, PART))}


def _count(cond: ir.BooleanValue) -> ir.IntegerScalar:
    return cond.fill_null(False).cast("int64").sum()


def _total(col: ir.NumericValue) -> ir.IntegerScalar:
    return col.fill_null(0).sum().cast("int64")


def row_order(table: ir.Table) -> list:
    """Sort keys of the (internal or published) table: level, then neighbourhood key."""
    keys = [table.level.cases(*LEVEL_RANK.items(), else_=len(LEVEL_RANK)), table.neighbourhood]
    return keys + [table[c] for c in INTERNAL if c in table.columns]


# ------------------------------------------------------------------------------- statistics
def neighbourhood_statistics(
    patients: ir.Table,
    report: ir.Table,
    *,
    top_fraction: float = TOP_FRACTION,
    optouts: Collection[str] = PLANNING_OPTOUTS,
) -> ir.Table:
    """Unsuppressed counts (`level`, neighbourhood, neighbourhood_name, `REPORT_COUNTS`,
    `STAT_COUNTS`, in_lcp) for every level and part, in `row_order`.

    `patients` and `report` are `CohortResult.patients` and `CohortResult.report`; `optouts` are
    the opt-out flags applied to the planning figures (`OutputsConfig.planning.applied`).
    """
    unknown = sorted(set(optouts) - set(PLANNING_REMOVALS))
    if unknown:
        raise ValueError(f"unknown planning opt-out(s) {unknown}; use {list(PLANNING_REMOVALS)}")
    base = _with_planning_reason(patients, optouts)

    # Counts of people per (neighbourhood, LCP) pair: everything additive is summed from these.
    pairs = base.group_by(["neighbourhood", "_lcp"]).aggregate(
        **person_counts(base, with_target=False), **_planning_counts(base))
    nest = pairs.group_by("neighbourhood").aggregate(
        _n_lcp=pairs.count(), _only_lcp=pairs._lcp.min())
    include_lcp = (
        (pairs._lcp != UNMAPPED).any() & (pairs.neighbourhood != pairs._lcp).any()
    ).as_scalar()

    # neighbourhood rows: the cohort report + planning figures + top group
    hood = _sum_people(pairs, "neighbourhood").join(nest, "neighbourhood")
    hood = hood.drop(*[c for c in hood.columns if c in REPORT_COUNTS])
    hood = _left(report, hood, "neighbourhood")
    hood = _left(hood, _top_group(base, "neighbourhood", top_fraction), "neighbourhood")
    hood = hood.mutate(
        level=ibis.literal("neighbourhood"),
        in_lcp=ibis.ifelse(include_lcp & (hood._n_lcp == 1), hood._only_lcp, ibis.null("string")),
    )

    # LCP rows: people counts from the pairs, per-neighbourhood figures if the LCP is whole
    nested = report.join(nest.filter(nest._n_lcp == 1), "neighbourhood")
    lcp = _sum_people(pairs, "_lcp")
    touching = pairs.join(nest, "neighbourhood")
    lcp = _left(lcp, touching.group_by("_lcp").aggregate(_whole=(touching._n_lcp == 1).all()),
                "_lcp")
    lcp = _left(lcp, nested.group_by(_lcp=nested._only_lcp).aggregate(
        **{c: nested[c].sum().cast("int64") for c in PER_NEIGHBOURHOOD}), "_lcp")
    lcp = _left(lcp, _top_group(base, "_lcp", top_fraction), "_lcp")
    lcp = lcp.mutate(**{c: ibis.ifelse(lcp._whole, lcp[c], ibis.null("int64"))
                        for c in PER_NEIGHBOURHOOD})
    lcp = lcp.mutate(
        level=ibis.literal("lcp"), neighbourhood=lcp._lcp, neighbourhood_name=lcp._lcp,
        in_lcp=ibis.null("string")).filter(include_lcp)

    # city row
    city = pairs.aggregate(**{c: pairs[c].sum().cast("int64") for c in PEOPLE_COUNTS})
    city = city.cross_join(report.aggregate(
        **{c: report[c].sum().cast("int64") for c in PER_NEIGHBOURHOOD}))
    city = city.cross_join(_top_group(base, "_all", top_fraction).drop("_all"))
    city = city.mutate(level=ibis.literal("city"), neighbourhood=ibis.literal(CITY_KEY),
                       neighbourhood_name=ibis.literal(CITY_NAME), in_lcp=ibis.null("string"))

    # parts of split neighbourhoods (internal)
    split = pairs.join(nest.filter(nest._n_lcp > 1), "neighbourhood")
    split = split.join(report.select("neighbourhood", "neighbourhood_name"), "neighbourhood")
    part = split.mutate(
        level=ibis.literal(PART), in_lcp=split._lcp,
        **{c: ibis.null("int64") for c in (*PER_NEIGHBOURHOOD, *TOP_GROUP)}).filter(include_lcp)

    columns = ("level", "neighbourhood", "neighbourhood_name", *REPORT_COUNTS, *STAT_COUNTS,
               *INTERNAL)
    rows = [t.select(level=t.level.cast("string"), neighbourhood=t.neighbourhood.cast("string"),
                     neighbourhood_name=t.neighbourhood_name.cast("string"),
                     **{c: t[c].cast("int64") for c in (*REPORT_COUNTS, *STAT_COUNTS)},
                     in_lcp=t.in_lcp.cast("string")).select(*columns)
            for t in (hood, lcp, city, part)]
    stats = ibis.union(*rows)
    return stats.order_by(row_order(stats))


def planning_optout(patients: ir.Table, optouts: Collection[str]) -> ir.StringValue:
    """The first applied planning opt-out (PLANNING_REMOVALS order) that leaves a person out of
    the planning figures, or null. A missing flag column counts as nobody opted out. Published
    as patients.parquet's `planning_optout`, so the data packs count the same people."""
    branches = [
        (patients[flag].fill_null(False), flag)
        for flag in PLANNING_REMOVALS
        if flag in optouts and flag in patients.columns
    ]
    return ibis.cases(*branches, else_=ibis.null("string")) if branches else ibis.null("string")


def _with_planning_reason(patients: ir.Table, optouts: Collection[str]) -> ir.Table:
    """`_removed`: `planning_optout`; `_lcp`: the person's LCP (or `unmapped`); `_all`: one key
    for the city."""
    return patients.mutate(
        _removed=planning_optout(patients, optouts),
        _lcp=ibis.coalesce(patients.lcp_name.cast("string"), ibis.literal(UNMAPPED)),
        _all=ibis.literal(CITY_KEY),
    )


def _planning_counts(p: ir.Table) -> dict[str, ir.IntegerScalar]:
    """Planning figures of a group: counted over the people not left out by an opt-out."""
    keep = p._removed.isnull()
    return {
        "planning_population": _count(keep),
        **{column: _count(p._removed == flag) for flag, column in PLANNING_REMOVALS.items()},
        "emergency_admissions": _total(ibis.ifelse(keep, p.emergency_admissions_12m, 0)),
        "ltc3_plus": _count(keep & (p.ltc_count >= LTC_MULTIMORBID)),
        "aged_65_plus": _count(keep & (p.age >= FRAILTY_AGE)),
        "frail_65_plus": _count(
            keep & (p.age >= FRAILTY_AGE) & efi_at_least(p.efi_deficits, "moderate")
        ),
        **{stem: _total(ibis.ifelse(keep, p[column], 0)) for column, stem in CONCENTRATION.items()},
    }


def _sum_people(pairs: ir.Table, key: str) -> ir.Table:
    return pairs.group_by(key).aggregate(
        **{c: pairs[c].sum().cast("int64") for c in PEOPLE_COUNTS})


def _top_group(base: ir.Table, key: str, top_fraction: float) -> ir.Table:
    """Per `key`: top_n and each activity total of the unit's top group (module docstring)."""
    p = base.filter(base._removed.isnull())
    order = tie_break_order(p)  # the cohort's key; people without a score sort last
    p = p.mutate(
        _risk_position=(ibis.row_number().over(ibis.window(group_by=p[key], order_by=order))
                        + 1).cast("int64"),
        _top_n=top_count(p.patient_id.count().over(ibis.window(group_by=p[key])), top_fraction),
    )
    in_top = p._risk_position <= p._top_n
    return p.group_by(key).aggregate(
        top_n=p._top_n.max(),
        **{f"top_{stem}": _total(ibis.ifelse(in_top, p[column], 0))
           for column, stem in CONCENTRATION.items()},
    )


def _left(left: ir.Table, right: ir.Table, key: str) -> ir.Table:
    """Left join on `key`, keeping one key column; counts missing on the right are 0."""
    joined = left.left_join(right, key)
    extra = [c for c in right.columns if c != key]
    return joined.select(
        *[joined[c] for c in left.columns],
        **{c: (joined[c].fill_null(0) if c in STAT_COUNTS else joined[c]) for c in extra},
    )


# ------------------------------------------------------------------------------- publishing
def publishable_neighbourhoods(stats: ir.Table) -> ir.Table:
    """Suppressed planning table (the published levels only, in `row_order`).

    Every count via `suppress_count_expr` (null = suppressed, or no previous run for the change
    counts, or not defined for an LCP that cuts through a neighbourhood), every rate from the
    unrounded values via `suppress_rate_expr` (null = suppressed or undefined), one decimal
    place; then the differencing guard withholds the complementary cells (null) and every rate
    whose numerator or denominator is withheld.
    """
    raw = stats.order_by(row_order(stats)).to_pyarrow()
    s = ibis.memtable(raw.replace_schema_metadata(None))
    rates = {name: suppress_rate_expr(s[num], s[den], scale=scale)
             for name, (num, den, scale) in RATES.items()}
    figures = {c: suppress_count_expr(s[c]) for c in (*REPORT_COUNTS, *STAT_COUNTS)} | rates
    columns = {c: figures[c] if c in figures else s[c] for c in PUBLISHED_COLUMNS}  # declared order
    published = s.select(*INTERNAL, **columns)
    published = published.order_by(row_order(published)).to_pyarrow()

    rows = raw.to_pylist()
    withheld = differencing_guard(rows)
    keys = [_row_key(r) for r in rows]
    masked = {}
    for column in (*REPORT_COUNTS, *STAT_COUNTS):
        masked[column] = [(*k, column) in withheld for k in keys]
    for name, (num, den, _) in RATES.items():
        masked[name] = [a or b for a, b in zip(masked[num], masked[den], strict=True)]
    for column, mask in masked.items():
        index = published.column_names.index(column)
        values = published.column(column)
        published = published.set_column(
            index, column, pc.if_else(pa.array(mask), pa.nulls(len(mask), values.type), values))
    published = published.filter(pc.is_in(published.column("level"), pa.array(LEVELS)))
    published = published.drop_columns(list(INTERNAL)).replace_schema_metadata(None)
    return ibis.memtable(published)


def _row_key(row: dict) -> tuple[str, str, str]:
    return (row["level"], row["neighbourhood"], row["in_lcp"] or "")


def differencing_guard(rows: Sequence[dict]) -> set[tuple[Hashable, ...]]:
    """The cells (row key + column) to withhold for `rows` of `neighbourhood_statistics`:
    primary (1-7) and complementary (suppression.complementary_suppression), built from the
    families and links listed in the module docstring. Row key = (level, neighbourhood, in_lcp
    or "")."""
    values: dict[tuple, int] = {}
    hidden: set[tuple] = set()
    families: list[Family] = []
    links: list[tuple[tuple, tuple]] = []
    by_level: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_level[row["level"]].append(row)
        key = _row_key(row)
        for column in (*REPORT_COUNTS, *STAT_COUNTS):
            if row[column] is not None:
                values[(*key, column)] = int(row[column])
                if row["level"] == PART:
                    hidden.add((*key, column))
        outside = (*key, OUTSIDE_DENOMINATOR)
        values[outside] = int(row["population"]) - int(row["denominator"])
        hidden.add(outside)
        families.append(Family((*key, "population"), ((*key, "denominator"), outside)))
        for parent, children in ROW_FAMILIES:
            families.append(Family((*key, parent), tuple((*key, c) for c in children)))
        links.extend(((*key, a), (*key, b)) for a, b in LINKS)

    city = [_row_key(r) for r in by_level["city"]]
    hoods = [_row_key(r) for r in by_level["neighbourhood"]]
    lcps = [_row_key(r) for r in by_level["lcp"]]
    groups: list[tuple[tuple, list[tuple]]] = []  # (parent row, child rows)
    if city:
        groups.append((city[0], hoods))
        if lcps:
            groups.append((city[0], lcps))
    lcp_children: dict[str, list[tuple]] = defaultdict(list)
    split_children: dict[str, list[tuple]] = defaultdict(list)
    for row in by_level["neighbourhood"]:
        if row["in_lcp"] is not None:
            lcp_children[row["in_lcp"]].append(_row_key(row))
    for row in by_level[PART]:
        lcp_children[row["in_lcp"]].append(_row_key(row))
        split_children[row["neighbourhood"]].append(_row_key(row))
    groups.extend((key, lcp_children[key[1]]) for key in lcps)
    groups.extend((key, split_children[key[1]]) for key in hoods if split_children[key[1]])
    for parent, children in groups:
        for column in ADDITIVE:
            cells = [(*parent, column), *((*c, column) for c in children)]
            if all(cell in values for cell in cells):
                families.append(Family(cells[0], tuple(cells[1:])))
    # a family is only an identity if all its cells exist (change counts: previous run only)
    families = [f for f in families if all(c in values for c in (f.parent, *f.children))]
    links = [(a, b) for a, b in links if a in values and b in values]
    return complementary_suppression(values, families, hidden=hidden, links=links)
