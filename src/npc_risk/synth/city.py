"""`generate_city`: write a synthetic extract (the data contract) and its truth.

Order of draws is fixed (random streams spawned from `numpy.random.SeedSequence(seed)`: one for
the geography, one for the reference sample that fixes the city-wide constants, one for ids, one
per chunk of people; no global randomness, no clock), and Arrow tables are written without
timestamps, so the same seed and arguments give the same bytes. Layout:

    output/extract/<table>.parquet   every table of the data contract (docs/architecture.md)
    output/extract/README.json       what the folder is
    output/truth/persons.parquet     per person: true 12-month emergency-admission probability (with
                                     the outcome year's own shock), the knowable probability (that shock
                                     integrated out: the fair ceiling for a model of the past) and
                                     the simulated use in (as_of, as_of + 365]; the same two
                                     probabilities and the count for respiratory emergency
                                     admissions (primary diagnosis J00-J99; risk/oracle.py), and
                                     the count of asthma ones (J45-J46: the CYP card's attacks)
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
import pyarrow.compute as pc

from npc_risk import files
from npc_risk.admissions import is_emergency_admission
from npc_risk.synth import extract as ex
from npc_risk.synth.activity import RateModel, year_bounds
from npc_risk.synth.conditions import assign_conditions, mortality_multiplier, solve_intercepts
from npc_risk.synth.ec_diagnosis import EcdsCoder
from npc_risk.synth.frames import concat, day_number, hex_ids
from npc_risk.synth.gp_record import Vocab, diagnosis_events, medication_issues, observation_events
from npc_risk.synth.icd import IcdVocab
from npc_risk.synth.params import categorical, column, load_params
from npc_risk.synth.population import build_geography, build_population, registrations
from npc_risk.synth.records import flag_events, nhs_numbers, opt_outs
from npc_risk.synth.respiratory import admission_follow_up as respiratory_admission_follow_up
from npc_risk.synth.respiratory import latent as respiratory_latent
from npc_risk.synth.respiratory import records as respiratory_records
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


CHUNK_PEOPLE = 100_000  # people generated and written at a time (fixed: part of the output's definition)
REFERENCE_PEOPLE = 80_000  # reference sample on which intercepts and rate normalisers are solved


@dataclass(frozen=True)
class Constants:
    """City-wide constants solved once per seed on a reference sample of people."""

    intercepts: np.ndarray
    norms: dict


def calibrate_constants(rng, params, geo, *, as_of: int, history_years: int, resp_rng=None) -> Constants:
    """Condition intercepts solved on the as-of population, then the rate normalisers.

    Who is in the as-of population depends on the conditions (sicker people die more), so the
    solve is repeated on the survivors of the previous draw; three rounds settle it. The
    normalisers see the respiratory admission term (respiratory.latent, drawn from `resp_rng`)
    as every chunk does.
    """
    pop = build_population(rng, params, geo, n=REFERENCE_PEOPLE, as_of=as_of, history_years=history_years)
    reference = np.ones(pop.n, dtype=bool)
    for _ in range(3):
        intercepts = solve_intercepts(params, pop, reference)
        morb = assign_conditions(rng, params, pop, intercepts)
        registrations(rng, params, pop, mortality_multiplier(params, pop, morb))
        reference = pop.in_population
    respiratory_latent(resp_rng if resp_rng is not None else rng, params, pop, morb)
    return Constants(intercepts=intercepts, norms=RateModel.normalisers(params, pop, morb))


def generate_city(*, patients: int, seed: int, as_of: dt.date, output: Path,
                  dirt_rate: float = 0.002, history_years: int = 5) -> GenerateSummary:
    """Generate a Leeds-like city of `patients` people with `history_years` of history to `as_of`.

    No extract row is dated after `as_of` except injected dirt; spells still open on `as_of` have
    no discharge date. The future year lives only in `output/truth/`.

    People are generated in fixed chunks of CHUNK_PEOPLE, each with its own random stream spawned
    from the seed (`SeedSequence(seed).spawn`), and appended to the Parquet files chunk by chunk,
    so memory stays flat in the city size and the same seed gives the same bytes.
    """
    if patients < 1 or history_years < 1:
        raise ValueError("patients and history_years must be positive")
    started = time.perf_counter()
    params = load_params()
    A = day_number(as_of)
    root = np.random.SeedSequence(seed)
    geo_seq, constants_seq, id_seq = root.spawn(3)
    n_chunks = -(-patients // CHUNK_PEOPLE)
    chunk_seqs = root.spawn(n_chunks)
    geo = build_geography(np.random.default_rng(geo_seq), params)
    # the respiratory streams are children of the existing seeds, so the draws before them keep
    # their values (SeedSequence.spawn does not touch a generator already made from the parent)
    constants = calibrate_constants(np.random.default_rng(constants_seq), params, geo, as_of=A,
                                    history_years=history_years,
                                    resp_rng=np.random.default_rng(constants_seq.spawn(1)[0]))
    id_rng = np.random.default_rng(id_seq)
    all_ids = hex_ids("P", id_rng.integers(0, 2**62, patients, dtype=np.uint64), 15)
    nhs = nhs_numbers(id_rng, patients, params.rate("nhs_number_missing_share"))
    snomed, dmd, icd = Vocab(), Vocab(), IcdVocab()
    summary = GenerateSummary(patients=patients, seed=seed, as_of=as_of)
    counts: dict[str, int] = {}
    out = Path(output)
    extract, truth = files.ChunkedParquetWriters(out / "extract"), files.ChunkedParquetWriters(out / "truth")
    for name, table in ex.reference_tables(params, geo).items():
        extract.write(name, table)
    next_id = {"apcs": 0, "ec": 0, "opa": 0}
    for c in range(n_chunks):
        first = c * CHUNK_PEOPLE
        m = min(patients, first + CHUNK_PEOPLE) - first
        rng = np.random.default_rng(chunk_seqs[c])
        pop = build_population(rng, params, geo, n=m, as_of=A, history_years=history_years)
        morb = assign_conditions(rng, params, pop, constants.intercepts)
        reg = registrations(rng, params, pop, mortality_multiplier(params, pop, morb))
        resp_rng = np.random.default_rng(chunk_seqs[c].spawn(1)[0])
        resp = respiratory_latent(resp_rng, params, pop, morb)
        events = diagnosis_events(rng, params, pop, morb, snomed) + observation_events(rng, params, pop, morb, snomed)
        meds = medication_issues(rng, params, pop, morb, dmd)
        resp_events, resp_meds = respiratory_records(resp_rng, params, pop, morb, resp, snomed, dmd)
        events += resp_events
        meds += resp_meds
        model = RateModel(params, pop, morb, constants.norms)
        coder = Coder(params, morb, icd)
        written = icd.written()
        ec_rng = np.random.default_rng(chunk_seqs[c].spawn(1)[0])  # the second child: A&E diagnoses
        ecds = EcdsCoder(params, icd.codes)
        years = [simulate_year(rng, params, pop, model, coder, written, y, ec_rng=ec_rng, ecds=ecds)
                 for y in range(history_years + 1)]
        history, future = years[:-1], years[-1]
        future["resp_share"] = coder.respiratory_share(year_bounds(pop, history_years)[0], pop.age + 0.5)
        future["knowable_probability"], future["knowable_resp_probability"] = model.knowable_probability(
            history_years, _outcome_share(params), shares=(1.0, future["resp_share"]))
        events.append(respiratory_admission_follow_up(resp_rng, params, pop, resp, history, snomed))
        del years, model, coder, resp
        gp = concat([y["gp"] for y in history])
        noise = _noise_events(rng, params, gp, snomed)
        flags, _ = flag_events(rng, params, pop, morb, meds, snomed)
        opt = opt_outs(rng, params, pop)
        events += [noise, flags, _type1_events(rng, pop, opt, snomed)]
        ids = pa.concat_arrays([all_ids.slice(first, m), pa.array(["P_UNKNOWN_000001"])])
        chunk_counts: dict[str, int] = {}
        for name, table in _extract_tables(rng, params, pop, reg, events, meds, history, gp, snomed, dmd,
                                           ids, m, opt, nhs[first:first + m], dirt_rate, chunk_counts,
                                           next_id):
            extract.write(name, table)
        for key, value in chunk_counts.items():
            counts[key] = counts.get(key, 0) + value
        next_id["apcs"] += sum(len(f[0]["patient"]) for y in history for f in y["spells"])
        next_id["ec"] += sum(len(y["ec"]["patient"]) for y in history)
        next_id["opa"] += sum(len(y["opa"]["patient"]) for y in history)
        summary.population_at_as_of += int(pop.in_population.sum())
        for name, table in _truth_tables(pop, future, ids, params):
            truth.write(name, table)
        del pop, morb, reg, events, meds, history, future, gp, noise, flags, opt
    extract.close()
    truth.close()
    summary.rows = dict(sorted(extract.rows.items()))
    readme = {"description": "Synthetic Leeds-like extract from npc_risk.synth (not real people)",
              "as_of": as_of.isoformat(), "seed": seed, "patients": patients,
              "history_years": history_years, "tables": summary.rows}
    files.write_text(json.dumps(readme, indent=2, sort_keys=True) + "\n", out / "extract" / "README.json")
    summary.dirt = dict(sorted(counts.items()))
    files.write_text(json.dumps(summary.dirt, indent=2, sort_keys=True) + "\n", out / "truth" / "dirt_injected.json")
    summary.seconds = time.perf_counter() - started
    return summary


def _noise_events(rng, params, gp: dict, vocab: Vocab) -> dict:
    """Symptom and admin codes left by attended GP appointments (no condition list matches them)."""
    coded = rng.random(len(gp["status"])) < params.rate("gp_coded_event_share")
    attended = np.flatnonzero((gp["status"] == 0) & coded)
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


def _extract_tables(rng, params, pop, reg, events, meds, history, gp, snomed, dmd, ids, unknown, opt, nhs,
                    rate, counts, next_id):
    """This chunk's rows of every person-level extract table, one table at a time."""
    A = pop.as_of
    yield "patients", ex.patients_table(rng, params, pop, ids, nhs, rate, counts)
    yield "practice_registrations", ex.registrations_table(params, reg, ids)
    yield "clinical_events", ex.events_table(rng, events, snomed, ids, A, unknown, rate, counts)
    yield "medications", ex.medications_table(rng, meds, dmd, ids, A, unknown, rate, counts)
    yield "gp_appointments", ex.gp_table(rng, gp, ids, A, unknown, rate, counts)
    yield "apcs", ex.apcs_table(rng, history, ids, A, unknown, rate, counts, next_id["apcs"])
    yield "ec", ex.ec_table(rng, history, ids, A, unknown, rate, counts, next_id["ec"],
                             diagnoses=[r["code"] for r in params.ecds_diagnoses])
    yield "opa", ex.opa_table(rng, history, ids, A, unknown, rate, counts, next_id["opa"])
    yield "social_care_packages", ex.social_care_table(rng, params, history, ids, A, unknown, rate, counts)
    yield "opt_outs", ex.opt_outs_table(opt, ids)


def _outcome_share(params) -> float:
    """Share of emergency admissions whose method counts for the outcome (not 2B/2C, §5.1)."""
    rows = [r for r in params.admission_methods if r["group"] == "emergency"]
    codes, share = [r["code"] for r in rows], column(rows, "share")
    return float(share[is_emergency_admission(codes)].sum() / share.sum())


def _truth_tables(pop, future: dict, ids: pa.Array, params):
    """Per-person truth for (as_of, as_of + 365]: the oracle probability and the simulated use."""
    n = pop.n
    spells, primary, _, _ = ex.spells_frame([future])
    method = spells["method_code"].astype(str)
    # every spell drawn from the emergency group (2B transfers too), and those of them that are
    # emergency admissions by the pipeline's one definition (the outcome, and the bed days the
    # features and the data pack count)
    group = np.isin(method, [r["code"] for r in params.admission_methods if r["group"] == "emergency"])
    outcome = is_emergency_admission(method)
    los = spells["discharge"] - spells["admission"]
    expected = future["truth_rate"] * _outcome_share(params) * pop.in_population
    expected_resp = expected * future["resp_share"]
    written = pc.utf8_upper(primary.take(pa.array(spells["diag"])))
    resp_outcome = outcome & np.asarray(pc.fill_null(pc.starts_with(written, "J"), False))  # J00-J99 (§6)
    asthma = pc.or_(pc.starts_with(written, "J45"), pc.starts_with(written, "J46"))  # J45-J46 (§6, CYP card)
    asthma_outcome = outcome & np.asarray(pc.fill_null(asthma, False))
    count = lambda who, weights=None: np.bincount(who, weights, minlength=n)
    table = pa.table({
        "patient_id": ids.slice(0, n),
        "in_population": pa.array(pop.in_population),
        "true_probability": 1 - np.exp(-expected),
        "knowable_probability": future["knowable_probability"] * pop.in_population,
        "expected_emergency_admissions": expected,
        "emergency_admissions": count(spells["patient"][outcome]).astype(np.int64),
        "emergency_spells_all": count(spells["patient"][group]).astype(np.int64),
        "emergency_bed_days": count(spells["patient"][outcome], los[outcome]).astype(np.int64),
        "ae_attendances": count(future["ec"]["patient"]).astype(np.int64),
        "outpatient_appointments": count(future["opa"]["patient"]).astype(np.int64),
        "gp_appointments": count(future["gp"]["patient"]).astype(np.int64),
        "social_care_packages": count(future["social_care"]["patient"]).astype(np.int64),
        "latent_permanent": pop.v,
        "true_respiratory_probability": 1 - np.exp(-expected_resp),
        "knowable_respiratory_probability": future["knowable_resp_probability"] * pop.in_population,
        "respiratory_emergency_admissions": count(spells["patient"][resp_outcome]).astype(np.int64),
        "asthma_emergency_admissions": count(spells["patient"][asthma_outcome]).astype(np.int64),
    })
    yield "persons", table
    order = np.lexsort((spells["admission"], spells["patient"]))
    future_apcs = pa.table({
        "patient_id": ids.take(pa.array(spells["patient"][order])),
        "admission_date": ex.date_array(spells["admission"][order]),
        "discharge_date": ex.date_array(spells["discharge"][order]),
        "admission_method": pa.array(method[order].tolist(), type=pa.string()),
    })
    yield "future_apcs", future_apcs
