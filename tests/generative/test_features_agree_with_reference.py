"""Generative: the engine's features agree with the pure-Python reference (tests/builders/reference.py).

The reference reads the same catalogue and code lists with dicts and loops: LTC count (Cambridge
preset), eFI deficit count (coded deficits + polypharmacy; value rules are covered by spec tests
and the equivalence test) and HFRS tenths. hypothesis draws random patients with events near the
window edges; every engine must give the reference's answer for each of them.
"""

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from npc_risk.features.events import column_name
from tests.builders import reference
from tests.builders.features import T, derive_tables, packaged_codelists, packaged_hfrs_weights, registered

# The code pools are drawn from at import time (strategies exist before fixtures do): the same
# cached objects the session fixtures `codelists` and `hfrs_weights` return.
CS = packaged_codelists()
W = packaged_hfrs_weights()
LTC = CS.catalogue("cambridge")
EFI = CS.catalogue("efi")
# what the reference evaluates: every LTC condition and part, every coded eFI deficit
CONDITIONS = [("cambridge", c) for c in LTC] + [("efi", c) for c in EFI if c.key != "polypharmacy"]
LTC_COLUMNS = {column_name(c) for c in LTC if c.kind != "part"}
EFI_COLUMNS = {column_name(c) for c in EFI if c.key != "polypharmacy"}


def _codes(system):
    return sorted({c for cl in CS.lists.values() if cl.system == system and not cl.name.startswith("val-")
                   for c, _ in cl.codes})


SNOMED = _codes("snomedct")[:400] + ["999999999"]
DMD = _codes("dmd") + ["10000000000001"]
ICD = sorted(set(_codes("icd10")) | set(W)) + ["J441", "F001", "I501", "Z999"]
DAYS = st.sampled_from([0, 1, 364, 365, 366, 729, 730, 731, 1825, 1826, 4000])


def expected(ids, patients, ce, med, dx):
    """{patient: (ltc_count, efi_deficits, hfrs tenths)} by the reference."""
    flags, _ = reference.flags_and_evidence(CS, T, patients, ce, med, dx, CONDITIONS)
    poly = reference.polypharmacy(CS, T, med)
    hfrs = reference.hfrs_tenths(W, T, dx)
    return {pid: (len(flags[pid] & LTC_COLUMNS), len(flags[pid] & EFI_COLUMNS) + poly.get(pid, False),
                  hfrs.get(pid, 0))
            for pid in ids}


event = st.one_of(
    st.tuples(st.just("snomedct"), st.sampled_from(SNOMED), DAYS),
    st.tuples(st.just("dmd"), st.sampled_from(DMD), DAYS),
    st.tuples(st.just("icd10"), st.sampled_from(ICD), DAYS),
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(event, max_size=25), min_size=1, max_size=6))
def test_engine_agrees_with_reference(module_engine, people):
    ids = [f"p{i}" for i in range(len(people))]
    ce, med, dx = [], [], []
    for pid, events in zip(ids, people, strict=True):
        for s, code, days in events:
            when = T - timedelta(days=days)
            if s == "snomedct":
                ce.append({"patient_id": pid, "date": when, "snomedct_code": code})
            elif s == "dmd":
                med.append({"patient_id": pid, "date": when, "dmd_code": code})
            else:
                dx.append({"spell_id": f"{pid}-{days}", "patient_id": pid, "admission_date": when,
                           "admission_method": "21", "position": 0, "icd10_code": code,
                           "icd10_code3": code[:3]})
    tables = registered(ids, start="2020-01-01")
    _, person = derive_tables(module_engine, CS, clinical_events=ce, medications=med, apcs_diagnoses=dx,
                              **tables)
    got = {pid: (row.ltc_count, row.efi_deficits, round(row.hfrs_score * 10))
           for pid, row in person.iterrows()}
    assert got == expected(ids, tables["patients"], ce, med, dx)
