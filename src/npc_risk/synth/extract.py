"""Assemble the extract's Arrow tables from the generator's frames (and inject the dirt).

Column names and types are exactly the data contract (docs/architecture.md, schemas/contract.py).
Rows are sorted by person then date, so files compress well and diff cleanly.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from npc_risk.synth import dirt
from npc_risk.synth.frames import NULL_DAY, concat, date_array, float_array, format_ids, sort_by, vocab_array
from npc_risk.synth.population import LSOA_CODES, SEXES
from npc_risk.synth.records import nhs_number_strings

ETHNICITY = ["White", "Asian", "Black", "Mixed", "Other", "Unknown"]
OPA_STATUS = ["5", "6", "7", "3", "2", "4"]
GP_STATUS = ["attended", "did_not_attend", "cancelled"]
DEPARTMENTS = ["01", "02", "03", "04"]


def patients_table(rng, params, pop, ids, nhs, rate, counts) -> pa.Table:
    """`nhs`: this chunk's slice of the city-wide `records.nhs_numbers` (-1 = none)."""
    numbers = nhs_number_strings(nhs)
    dirt.bad_nhs_numbers(rng, numbers, rate, counts)
    death = np.where(pop.death == NULL_DAY, NULL_DAY, pop.death).astype(np.int64)
    dirt.death_before_birth(rng, pop.dob.astype(np.int64), death, rate, counts)
    lsoa = np.where(rng.random(pop.n) < 0.005, -1, pop.lsoa)  # a few without an address
    return pa.table({
        "patient_id": ids.slice(0, pop.n),
        "nhs_number": pa.array(numbers, type=pa.string()),
        "date_of_birth": date_array(pop.dob),
        "sex": vocab_array(SEXES, pop.sex),
        "date_of_death": date_array(death),
        "lsoa_code": vocab_array(pop.lsoa_codes, lsoa),
        "ethnicity_group": vocab_array(ETHNICITY, pop.ethnicity),
    })


def registrations_table(params, reg, ids) -> pa.Table:
    frame = sort_by(reg, "patient", "start_date")
    practices = [p["practice_code"] for p in params.practices]
    return pa.table({"patient_id": vocab_array(ids, frame["patient"]),
                     "practice_code": vocab_array(practices, frame["practice"]),
                     "start_date": date_array(frame["start_date"]),
                     "end_date": date_array(frame["end_date"])})


def events_table(rng, frames, vocab, ids, as_of, unknown, rate, counts) -> pa.Table:
    frame = concat(frames)
    keep = frame["date"] <= as_of
    frame = sort_by({k: v[keep] for k, v in frame.items()}, "patient", "date")
    dirt.malformed_snomed(rng, frame["code"], vocab, rate, counts)
    frame = dirt.dirty_events(rng, frame, table="clinical_events", rate=rate, as_of=as_of,
                              unknown_patient=unknown, date_cols=("date",), counts=counts)
    return pa.table({"patient_id": vocab_array(ids, frame["patient"]), "date": date_array(frame["date"]),
                     "snomedct_code": vocab_array(vocab.codes, frame["code"]),
                     "numeric_value": float_array(frame["value"])})


def medications_table(rng, frames, vocab, ids, as_of, unknown, rate, counts) -> pa.Table:
    frame = sort_by(concat(frames), "patient", "date")
    frame = dirt.dirty_events(rng, frame, table="medications", rate=rate, as_of=as_of,
                              unknown_patient=unknown, date_cols=("date",), counts=counts)
    return pa.table({"patient_id": vocab_array(ids, frame["patient"]), "date": date_array(frame["date"]),
                     "dmd_code": vocab_array(vocab.codes, frame["code"])})


def gp_table(rng, gp, ids, as_of, unknown, rate, counts) -> pa.Table:
    frame = sort_by(gp, "patient", "date")
    frame = dirt.dirty_events(rng, frame, table="gp_appointments", rate=rate, as_of=as_of,
                              unknown_patient=unknown, date_cols=("date",), counts=counts)
    return pa.table({"patient_id": vocab_array(ids, frame["patient"]), "date": date_array(frame["date"]),
                     "status": vocab_array(GP_STATUS, frame["status"])})


def spells_frame(years) -> tuple[dict, pa.Array, pa.Array, list]:
    """All spells of the given years as one frame, with `diag` indexing the diagnosis strings."""
    frames, primary, secondary, methods = [], [], [], []
    offset = 0
    for year in years:
        for frame, prim, sec, _ in year["spells"]:
            frame = dict(frame)
            frame["diag"] = offset + np.arange(len(frame["patient"]))
            offset += len(frame["patient"])
            frames.append(frame)
            primary.append(prim)
            secondary.append(sec)
    frame = concat(frames)
    return frame, pa.concat_arrays(primary), pa.concat_arrays(secondary), methods


def apcs_table(rng, history, ids, as_of, unknown, rate, counts, first_id: int = 0) -> pa.Table:
    frame, primary, secondary, _ = spells_frame(history)
    frame["method_code"] = frame["method_code"].astype(str)
    method_vocab, method_idx = np.unique(frame["method_code"], return_inverse=True)
    frame["method"] = method_idx
    del frame["method_code"]
    frame = sort_by(frame, "patient", "admission")
    frame["discharge"] = np.where(frame["discharge"] > as_of, NULL_DAY, frame["discharge"])  # open on as_of
    frame["spell"] = first_id + np.arange(len(frame["patient"]))
    dirt.discharge_before_admission(rng, frame, rate, counts)
    frame = dirt.dirty_events(rng, frame, table="apcs", rate=rate, as_of=as_of, unknown_patient=unknown,
                              date_cols=("admission",), counts=counts)
    late = frame["admission"] > as_of
    frame["discharge"] = np.where(late & (frame["discharge"] != NULL_DAY),
                                  np.maximum(frame["discharge"], frame["admission"]), frame["discharge"])
    diag = pa.array(frame["diag"])
    return pa.table({"spell_id": format_ids("APC", frame["spell"], 10),
                     "patient_id": vocab_array(ids, frame["patient"]),
                     "admission_date": date_array(frame["admission"]),
                     "discharge_date": date_array(frame["discharge"]),
                     "admission_method": vocab_array(list(method_vocab), frame["method"]),
                     "primary_diagnosis": primary.take(diag),
                     "secondary_diagnoses": secondary.take(diag)})


def _dated_events(rng, history, table, as_of, unknown, rate, counts, first_id: int) -> dict:
    """One table's yearly rows in (patient, date) order, numbered from `first_id`, with dirt."""
    frame = sort_by(concat([y[table] for y in history]), "patient", "date")
    frame["id"] = first_id + np.arange(len(frame["patient"]))
    return dirt.dirty_events(rng, frame, table=table, rate=rate, as_of=as_of,
                             unknown_patient=unknown, date_cols=("date",), counts=counts)


def ec_table(rng, history, ids, as_of, unknown, rate, counts, first_id: int = 0, *,
             diagnoses: list[str]) -> pa.Table:
    frame = _dated_events(rng, history, "ec", as_of, unknown, rate, counts, first_id)
    return pa.table({"attendance_id": format_ids("ECD", frame["id"], 10),
                     "patient_id": vocab_array(ids, frame["patient"]),
                     "arrival_date": date_array(frame["date"]),
                     "department_type": vocab_array(DEPARTMENTS, frame["dept"]),
                     "diagnosis_code": vocab_array(diagnoses, frame["dx"])})


def opa_table(rng, history, ids, as_of, unknown, rate, counts, first_id: int = 0) -> pa.Table:
    frame = _dated_events(rng, history, "opa", as_of, unknown, rate, counts, first_id)
    return pa.table({"appointment_id": format_ids("OPA", frame["id"], 10),
                     "patient_id": vocab_array(ids, frame["patient"]),
                     "appointment_date": date_array(frame["date"]),
                     "attendance_status": vocab_array(OPA_STATUS, frame["status"])})


def social_care_table(rng, params, history, ids, as_of, unknown, rate, counts) -> pa.Table:
    frame = sort_by(concat([y["social_care"] for y in history]), "patient", "start")
    services = params.social_care_services
    still_open = frame["end"] > as_of  # active on as_of: no end date yet
    frame["end"] = np.where(still_open, NULL_DAY, frame["end"])
    frame = dirt.dirty_events(rng, frame, table="social_care_packages", rate=rate, as_of=as_of,
                              unknown_patient=unknown, date_cols=("start",), counts=counts)
    return pa.table({"patient_id": vocab_array(ids, frame["patient"]),
                     "start_date": date_array(frame["start"]),
                     "end_date": date_array(frame["end"]),
                     "service_type": vocab_array([s["service_type"] for s in services], frame["service"])})


def reference_tables(params, geo) -> dict[str, pa.Table]:
    pcn_names = {p["pcn_code"]: p["pcn_name"] for p in params.pcns}
    practices = pa.table({
        "practice_code": [p["practice_code"] for p in params.practices],
        "practice_name": [p["practice_name"] for p in params.practices],
        "pcn_code": [p["pcn_code"] for p in params.practices],
        "pcn_name": [pcn_names[p["pcn_code"]] for p in params.practices],
        "lcp_name": [p["lcp_name"] for p in params.practices]})
    lsoa = pa.table({"lsoa_code": LSOA_CODES, "imd_decile": pa.array(geo.lsoa_decile, type=pa.int64())})
    return {"practices": practices, "lsoa_deprivation": lsoa}


def opt_outs_table(opt, ids) -> pa.Table:
    frame = sort_by(opt, "patient", "kind")
    return pa.table({"patient_id": vocab_array(ids, frame["patient"]),
                     "opt_out_type": vocab_array(["type1", "ndoo"], frame["kind"])})
