"""The generator's A&E diagnoses (data/synth/ecds_diagnoses.csv) are the packaged lists' codes:
every respiratory one (asthma, COPD, other respiratory) is in resp-ecds-diagnosis, the asthma ones
and only they in resp-ecds-asthma, the non-respiratory reasons in neither; every code is a valid
SNOMED CT concept id. So the respiratory pipeline reads what the generator meant to write."""

from npc_risk.codelists.formats import code_problem
from npc_risk.synth.params import load_params


def _codes(codelists, name: str) -> set[str]:
    return {code for code, _ in codelists.lists[name].codes}


def test_generated_ae_diagnoses_match_the_packaged_ecds_lists(codelists):
    rows = load_params().ecds_diagnoses
    respiratory = _codes(codelists, "resp-ecds-diagnosis.snomedct")
    asthma = _codes(codelists, "resp-ecds-asthma.snomedct")
    assert [r["code"] for r in rows if code_problem("snomedct", r["code"])] == []
    assert {r["code"] for r in rows if r["kind"] != "other"} <= respiratory
    assert {r["code"] for r in rows if r["kind"] == "other"}.isdisjoint(respiratory | asthma)
    assert {r["code"] for r in rows if r["kind"] == "asthma"} <= asthma
    assert {r["code"] for r in rows if r["kind"] != "asthma"}.isdisjoint(asthma)
    assert asthma <= respiratory  # the asthma list is the respiratory list's asthma codes
