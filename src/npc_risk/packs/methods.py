"""Public-health statistics for the neighbourhood data packs (respiratory-and-packs.md §9.2).

The methods are those of the OHID Fingertips profiles as coded in PHEindicatormethods
(`ukhsa-collaboration/PHEindicatormethods`: R/utils.R, R/Rates.R, R/Proportions.R, R/DSR.R,
R/ISRatio.R, R/Funnels.R), written afresh in Python and checked against that package's test data
(tests/unit/test_pack_methods.py). Plain functions over plain numbers: callers aggregate first.

| statistic | function | confidence limits |
|---|---|---|
| count | `count_limits` | exact Poisson (chi-squared) below 10 events, Byar's from 10 |
| crude rate x/n | `crude_rate` | `count_limits(x) / n` |
| proportion x/n | `wilson` | Wilson score |
| DSR | `dsr` | Dobson (Byar's on the total count); withheld below 10 events |
| ISR / SAR O/E | `isr` | `count_limits(O) / E` |
| funnel lines | `proportion_funnel`, `ratio_funnel`, `rate_funnel` | Wilson-type / exact Poisson |

Every statistic comes back as an `Estimate` (value, lower, upper) on the caller's scale
(`multiplier`); None means withheld (a DSR on fewer than 10 events) or undefined (a zero
denominator). `significance` compares an estimate with a comparator on the same scale;
`funnel_significance` labels a funnel-plot point as PHE does.

Traps:
* Confidence is a fraction (0.95, 0.998), never a percentage. Limits are two-sided, so 0.998 puts
  0.001 in each tail (PHE's "3 sigma" funnel lines) and 0.95 puts 0.025.
* The exact/Byar switch is at 10 events (PHE): 9 events get exact limits, 10 get Byar's. The step
  is real and small (95 % limits for 10 events: exact 4.795-18.390, Byar 4.787-18.391).
* Funnel lines use exact Poisson limits at every count, but a point's significance uses
  `count_limits` (Byar's from 10), as PHEindicatormethods does; a point a hair's breadth from a
  line can be drawn on one side of it and labelled as on the other.
* Compute rates, DSRs and ISRs from unrounded counts (§9.5); round only what is displayed.
"""

from __future__ import annotations

import bisect
import csv
import functools
import io
import math
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from scipy.optimize import brentq
from scipy.stats import chi2, norm

from npc_risk.manifest import read_packaged

EXACT_BELOW = 10  # counts below this get exact Poisson limits, from here Byar's (PHE; §9.2)
DSR_MIN_EVENTS = 10  # no DSR, and no DSR funnel point, on fewer events (§9.2, §9.5)
FUNNEL_CONFIDENCES = (0.95, 0.998)  # PHE's two funnel lines: 0.025 and 0.001 in each tail

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Band:
    """One band of a standard population: its label, lower age bound (years) and weight."""

    age_band: str
    lower_age: int
    weight: int


@dataclass(frozen=True)
class Estimate:
    """A statistic and its confidence limits, all on one scale; all None when withheld or undefined."""

    value: float | None
    lower: float | None
    upper: float | None


NOT_AVAILABLE = Estimate(None, None, None)


# ------------------------------------------------------------------ European Standard Population
@functools.cache
def esp2013() -> tuple[Band, ...]:
    """The European Standard Population 2013 (§9.3): 19 bands 0-4 ... 85-89, 90+, total 100,000.

    Read from the packaged `npc_risk/data/packs/esp2013.csv` once its manifest hash has passed.
    """
    rows = csv.DictReader(io.StringIO(read_packaged("packs", "esp2013.csv")))
    return tuple(Band(row["age_band"], int(row["lower_age"]), int(row["weight"])) for row in rows)


def esp_band(age: int) -> str:
    """The ESP 2013 band of an age in whole years: 0-4 -> "0-4", ..., 90 and over -> "90+"."""
    if age < 0:
        raise ValueError(f"age must be >= 0, got {age}")
    bands = esp2013()
    return bands[bisect.bisect_right([band.lower_age for band in bands], age) - 1].age_band


# ------------------------------------------------------------------------------ count limits
@functools.cache  # scipy's ppf costs ~0.4 ms a call; a pack asks for two values thousands of times
def z(confidence: float) -> float:
    """The two-sided standard normal quantile: 1.959964 at 0.95, 3.090232 at 0.998."""
    _check_confidence(confidence)
    return float(norm.ppf(0.5 + confidence / 2))


def byar_limits(x: float, confidence: float = 0.95) -> tuple[float, float]:
    """Byar's approximate Poisson limits for a count (Breslow & Day 1987; §9.2; PHE byars_*).

    lower = x(1 - 1/(9x) - z/(3 sqrt(x)))^3, upper = (x+1)(1 - 1/(9(x+1)) + z/(3 sqrt(x+1)))^3.
    The lower limit is 0 at x = 0 and wherever the cube goes negative (a few events at high
    confidence, where PHE returns NA); `count_limits` only uses Byar's from 10 events, where it
    is positive at any confidence up to 0.9999.
    """
    _check_count(x)
    q = z(confidence)
    lower = 0.0 if x == 0 else x * (1 - 1 / (9 * x) - q / (3 * math.sqrt(x))) ** 3
    y = x + 1
    upper = y * (1 - 1 / (9 * y) + q / (3 * math.sqrt(y))) ** 3
    return max(lower, 0.0), upper


def exact_poisson_limits(x: float, confidence: float = 0.95) -> tuple[float, float]:
    """Exact Poisson limits for a count from chi-squared quantiles (§9.2).

    lower = chi2(a/2; 2x)/2 (0 when x = 0), upper = chi2(1 - a/2; 2x + 2)/2, a = 1 - confidence.
    x need not be whole: the funnel functions solve for the count that lies on a funnel line.
    """
    _check_count(x)
    _check_confidence(confidence)
    tail = (1 - confidence) / 2
    lower = 0.0 if x == 0 else float(chi2.ppf(tail, 2 * x)) / 2
    return lower, float(chi2.ppf(1 - tail, 2 * x + 2)) / 2


def count_limits(x: float, confidence: float = 0.95) -> tuple[float, float]:
    """Limits for a Poisson count as PHE sets them: exact below 10 events, Byar's from 10 (§9.2)."""
    return exact_poisson_limits(x, confidence) if x < EXACT_BELOW else byar_limits(x, confidence)


# -------------------------------------------------------------------------------- statistics
def crude_rate(x: float, n: float, *, multiplier: float = 1000, confidence: float = 0.95) -> Estimate:
    """x events over a denominator n, per `multiplier`, limits `count_limits(x) / n` (§9.2).

    Undefined (NOT_AVAILABLE) when n = 0.
    """
    _check_count(x)
    _check_count(n, what="a denominator")
    if n == 0:
        return NOT_AVAILABLE
    lower, upper = count_limits(x, confidence)
    return Estimate(x / n * multiplier, lower / n * multiplier, upper / n * multiplier)


def wilson(x: float, n: float, *, multiplier: float = 100, confidence: float = 0.95) -> Estimate:
    """The proportion x/n (x <= n), per `multiplier`, with Wilson score limits (§9.2; PHE wilson_*).

    limits = (2x + z^2 -/+ z sqrt(z^2 + 4x(1 - p))) / (2(n + z^2)), p = x/n; mathematically within
    [0, 1] and around p, and clamped so rounding keeps them so (at x = 0 and x = n). Undefined
    (NOT_AVAILABLE) when n = 0.
    """
    _check_count(x)
    _check_count(n, what="a denominator")
    if x > n:
        raise ValueError(f"a proportion needs x <= n, got x={x}, n={n}")
    if n == 0:
        return NOT_AVAILABLE
    q = z(confidence)
    p = x / n
    centre, spread = 2 * x + q**2, q * math.sqrt(q**2 + 4 * x * (1 - p))
    lower = max(0.0, min(p, (centre - spread) / (2 * (n + q**2))))
    upper = min(1.0, max(p, (centre + spread) / (2 * (n + q**2))))
    return Estimate(p * multiplier, lower * multiplier, upper * multiplier)


def dsr(rows: Iterable[tuple[float, float, float]], *, multiplier: float = 100_000,
        confidence: float = 0.95) -> Estimate:
    """A directly standardised rate with Dobson limits (§9.2; PHE phe_dsr / calculate_dsr).

    `rows` are (x_i events, n_i population, w_i standard weight), one per band, e.g. the 19 ESP
    2013 bands of `esp2013()`:

        DSR = sum(x_i w_i / n_i) / sum(w_i) * multiplier
        var = sum(x_i (w_i / n_i)^2) / sum(w_i)^2,   O = sum(x_i)
        limit = DSR + sqrt(var / O) * (Byar(O) - O) * multiplier   (Dobson et al., Stat Med 1991)

    Withheld (NOT_AVAILABLE) when O < 10: PHE publishes no DSR on so few events (§9.2, §9.5).
    A band with n_i = 0 (no one of that age in the neighbourhood) contributes 0 to the rate and
    its variance but keeps its weight in sum(w_i), i.e. counts as a rate of 0; PHE's phe_dsr
    refuses such a band instead. Events in a band of population 0 are inconsistent data and
    raise ValueError. The lower limit is clamped at 0: with a few events in a band of tiny
    population and large weight (a handful of people aged 90+) Dobson's formula can go negative.
    """
    weights = events = weighted = squared = 0.0
    for x, n, w in rows:
        _check_count(x)
        _check_count(n, what="a population")
        _check_count(w, what="a standard weight")
        weights += w
        events += x
        if n == 0:
            if x > 0:
                raise ValueError(f"{x} events in a band of population 0; the events and the "
                                 "population must come from the same people")
            continue
        weighted += x * w / n
        squared += x * (w / n) ** 2
    if weights == 0:
        raise ValueError("the standard weights sum to 0; pass one weight per band (esp2013())")
    if events < DSR_MIN_EVENTS:
        return NOT_AVAILABLE
    value = weighted / weights * multiplier
    step = math.sqrt(squared / weights**2 / events) * multiplier
    low_count, high_count = byar_limits(events, confidence)
    return Estimate(value, max(0.0, value + step * (low_count - events)), value + step * (high_count - events))


def expected_events(ref_rates_by_stratum: Mapping[K, float], population_by_stratum: Mapping[K, float]) -> float:
    """E = sum over strata of r_s(reference) * n_s: the events the population would have at the
    reference rates (§9.2). Rates are per head (events / population, no multiplier).

    Every stratum with population needs a reference rate: a missing one raises ValueError
    rather than counting as 0. Reference strata the population lacks add nothing.
    """
    missing = [s for s in population_by_stratum if s not in ref_rates_by_stratum]
    if missing:
        raise ValueError(f"no reference rate for {len(missing)} strata, e.g. {missing[0]!r}")
    return sum(ref_rates_by_stratum[s] * n for s, n in population_by_stratum.items())


def isr(observed: float, expected: float, *, multiplier: float = 100, confidence: float = 0.95) -> Estimate:
    """An indirectly standardised ratio O/E per `multiplier` (100: an SAR/SMR; §9.2, PHE ISRatio).

    Limits `count_limits(O) / E`: exact chi-squared below 10 events, Byar's from 10. This is the
    statistic of `crude_rate` with E as the denominator, so it is computed by it (one rule).
    Undefined (NOT_AVAILABLE) when E = 0.
    """
    return crude_rate(observed, expected, multiplier=multiplier, confidence=confidence)


def excess_events(observed: float, expected: float) -> float:
    """O - E, the events above (or, negative, below) what the reference rates predict (§9.2 [D])."""
    return observed - expected


# ---------------------------------------------------------------------------------- funnels
def pooled(numerators: Iterable[float], denominators: Iterable[float]) -> float:
    """A funnel's centre line: sum of numerators / sum of denominators over all units (PHE `av`)."""
    total_x, total_n = sum(numerators), sum(denominators)
    if total_n <= 0:
        raise ValueError("the denominators sum to 0; a funnel needs at least one populated unit")
    return total_x / total_n


def proportion_funnel(pooled_proportion: float, n: float, *, confidence: float = 0.95,
                      multiplier: float = 100) -> tuple[float, float]:
    """Funnel limits for a proportion at denominator n around the pooled proportion (0-1).

    p +/- z sqrt(p(1 - p)/n), clamped to [0, multiplier]. PHE's `sigma_adjustment` (R/Funnels.R)
    computes a longer closed form that simplifies to exactly this: the proportions whose Wilson
    interval just reaches p. So a unit lies outside the funnel exactly when its `wilson` interval
    excludes p (`significance`). PHE clamps to [0, 100] whatever the multiplier; here the
    clamp follows the multiplier (the same at 100).
    """
    if not 0 <= pooled_proportion <= 1:
        raise ValueError(f"the pooled proportion is a fraction in [0, 1], got {pooled_proportion}")
    if not n > 0:
        raise ValueError(f"a funnel denominator must be > 0, got {n}")
    half = z(confidence) * math.sqrt(pooled_proportion * (1 - pooled_proportion) / n)
    return (max(0.0, pooled_proportion - half) * multiplier,
            min(1.0, pooled_proportion + half) * multiplier)


def ratio_funnel(expected: float, *, confidence: float = 0.95, multiplier: float = 100) -> tuple[float, float]:
    """Funnel limits for an indirectly standardised ratio (centre 1 * multiplier) at expected E.

    PHE (R/Funnels.R `calculate_funnel_limits`, statistic "ratio", with `poisson_funnel` in
    R/utils.R) draws each line through the points (E, O/E) at which O's exact Poisson interval
    just touches E: the upper line where O's lower limit equals E, the lower line where O's upper
    limit equals E. PHE steps through whole counts O and finds E by bisection; here E is given and
    the count solved for (the limits are continuous in O), so the line passes through every PHE
    point and is defined between them. The lower line is 0 while E is at most the upper limit of
    0 events (-ln(0.025) = 3.69 at 95 %): no count that small could be significantly low.
    """
    if not expected > 0:
        raise ValueError(f"a funnel's expected count must be > 0, got {expected}")
    low = _count_on_limit(expected, confidence, side=1)
    high = _count_on_limit(expected, confidence, side=0)
    return low / expected * multiplier, high / expected * multiplier


def rate_funnel(pooled_rate: float, n: float, *, confidence: float = 0.95,
                multiplier: float = 1000) -> tuple[float, float]:
    """Funnel limits for a crude rate at denominator n around the pooled rate, per `multiplier`.

    `pooled_rate` is events per unit of denominator, unscaled (`pooled`). The ratio funnel at the
    expected count E = pooled_rate * n, scaled by the pooled rate: PHE's "rate" funnels
    (R/Funnels.R) take the same Poisson points and divide E by the pooled rate to get the
    population. PHE's x axis is the population per year (its `years_of_data`); n here is the
    whole denominator (person-years), so divide by the years to plot on PHE's axis. DSRs go on a
    rate funnel at `dsr_funnel_denominator`.
    """
    if not pooled_rate > 0:
        raise ValueError(f"a rate funnel needs a pooled rate > 0, got {pooled_rate}")
    low, high = ratio_funnel(pooled_rate * n, confidence=confidence, multiplier=1)
    return low * pooled_rate * multiplier, high * pooled_rate * multiplier


def dsr_funnel_denominator(observed: float, dsr_value: float | None, *,
                           multiplier: float = 100_000) -> float | None:
    """Where a DSR sits on a rate funnel: the population O * multiplier / DSR that gives a crude
    rate equal to the DSR (PHE `calculate_funnel_points`, rate type "dsr"). None when the DSR is
    withheld (O < 10): PHE drops such points from DSR funnels and their significance (§9.5).
    """
    if dsr_value is None or observed < DSR_MIN_EVENTS:
        return None
    return observed * multiplier / dsr_value


# ------------------------------------------------------------------------------ significance
def significance(estimate: Estimate, comparator: float) -> str:
    """"higher" / "lower" when the confidence interval lies wholly above / below the comparator,
    "similar" when it includes it (an end equal to the comparator counts as included), "not
    compared" when the estimate is withheld or undefined (§9.2, §9.4). The comparator must be on
    the estimate's scale (100 for an ISR; the same multiplier for a rate).
    """
    if estimate.lower is None or estimate.upper is None:
        return "not compared"
    if estimate.lower > comparator:
        return "higher"
    if estimate.upper < comparator:
        return "lower"
    return "similar"


def funnel_significance(at_95: Estimate, at_998: Estimate, centre: float) -> str:
    """PHE's funnel-point label (`assign_funnel_significance`): "High (0.001)", "High (0.025)",
    "Low (0.001)", "Low (0.025)" or "Not significant", from the point's 99.8 % and 95 % intervals
    against the funnel centre; "not compared" when the point is withheld. For proportions this is
    the same as lying outside `proportion_funnel`; for ratios and rates PHE tests the interval
    (`count_limits`), not the drawn line (module trap).
    """
    for estimate, tail in ((at_998, "0.001"), (at_95, "0.025")):
        side = significance(estimate, centre)
        if side == "not compared":
            return side
        if side != "similar":
            return f"{'High' if side == 'higher' else 'Low'} ({tail})"
    return "Not significant"


# ---------------------------------------------------------------------------------- helpers
def _count_on_limit(expected: float, confidence: float, *, side: int) -> float:
    """The count x >= 0 whose exact Poisson limit (side 0 lower, 1 upper) equals `expected`.

    Both limits increase with x; 0 when even x = 0 has its limit at or above `expected`.
    """
    gap = lambda x: exact_poisson_limits(x, confidence)[side] - expected
    if gap(0.0) >= 0:
        return 0.0
    high = expected + 1.0
    while gap(high) < 0:  # the lower limit is below x, so x may need to pass `expected`
        high *= 2
    return float(brentq(gap, 0.0, high, xtol=1e-12))


def _check_confidence(confidence: float) -> None:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence is a fraction such as 0.95 or 0.998, got {confidence}")


def _check_count(x: float, *, what: str = "a count") -> None:
    if not x >= 0:  # also catches NaN
        raise ValueError(f"{what} must be >= 0, got {x}")
