"""Equivalence: the restructured (cached, single-aggregate) feature derivation gives exactly what
the catalogue rules say, on seeded random data shaped to hit the shortcuts it takes.

derive_features matches events once, aggregates them once per (patient, condition, code,
source), de-duplicates only in-window rx issues, pivots flags through integer bit words and
counts unmatched codes per code. Each of those is checked here against a plain-Python reading
of model.Condition: duplicated feed rows, one code in several lists and roles, value rules with
sex and unit splits, cancelling codes with ties, rx issues on both sides of the window, ICD-10
prefixes of both lengths, null and unknown codes. No timings (benchmarks/features.py).
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, timedelta

import pytest

from npc_risk.codelists import load_codelists
from npc_risk.config import FeatureConfig
from npc_risk.features import derive_features, memtables
from npc_risk.features.events import column_name
from tests.builders.reference import dx_holds

T = date(2026, 3, 31)
CS = load_codelists()
DAYS = [0, 1, 10, 364, 365, 366, 729, 730, 731, 1825, 1826, 4000]


def _codes(system: str) -> list[str]:
    return sorted({c for cl in CS.lists.values() if cl.system == system for c, _ in cl.codes})


def _matches(list_name: str, code: str | None) -> bool:
    cl = CS.lists[list_name]
    codes = {c for c, _ in cl.codes}
    if code is None:
        return False
    if cl.match == "prefix":
        return any(code.startswith(c) for c in codes)
    return code in codes


def _data(seed: int, n: int = 40):
    rng = random.Random(seed)
    snomed, dmd = _codes("snomedct") + ["999999999"], _codes("dmd") + ["10000000000001"]
    icd = _codes("icd10") + ["J441", "F001", "I501", "Z999", "N181", "J4"]
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


def _reference(patients, ce, med, dx, conds):
    """{patient: set of flag columns}, {(patient, col, code, source): (first, last)}."""
    events = defaultdict(list)  # patient -> (system, code, date, value)
    for r in ce:
        events[r["patient_id"]].append(("snomedct", r["snomedct_code"], r["date"], r["numeric_value"]))
    for r in med:
        events[r["patient_id"]].append(("dmd", r["dmd_code"], r["date"], None))
    for r in dx:
        events[r["patient_id"]].append(("icd10", r["icd10_code"], r["admission_date"], None))
    rules = defaultdict(list)  # (catalogue, key) -> value rules
    for v in CS.value_rules:
        rules[v.catalogue, v.key].append(v)
    flags, evidence = defaultdict(set), {}
    for p in patients:
        pid, sex = p["patient_id"], p["sex"]
        dob = date.fromisoformat(p["date_of_birth"])
        age = T.year - dob.year - ((dob.month, dob.day) > (T.month, T.day))
        evs = [e for e in events[pid] if e[2] <= T]

        def hits(lists):
            return [(s, c, d, v, n) for s, c, d, v in evs for n in lists
                    if CS.lists[n].system == s and _matches(n, c)]

        def holds(r, v):
            return ((r.sex is None or r.sex == sex) and (r.gt is None or v > r.gt)
                    and (r.ge is None or v >= r.ge) and (r.lt is None or v < r.lt)
                    and (r.le is None or v <= r.le))

        for catalogue, c in conds:
            dx_h, rx_h, cancel_h = hits(c.dx_lists), hits(c.rx_lists), hits(c.cancel_lists)
            unless_h = hits(c.unless_lists)
            val_h = []
            for r in rules[catalogue, c.key]:
                vals = [(s, code, d, v, r.list_name) for s, code, d, v in evs
                        if CS.lists[r.list_name].system == s and _matches(r.list_name, code)
                        and v is not None]
                if r.aggregate == "any":
                    val_h += [h for h in vals if holds(r, h[3])]
                else:  # best_of_last_2: latest first, on one day the higher value first
                    last = sorted(set(vals), key=lambda h: (h[2], h[3], [-ord(x) for x in h[1]]),
                                  reverse=True)[:2]
                    if last and holds(r, max(h[3] for h in last)):
                        val_h += last
            dx_ok = dx_holds(c, [(T - d).days for _, _, d, _, _ in dx_h])
            # an issue is a distinct (code, date); one code in two rx lists is one issue
            issues = {(d, code, s) for s, code, d, v, n in rx_h if (T - d).days < c.rx_window_days}
            rx_ok = bool(c.rx_lists) and len(issues) >= c.rx_min_count
            flag = (dx_ok and rx_ok) if c.combine == "and" else (dx_ok or rx_ok or bool(val_h))
            if flag and cancel_h:
                flag = bool(dx_h) and max(d for _, _, d, _, _ in dx_h) >= max(d for _, _, d, _, _ in cancel_h)
            if not (flag and not unless_h and age >= c.age_floor):
                continue
            # a part (kind "part") holds for the conditions naming it in any_of, under their names
            targets = ([column_name(p) for name, p in conds if name == catalogue and c.key in p.any_of]
                       if c.kind == "part" else [column_name(c)])
            source = {"snomedct": "clinical_events", "dmd": "medications", "icd10": "apcs"}
            for col in targets:
                flags[pid].add(col)
                for s, code, d, _, _ in dx_h + rx_h + val_h:
                    key = (pid, col, code, source[s])
                    first, last = evidence.get(key, (d, d))
                    evidence[key] = (min(first, d), max(last, d))
    return flags, evidence


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_flags_evidence_and_unmatched_equal_the_rules(engine, seed):
    patients, ce, med, dx, regs = _data(seed)
    config = FeatureConfig()
    valued = {(v.catalogue, v.key) for v in CS.value_rules}
    conds = [(name, c) for name in (config.preset, "efi", "flags") for c in CS.catalogue(name)
             if c.dx_lists or c.rx_lists or (name, c.key) in valued]  # not derived polypharmacy
    r = derive_features(engine, memtables(patients=patients, practice_registrations=regs, clinical_events=ce,
                                  medications=med, apcs_diagnoses=dx),
                        as_of=T, codelists=CS, config=config)
    want_flags, want_ev = _reference(patients, ce, med, dx, conds)
    every = [c for _, c in conds]
    conds = [c for c in every if c.kind != "part"]

    person = {row["patient_id"]: row for row in r.person.to_pyarrow().to_pylist()}
    cols = {column_name(c) for c in conds}
    for pid, row in person.items():
        assert {c for c in cols if row[c]} == want_flags[pid], pid
        ltc = [column_name(c) for c in CS.catalogue(config.preset) if c.kind != "part"]
        assert row["ltc_count"] == sum(row[c] for c in ltc)
        assert row["efi_deficits"] == sum(row[column_name(c)] for c in CS.catalogue("efi"))
        assert row["ltc_conditions"] == ";".join(sorted(c[4:] for c in ltc if row[c]))

    got_ev = {(e["patient_id"], e["feature"], e["code"], e["source"]): (e["first_date"], e["last_date"])
              for e in r.evidence.to_pyarrow().to_pylist()
              if e["feature"] in cols}
    assert got_ev == want_ev

    um = {u["source"]: u for u in r.unmatched.to_pyarrow().to_pylist()}
    for source, rows, col, system in (("clinical_events", ce, "snomedct_code", "snomedct"),
                                      ("medications", med, "dmd_code", "dmd")):
        known = {c for n in {n for c in every for n in c.dx_lists + c.rx_lists + c.cancel_lists + c.unless_lists}
                 | {v.list_name for v in CS.value_rules}
                 if CS.lists[n].system == system for c, _ in CS.lists[n].codes}
        on_t = [x[col] for x in rows if x["date"] <= T]
        miss = [c for c in on_t if c not in known]
        assert (um[source]["events"], um[source]["unmatched_events"], um[source]["unmatched_codes"]) == (
            len(on_t), len(miss), len({c for c in miss if c is not None}))
