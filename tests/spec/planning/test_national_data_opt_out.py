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

import ibis
import pyarrow as pa

from npc_risk.cohort import CohortConfig, select_cohort
from npc_risk.planning.statistics import neighbourhood_statistics, publishable_neighbourhoods
from tests.builders.people import toy_neighbourhood


def _stats():
    table = toy_neighbourhood().to_pyarrow()
    ndo = pa.array([int(pid[1:]) < 10 for pid in table["patient_id"].to_pylist()])
    scored = ibis.memtable(table.append_column("ndo_optout", ndo))
    result = select_cohort(scored, config=CohortConfig())
    raw = neighbourhood_statistics(result.patients, result.report)
    return raw.to_pyarrow().to_pylist()[0], publishable_neighbourhoods(raw).to_pyarrow().to_pylist()[0]


def test_planning_figures_leave_out_national_data_opt_outs():
    raw, _ = _stats()
    assert raw["population"] == 40          # case-finding count: everyone
    assert raw["planning_population"] == 30
    assert raw["ndo_excluded"] == 10        # reported, never silently dropped
    assert raw["type1_excluded"] == 0       # type 1 opt-outs are not applied to planning by default
    assert raw["emergency_admissions"] == 2
    assert raw["top_n"] == 2


def test_planning_rates_use_the_planning_population():
    _, published = _stats()
    assert published["planning_population"] == 30
    assert published["ndo_excluded"] == 10
    assert published["emergency_admissions_per_1000"] is None  # numerator 2 is 1-7: suppressed


def test_cohort_selection_ignores_the_national_data_opt_out():
    table = toy_neighbourhood().to_pyarrow()
    everyone = select_cohort(ibis.memtable(table), config=CohortConfig())
    flagged = table.append_column("ndo_optout", pa.array([True] * table.num_rows))
    with_ndo = select_cohort(ibis.memtable(flagged), config=CohortConfig())
    chosen = lambda r: sorted(r.cohort.select("patient_id").to_pyarrow().column(0).to_pylist())  # noqa: E731
    assert chosen(everyone) == chosen(with_ndo)
