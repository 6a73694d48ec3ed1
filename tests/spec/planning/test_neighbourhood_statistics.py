"""Spec: neighbourhood statistics (datapack.py) and their suppression.

A toy neighbourhood of 40 people: the top 5 % by risk is 2 people (round-half-up of 2.0),
ranked over the whole population, eligible or not.
"""

from __future__ import annotations

import pytest

from tests.builders.people import planning_rows, toy_neighbourhood


@pytest.fixture(scope="module")
def stats(module_engine):
    """(raw, published) statistics row of the toy neighbourhood, computed once on the engine."""
    raw, published = planning_rows(module_engine, toy_neighbourhood())
    return raw[0], published[0]


def test_concentration_counts_top_5_percent_of_whole_population(stats):
    raw, _ = stats
    assert raw["population"] == 40
    assert raw["top_n"] == 2
    assert raw["emergency_bed_days"] == 98
    assert raw["top_emergency_bed_days"] == 60
    assert (raw["outpatient_attendances"], raw["top_outpatient_attendances"]) == (80, 4)
    assert (raw["social_care_packages"], raw["top_social_care_packages"]) == (20, 10)
    assert (raw["gp_appointments"], raw["top_gp_appointments"]) == (220, 30)
    assert raw["eligible"] == 24  # 19 by LTCs + 5 more (odd i < 10) by frailty


def test_published_rates_from_unrounded_values(stats):
    _, pub = stats
    assert pub["pct_emergency_bed_days_top"] == pytest.approx(61.2)
    assert pub["pct_social_care_packages_top"] == pytest.approx(50.0)
    assert pub["pct_outpatient_attendances_top"] is None  # numerator 4 is 1-7
    assert pub["gp_appointments_per_person_top"] is None  # denominator top_n = 2 is 1-7
    assert pub["gp_appointments_per_person"] == pytest.approx(5.5)
    assert pub["emergency_admissions_per_1000"] == pytest.approx(300.0)
    assert pub["pct_ltc3_plus"] == pytest.approx(47.5)  # 19 / 40
    assert pub["pct_65_plus_moderate_severe_frailty"] == pytest.approx(26.3)  # 10 / 38


def test_published_counts_are_suppressed(stats):
    _, pub = stats
    assert pub["population"] == 40
    assert pub["top_n"] is None  # 2
    assert pub["eligible"] == 25  # 24 -> 25
    assert pub["ltc3_plus"] == 20  # 19 -> 20
    assert pub["top_outpatient_attendances"] is None  # 4
    assert pub["emergency_bed_days"] == 100  # 98
    assert pub["selected"] is None  # 1 (2.5 % of 40 = 1)
    assert pub["excluded"] == 0
    assert pub["entered"] is None  # no previous run
