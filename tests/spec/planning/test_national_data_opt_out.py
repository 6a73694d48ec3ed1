"""Spec: the national data opt-out applies to planning figures, not to case-finding.

Rule (nhs-data-conventions.md §8, clinical-definitions.md §7.4): the NDO does not apply to
individual care (the cohort lists and their counts keep everyone) but does apply to planning
outputs (neighbourhoods.parquet), which must say how many people it removed.

Toy neighbourhood of 40 (tests/builders/people.py); here the 10 people p00..p09 have an
NDO. Each of them has one emergency admission, as do p10 and p11.

| figure                          | everyone | planning (NDO applied) |
|---------------------------------|----------|------------------------|
| population (cohort report)      | 40       | -                      |
| planning_population             | -        | 30                     |
| ndo_excluded                    | -        | 10                     |
| emergency admissions            | 12       | 2                      |
| top 5 % (round-half-up of 1.5)  | 2        | 2                      |
"""

from __future__ import annotations

import pytest

from tests.builders.people import cohort_result, planning_rows, toy_neighbourhood


@pytest.fixture(scope="module")
def stats(module_engine):
    """(raw, published) statistics row when p00..p09 have a national data opt-out."""
    rows = [r | {"ndo_optout": int(r["patient_id"][1:]) < 10} for r in toy_neighbourhood()]
    raw, published = planning_rows(module_engine, rows)
    return raw[0], published[0]


def test_planning_figures_leave_out_national_data_opt_outs(stats):
    raw, _ = stats
    assert raw["population"] == 40          # case-finding count: everyone
    assert raw["planning_population"] == 30
    assert raw["ndo_excluded"] == 10        # reported, never silently dropped
    assert raw["type1_excluded"] == 0       # type 1 opt-outs are not applied to planning by default
    assert raw["emergency_admissions"] == 2
    assert raw["top_n"] == 2


def test_planning_rates_use_the_planning_population(stats):
    _, published = stats
    assert published["planning_population"] == 30
    assert published["ndo_excluded"] == 10
    assert published["emergency_admissions_per_1000"] is None  # numerator 2 is 1-7: suppressed


def test_cohort_selection_ignores_the_national_data_opt_out(engine):
    rows = toy_neighbourhood()
    everyone = cohort_result(engine, rows)
    with_ndo = cohort_result(engine, [r | {"ndo_optout": True} for r in rows])
    chosen = lambda r: sorted(engine.to_arrow(r.cohort.select("patient_id")).column(0).to_pylist())
    assert chosen(everyone) == chosen(with_ndo)
