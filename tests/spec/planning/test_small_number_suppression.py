"""Spec: small-number suppression (nhs-data-conventions.md §7).

0 stays 0; 1-7 suppressed; >= 8 to the nearest 5 (no ties for integers: 8 -> 10, 12 -> 10,
13 -> 15). Rates from unrounded values, suppressed when numerator or denominator is 1-7. The
pure-Python reference and the ibis expressions must agree.
"""

from __future__ import annotations

import ibis
import pyarrow as pa
import pytest

from npc_risk.planning.disclosure import (
    display_suppressed,
    suppress_count,
    suppress_count_expr,
    suppress_rate,
    suppress_rate_expr,
)

COUNTS = [
    # count, published
    (0, 0),
    (1, None),
    (7, None),
    (8, 10),
    (12, 10),
    (13, 15),
    (15, 15),
    (17, 15),
    (18, 20),
    (1000, 1000),
    (1002, 1000),
    (1003, 1005),
]


@pytest.mark.parametrize(("count", "published"), COUNTS)
def test_suppress_count(count, published):
    assert suppress_count(count) == published


def test_suppress_count_expr_agrees_with_reference(engine):
    values = [c for c, _ in COUNTS] + [None]
    t = ibis.memtable(pa.table({"n": pa.array(values, pa.int64())}))
    got = engine.to_arrow(t.select(s=suppress_count_expr(t.n)))["s"].to_pylist()
    assert got == [p for _, p in COUNTS] + [None]


def test_negative_count_is_a_bug():
    with pytest.raises(ValueError, match="negative"):
        suppress_count(-1)


RATES = [
    # numerator, denominator, rate (x100) or None
    (0, 100, 0.0),
    (8, 100, 8.0),
    (7, 100, None),  # numerator 1-7
    (1, 100, None),
    (8, 7, None),  # denominator 1-7
    (0, 7, None),
    (0, 0, None),  # undefined
    (12, 13, 12 / 13 * 100),  # from unrounded values: 92.3, not 10/15 = 66.7
    (None, 100, None),
]


@pytest.mark.parametrize(("num", "den", "rate"), RATES)
def test_suppress_rate(num, den, rate):
    assert suppress_rate(num, den, scale=100) == (pytest.approx(rate) if rate is not None else None)


def test_suppress_rate_expr_agrees_with_reference_rounded_to_one_decimal(engine):
    t = ibis.memtable(pa.table({
        "num": pa.array([r[0] for r in RATES], pa.int64()),
        "den": pa.array([r[1] for r in RATES], pa.int64()),
    }))
    got = engine.to_arrow(t.select(r=suppress_rate_expr(t.num, t.den, scale=100)))["r"].to_pylist()
    assert got == [None if r is None else round(r, 1) for *_, r in RATES]


def test_display_marks():
    """One spelling of the mark (display_suppressed): None (withheld) is `*`; the model card
    (metrics.suppress, suppressed_rate) and the printed run summary use it. A raw count or rate is
    suppressed first (suppress_count / suppress_rate), then displayed."""
    assert [display_suppressed(v) for v in (None, 0, 10, 0.25)] == ["*", 0, 10, 0.25]
    assert [display_suppressed(v, ",") for v in (None, 0, 1235)] == ["*", "0", "1,235"]
    assert display_suppressed(12.34, ".1f", suffix="%") == "12.3%"
    assert display_suppressed(None, ".1f", suffix="%") == "*"
    assert [display_suppressed(suppress_count(n), ",") for n in (0, 3, 12, 1234)] == ["0", "*", "10", "1,235"]
    assert display_suppressed(suppress_rate(50, 100, scale=100), ".1f", suffix="%") == "50.0%"
    assert display_suppressed(suppress_rate(5, 100, scale=100), ".1f", suffix="%") == "*"
