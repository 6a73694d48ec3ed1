"""Spec: the cohort target (2.5 %, round half up) and the ranking within each neighbourhood
(clinical-definitions.md §7.2-§7.3).

Each test builds a tiny scored population in the test with the expected values beside it.
Unspecified columns take the defaults of `person()` (tests/builders/people.py): a 70-year-old in
PCN P1 / LCP L1, no LTCs, no frailty, HFRS 0, no exclusion flags, risk 0.5. The cohort step runs
on the `engine`.
"""

from __future__ import annotations

import ibis
import pyarrow as pa
import pytest

from npc_risk.cohort import CohortConfig
from npc_risk.selection import top_count
from tests.builders.people import person, run_cohort


@pytest.mark.parametrize(
    ("count", "target"),
    [(1000, 25), (1010, 25), (1019, 25), (1020, 26), (20, 1), (19, 0), (0, 0)],
)
def test_cohort_target_is_round_half_up_of_2_5_percent(engine, count, target):
    """2.5 % of 1,000 = 25; of 1,010 = 25.25 -> 25; of 1,020 = 25.5 -> 26; of 20 = 0.5 -> 1.
    One rule (selection.top_count) on the engine and in Python (the model card's top k)."""
    t = ibis.memtable(pa.table({"n": [count]}))
    assert engine.to_arrow(t.select(k=top_count(t.n, 0.025)))["k"].to_pylist() == [target]
    assert top_count(count, 0.025) == target


@pytest.mark.parametrize(("size", "adults", "denominator", "selected"),
                         [(1020, 1020, "all", 26), (1020, 1000, "adults", 25)])
def test_selected_count_uses_the_chosen_denominator(engine, size, adults, denominator, selected):
    rows = [person(f"p{i:04d}", age=40 if i < adults else 10, ltc_count=3 if i < adults else 0,
                   risk_score=i / size) for i in range(size)]
    _, report = run_cohort(engine, rows, CohortConfig(denominator=denominator))
    assert report["P1"]["population"] == size
    assert report["P1"]["denominator"] == (adults if denominator == "adults" else size)
    assert report["P1"]["cohort_target"] == selected
    assert report["P1"]["selected"] == selected


def test_stable_tie_break_and_one_based_rank(engine):
    """Equal risk: more eFI deficits first, then more LTCs, then patient_id ascending."""
    table = [
        # id, risk, deficits, ltc, expected rank
        ("e", 0.9, 0, 3, 1),
        ("d", 0.5, 5, 3, 2),
        ("c", 0.5, 4, 4, 3),
        ("a", 0.5, 4, 3, 4),
        ("b", 0.5, 4, 3, 5),
        ("f", 0.1, 9, 9, 6),
    ]
    rows = [person(i, risk_score=r, efi_deficits=d, ltc_count=n) for i, r, d, n, _ in table]
    first, _ = run_cohort(engine, rows)
    assert {pid: p["neighbourhood_rank"] for pid, p in first.items()} == {
        pid: rank for pid, *_, rank in table
    }
    second, _ = run_cohort(engine, list(reversed(rows)))
    assert second == first


def test_in_cohort_is_rank_within_target(engine):
    rows = [person(f"p{i:02d}", ltc_count=3, risk_score=i / 100) for i in range(40)]
    patients, report = run_cohort(engine, rows, CohortConfig(cohort_fraction=0.05))  # 5 % of 40 = 2
    chosen = sorted(pid for pid, p in patients.items() if p["in_cohort"])
    assert chosen == ["p38", "p39"]
    assert patients["p39"]["neighbourhood_rank"] == 1
    assert report["P1"]["selected"] == 2


def test_neighbourhood_level_lcp_vs_pcn(engine):
    """Two PCNs in one LCP: ranked per PCN at level pcn, together at level lcp."""
    rows = [
        person("a", pcn_code="P1", lcp_name="L1", ltc_count=3, risk_score=0.9),
        person("b", pcn_code="P1", lcp_name="L1", ltc_count=3, risk_score=0.5),
        person("c", pcn_code="P2", lcp_name="L1", ltc_count=3, risk_score=0.7),
        person("d", pcn_code=None, lcp_name="L1", ltc_count=3, risk_score=0.6),
    ]
    by_pcn, report = run_cohort(engine, rows, CohortConfig(neighbourhood="pcn"))
    assert {k: (v["neighbourhood"], v["neighbourhood_rank"]) for k, v in by_pcn.items()} == {
        "a": ("P1", 1), "b": ("P1", 2), "c": ("P2", 1), "d": ("unmapped", 1)
    }
    assert set(report) == {"P1", "P2", "unmapped"}
    by_lcp, report = run_cohort(engine, rows, CohortConfig(neighbourhood="lcp"))
    assert {k: v["neighbourhood_rank"] for k, v in by_lcp.items()} == {"a": 1, "b": 4, "c": 2, "d": 3}
    assert set(report) == {"L1"}
    assert report["L1"]["population"] == 4
