"""Spec: the evidence table explains every feature: one row per (patient, feature, code,
source) with the first and last dates the code was seen. T is 2026-03-31.
"""

from tests.builders.features import days_before, derive, diagnosis, event


def test_evidence_explains_conditions_and_hfrs(engine, codelists):
    """Evidence: one row per (patient, feature, code, source) with first/last dates."""
    r, _ = derive(engine, codelists, ["p"], clinical_events=[event("p", 400, "84114007"), event("p", 10, "84114007")],
               apcs_diagnoses=[diagnosis("p", 20, "F000")])
    e = engine.to_arrow(r.evidence).to_pandas()
    row = e[(e.feature == "ltc_heart_failure")].iloc[0]
    assert (row.code, row.first_date, row.last_date, row.source) == (
        "84114007", days_before(400), days_before(10), "clinical_events")
    assert {"hfrs_F00", "ltc_dementia", "efi_heart_failure"} <= set(e.feature)
