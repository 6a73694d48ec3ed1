"""Generative: the differencing guard (suppression.complementary_suppression, datapack.py).

Property (nhs-data-conventions.md §7, "guard against differencing"): after suppression, for
every family (parent = sum of children: city = its neighbourhoods, city = its LCPs, LCP = its
neighbourhoods and parts of split neighbourhoods, split neighbourhood = its parts):

  (1) every 1-7 cell is withheld;
  (2) the number of withheld cells in the family is never exactly 1, i.e. a published parent
      with any withheld child has two or more withheld children, and a withheld parent has a
      withheld child; so "parent - the sum of the published children" never equals one
      withheld child's true value;
  (3) complements are never 0;
  (4) stronger, on exact values: no withheld cell (and no 1-7 hidden part) is determined by the
      published values through any chain of families (linear algebra: its unit vector is not
      in the row space of the family equations over the withheld cells).

(1)-(4) on random hierarchies of counts (pure Python, many examples), and (1)-(2) on the
published table of random small populations through datapack.py (the engine; fewer examples).
"""

from __future__ import annotations

from unittest import mock

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from npc_risk.cohort import CohortConfig
from npc_risk.planning import disclosure as suppression
from npc_risk.planning.disclosure import Family, complementary_suppression, is_small
from npc_risk.planning.statistics import ADDITIVE
from tests.builders.people import person, planning_rows

# Counts biased to the interesting range: 0, 1-7 (suppressed) and just above.
COUNT = st.one_of(st.just(0), st.integers(1, 7), st.integers(8, 15), st.integers(16, 200))


@st.composite
def hierarchy(draw, allow_split: bool = True):
    """city -> LCPs -> neighbourhoods; some neighbourhoods split over two LCPs (hidden parts).

    Returns (values, families, hidden): one count column, cell keys are tuples of strings.
    """
    n_lcp = draw(st.integers(1, 4))
    split = allow_split and draw(st.booleans())
    values: dict[tuple, int] = {}
    hidden: set[tuple] = set()
    lcp_children: dict[int, list[tuple]] = {j: [] for j in range(n_lcp)}
    hoods: list[tuple] = []
    families: list[Family] = []
    for i in range(draw(st.integers(1, 7))):
        hood = ("n", f"{i}")
        hoods.append(hood)
        lcps = sorted(set(draw(st.lists(st.integers(0, n_lcp - 1), min_size=1,
                                        max_size=2 if split else 1))))
        if len(lcps) == 1:
            values[hood] = draw(COUNT)
            lcp_children[lcps[0]].append(hood)
            continue
        parts = []
        for j in lcps:
            part = ("p", f"{i}|{j}")
            values[part] = draw(COUNT)
            hidden.add(part)
            parts.append(part)
            lcp_children[j].append(part)
        values[hood] = sum(values[p] for p in parts)
        families.append(Family(hood, tuple(parts)))
    lcps = []
    for j, children in lcp_children.items():
        lcp = ("l", f"{j}")
        lcps.append(lcp)
        values[lcp] = sum(values[c] for c in children)
        if children:
            families.append(Family(lcp, tuple(children)))
    city = ("c", "all")
    values[city] = sum(values[h] for h in hoods)
    families.append(Family(city, tuple(hoods)))
    families.append(Family(city, tuple(lcps)))
    return values, families, hidden


def determined(cell, withheld: set, families: list[Family]) -> bool:
    """True if `cell` (withheld) is fixed by the family equations given every other cell that is
    not withheld (published, or hidden but assumed known)."""
    unknown = sorted(withheld)
    index = {c: k for k, c in enumerate(unknown)}
    rows = []
    for family in families:
        row = np.zeros(len(unknown))
        for c, sign in ((family.parent, 1.0), *((c, -1.0) for c in family.children)):
            if c in index:
                row[index[c]] += sign
        if row.any():
            rows.append(row)
    if not rows:
        return False
    a = np.array(rows)
    target = np.zeros(len(unknown))
    target[index[cell]] = 1.0
    return np.linalg.matrix_rank(np.vstack([a, target])) == np.linalg.matrix_rank(a)


@settings(max_examples=400, deadline=None)
@given(hierarchy())
def test_no_suppressed_cell_can_be_recovered_by_differencing(case):
    values, families, hidden = case
    withheld = complementary_suppression(values, families, hidden=hidden)
    # (1) primary suppression
    assert all(c in withheld for c, v in values.items() if is_small(v))
    # (2) never exactly one withheld cell in a family
    for family in families:
        members = (family.parent, *family.children)
        assert sum(c in withheld for c in members) != 1, family
        if family.parent not in withheld:
            out = [c for c in family.children if c in withheld]
            published = sum(values[c] for c in family.children if c not in withheld)
            if len(out) == 1:  # unreachable by (2); spelled out as the differencing attack
                assert values[family.parent] - published != values[out[0]]
    # (3) complements are never 0
    assert all(values[c] > 0 for c in withheld)
    # (4) nothing withheld is pinned down by any chain of subtractions
    for cell in withheld:
        if cell not in hidden or is_small(values[cell]):
            assert not determined(cell, withheld, families), cell


@settings(max_examples=300, deadline=None)
@given(hierarchy(allow_split=False))
def test_nested_hierarchies_need_only_the_counting_rule(case):
    """When each level partitions the one above, the counting rule alone already gives (4): the
    exact audit never has to add a cell (suppression.py docstring)."""
    values, families, hidden = case
    original = suppression._audit

    def audit(*args):
        extra = original(*args)
        assert extra is None, "the audit added a cell to a nested hierarchy"
        return extra

    with mock.patch.object(suppression, "_audit", audit):
        complementary_suppression(values, families, hidden=hidden)


# -------------------------------------------------------------- through datapack (the engine)
@st.composite
def population(draw):
    """Up to ~120 people in 2-4 PCNs over 1-3 LCPs (PCNs may cut across LCPs), with opt-outs."""
    n_pcn = draw(st.integers(2, 4))
    lcp_of = [draw(st.integers(0, 2)) for _ in range(2 * n_pcn)]  # per practice
    rows = []
    for pcn in range(n_pcn):
        for practice in (2 * pcn, 2 * pcn + 1):
            for k in range(draw(st.integers(0, 25))):
                rows.append(person(
                    f"x{practice}-{k:02d}", practice_code=f"A{practice}", pcn_code=f"P{pcn}",
                    pcn_name=f"PCN {pcn}", lcp_name=f"L{lcp_of[practice]}",
                    ltc_count=draw(st.integers(0, 4)), age=draw(st.sampled_from([40, 70, 85])),
                    efi_deficits=draw(st.sampled_from([0, 9])),
                    risk_score=draw(st.integers(0, 99)) / 100,
                    emergency_admissions_12m=draw(st.integers(0, 2)),
                    emergency_bed_days_12m=draw(st.sampled_from([0, 0, 3, 12])),
                    care_home=draw(st.integers(0, 9)) == 0,
                    type1_optout=draw(st.integers(0, 9)) == 0,
                ))
    return rows


@settings(max_examples=25, deadline=None)
@given(population(), st.sampled_from(["pcn", "practice"]))
def test_published_table_has_no_single_withheld_child(module_engine, rows, level):
    if not rows:
        return
    raw_rows, published_rows = planning_rows(module_engine, rows, CohortConfig(neighbourhood=level))
    raw = {(r["level"], r["neighbourhood"]): r for r in raw_rows}
    pub = {(r["level"], r["neighbourhood"]): r for r in published_rows}
    city = ("city", "all")
    hoods = [k for k in pub if k[0] == "neighbourhood"]
    lcps = [k for k in pub if k[0] == "lcp"]
    groups = [(city, hoods)] + ([(city, lcps)] if lcps else [])
    for lcp in lcps:  # nested neighbourhoods only (parts are not published)
        inside = [h for h in hoods if raw[h]["in_lcp"] == lcp[1]]
        if all(raw[h]["in_lcp"] is not None for h in hoods):
            groups.append((lcp, inside))
    for column in ADDITIVE:
        for parent, children in groups:
            if raw[parent][column] is None or any(raw[c][column] is None for c in children):
                continue  # not an identity for this column (e.g. no previous run)
            for key in (parent, *children):  # (1)
                if is_small(raw[key][column]):
                    assert pub[key][column] is None, (key, column)
            hidden = [c for c in children if pub[c][column] is None]
            if pub[parent][column] is not None:  # (2)
                assert len(hidden) != 1, (parent, column)
            else:
                assert hidden, (parent, column)
