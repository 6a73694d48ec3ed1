"""Spec: cohort eligibility, exclusions, ranking and selection (clinical-definitions.md §7).

Each test builds a tiny scored population in the test with the expected values beside it.
Unspecified columns take the defaults of `person()`: a 70-year-old in PCN P1 / LCP L1, no LTCs,
no frailty, HFRS 0, no exclusion flags, risk 0.5.
"""

from __future__ import annotations

import ibis
import pyarrow as pa
import pytest

from npc_risk.cohort import CohortConfig, select_cohort
from npc_risk.selection import top_count
from tests.builders.people import person

def population(rows: list[dict]) -> ibis.Table:
    return ibis.memtable(pa.Table.from_pylist(rows))


def run(rows, config=None, previous=None, optouts=("type1_optout",)):
    result = select_cohort(population(rows), config=config or CohortConfig(), optouts=optouts,
                           previous_patients=previous)
    patients = {r["patient_id"]: r for r in result.patients.to_pyarrow().to_pylist()}
    report = {r["neighbourhood"]: r for r in result.report.to_pyarrow().to_pylist()}
    return patients, report


def test_eligibility_routes():
    """Any one route makes a person aged >= min_age (18) eligible:
    ltc_count >= 3 | efi_deficits >= 9 and age >= 65 | hfrs_score > 15 (strictly)."""
    table = [
        # id,  age, ltc, deficits, hfrs, eligible
        ("ltc2", 50, 2, 0, 0.0, False),
        ("ltc3", 50, 3, 0, 0.0, True),
        ("frail64", 64, 0, 10, 0.0, False),  # frailty route needs 65+
        ("frail65", 65, 0, 9, 0.0, True),
        ("frail8", 80, 0, 8, 0.0, False),
        ("hfrs15", 50, 0, 0, 15.0, False),  # high is > 15, not >= 15
        ("hfrs151", 50, 0, 0, 15.1, True),
        ("child", 17, 5, 0, 20.0, False),  # below min_age, whatever the routes say
        ("adult18", 18, 3, 0, 0.0, True),
    ]
    rows = [person(i, age=a, ltc_count=n, efi_deficits=d, hfrs_score=h) for i, a, n, d, h, _ in table]
    patients, report = run(rows)
    for pid, *_, expected in table:
        assert patients[pid]["eligible"] is expected, pid
    assert report["P1"]["eligible"] == 4
    assert report["P1"]["eligible_ltc"] == 2
    assert report["P1"]["eligible_frailty"] == 1
    assert report["P1"]["eligible_hfrs"] == 1


def test_missing_values_never_make_anyone_eligible():
    rows = [person("x", age=None, ltc_count=None, efi_deficits=None, hfrs_score=None)]
    patients, _ = run(rows)
    assert patients["x"]["eligible"] is False
    assert patients["x"]["neighbourhood_rank"] is None


def test_exclusions_first_reason_in_fixed_order_and_each_counted():
    """Order: palliative_care, care_home, type1_optout, then no_risk_score. Only eligible people
    get a reason; excluded people are never ranked."""
    table = [
        # id, palliative, care_home, type1, risk, expected reason
        ("pal", True, True, True, 0.9, "palliative_care"),
        ("home", False, True, True, 0.9, "care_home"),
        ("t1", False, False, True, 0.9, "type1_optout"),
        ("noscore", False, False, False, None, "no_risk_score"),
        ("ok", False, False, False, 0.1, None),
    ]
    rows = [person(i, ltc_count=3, palliative_care=p, care_home=c, type1_optout=t, risk_score=r)
            for i, p, c, t, r, _ in table]
    rows.append(person("ineligible_home", care_home=True))
    patients, report = run(rows)
    for pid, *_, reason in table:
        assert patients[pid]["exclusion_reason"] == reason, pid
    assert patients["ineligible_home"]["exclusion_reason"] is None
    assert [pid for pid, p in patients.items() if p["neighbourhood_rank"] is not None] == ["ok"]
    r = report["P1"]
    assert (r["excluded_palliative_care"], r["excluded_care_home"], r["excluded_type1_optout"],
            r["excluded_no_risk_score"], r["excluded"]) == (1, 1, 1, 1, 4)


def test_switched_off_exclusions_are_ranked():
    rows = [person("home", ltc_count=3, care_home=True, type1_optout=True, risk_score=0.9)]
    config = CohortConfig(exclude_care_home=False)
    patients, _ = run(rows, config)
    assert patients["home"]["exclusion_reason"] == "type1_optout"
    patients, report = run(rows, config, optouts=())
    assert patients["home"]["exclusion_reason"] is None
    assert patients["home"]["neighbourhood_rank"] == 1
    assert report["P1"]["excluded_care_home"] == 0


@pytest.mark.parametrize(
    ("count", "target"),
    [(1000, 25), (1010, 25), (1019, 25), (1020, 26), (20, 1), (19, 0), (0, 0)],
)
def test_cohort_target_is_round_half_up_of_2_5_percent(count, target):
    """2.5 % of 1,000 = 25; of 1,010 = 25.25 -> 25; of 1,020 = 25.5 -> 26; of 20 = 0.5 -> 1.
    One rule (selection.top_count) on the engine and in Python (the model card's top k)."""
    t = ibis.memtable(pa.table({"n": [count]}))
    assert t.select(k=top_count(t.n, 0.025)).to_pyarrow()["k"].to_pylist() == [target]
    assert top_count(count, 0.025) == target


@pytest.mark.parametrize(("size", "adults", "denominator", "selected"),
                         [(1020, 1020, "all", 26), (1020, 1000, "adults", 25)])
def test_selected_count_uses_the_chosen_denominator(size, adults, denominator, selected):
    rows = [person(f"p{i:04d}", age=40 if i < adults else 10, ltc_count=3 if i < adults else 0,
                   risk_score=i / size) for i in range(size)]
    _, report = run(rows, CohortConfig(denominator=denominator))
    assert report["P1"]["population"] == size
    assert report["P1"]["denominator"] == (adults if denominator == "adults" else size)
    assert report["P1"]["cohort_target"] == selected
    assert report["P1"]["selected"] == selected


def test_stable_tie_break_and_one_based_rank():
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
    first, _ = run(rows)
    assert {pid: p["neighbourhood_rank"] for pid, p in first.items()} == {
        pid: rank for pid, *_, rank in table
    }
    second, _ = run(list(reversed(rows)))
    assert second == first


def test_in_cohort_is_rank_within_target():
    rows = [person(f"p{i:02d}", ltc_count=3, risk_score=i / 100) for i in range(40)]
    patients, report = run(rows, CohortConfig(cohort_fraction=0.05))  # 5 % of 40 = 2
    chosen = sorted(pid for pid, p in patients.items() if p["in_cohort"])
    assert chosen == ["p38", "p39"]
    assert patients["p39"]["neighbourhood_rank"] == 1
    assert report["P1"]["selected"] == 2


def test_neighbourhood_level_lcp_vs_pcn():
    """Two PCNs in one LCP: ranked per PCN at level pcn, together at level lcp."""
    rows = [
        person("a", pcn_code="P1", lcp_name="L1", ltc_count=3, risk_score=0.9),
        person("b", pcn_code="P1", lcp_name="L1", ltc_count=3, risk_score=0.5),
        person("c", pcn_code="P2", lcp_name="L1", ltc_count=3, risk_score=0.7),
        person("d", pcn_code=None, lcp_name="L1", ltc_count=3, risk_score=0.6),
    ]
    by_pcn, report = run(rows, CohortConfig(neighbourhood="pcn"))
    assert {k: (v["neighbourhood"], v["neighbourhood_rank"]) for k, v in by_pcn.items()} == {
        "a": ("P1", 1), "b": ("P1", 2), "c": ("P2", 1), "d": ("unmapped", 1)
    }
    assert set(report) == {"P1", "P2", "unmapped"}
    by_lcp, report = run(rows, CohortConfig(neighbourhood="lcp"))
    assert {k: v["neighbourhood_rank"] for k, v in by_lcp.items()} == {"a": 1, "b": 4, "c": 2, "d": 3}
    assert set(report) == {"L1"}
    assert report["L1"]["population"] == 4


def test_change_since_previous_run():
    """Matched on (patient_id, neighbourhood): stayed = in both cohorts, entered = now only,
    left = before only (whether they died, moved or dropped down the ranking)."""
    rows = [person(f"p{i:02d}", ltc_count=3, risk_score=i / 100) for i in range(40)]
    previous = ibis.memtable(pa.Table.from_pylist([
        {"patient_id": "p39", "neighbourhood": "P1", "in_cohort": True},   # stays
        {"patient_id": "p10", "neighbourhood": "P1", "in_cohort": True},   # leaves
        {"patient_id": "gone", "neighbourhood": "P1", "in_cohort": True},  # leaves (died)
        {"patient_id": "p38", "neighbourhood": "P1", "in_cohort": False},  # enters
        {"patient_id": "p11", "neighbourhood": "P1", "in_cohort": False},  # still out
    ]))
    _, report = run(rows, CohortConfig(cohort_fraction=0.05), previous)
    r = report["P1"]
    assert (r["entered"], r["left"], r["stayed"], r["previous_selected"], r["selected"]) == (
        1, 2, 1, 3, 2
    )
    _, first_run = run(rows, CohortConfig(cohort_fraction=0.05))
    assert first_run["P1"]["entered"] is None  # no previous run: unknown, not zero


def test_cohort_list_columns_and_rows():
    """The list a care coordinator gets, in rank order; its plain-words `drivers` are explained
    after selection, for the selected people only (steps.drivers), and joined on by the run."""
    rows = [person(f"p{i:02d}", ltc_count=3, risk_score=i / 100) for i in range(40)]
    result = select_cohort(population(rows), config=CohortConfig(cohort_fraction=0.05))
    cohort = result.cohort.order_by("neighbourhood_rank").to_pyarrow()
    assert cohort.column_names == [
        "neighbourhood", "nhs_number", "patient_id", "practice_code", "neighbourhood_rank",
        "risk_score", "ltc_conditions", "efi_category",
    ]
    assert cohort["patient_id"].to_pylist() == ["p39", "p38"]
    assert cohort["nhs_number"].to_pylist() == ["999p39", "999p38"]
