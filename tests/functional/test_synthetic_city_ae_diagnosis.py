"""Functional (slow): the synthetic city's A&E diagnoses (synth/ec_diagnosis.py, issue 11).

One 4,000-person city: every attendance carries an ECDS diagnosis from the generator's table (a
few not recorded), an attendance that leads to a respiratory emergency admission carries a
respiratory diagnosis, and respiratory attendances have the winter peak while the others do not.
"""

from __future__ import annotations

import datetime as dt

import pyarrow.parquet as pq
import pytest

from npc_risk.synth import generate_city
from npc_risk.synth.params import load_params

pytestmark = pytest.mark.slow  # generates a city

AS_OF = dt.date(2026, 3, 31)


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    out = tmp_path_factory.mktemp("ae_city")
    generate_city(patients=4_000, seed=5, as_of=AS_OF, output=out)
    ec = pq.read_table(out / "extract" / "ec.parquet").to_pylist()
    apcs = pq.read_table(out / "extract" / "apcs.parquet").to_pylist()
    return ec, apcs


RESPIRATORY = {r["code"] for r in load_params().ecds_diagnoses if r["kind"] != "other"}
ALL_CODES = {r["code"] for r in load_params().ecds_diagnoses}


def test_every_attendance_has_a_generator_diagnosis_or_none(city):
    ec, _ = city
    codes = [r["diagnosis_code"] for r in ec]
    assert set(codes) - {None} <= ALL_CODES
    missing = sum(c is None for c in codes) / len(codes)
    assert 0.01 < missing < 0.06  # ae_diagnosis_missing_share 3 %
    share = sum(c in RESPIRATORY for c in codes) / len(codes)
    assert 0.05 < share < 0.12  # respiratory_targets.csv resp_share_of_ae_attendances


def test_an_attendance_before_a_respiratory_admission_is_respiratory(city):
    """Method 21 (via A&E) spells write an attendance on the admission day or the day before,
    coded from the spell's primary diagnosis."""
    ec, apcs = city
    seen = {}
    for r in ec:
        if r["arrival_date"] is not None and r["patient_id"] is not None:
            seen.setdefault((r["patient_id"], r["arrival_date"]), set()).add(r["diagnosis_code"])
    hits = total = 0
    for s in apcs:
        primary = (s["primary_diagnosis"] or "").upper()
        if s["admission_method"] != "21" or not primary.startswith("J") or s["admission_date"] is None:
            continue
        days = (s["admission_date"], s["admission_date"] - dt.timedelta(days=1))
        codes = set().union(*(seen.get((s["patient_id"], d), set()) for d in days))
        if codes:
            total += 1
            hits += bool(codes & RESPIRATORY)
    assert total > 30
    assert hits / total > 0.9  # the rest: a diagnosis not recorded, or dirt


def test_respiratory_attendances_peak_in_winter(city):
    ec, _ = city

    def ratio(rows) -> float:
        winter = sum(r["arrival_date"].month in (12, 1, 2) for r in rows)
        spring = sum(r["arrival_date"].month in (3, 4, 5) for r in rows)
        return winter / spring

    dated = [r for r in ec if r["arrival_date"] is not None]
    assert ratio([r for r in dated if r["diagnosis_code"] in RESPIRATORY]) > 1.4  # §7.4: 1.8
    assert ratio([r for r in dated if r["diagnosis_code"] not in RESPIRATORY]) < 1.25
