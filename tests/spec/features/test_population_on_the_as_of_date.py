"""Spec: who is in the population on the as-of date T, and their demographics.

Rule (docs/architecture.md; clinical-definitions.md §7.3; nhs-data-conventions.md §3.1):
registered on T (start <= T and end null or >= T: the end date is the last registered day, as in
ehrQL) and alive on T (death null or > T); several registrations on T -> latest start, then the
longest-running (open-ended first), then lowest practice code. Age is whole years at T.
"""

from datetime import date

import ibis
import pytest

from npc_risk.features.as_of import age_at
from tests.builders.features import derive_tables


def person(engine, codelists, **tables):
    """The person frame (by patient_id) of whoever the population rule lets in on T."""
    _, frame = derive_tables(engine, codelists, **tables)
    return frame


def test_registration_and_death_on_the_as_of_date(engine, codelists):
    """Deceased and deregistered people are excluded; a death or deregistration after T is not."""
    patients = [  # id, born, died
        {"patient_id": "alive", "date_of_birth": "1960-03-01", "sex": "female"},
        {"patient_id": "died_before", "date_of_birth": "1960-03-01", "sex": "male", "date_of_death": "2026-03-30"},
        {"patient_id": "died_on_T", "date_of_birth": "1960-03-01", "sex": "male", "date_of_death": "2026-03-31"},
        {"patient_id": "died_after", "date_of_birth": "1960-03-01", "sex": "male", "date_of_death": "2026-04-01"},
        {"patient_id": "left_on_T", "date_of_birth": "1960-03-01", "sex": "male"},
        {"patient_id": "left_after", "date_of_birth": "1960-03-01", "sex": "male"},
        {"patient_id": "joins_after", "date_of_birth": "1960-03-01", "sex": "male"},
        {"patient_id": "joins_on_T", "date_of_birth": "1960-03-01", "sex": "male"},
    ]
    regs = [{"patient_id": p["patient_id"], "practice_code": "A1", "start_date": "2000-01-01"}
            for p in patients[:4]] + [
        {"patient_id": "left_on_T", "practice_code": "A1", "start_date": "2000-01-01", "end_date": "2026-03-31"},
        {"patient_id": "left_after", "practice_code": "A1", "start_date": "2000-01-01", "end_date": "2026-04-01"},
        {"patient_id": "joins_after", "practice_code": "A1", "start_date": "2026-04-01"},
        {"patient_id": "joins_on_T", "practice_code": "A1", "start_date": "2026-03-31"},
    ]
    p = person(engine, codelists, patients=patients, practice_registrations=regs)
    assert sorted(p.index) == ["alive", "died_after", "joins_on_T", "left_after", "left_on_T"]


def test_overlapping_registrations_pick_latest_start_then_longest_then_practice_code(engine, codelists):
    patients = [{"patient_id": "p", "date_of_birth": "1950-01-01", "sex": "male"},
                {"patient_id": "q", "date_of_birth": "1950-01-01", "sex": "male"},
                {"patient_id": "r", "date_of_birth": "1950-01-01", "sex": "male"}]
    regs = [  # patient, practice, start -> expected practice
        {"patient_id": "p", "practice_code": "A1", "start_date": "2000-01-01"},
        {"patient_id": "p", "practice_code": "B2", "start_date": "2020-01-01"},   # latest start wins
        {"patient_id": "q", "practice_code": "C3", "start_date": "2020-01-01"},
        {"patient_id": "q", "practice_code": "B2", "start_date": "2020-01-01"},   # tie -> lowest code
        {"patient_id": "r", "practice_code": "A1", "start_date": "2020-01-01", "end_date": "2026-06-30"},
        {"patient_id": "r", "practice_code": "C3", "start_date": "2020-01-01"},   # open-ended beats ending
    ]
    practices = [{"practice_code": c, "pcn_code": f"U{c}", "pcn_name": "n", "lcp_name": "l"}
                 for c in ("A1", "B2", "C3")]
    p = person(engine, codelists, patients=patients, practice_registrations=regs, practices=practices)
    assert p.loc["p", "practice_code"] == "B2" and p.loc["p", "pcn_code"] == "UB2"
    assert p.loc["q", "practice_code"] == "B2"
    assert p.loc["r", "practice_code"] == "C3"


BIRTHS = [
    # date_of_birth  age on T
    ("1960-03-31",   66),  # birthday on T counts
    ("1960-04-01",   65),  # birthday tomorrow
    ("1960-03-01",   66),
    ("2026-03-01",   0),
]


@pytest.fixture(scope="module")
def ages(module_engine, codelists):
    """One patient per row of BIRTHS (`b<row>`), registered since 2026-03-01; derived once."""
    ids = [f"b{i}" for i in range(len(BIRTHS))]
    return person(module_engine, codelists,
                  patients=[{"patient_id": pid, "date_of_birth": dob, "sex": "female"}
                            for pid, (dob, _) in zip(ids, BIRTHS, strict=True)],
                  practice_registrations=[{"patient_id": pid, "practice_code": "A1", "start_date": "2026-03-01"}
                                          for pid in ids])


@pytest.mark.parametrize("dob, age", BIRTHS)
def test_age_in_whole_years_at_T(ages, dob, age):
    """Age is whole years at T: a birthday on T counts."""
    assert ages.loc[f"b{BIRTHS.index((dob, age))}", "age"] == age


#  date_of_birth  as_of       age  why
AGES = """
1960-03-31     2026-03-31  66   birthday on T counts
1960-04-01     2026-03-31  65   birthday tomorrow
1960-02-29     2025-02-28  64   leap-day birthday not yet reached in a common year
1960-02-29     2025-03-01  65   ... reached on 1 March
1960-02-29     2024-02-29  64   ... and on the day in a leap year
2026-03-31     2026-03-31  0    born on T
"""


def test_age_at_is_the_one_age_rule(engine):
    """features.as_of.age_at: the population and the generator's calibration report both use it."""
    for line in AGES.strip().splitlines():
        dob, as_of, age = line.split()[:3]
        got = engine.to_arrow(age_at(ibis.literal(date.fromisoformat(dob)), date.fromisoformat(as_of)))
        assert got.as_py() == int(age), line


def test_deprivation_joined_and_missing_lsoa_is_null(engine, codelists):
    patients = [{"patient_id": "a", "date_of_birth": "1950-01-01", "sex": "male", "lsoa_code": "E01000001"},
                {"patient_id": "b", "date_of_birth": "1950-01-01", "sex": "male"}]
    regs = [{"patient_id": x, "practice_code": "A1", "start_date": "2000-01-01"} for x in "ab"]
    p = person(engine, codelists, patients=patients, practice_registrations=regs,
               lsoa_deprivation=[{"lsoa_code": "E01000001", "imd_decile": 3}])
    assert p.loc["a", "imd_decile"] == 3
    assert p.loc["b", "imd_decile"] is None or p.loc["b", "imd_decile"] != p.loc["b", "imd_decile"]
