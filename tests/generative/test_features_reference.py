"""Generative: the ibis/DuckDB features agree with an obviously-correct pure-Python reference.

The reference uses dicts and loops over the same catalogue and code lists: LTC count (Cambridge
preset), eFI deficit count (coded deficits + polypharmacy; value rules are covered by spec
tests) and HFRS tenths. hypothesis draws random patients with events near the window edges.
"""

from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from npc_risk.codelists import load_codelists, load_hfrs_weights
from npc_risk.config import FeatureConfig
from npc_risk.features import derive_features, memtables
from tests.builders.reference import dx_holds

T = date(2026, 3, 31)
CS = load_codelists()
W = load_hfrs_weights()
LTC = CS.catalogue("cambridge")
EFI = CS.catalogue("efi")


def _codes(system):
    return sorted({c for cl in CS.lists.values() if cl.system == system and not cl.name.startswith("val-")
                   for c, _ in cl.codes})


SNOMED = _codes("snomedct")[:400] + ["999999999"]
DMD = _codes("dmd") + ["10000000000001"]
ICD = sorted(set(_codes("icd10")) | set(W)) + ["J441", "F001", "I501", "Z999"]
DAYS = st.sampled_from([0, 1, 364, 365, 366, 729, 730, 731, 1825, 1826, 4000])


def ref_matches(list_name, system, code):
    cl = CS.lists[list_name]
    codes = {c for c, _ in cl.codes}
    if system != cl.system:
        return False
    if cl.match == "prefix":
        return any(code.startswith(c) for c in codes)
    return code in codes


def ref_condition(c, events):
    """events: list of (system, code, days_before). Mirrors model.Condition's rule."""
    dx_days = [d for s, code, d in events for n in c.dx_lists if ref_matches(n, s, code)]
    rx = {(code, d) for s, code, d in events for n in c.rx_lists
          if ref_matches(n, s, code) and d < c.rx_window_days}
    dx = dx_holds(c, dx_days)
    rxok = bool(c.rx_lists) and len(rx) >= c.rx_min_count
    vetoed = any(ref_matches(n, s, code) for s, code, d in events for n in c.unless_lists)
    own = ((dx and rxok) if c.combine == "and" else (dx or rxok)) and not vetoed
    parts = {p.key: p for p in LTC + EFI if p.kind == "part"}
    return own or any(ref_condition(parts[k], events) for k in c.any_of)


def reference(events):
    ltc = sum(ref_condition(c, events) for c in LTC if c.kind != "part")
    efi = sum(ref_condition(c, events) for c in EFI if c.key != "polypharmacy")
    efi += len({CS.ingredients.get(code, code) for s, code, d in events if s == "dmd" and d < 365}) >= 5
    cats = {code[:3] for s, code, d in events if s == "icd10" and d <= 730}
    return ltc, efi, sum(W.get(c, 0) for c in cats)


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
    for pid, events in zip(ids, people):
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
    tables = memtables(
        patients=[{"patient_id": p, "date_of_birth": "1940-01-01", "sex": "female"} for p in ids],
        practice_registrations=[{"patient_id": p, "practice_code": "A1", "start_date": "2020-01-01"} for p in ids],
        clinical_events=ce, medications=med, apcs_diagnoses=dx)
    r = derive_features(module_engine, tables, as_of=T, codelists=CS, config=FeatureConfig())
    got = r.person.select("patient_id", "ltc_count", "efi_deficits", "hfrs_score").to_pyarrow().to_pylist()
    got = {g["patient_id"]: (g["ltc_count"], g["efi_deficits"], round(g["hfrs_score"] * 10)) for g in got}
    assert got == {pid: reference(ev) for pid, ev in zip(ids, people)}
