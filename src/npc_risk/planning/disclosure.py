"""Small-number suppression for planning outputs (nhs-data-conventions.md §7).

The rule, for every count published below ICB level (neighbourhood data packs, the printed run
summary):

* 0 stays 0;
* 1-7 is suppressed (`None` in Python, null in ibis/Parquet, `*` when printed);
* 8 and above is rounded to the nearest multiple of 5. For integers there is never a tie
  (n / 5 is never x.5), so 8 -> 10, 12 -> 10, 13 -> 15: `5 * ((n + 2) // 5)`.

Rates, percentages and shares are computed from the **unrounded** numerator and denominator, and
suppressed when either of them is 1-7 (HES/ECDS convention). A zero denominator gives no rate
(`None`/null) because the rate is undefined, not because it is disclosive.

Each rule exists twice: a pure-Python function (the reference, used for printed tables and spec
tests) and an ibis expression builder (used on the engine for Parquet outputs). The spec tests
check that the two agree.

Traps:
* Suppress *after* every derived value has been computed from the unrounded counts; never compute
  a rate from rounded counts (12 / 13 is 0.92, 10 / 15 is 0.67).
* Publishing a rate at full float precision next to a rounded denominator can give the exact
  numerator back (pct 33.333... of about 30 people is 10 of 30). `RATE_DECIMALS` limits published
  precision; callers round with it.
* Counts of activity (bed days, appointments) are treated like counts of people: HES suppresses
  episode counts by the same rule.
* Case-finding lists for a practice are identifiable direct-care outputs, not publications, and are
  never suppressed (§7 last paragraph).

Guard against differencing (complementary suppression, `complementary_suppression`)
-----------------------------------------------------------------------------------
Published tables also carry totals (LCP and city rows beside the neighbourhood rows) and
breakdowns (e.g. `excluded` = the sum of `excluded_<reason>`). A **family** is one such identity,
parent = sum of children. If exactly one cell of a family is hidden, it can be recovered by
subtraction: city total - the published neighbourhoods = the suppressed neighbourhood. Rounding
to 5 alone does not stop this: each published cell is within 2 of its true value, so with few
children the difference bounds the hidden 1-7 cell tightly (parent 20, the one published child
10: the hidden child is 6-14 by the arithmetic, 6 or 7 once we know it was suppressed).

The rule, applied to every count column of every family until nothing changes:

* a cell is **withheld** when it is 1-7 (primary suppression), or chosen below;
* if exactly one cell of a family is withheld and it is a child, also withhold the **smallest
  other non-zero child** (ties broken by the child's key, so reruns agree); if there is no such
  child the parent equals the withheld child, so withhold the parent;
* if exactly one cell of a family is withheld and it is the parent (itself withheld as a
  complement elsewhere), withhold its smallest non-zero child, or the parent could be re-added
  from its published children;
* `links` (source, target): when the source is withheld so is the target (a figure derived from
  it, e.g. a cohort target is 2.5 % of a denominator); the families are checked again.

So, once stable, no family has exactly one withheld cell: every family with a withheld cell has
two or more, and no single subtraction recovers a suppressed value. In a hierarchy in which each
level partitions the one above (neighbourhood -> LCP -> city, with the city also the sum of the
neighbourhoods) that is also enough against chains of subtractions: the withheld cells of every
family lie on a cycle of families, so none is determined by the published values.

Cells may be **hidden** (not published at all, e.g. the part of a PCN that lies in one LCP when
PCNs cut across LCPs): a hidden cell counts as withheld only if it is 1-7 (it must stay
unrecoverable) or once chosen as a complement; otherwise it is assumed known, the cautious
choice, since it can often be worked out from other families.

When the levels do not nest (a PCN split between two LCPs), a chain of subtractions through
the hidden parts can still pin a withheld cell down although no single family has one withheld
cell (city - LCP 1 = LCP 0 + LCP 2 = the split PCN). So once the rule above is stable an exact
**audit** follows: with the withheld cells as unknowns and every other cell known, linear
algebra over all the family equations finds any withheld cell (published, or hidden and 1-7)
whose value is fixed; for the first, the smallest non-zero known cell used by one combination of
families that fixes it is withheld too, and the rule and the audit run again until neither
changes anything. In nested hierarchies the audit never adds a cell (the property test checks
both).

Complements are not 0 (a published 0 is exact and adds no uncertainty, and a withheld 0 would
read as 1-7); the one exception is a parent withheld by a link whose children are all 0. The
guard works on exact counts; rounding adds more uncertainty on top. A complement of 8 beside a
1-7 cell can still leave a narrow range when their sum is small; the HES methodology dropped
secondary suppression for being error-prone, so we keep it simple, deterministic and checked by
a property test (tests/generative/test_differencing.py) instead.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Hashable, Iterable, Mapping
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import numpy as np

SMALL_MIN = 1
SMALL_MAX = 7  # counts 1..7 are suppressed (HES/ECDS rule since Sep 2018)
ROUND_TO = 5
RATE_DECIMALS = 1  # published rates/percentages: one decimal place (see module trap)
SUPPRESSED_MARK = "*"


# ---------------------------------------------------------------------------------- pure Python
def is_small(n: int | None) -> bool:
    """True when `n` is a disclosive small number (1-7)."""
    return n is not None and SMALL_MIN <= n <= SMALL_MAX


def suppress_count(n: int | None) -> int | None:
    """0 -> 0, 1-7 -> None (suppressed), >= 8 -> nearest multiple of 5; None stays None.

    Raises ValueError for a negative count (a bug upstream, not something to publish).
    """
    if n is None:
        return None
    n = int(n)
    if n < 0:
        raise ValueError(f"a count cannot be negative, got {n}")
    if is_small(n):
        return None
    return ROUND_TO * ((n + 2) // ROUND_TO)


def suppress_rate(
    numerator: int | float | None, denominator: int | float | None, *, scale: float = 1.0
) -> float | None:
    """`numerator / denominator * scale` from unrounded values, or None.

    None when either value is missing or 1-7, or when the denominator is 0 (undefined). The result
    is not rounded here; round it with `RATE_DECIMALS` when publishing.
    """
    if numerator is None or denominator is None or denominator == 0:
        return None
    if is_small(numerator) or is_small(denominator):
        return None
    return numerator / denominator * scale


def display_suppressed(value, fmt: str = "", *, suffix: str = ""):
    """How an already-suppressed value is shown, the one spelling of the mark: `*` for None
    (withheld), else the value itself (JSON, e.g. the model card) or, given `fmt`, the value
    formatted with it and `suffix` appended (printed tables: `display_suppressed(1235, ",")` is
    "1,235", `display_suppressed(None, ",")` is "*")."""
    if value is None:
        return SUPPRESSED_MARK
    return f"{value:{fmt}}{suffix}" if fmt else value


# ------------------------------------------------------------------------- differencing guard
@dataclass(frozen=True)
class Family:
    """One additive identity of a published table: `parent` = sum of `children` (cell keys)."""

    parent: Hashable
    children: tuple[Hashable, ...]


def complementary_suppression(
    values: Mapping[Hashable, int],
    families: Iterable[Family],
    *,
    hidden: Collection[Hashable] = (),
    links: Iterable[tuple[Hashable, Hashable]] = (),
) -> set[Hashable]:
    """The cells to withhold: primary (1-7) plus complements (module docstring).

    `values` holds the true, unrounded value of every cell named in `families` and `links`
    (cell keys must be mutually orderable, e.g. tuples of strings: they break ties). `hidden`
    cells are never published; they are returned only if they must stay unknown. Raises
    ValueError (naming the parent cell, never a value) when a family does not add up.
    """
    families = tuple(f for f in families if f.children)
    links = tuple(links)
    for family in families:
        if values[family.parent] != sum(values[c] for c in family.children):
            raise ValueError(f"cell {family.parent!r} is not the sum of its {len(family.children)} "
                             "children; the totals are inconsistent (a bug upstream)")
    hidden = set(hidden)
    withheld = {cell for cell, value in values.items() if is_small(value)}
    while True:
        changed = True
        while changed:
            changed = False
            for source, target in links:
                if source in withheld and target not in withheld:
                    withheld.add(target)
                    changed = True
            for family in families:
                members = (family.parent, *family.children)
                unknown = [c for c in members if c in withheld]
                if len(unknown) != 1:
                    continue
                withheld.add(_complement(family, withheld, values))
                changed = True
        extra = _audit(values, families, withheld, hidden)
        if extra is None:
            return withheld
        withheld.add(extra)


@dataclass(frozen=True)
class AreaRate:
    """One published row of a practice -> neighbourhood -> city rate table."""

    level: str  # "practice" | "neighbourhood" | "city"
    area: str
    area_name: str
    denominator: int | None  # suppressed and rounded (None when withheld)
    numerator: int | None
    rate: float | None  # numerator / denominator x scale, RATE_DECIMALS; None when either is withheld
    suppressed: bool


def area_rates(rows: Iterable[tuple[str, str, str, int, int]], scale: int) -> list[AreaRate]:
    """A rate by practice, neighbourhood and city under the one disclosure rule.

    `rows` are (practice_code, neighbourhood, neighbourhood_name, denominator, numerator) with the
    true counts; a practice may appear in several rows. The levels add up (practice -> neighbourhood
    -> city) for both counts, so complements are withheld across them. Rates come from the unrounded
    counts and are dropped where either count is withheld. Sorted by (level, area)."""
    cells: dict[tuple, int] = defaultdict(int)
    names: dict[tuple, str] = {("city", "all"): "all"}
    children: dict[tuple, set] = defaultdict(set)
    for practice, hood, hood_name, denominator, numerator in rows:
        practice, hood = str(practice), str(hood)
        for measure, value in (("n", int(denominator)), ("m", int(numerator))):
            cells[("practice", practice, measure)] += value
            cells[("neighbourhood", hood, measure)] += value
            cells[("city", "all", measure)] += value
            children[("neighbourhood", hood, measure)].add(("practice", practice, measure))
            children[("city", "all", measure)].add(("neighbourhood", hood, measure))
        names[("practice", practice)] = practice
        names[("neighbourhood", hood)] = str(hood_name)
    families = [Family(parent, tuple(sorted(kids))) for parent, kids in sorted(children.items())]
    withheld = complementary_suppression(dict(cells), families)
    out = []
    for level, area in sorted({(k[0], k[1]) for k in cells}):
        n, m = (level, area, "n"), (level, area, "m")
        hidden = n in withheld or m in withheld
        rate = None if hidden or cells[n] == 0 else round(cells[m] / cells[n] * scale, RATE_DECIMALS)
        out.append(AreaRate(level, area, names[(level, area)],
                            None if n in withheld else suppress_count(cells[n]),
                            None if m in withheld else suppress_count(cells[m]), rate, hidden))
    return out


def _complement(family: Family, withheld: set[Hashable],
                values: Mapping[Hashable, int]) -> Hashable:
    """The cell to withhold beside a family's single withheld cell (see the module docstring)."""
    def smallest(cells):
        return min(cells, key=lambda c: (values[c], c))

    others = [c for c in family.children if c not in withheld]
    non_zero = [c for c in others if values[c] > 0]
    if non_zero:
        return smallest(non_zero)
    if family.parent not in withheld:  # the one withheld child equals the parent
        return family.parent
    # A withheld parent (e.g. by a link) whose published children are all 0: hide a zero child.
    return smallest(others)


def _audit(values: Mapping[Hashable, int], families: tuple[Family, ...], withheld: set[Hashable],
           hidden: set[Hashable]) -> Hashable | None:
    """A cell to withhold because a chain of families still pins a withheld cell down, or None.

    Exact linear algebra over the family equations, the withheld cells being the unknowns and
    every other cell known: a withheld cell is determined when every solution gives it the same
    value (its row of the null space is zero). For the first determined cell that matters (a
    published cell, or a 1-7 hidden one) we take one combination of families that yields it
    and withhold the smallest non-zero known cell with a non-zero coefficient in it.
    """
    touching = [f for f in families if any(c in withheld for c in (f.parent, *f.children))]
    for component in _components(touching, withheld):
        found = _audit_component(values, component, withheld, hidden)
        if found is not None:
            return found
    return None


def _components(families: list[Family], withheld: set[Hashable]) -> list[list[Family]]:
    """The families split into groups that share no withheld cell: their equations are
    independent, so each group's unknowns can be solved on their own (a few small SVDs instead of
    one large one; the answer is the same). Groups in order of their first family."""
    parent = list(range(len(families)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[Hashable, int] = {}
    for i, family in enumerate(families):
        for cell in (family.parent, *family.children):
            if cell in withheld:
                j = first.setdefault(cell, i)
                parent[find(i)] = find(j)
    groups: dict[int, list[Family]] = {}
    for i, family in enumerate(families):
        groups.setdefault(find(i), []).append(family)
    return list(groups.values())


def _audit_component(values: Mapping[Hashable, int], touching: list[Family], withheld: set[Hashable],
                     hidden: set[Hashable]) -> Hashable | None:
    """`_audit` on one group of families that shares no withheld cell with the others."""
    unknown = sorted({c for f in touching for c in (f.parent, *f.children) if c in withheld})
    known = sorted({c for f in touching for c in (f.parent, *f.children) if c not in withheld})
    col = {c: i for i, c in enumerate(unknown)}
    kcol = {c: i for i, c in enumerate(known)}
    a = np.zeros((len(touching), len(unknown)))
    b = np.zeros((len(touching), len(known)))
    for r, family in enumerate(touching):
        for cell, sign in ((family.parent, 1.0), *((c, -1.0) for c in family.children)):
            if cell in col:
                a[r, col[cell]] += sign
            else:
                b[r, kcol[cell]] += sign
    # The null space of `a` is that of the small symmetric aᵀa (unknowns x unknowns), whose
    # eigen-decomposition is far cheaper than an SVD of `a` (families x unknowns) and gives the
    # pseudo-inverse for free: a combination c with aᵀc = e_j (cell j determined) is a (aᵀa)⁺ e_j.
    # Entries of `a` are small integers, so zero eigenvalues are zero to ~1e-12.
    eigenvalues, vectors = np.linalg.eigh(a.T @ a)
    tolerance = 1e-8 * max(1.0, float(eigenvalues.max(initial=0.0)))
    zero = eigenvalues <= tolerance
    null = vectors[:, zero].T
    inverse = np.where(zero, 0.0, 1.0 / np.where(zero, 1.0, eigenvalues))
    for cell in unknown:
        if cell in hidden and not is_small(values[cell]):
            continue
        if null.size and np.abs(null[:, col[cell]]).max() > 1e-9:
            continue
        combination = a @ (vectors @ (vectors[col[cell]] * inverse))
        weights = b.T @ combination
        involved = [c for c in known if abs(weights[kcol[c]]) > 1e-9]
        non_zero = [c for c in involved if values[c] > 0]
        if non_zero or involved:
            return min(non_zero or involved, key=lambda c: (values[c], c))
    return None


# ------------------------------------------------------------------------------- ibis expressions
def _is_small_expr(value: ir.NumericValue) -> ir.BooleanValue:
    return (value >= SMALL_MIN) & (value <= SMALL_MAX)


def suppress_count_expr(n: ir.IntegerValue) -> ir.IntegerValue:
    """ibis version of `suppress_count`: null for 1-7, nearest 5 otherwise, null stays null.

    Works on any backend: integer floor division of a non-negative value is the same on DuckDB
    and Spark.
    """
    n = n.cast("int64")
    rounded = ((n + 2) // ROUND_TO) * ROUND_TO
    return ibis.ifelse(_is_small_expr(n), ibis.null("int64"), rounded.cast("int64"))


def suppress_rate_expr(
    numerator: ir.NumericValue,
    denominator: ir.NumericValue,
    *,
    scale: float = 1.0,
    decimals: int | None = RATE_DECIMALS,
) -> ir.FloatingValue:
    """ibis version of `suppress_rate`, rounded to `decimals` (None: unrounded) for publishing."""
    num = numerator.cast("float64")
    den = denominator.cast("float64")
    rate = num / den * scale
    if decimals is not None:
        rate = rate.round(decimals)
    hidden = (
        numerator.isnull()
        | denominator.isnull()
        | (den == 0)
        | _is_small_expr(num)
        | _is_small_expr(den)
    )
    return ibis.ifelse(hidden, ibis.null("float64"), rate)
