"""Unit: the CLI's rendering of the run summary (suppressed exactly as neighbourhoods.parquet)."""

from __future__ import annotations

import ibis
import pyarrow as pa

from npc_risk.cohort import CohortConfig, select_cohort
from npc_risk.planning.statistics import neighbourhood_statistics, publishable_neighbourhoods
from npc_risk.render import published_rows, summary_table
from tests.builders.people import person


def stats() -> ibis.Table:
    """120 people in 3 PCNs of 40, 10 % selected: 4 per PCN, 12 in all."""
    rows = [person(f"p{i:03d}", pcn_code=f"P{i % 3}", ltc_count=3,
                   risk_score=((i * 37) % 100) / 100) for i in range(120)]
    population = ibis.memtable(pa.Table.from_pylist(rows))
    result = select_cohort(population,
                           config=CohortConfig(neighbourhood="pcn", cohort_fraction=0.1))
    return neighbourhood_statistics(result.patients, result.report)


def test_summary_is_suppressed():
    """The printout shows the published table: suppressed once, by publishable_neighbourhoods."""
    rows = published_rows(publishable_neighbourhoods(stats()))
    # 40 people per PCN, 4 selected (10 %): 4 is 1-7, printed as *
    # and the whole population: 120 people, 12 selected, rounded to 10
    assert [(r["neighbourhood"], r["population"], r["eligible"], r["selected"]) for r in rows] == [
        ("P0", "40", "40", "*"), ("P1", "40", "40", "*"), ("P2", "40", "40", "*"),
        ("all", "120", "120", "10"),
    ]
    assert rows[-1]["name"] == "All neighbourhoods"


def test_summary_table_renders_the_published_table():
    """The run hands the CLI the published (suppressed) table; the printout equals the rows."""
    published = publishable_neighbourhoods(stats())
    assert summary_table(published).row_count == 4
    assert summary_table(published.to_pyarrow()).row_count == 4
