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
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

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


def display_count(n: int | None) -> str:
    """A count as printed: `*` for 1-7, `-` for missing, else rounded with thousands commas."""
    if n is None:
        return "-"
    value = suppress_count(n)
    return SUPPRESSED_MARK if value is None else f"{value:,}"


def display_rate(
    numerator: int | float | None,
    denominator: int | float | None,
    *,
    scale: float = 1.0,
    suffix: str = "",
) -> str:
    """A suppressed rate as printed: `*` when suppressed, `-` when undefined (zero denominator)."""
    if numerator is None or denominator is None or denominator == 0:
        return "-"
    value = suppress_rate(numerator, denominator, scale=scale)
    if value is None:
        return SUPPRESSED_MARK
    return f"{value:.{RATE_DECIMALS}f}{suffix}"


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
