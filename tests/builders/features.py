"""Patients and their events for the feature step (`features.derive_features` over memtables).

The feature spec tests write a few patients and events in the test and read one row per patient
back. Dates are given as days before the as-of date T, so a test reads like its rule ("an F00
exactly 730 days before T scores"). T is 2026-03-31 unless a test passes its own `as_of`.

`derive(engine, codelists, ids, **tables)` registers every id (born `dob`, sex `sex`, at practice
A1 from `start`) and runs derive_features on `engine`; `derive_tables(...)` takes the patients and
registrations from the test instead. Both return the FeatureResult and its person table as a
pandas frame indexed by patient_id (in the order of `ids` for `derive`), run on the engine.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import date, datetime, timedelta

import ibis
import pandas as pd

from npc_risk.codelists import CodelistSet, load_codelists, load_hfrs_weights
from npc_risk.config import FeatureConfig
from npc_risk.engine import Engine
from npc_risk.features import derive_features
from npc_risk.features.derive import FeatureResult
from npc_risk.features.tables import STAGED_SCHEMAS, complete_tables, staged_arrow

T = date(2026, 3, 31)


def days_before(days: int, as_of: date = T) -> date:
    return as_of - timedelta(days=days)


def event(pid: str, days: int, code: str, value: float | None = None, *, as_of: date = T) -> dict:
    """A clinical_events row: GP code `code` (SNOMED CT) `days` before T, with a numeric value."""
    return {"patient_id": pid, "date": days_before(days, as_of), "snomedct_code": code,
            "numeric_value": value}


def diagnosis(pid: str, days: int, code: str, spell: str = "s", *, as_of: date = T) -> dict:
    """An apcs_diagnoses row: ICD-10 `code` as the primary diagnosis of an emergency spell
    admitted `days` before T (one spell per patient and day)."""
    return {"spell_id": f"{spell}-{pid}-{days}", "patient_id": pid,
            "admission_date": days_before(days, as_of), "admission_method": "21", "position": 0,
            "icd10_code": code, "icd10_code3": code[:3]}


def issues(pid: str, code: str, days: Sequence[int], *, as_of: date = T) -> list[dict]:
    """medications rows: one issue of dm+d `code` on each of `days` before T."""
    return [{"patient_id": pid, "date": days_before(n, as_of), "dmd_code": code} for n in days]


def registered(ids: Sequence[str], *, dob: str = "1940-01-01", sex: str = "female",
               start: str = "2026-01-01") -> dict[str, list[dict]]:
    """patients and practice_registrations rows: everyone born `dob`, registered at A1 from
    `start` (open-ended), so all are in the population on T."""
    return {
        "patients": [{"patient_id": p, "date_of_birth": dob, "sex": sex} for p in ids],
        "practice_registrations": [{"patient_id": p, "practice_code": "A1", "start_date": start}
                                   for p in ids],
    }


def derive_tables(engine: Engine, codelists: CodelistSet, *, as_of: date = T,
                  config: FeatureConfig | None = None, **tables) -> tuple[FeatureResult, pd.DataFrame]:
    """derive_features on `engine` over the given tables; (result, person frame by patient_id)."""
    result = derive_features(engine, memtables(**tables), as_of=as_of, codelists=codelists,
                             config=config or FeatureConfig())
    return result, engine.to_arrow(result.person).to_pandas().set_index("patient_id")


def derive(engine: Engine, codelists: CodelistSet, ids: Sequence[str], *, as_of: date = T,
           config: FeatureConfig | None = None, dob: str = "1940-01-01", sex: str = "female",
           start: str = "2026-01-01", **tables) -> tuple[FeatureResult, pd.DataFrame]:
    """derive_features for the registered `ids` plus the given event tables; the person frame
    has one row per id, in the order of `ids`."""
    result, person = derive_tables(engine, codelists, as_of=as_of, config=config,
                                   **registered(ids, dob=dob, sex=sex, start=start), **tables)
    return result, person.loc[list(ids)]


@functools.cache
def packaged_codelists() -> CodelistSet:
    """The packaged code lists, loaded once per process: the session fixture `codelists`
    (tests/conftest.py) returns this, and the hypothesis strategies that draw codes from the
    lists (defined at import, before any fixture exists) read the same object."""
    return load_codelists()


@functools.cache
def packaged_hfrs_weights() -> dict[str, int]:
    """The packaged HFRS points per 3-character ICD-10 category (tenths), loaded once per
    process (the session fixture `hfrs_weights` returns this)."""
    return load_hfrs_weights()


def _value(v, typ: str):
    if v is None or (isinstance(v, float) and v != v) or v is pd.NaT:
        return None
    if typ == "date":
        if isinstance(v, str):
            return date.fromisoformat(v)
        return v.date() if isinstance(v, (datetime, pd.Timestamp)) else v
    return v


def memtables(**frames: pd.DataFrame | list[dict]) -> dict[str, ibis.Table]:
    """Typed ibis memtables from small frames (or lists of row dicts); missing columns are null.

    Dates may be `datetime.date`, ISO strings or timestamps; they become staged `date` columns,
    so a test can write `{"date": "2025-03-31"}`. Absent tables come back empty.
    """
    out = {}
    for name, frame in frames.items():
        rows = frame.to_dict("records") if isinstance(frame, pd.DataFrame) else list(frame)
        schema = STAGED_SCHEMAS[name]
        cols = {c: [_value(r.get(c), t) for r in rows] for c, t in schema.items()}
        out[name] = ibis.memtable(staged_arrow(name, cols))
    return complete_tables(out)
