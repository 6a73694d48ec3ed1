"""Functional (slow): the synthetic city generator, reproducibility and the data contract."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from npc_risk.codes.nhs_number import is_valid_nhs_number
from npc_risk.synth import generate_city

pytestmark = pytest.mark.slow  # generates a city / reads the sample city

AS_OF = dt.date(2026, 3, 31)
CONTRACT = {
    "patients": ["patient_id", "nhs_number", "date_of_birth", "sex", "date_of_death", "lsoa_code", "ethnicity_group"],
    "practice_registrations": ["patient_id", "practice_code", "start_date", "end_date"],
    "clinical_events": ["patient_id", "date", "snomedct_code", "numeric_value"],
    "medications": ["patient_id", "date", "dmd_code"],
    "gp_appointments": ["patient_id", "date", "status"],
    "apcs": ["spell_id", "patient_id", "admission_date", "discharge_date", "admission_method",
             "primary_diagnosis", "secondary_diagnoses"],
    "ec": ["attendance_id", "patient_id", "arrival_date", "department_type", "diagnosis_code"],
    "opa": ["appointment_id", "patient_id", "appointment_date", "attendance_status"],
    "social_care_packages": ["patient_id", "start_date", "end_date", "service_type"],
    "practices": ["practice_code", "practice_name", "pcn_code", "pcn_name", "lcp_name"],
    "lsoa_deprivation": ["lsoa_code", "imd_decile"],
    "opt_outs": ["patient_id", "opt_out_type"],
}
DATE_COLUMNS = {"clinical_events": ["date"], "medications": ["date"], "gp_appointments": ["date"],
                "apcs": ["admission_date", "discharge_date"], "ec": ["arrival_date"],
                "opa": ["appointment_date"], "social_care_packages": ["start_date"]}


def _digest(folder):
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def small_city(tmp_path_factory):
    out = tmp_path_factory.mktemp("city")
    summary = generate_city(patients=2000, seed=42, as_of=AS_OF, output=out)
    return out, summary


def test_same_seed_gives_identical_bytes(small_city, tmp_path):
    out, _ = small_city
    generate_city(patients=2000, seed=42, as_of=AS_OF, output=tmp_path)
    assert _digest(out) == _digest(tmp_path)


def test_different_seed_gives_different_files(small_city, tmp_path):
    out, _ = small_city
    generate_city(patients=2000, seed=43, as_of=AS_OF, output=tmp_path)
    assert _digest(out)["extract/patients.parquet"] != _digest(tmp_path)["extract/patients.parquet"]


def test_every_table_has_exactly_the_contract_columns(small_city):
    out, summary = small_city
    for table, columns in CONTRACT.items():
        assert pq.read_schema(out / "extract" / f"{table}.parquet").names == columns, table
        assert summary.rows[table] == pq.read_metadata(out / "extract" / f"{table}.parquet").num_rows


def test_nhs_numbers_are_valid_test_range_apart_from_injected_dirt(small_city):
    out, summary = small_city
    numbers = [x for x in pq.read_table(out / "extract" / "patients.parquet")["nhs_number"].to_pylist() if x]
    invalid = [x for x in numbers if not is_valid_nhs_number(x)]
    assert len(invalid) == summary.dirt["patients: invalid NHS number"]
    assert all(x.startswith("999") for x in numbers if len(x) == 10)


def test_no_rows_after_as_of_except_injected_dirt(small_city):
    out, summary = small_city
    for table, columns in DATE_COLUMNS.items():
        data = pq.read_table(out / "extract" / f"{table}.parquet").to_pydict()
        late = sum(1 for row in zip(*(data[c] for c in columns), strict=True)
                   if any(d is not None and d > AS_OF for d in row))
        assert late == summary.dirt[f"{table}: dated after as-of"], table


def test_dirt_is_reported_in_truth(small_city):
    out, summary = small_city
    assert json.loads((out / "truth" / "dirt_injected.json").read_text()) == summary.dirt
    assert summary.dirt["apcs: duplicate rows"] >= 0


def test_patient_ids_unique_and_codes_well_formed(small_city):
    out, _ = small_city
    patients = pq.read_table(out / "extract" / "patients.parquet").to_pydict()
    assert len(set(patients["patient_id"])) == len(patients["patient_id"])
    assert all(d.day == 1 for d in patients["date_of_birth"])
    practices = pq.read_table(out / "extract" / "practices.parquet").to_pydict()
    assert len(practices["practice_code"]) == 90 and len(set(practices["pcn_code"])) == 19
    deciles = pq.read_table(out / "extract" / "lsoa_deprivation.parquet")["imd_decile"].to_pylist()
    assert len(deciles) == 482 and 0.22 <= deciles.count(1) / 482 <= 0.26


def test_medications_cover_the_whole_history_window(small_city):
    """Training features are as of as_of - 730 days with a 12-month look-back: drugs must be there."""
    out, _ = small_city
    dates = [d for d in pq.read_table(out / "extract" / "medications.parquet")["date"].to_pylist() if d <= AS_OF]
    assert min(dates) <= AS_OF - dt.timedelta(days=4 * 365)
    train = sum(AS_OF - dt.timedelta(days=1095) < d <= AS_OF - dt.timedelta(days=730) for d in dates)
    recent = sum(AS_OF - dt.timedelta(days=365) < d <= AS_OF for d in dates)
    assert train >= 0.6 * recent


def test_chunked_generation_keeps_ids_unique_and_bytes_stable(monkeypatch, tmp_path):
    """People are generated in chunks with spawned random streams: ids stay unique across chunks."""
    from npc_risk.synth import city

    monkeypatch.setattr(city, "CHUNK_PEOPLE", 700)
    first, second = tmp_path / "a", tmp_path / "b"
    summary = generate_city(patients=2000, seed=5, as_of=AS_OF, output=first)
    generate_city(patients=2000, seed=5, as_of=AS_OF, output=second)
    assert _digest(first) == _digest(second)
    patients = pq.read_table(first / "extract" / "patients.parquet")["patient_id"].to_pylist()
    assert len(patients) == len(set(patients)) == 2000
    spells = pq.read_table(first / "extract" / "apcs.parquet")["spell_id"].to_pylist()
    copies = sum(summary.dirt[f"apcs: {k}"] for k in ("duplicate rows", "dated after as-of", "unknown patient_id"))
    assert len(set(spells)) == len(spells) - copies
    truth = pq.read_table(first / "truth" / "persons.parquet")["patient_id"].to_pylist()
    assert truth == patients


def test_knowable_probability_is_the_true_one_with_the_outcome_shock_integrated_out(small_city):
    """truth/persons.parquet: `knowable_probability` averages `true_probability` over the outcome
    year's unknowable shock, so both agree on average (each person's is an expectation of the
    other) while the knowable one spreads less; both are 0 outside the population."""
    out, _ = small_city
    t = pq.read_table(out / "truth" / "persons.parquet").to_pandas()
    inside = t[t.in_population]
    assert t.loc[~t.in_population, ["true_probability", "knowable_probability"]].eq(0).all().all()
    assert inside.knowable_probability.between(0, 1).all()
    assert inside.knowable_probability.mean() == pytest.approx(inside.true_probability.mean(), rel=0.08)
    assert inside.knowable_probability.std() < inside.true_probability.std()
    assert np.corrcoef(inside.knowable_probability, inside.true_probability)[0, 1] > 0.7
