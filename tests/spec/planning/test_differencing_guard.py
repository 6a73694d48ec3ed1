"""Spec: the differencing guard (complementary suppression, suppression.py; §7 "guard against
differencing").

Rule: within each family (parent = sum of children), if exactly one cell is withheld, also
withhold the smallest other non-zero child (ties: the child's key); if there is none, the
parent. Repeat until stable; then an exact audit catches chains of subtractions through hidden
parts when the levels do not nest. Each test is a small table, expected cells beside it.
"""

from __future__ import annotations

from npc_risk.planning.disclosure import Family, complementary_suppression
from tests.builders.people import person, planning_rows


def guard(parent: tuple[str, int], children: list[tuple[str, int]], **kwargs) -> set[str]:
    values = dict([parent, *children])
    family = Family(parent[0], tuple(name for name, _ in children))
    return complementary_suppression(values, [family], **kwargs)


def test_one_suppressed_child_gets_a_complement():
    """city 30 = A 3 + B 12 + C 15: A alone would be city - B - C; B (smallest) goes too."""
    assert guard(("city", 30), [("A", 3), ("B", 12), ("C", 15)]) == {"A", "B"}


def test_two_suppressed_children_need_nothing_more():
    assert guard(("city", 30), [("A", 3), ("B", 5), ("C", 22)]) == {"A", "B"}


def test_zero_is_never_the_complement():
    """A published 0 is exact: hiding it protects nothing (and would read as 1-7)."""
    assert guard(("city", 32), [("A", 3), ("B", 0), ("C", 9), ("D", 20)]) == {"A", "C"}


def test_ties_are_broken_by_the_child_key():
    assert guard(("city", 21), [("A", 3), ("C", 9), ("B", 9)]) == {"A", "B"}


def test_no_non_zero_sibling_means_the_parent_goes():
    """B is withheld from elsewhere (a link here); its siblings are 0, so parent = B exactly."""
    values = {"city": 10, "A": 0, "B": 10, "B_source": 3}
    family = Family("city", ("A", "B"))
    withheld = complementary_suppression(values, [family], links=[("B_source", "B")])
    assert withheld == {"B_source", "B", "city"}


def test_complements_cascade_through_the_levels():
    """Hierarchy           true   withheld
    city                    44
      LCP L1                 4     yes (1-7)
        PCN a                4     yes (1-7)
        PCN b                0     no: 0 stays 0
      LCP L2                20     yes: L1's complement in city = L1 + L2 + L3 (tie with L3: key)
        PCN c               20     yes: else L2 = c gives L2 back
      LCP L3                20
        PCN d               20
    city = a + b + c + d then has a and c withheld: stable."""
    values = {"city": 44, "L1": 4, "L2": 20, "L3": 20, "a": 4, "b": 0, "c": 20, "d": 20}
    families = [
        Family("city", ("L1", "L2", "L3")), Family("city", ("a", "b", "c", "d")),
        Family("L1", ("a", "b")), Family("L2", ("c",)), Family("L3", ("d",)),
    ]
    assert complementary_suppression(values, families) == {"L1", "a", "L2", "c"}


def test_audit_catches_a_chain_through_a_split_pcn():
    """PCN n1 is split: its part p0 is all of LCP L0, its part p2 all of LCP L2 (parts hidden).
    No family has a single withheld cell, yet n1 = city - L1 (= L0 + L2). The audit withholds
    L1 (the only known cell on that chain).

    cell   true  hidden  withheld
    city    11
    n0       1            yes (1-7)
    n1       2            yes (1-7)
    n2       8            yes (n0's complement in L1 = n0 + n2)
    p0       1    yes     yes
    p2       1    yes     yes
    L0       1            yes
    L1       9            yes (audit)
    L2       1            yes
    """
    values = {"city": 11, "n0": 1, "n1": 2, "n2": 8, "p0": 1, "p2": 1, "L0": 1, "L1": 9, "L2": 1}
    families = [
        Family("n1", ("p0", "p2")), Family("L0", ("p0",)), Family("L1", ("n0", "n2")),
        Family("L2", ("p2",)), Family("city", ("n0", "n1", "n2")), Family("city", ("L0", "L1", "L2")),
    ]
    withheld = complementary_suppression(values, families, hidden={"p0", "p2"})
    assert withheld == {"n0", "n1", "n2", "p0", "p2", "L0", "L1", "L2"}
    assert "city" not in withheld


# ------------------------------------------------------------------- in neighbourhoods.parquet
def _published(engine, rows):
    """The published rows by (level, neighbourhood), computed on the engine."""
    _, published = planning_rows(engine, rows)
    return {(r["level"], r["neighbourhood"]): r for r in published}


def test_a_suppressed_neighbourhood_cannot_be_recovered_from_the_city_total(engine):
    """Three PCNs in one LCP; people with 3+ LTCs (ltc3_plus):

    PCN  people  ltc3_plus  published
    P1     20        4        *  (1-7)
    P2     20        9        *  (complement: smallest non-zero other child)
    P3     20       20        20
    L1     60       33        35
    city   60       33        35
    Without the complement, 35 - 10 - 20 = 5 would give P1 back to within rounding.
    """
    rows = []
    for pcn, with_ltcs in (("P1", 4), ("P2", 9), ("P3", 20)):
        rows += [person(f"{pcn}-{i:02d}", pcn_code=pcn, pcn_name=pcn, ltc_count=3 if i < with_ltcs else 0)
                 for i in range(20)]
    pub = _published(engine, rows)
    assert [pub[("neighbourhood", p)]["ltc3_plus"] for p in ("P1", "P2", "P3")] == [None, None, 20]
    assert pub[("lcp", "L1")]["ltc3_plus"] == 35
    assert pub[("city", "all")]["ltc3_plus"] == 35
    # the rates built on a withheld count are withheld too
    assert pub[("neighbourhood", "P2")]["pct_ltc3_plus"] is None
    assert pub[("neighbourhood", "P3")]["pct_ltc3_plus"] == 100.0


def test_a_small_opt_out_count_cannot_be_recovered_from_the_population(engine):
    """Within a row: population = planning_population + ndo_excluded + type1_excluded; and
    each of them is summed over the PCNs into the city row.

    PCN   population  NDO  planning   published population / ndo_excluded / planning_population
    P1        40        3     37      40 / * / *   (primary 3; 40 - 35 would give it back)
    P2        40       10     30      40 / * / *   (planning: P1's complement in the city sum;
                                                     NDO: then its complement in P2's row)
    P3        60       10     50      60 / 10 / 50
    city     140       23    117      140 / 25 / 115
    """
    rows = []
    for pcn, size, ndo in (("P1", 40, 3), ("P2", 40, 10), ("P3", 60, 10)):
        rows += [person(f"{pcn}-{i:02d}", pcn_code=pcn, pcn_name=pcn, ndo_optout=i < ndo)
                 for i in range(size)]
    pub = _published(engine, rows)
    shown = {key: (r["population"], r["ndo_excluded"], r["planning_population"])
             for key, r in pub.items() if key[0] != "lcp"}
    assert shown == {
        ("neighbourhood", "P1"): (40, None, None),
        ("neighbourhood", "P2"): (40, None, None),
        ("neighbourhood", "P3"): (60, 10, 50),
        ("city", "all"): (140, 25, 115),
    }
    assert pub[("neighbourhood", "P1")]["top_n"] is None  # 5 % of a withheld planning population
    assert pub[("neighbourhood", "P1")]["emergency_admissions_per_1000"] is None
