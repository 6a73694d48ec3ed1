"""Generative: the confidence limits of the pack statistics behave (npc_risk.packs.methods, §9.2).

Properties, on counts and denominators drawn by hypothesis (biased to the exact/Byar switch at
10 events and to small neighbourhood-sized numbers):

  (1) the limits bracket the estimate, lower <= value <= upper, for crude rates, Wilson
      proportions, DSRs and ISRs;
  (2) at a fixed proportion or rate, the interval narrows as the denominator grows (the count
      grows with it, across the switch from exact to Byar's limits too);
  (3) the 99.8 % interval contains the 95 % one;
  (4) funnel lines lie either side of the centre, the 99.8 % lines outside the 95 % ones, and
      they close in as the denominator grows.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from npc_risk.packs.methods import (
    Estimate,
    crude_rate,
    dsr,
    isr,
    proportion_funnel,
    rate_funnel,
    ratio_funnel,
    wilson,
)

COUNT = st.one_of(st.integers(0, 12), st.integers(13, 200), st.integers(201, 100_000))
DENOMINATOR = st.integers(1, 1_000_000)
EXPECTED = st.floats(0.05, 50_000, allow_nan=False)
CONFIDENCE = st.sampled_from([0.95, 0.998])
BAND = st.tuples(st.integers(0, 60), st.integers(1, 20_000), st.sampled_from([1000, 2500, 5000, 7000]))


def brackets(estimate: Estimate) -> bool:
    return estimate.lower <= estimate.value <= estimate.upper


def contains(wide: Estimate, narrow: Estimate) -> bool:
    return wide.lower <= narrow.lower and narrow.upper <= wide.upper


def width(estimate: Estimate) -> float:
    return estimate.upper - estimate.lower


@settings(max_examples=300, deadline=None)
@given(x=COUNT, extra=DENOMINATOR, confidence=CONFIDENCE)
def test_rate_and_proportion_limits_bracket_the_estimate(x, extra, confidence):
    n = x + extra
    assert brackets(crude_rate(x, n, confidence=confidence))
    assert brackets(wilson(x, n, confidence=confidence))


@settings(max_examples=300, deadline=None)
@given(observed=COUNT, expected=EXPECTED, confidence=CONFIDENCE)
def test_isr_limits_bracket_the_ratio(observed, expected, confidence):
    assert brackets(isr(observed, expected, confidence=confidence))


@settings(max_examples=300, deadline=None)
@given(bands=st.lists(BAND, min_size=1, max_size=19), confidence=CONFIDENCE)
def test_dsr_limits_bracket_the_rate_or_it_is_withheld(bands, confidence):
    estimate = dsr(bands, confidence=confidence)
    if sum(x for x, _, _ in bands) < 10:
        assert estimate.value is None and estimate.lower is None and estimate.upper is None
    else:
        assert brackets(estimate)
        assert contains(dsr(bands, confidence=0.998), dsr(bands, confidence=0.95))


@settings(max_examples=300, deadline=None)
@given(x=COUNT, extra=DENOMINATOR, expected=EXPECTED)
def test_998_intervals_contain_the_95_ones(x, extra, expected):
    n = x + extra
    assert contains(crude_rate(x, n, confidence=0.998), crude_rate(x, n))
    assert contains(wilson(x, n, confidence=0.998), wilson(x, n))
    assert contains(isr(x, expected, confidence=0.998), isr(x, expected))


@settings(max_examples=300, deadline=None)
@given(k=st.integers(1, 50), extra=st.integers(0, 50), small=st.integers(1, 20), factor=st.integers(2, 40),
       confidence=CONFIDENCE)
def test_intervals_narrow_as_the_denominator_grows(k, extra, small, factor, confidence):
    """x = k * s events out of n = m * s, for a smaller and a larger s: the same proportion and
    rate, the larger denominator gives the narrower interval."""
    m = k + extra
    large = small * factor
    assert width(wilson(k * large, m * large, confidence=confidence)) < width(
        wilson(k * small, m * small, confidence=confidence))
    assert width(crude_rate(k * large, m * large, confidence=confidence)) < width(
        crude_rate(k * small, m * small, confidence=confidence))


@settings(max_examples=150, deadline=None)
@given(p=st.floats(0.001, 0.999), rate=st.floats(1e-4, 0.5), n=st.floats(1, 100_000), factor=st.floats(1.5, 100))
def test_funnel_lines_straddle_the_centre_and_close_in(p, rate, n, factor):
    for funnel, centre in (
        (lambda size, c: proportion_funnel(p, size, confidence=c, multiplier=1), p),
        (lambda size, c: rate_funnel(rate, size, confidence=c, multiplier=1), rate),
        (lambda size, c: ratio_funnel(size * rate, confidence=c, multiplier=1), 1.0),
    ):
        low95, high95 = funnel(n, 0.95)
        low998, high998 = funnel(n, 0.998)
        assert low998 <= low95 <= centre <= high95 <= high998
        low_far, high_far = funnel(n * factor, 0.95)
        assert low95 <= low_far and high_far <= high95
