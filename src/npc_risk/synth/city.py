"""`generate_city`: write a synthetic extract (the data contract) and its truth.

Order of draws is fixed (one `numpy.random.default_rng(seed)`, no global randomness, no clock),
and Arrow tables are written without timestamps, so the same seed and arguments give the same
bytes. Layout:

    output/extract/<table>.parquet   every table of the data contract (docs/architecture.md)
    output/extract/README.json       what the folder is
    output/truth/persons.parquet     per person: true 12-month emergency-admission probability and
                                     the simulated use in (as_of, as_of + 365]
    output/truth/future_apcs.parquet the future spells themselves
    output/truth/dirt_injected.json  how many bad rows of each kind were injected
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from npc_risk import io
from npc_risk.synth import extract as ex
from npc_risk.synth.activity import OUTCOME_METHODS, RateModel
from npc_risk.synth.conditions import assign_conditions, mortality_multiplier
from npc_risk.synth.frames import concat, day_number, hex_ids
from npc_risk.synth.gp_record import Vocab, diagnosis_events, medication_issues, observation_events
from npc_risk.synth.icd import IcdVocab
from npc_risk.synth.params import categorical, column, load_params
from npc_risk.synth.population import build_population, registrations
from npc_risk.synth.records import flag_events, opt_outs
from npc_risk.synth.services import Coder, simulate_year

@dataclass
class GenerateSummary:
    """Row counts per extract table, people in the as-of population, injected dirt, seconds."""

    patients: int
    seed: int
    as_of: dt.date
    rows: dict[str, int] = field(default_factory=dict)
    population_at_as_of: int = 0
    dirt: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def generate_city(*, patients: int, seed: int, as_of: dt.date, output: Path,
                  dirt_rate: float = 0.002, history_years: int = 5) -> GenerateSummary:
    """Generate a Leeds-like city of `patients` people with `history_years` of history to `as_of`.

    No extract row is dated after `as_of` except injected dirt; spells still open on `as_of` have
    no discharge date. The future year lives only in `output/truth/`.
    """
    if patients < 1 or history_years < 1:
        raise ValueError("patients and history_years must be positive")
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    params = load_params()
    A = day_number(as_of)
    pop = build_population(rng, params, n=patients, as_of=A, history_years=history_years)
    morb = assign_conditions(rng, params, pop)
    reg = registrations(rng, params, pop, mortality_multiplier(params, pop, morb))
    snomed, dmd, icd = Vocab(), Vocab(), IcdVocab()
    events = diagnosis_events(rng, params, pop, morb, snomed) + observation_events(rng, params, pop, morb, snomed)
    meds = medication_issues(rng, params, pop, morb, dmd)
    model = RateModel(params, pop, morb)
    coder = Coder(params, morb, icd)
    written = icd.written()
    years = [simulate_year(rng, params, pop, model, coder, written, y) for y in range(history_years + 1)]
    history, future = years[:-1], years[-1]
    gp = concat([y["gp"] for y in history])
    noise = _noise_events(rng, params, gp, snomed)
    flags, _ = flag_events(rng, params, pop, morb, meds, snomed)
    opt = opt_outs(rng, params, pop)
    events += [noise, flags, _type1_events(rng, pop, opt, snomed)]
    summary = GenerateSummary(patients=patients, seed=seed, as_of=as_of,
                              population_at_as_of=int(pop.in_population.sum()))
    counts: dict[str, int] = {}
    ids = hex_ids("P", rng.integers(0, 2**62, patients, dtype=np.uint64), 15)
    ids = pa.concat_arrays([ids, pa.array(["P_UNKNOWN_000001"])])
    unknown = patients  # index of the unknown patient id used by dirt
    out = Path(output)
    tables = _extract_tables(rng, params, pop, reg, events, meds, history, gp, snomed, dmd, ids,
                             unknown, opt, dirt_rate, counts)
    for name, table in tables.items():
        io.write_parquet(table, out / "extract" / f"{name}.parquet")
        summary.rows[name] = table.num_rows
    readme = {"description": "Synthetic Leeds-like extract from npc_risk.synth (not real people)",
              "as_of": as_of.isoformat(), "seed": seed, "patients": patients,
              "history_years": history_years, "tables": summary.rows}
    io.write_text(json.dumps(readme, indent=2, sort_keys=True) + "\n", out / "extract" / "README.json")
    _write_truth(out / "truth", pop, future, ids, params)
    summary.dirt = counts
    io.write_text(json.dumps(counts, indent=2, sort_keys=True) + "\n", out / "truth" / "dirt_injected.json")
    summary.seconds = time.perf_counter() - started
    return summary


def _noise_events(rng, params, gp: dict, vocab: Vocab) -> dict:
    """Symptom and admin codes left by attended GP appointments (no condition list matches them)."""
    attended = np.flatnonzero((gp["status"] == 0) & (rng.random(len(gp["status"])) < params.rate("gp_coded_event_share")))
    codes = vocab.ids([r["snomedct_code"] for r in params.noise_codes])
    pick = categorical(rng, column(params.noise_codes, "weight"), len(attended))
    return {"patient": gp["patient"][attended], "date": gp["date"][attended], "code": codes[pick],
            "value": np.full(len(attended), np.nan)}


def _type1_events(rng, pop, opt: dict, vocab: Vocab) -> dict:
    """The GP record of each type 1 opt-out: SNOMED 827241000000103 (clinical-definitions §7.4)."""
    who = opt["patient"][opt["kind"] == 0]
    day = pop.obs_start[who] + (rng.random(len(who)) * (pop.obs_end[who] - pop.obs_start[who] + 1)).astype(np.int64)
    return {"patient": who, "date": day, "code": np.full(len(who), vocab.id("827241000000103")),
            "value": np.full(len(who), np.nan)}


def _extract_tables(rng, params, pop, reg, events, meds, history, gp, snomed, dmd, ids, unknown, opt,
                    rate, counts) -> dict[str, pa.Table]:
    A = pop.as_of
    tables = ex.reference_tables(params, pop)
    tables["patients"] = ex.patients_table(rng, params, pop, ids, rate, counts)
    tables["practice_registrations"] = ex.registrations_table(params, reg, ids)
    tables["clinical_events"] = ex.events_table(rng, events, snomed, ids, A, unknown, rate, counts)
    tables["medications"] = ex.medications_table(rng, meds, dmd, ids, A, unknown, rate, counts)
    tables["gp_appointments"] = ex.gp_table(rng, gp, ids, A, unknown, rate, counts)
    tables["apcs"] = ex.apcs_table(rng, history, ids, A, unknown, rate, counts)
    tables["ec"] = ex.ec_table(rng, history, ids, A, unknown, rate, counts)
    tables["opa"] = ex.opa_table(rng, history, ids, A, unknown, rate, counts)
    tables["social_care_packages"] = ex.social_care_table(rng, params, history, ids, A, unknown, rate, counts)
    tables["opt_outs"] = ex.opt_outs_table(opt, ids)
    return tables


def _write_truth(folder: Path, pop, future: dict, ids: pa.Array, params) -> None:
    """Per-person truth for (as_of, as_of + 365]: the oracle probability and the simulated use."""
    n = pop.n
    spells, _, _, _ = ex.spells_frame([future])
    method = spells["method_code"].astype(str)
    emergency = np.char.startswith(method, "2")
    outcome = np.isin(method, OUTCOME_METHODS)
    los = spells["discharge"] - spells["admission"]
    codes, share = (lambda rows: ([r["code"] for r in rows], column(rows, "share")))(
        [r for r in params.admission_methods if r["group"] == "emergency"])
    outcome_share = share[np.isin(codes, OUTCOME_METHODS)].sum() / share.sum()
    expected = future["truth_rate"] * outcome_share * pop.in_population
    count = lambda who, weights=None: np.bincount(who, weights, minlength=n)  # noqa: E731
    table = pa.table({
        "patient_id": ids.slice(0, n),
        "in_population": pa.array(pop.in_population),
        "true_probability": 1 - np.exp(-expected),
        "expected_emergency_admissions": expected,
        "emergency_admissions": count(spells["patient"][outcome]).astype(np.int64),
        "emergency_spells_all": count(spells["patient"][emergency]).astype(np.int64),
        "emergency_bed_days": count(spells["patient"][emergency], los[emergency]).astype(np.int64),
        "ae_attendances": count(future["ec"]["patient"]).astype(np.int64),
        "outpatient_appointments": count(future["opa"]["patient"]).astype(np.int64),
        "gp_appointments": count(future["gp"]["patient"]).astype(np.int64),
        "social_care_packages": count(future["social_care"]["patient"]).astype(np.int64),
        "latent_permanent": pop.v,
    })
    io.write_parquet(table, folder / "persons.parquet")
    order = np.lexsort((spells["admission"], spells["patient"]))
    future_apcs = pa.table({
        "patient_id": ids.take(pa.array(spells["patient"][order])),
        "admission_date": ex.date_array(spells["admission"][order]),
        "discharge_date": ex.date_array(spells["discharge"][order]),
        "admission_method": pa.array(method[order].tolist(), type=pa.string()),
    })
    io.write_parquet(future_apcs, folder / "future_apcs.parquet")
