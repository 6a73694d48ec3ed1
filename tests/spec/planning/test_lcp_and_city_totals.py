"""Spec: LCP and city totals in neighbourhoods.parquet (datapack.py; nhs-data-conventions.md §7).

Totals are computed from the unrounded data and then rounded (HES convention), never summed
from published (rounded) cells; rates from unrounded values. Rows: the neighbourhoods first in
their usual order, then the LCPs, then the city (`level`).

The toy city: three PCNs in two LCPs.

| PCN | LCP | people | 3+ LTCs | published people | published 3+ LTCs |
|-----|-----|--------|---------|------------------|-------------------|
| P1  | L1  | 12     | 9       | 10               | 10                |
| P2  | L1  | 12     | 9       | 10               | 10                |
| P3  | L2  | 30     | 15      | 30               | 15                |
| L1  |     | 24     | 18      | 25 (not 10 + 10) | 20                |
| L2  |     | 30     | 15      | 30               | 15                |
| city|     | 54     | 33      | 55 (not 50)      | 35                |

% with 3+ LTCs: L1 18 / 24 = 75.0 (from the rounded cells it would be 20 / 25 = 80.0); city
33 / 54 = 61.1.
"""

from __future__ import annotations

import pytest

from npc_risk.cohort import CohortConfig
from tests.builders.people import person, planning_rows

TOY = [("P1", "L1", 12, 9), ("P2", "L1", 12, 9), ("P3", "L2", 30, 15)]


def toy_city(toy=TOY, **values) -> list[dict]:
    rows = []
    for pcn, lcp, size, with_ltcs in toy:
        rows += [person(f"{pcn}-{i:02d}", pcn_code=pcn, pcn_name=f"PCN {pcn}", lcp_name=lcp,
                        ltc_count=3 if i < with_ltcs else 0, risk_score=(i + 1) / 100, **values)
                 for i in range(size)]
    return rows


def tables(engine, rows, **config):
    """(raw rows, published rows) of the statistics, computed on the engine."""
    return planning_rows(engine, rows, CohortConfig(**config))


@pytest.fixture(scope="module")
def toy(module_engine):
    """(raw rows, published rows) of the toy city above, computed once on the engine."""
    return tables(module_engine, toy_city())


def by_key(rows):
    return {(r["level"], r["neighbourhood"]): r for r in rows}


def test_rows_neighbourhoods_first_then_lcps_then_the_city(toy):
    _, published = toy
    assert [(r["level"], r["neighbourhood"], r["neighbourhood_name"]) for r in published] == [
        ("neighbourhood", "P1", "PCN P1"),
        ("neighbourhood", "P2", "PCN P2"),
        ("neighbourhood", "P3", "PCN P3"),
        ("lcp", "L1", "L1"),
        ("lcp", "L2", "L2"),
        ("city", "all", "All neighbourhoods"),
    ]
    assert "in_lcp" not in published[0]  # internal column, never published


def test_totals_from_unrounded_data_then_rounded(toy):
    raw, published = toy
    raw, pub = by_key(raw), by_key(published)
    expected = {
        # key: (population raw, published; ltc3_plus raw, published)
        ("neighbourhood", "P1"): (12, 10, 9, 10),
        ("neighbourhood", "P2"): (12, 10, 9, 10),
        ("neighbourhood", "P3"): (30, 30, 15, 15),
        ("lcp", "L1"): (24, 25, 18, 20),
        ("lcp", "L2"): (30, 30, 15, 15),
        ("city", "all"): (54, 55, 33, 35),
    }
    for key, (people, people_pub, ltc, ltc_pub) in expected.items():
        assert (raw[key]["population"], pub[key]["population"]) == (people, people_pub), key
        assert (raw[key]["ltc3_plus"], pub[key]["ltc3_plus"]) == (ltc, ltc_pub), key


def test_total_rates_from_unrounded_values(toy):
    _, published = toy
    pub = by_key(published)
    assert pub[("lcp", "L1")]["pct_ltc3_plus"] == pytest.approx(75.0)  # 18 / 24, not 20 / 25
    assert pub[("city", "all")]["pct_ltc3_plus"] == pytest.approx(61.1)  # 33 / 54
    assert pub[("neighbourhood", "P1")]["pct_ltc3_plus"] == pytest.approx(75.0)  # 9 / 12


def test_per_neighbourhood_figures_are_summed_and_the_top_group_is_the_units_own(toy):
    """cohort_target (2.5 %, half up): P1 12 -> 0, P2 12 -> 0, P3 30 -> 1; L1 0, L2 1, city 1.
    Top 5 % group: P1 12 -> 1, P2 12 -> 1, P3 30 -> 2 (1.5 half up); L1 24 -> 1 (1.2);
    city 54 -> 3 (2.7), not 1 + 1 + 2."""
    raw, _ = toy
    raw = by_key(raw)
    targets = {k[1]: r["cohort_target"] for k, r in raw.items()}
    top = {k[1]: r["top_n"] for k, r in raw.items()}
    assert targets == {"P1": 0, "P2": 0, "P3": 1, "L1": 0, "L2": 1, "all": 1}
    assert top == {"P1": 1, "P2": 1, "P3": 2, "L1": 1, "L2": 2, "all": 3}
    assert raw[("city", "all")]["entered"] is None  # no previous run: still null


def test_an_lcp_that_cuts_through_a_pcn(engine):
    """P2's practices are split: 6 people in L1, 6 in L2. The LCP totals of people are still
    exact; per-neighbourhood figures (cohort_target, change counts) are not defined for an LCP
    that cuts through a neighbourhood (null); the split parts are internal rows, never
    published.

    | unit | people |
    |------|--------|
    | L1   | 12 (P1) + 6 (P2 part) = 18 |
    | L2   | 6 (P2 part) + 30 (P3) = 36 |
    """
    rows = toy_city()
    for row in rows:
        if row["pcn_code"] == "P2" and int(row["patient_id"][-2:]) >= 6:
            row["lcp_name"] = "L2"
            row["practice_code"] = "A2"
    raw, published = tables(engine, rows)
    parts = [(r["neighbourhood"], r["in_lcp"], r["population"]) for r in raw if r["level"] == "part"]
    assert parts == [("P2", "L1", 6), ("P2", "L2", 6)]
    raw = by_key(raw)
    assert (raw[("lcp", "L1")]["population"], raw[("lcp", "L2")]["population"]) == (18, 36)
    assert raw[("lcp", "L1")]["cohort_target"] is None
    assert raw[("city", "all")]["cohort_target"] == 1
    assert raw[("neighbourhood", "P2")]["in_lcp"] is None
    assert {r["level"] for r in published} == {"neighbourhood", "lcp", "city"}


def test_no_lcp_rows_when_the_neighbourhoods_are_the_lcps(engine):
    _, published = tables(engine, toy_city(), neighbourhood="lcp")
    assert [(r["level"], r["neighbourhood"]) for r in published] == [
        ("neighbourhood", "L1"), ("neighbourhood", "L2"), ("city", "all"),
    ]


def test_no_lcp_rows_when_no_practice_has_an_lcp(engine):
    rows = toy_city([(pcn, None, size, ltcs) for pcn, _, size, ltcs in TOY])
    _, published = tables(engine, rows)
    assert [r["level"] for r in published] == ["neighbourhood"] * 3 + ["city"]


def test_practice_neighbourhoods_nest_in_their_lcp(engine):
    """neighbourhood = practice: every practice has one LCP, so LCP = sum of its practices."""
    rows = toy_city()
    for row in rows:
        row["practice_code"] = f"{row['pcn_code']}{'a' if int(row['patient_id'][-2:]) % 2 else 'b'}"
    raw, _ = tables(engine, rows, neighbourhood="practice")
    practices = [r for r in raw if r["level"] == "neighbourhood"]
    assert len(practices) == 6
    assert {r["in_lcp"] for r in practices} == {"L1", "L2"}
    assert not [r for r in raw if r["level"] == "part"]
