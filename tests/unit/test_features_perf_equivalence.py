"""Equivalence: the restructured (cached, single-aggregate) feature derivation gives exactly what
the catalogue rules say, on seeded random data shaped to hit the shortcuts it takes.

derive_features matches events once, aggregates them once per (patient, condition, code,
source), de-duplicates only in-window rx issues, pivots flags through integer bit words and
counts unmatched codes per code. Each of those is checked here against the pure-Python reference
of the feature rules (tests/builders/reference.py, the one the generative test uses too):
duplicated feed rows, one code in several lists and roles, value rules with
sex and unit splits, cancelling codes with ties, rx issues on both sides of the window, ICD-10
prefixes of both lengths, null and unknown codes. No timings (benchmarks/features.py).
"""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from npc_risk.config import FeatureConfig
from npc_risk.features.events import column_name
from tests.builders import reference
from tests.builders.features import T, derive_tables

DAYS = [0, 1, 10, 364, 365, 366, 729, 730, 731, 1825, 1826, 4000]


def _codes(codelists, system: str) -> list[str]:
    return sorted({c for cl in codelists.lists.values() if cl.system == system for c, _ in cl.codes})


def _data(codelists, seed: int, n: int = 40):
    rng = random.Random(seed)
    snomed = _codes(codelists, "snomedct") + ["999999999"]
    dmd = _codes(codelists, "dmd") + ["10000000000001"]
    icd = _codes(codelists, "icd10") + ["J441", "F001", "I501", "Z999", "N181", "J4"]
    patients, regs, ce, med, dx = [], [], [], [], []
    for i in range(n):
        pid = f"p{i:03d}"
        patients.append({"patient_id": pid, "date_of_birth": rng.choice(["1940-01-01", "2010-06-01"]),
                         "sex": rng.choice(["female", "male"])})
        regs.append({"patient_id": pid, "practice_code": "A1", "start_date": "2020-01-01"})
        for _ in range(rng.randint(0, 30)):
            when = T - timedelta(days=rng.choice(DAYS))
            value = rng.choice([None, 9.0, 11.4, 12.9, 55.0, 65.0, 114.0, 140.0])
            row = {"patient_id": pid, "date": when, "snomedct_code": rng.choice(snomed + [None]),
                   "numeric_value": value}
            ce += [row] * rng.choice([1, 1, 2])  # repeated feed rows
        for _ in range(rng.randint(0, 15)):
            row = {"patient_id": pid, "date": T - timedelta(days=rng.choice(DAYS)),
                   "dmd_code": rng.choice(dmd)}
            med += [row] * rng.choice([1, 1, 2])
        for k in range(rng.randint(0, 5)):
            code = rng.choice(icd)
            dx.append({"spell_id": f"{pid}-{k}", "patient_id": pid, "position": 0,
                       "admission_date": T - timedelta(days=rng.choice(DAYS)),
                       "admission_method": "21", "icd10_code": code, "icd10_code3": code[:3]})
    return patients, ce, med, dx, regs


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_flags_evidence_and_unmatched_equal_the_rules(engine, codelists, seed):
    patients, ce, med, dx, regs = _data(codelists, seed)
    config = FeatureConfig()
    valued = {(v.catalogue, v.key) for v in codelists.value_rules}
    conds = [(name, c) for name in (config.preset, "efi", "flags") for c in codelists.catalogue(name)
             if c.dx_lists or c.rx_lists or (name, c.key) in valued]  # not derived polypharmacy
    r, _ = derive_tables(engine, codelists, config=config, patients=patients, practice_registrations=regs,
                         clinical_events=ce, medications=med, apcs_diagnoses=dx)
    want_flags, want_ev = reference.flags_and_evidence(codelists, T, patients, ce, med, dx, conds)
    every = [c for _, c in conds]
    conds = [c for c in every if c.kind != "part"]

    person = {row["patient_id"]: row for row in engine.to_arrow(r.person).to_pylist()}
    cols = {column_name(c) for c in conds}
    for pid, row in person.items():
        assert {c for c in cols if row[c]} == want_flags[pid], pid
        ltc = [column_name(c) for c in codelists.catalogue(config.preset) if c.kind != "part"]
        assert row["ltc_count"] == sum(row[c] for c in ltc)
        assert row["efi_deficits"] == sum(row[column_name(c)] for c in codelists.catalogue("efi"))
        assert row["ltc_conditions"] == ";".join(sorted(c[4:] for c in ltc if row[c]))

    got_ev = {(e["patient_id"], e["feature"], e["code"], e["source"]): (e["first_date"], e["last_date"])
              for e in engine.to_arrow(r.evidence).to_pylist()
              if e["feature"] in cols}
    assert got_ev == want_ev

    um = {u["source"]: u for u in engine.to_arrow(r.unmatched).to_pylist()}
    for source, rows, col, system in (("clinical_events", ce, "snomedct_code", "snomedct"),
                                      ("medications", med, "dmd_code", "dmd")):
        known = {c for n in {n for c in every for n in c.dx_lists + c.rx_lists + c.cancel_lists + c.unless_lists}
                 | {v.list_name for v in codelists.value_rules}
                 if codelists.lists[n].system == system for c, _ in codelists.lists[n].codes}
        on_t = [x[col] for x in rows if x["date"] <= T]
        miss = [c for c in on_t if c not in known]
        assert (um[source]["events"], um[source]["unmatched_events"], um[source]["unmatched_codes"]) == (
            len(on_t), len(miss), len({c for c in miss if c is not None}))
