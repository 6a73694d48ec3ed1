"""Spec: the exclusion flags the cohort reads (clinical-definitions.md §7.3-§7.4).

care_home and type1_optout follow the latest relevant code (a later cancelling code removes the
flag, a tie keeps it); type 1 opt-outs also come from the opt_outs table; palliative care comes
from GP codes or hospital diagnoses. T is 2026-03-31 throughout.
"""

from tests.builders.features import derive, diagnosis, event


def test_care_home_latest_residence_code_wins(engine, codelists):
    """care_home: a care-home code not followed by a later own-home code; a tie keeps the flag."""
    events = [event("ch", 100, "248171000000108"),
              event("moved_home", 100, "160734000"), event("moved_home", 50, "224228000"),
              event("tie", 50, "160734000"), event("tie", 50, "224228000")]
    _, p = derive(engine, codelists, ["ch", "moved_home", "tie", "none"], clinical_events=events)
    assert list(p.care_home) == [True, False, True, False]
    assert list(p.efi_requirement_for_care) == [True, True, True, False]


def test_type1_optout_from_table_or_latest_dissent_code(engine, codelists):
    """type1_optout: opt_outs type1 OR a dissent code (827241000000103) not withdrawn later."""
    events = [event("code", 10, "827241000000103"),
              event("withdrawn", 100, "827241000000103"), event("withdrawn", 10, "827261000000102")]
    opt = [{"patient_id": "table", "opt_out_type": "type1"}, {"patient_id": "ndoo", "opt_out_type": "ndoo"}]
    _, p = derive(engine, codelists, ["code", "withdrawn", "table", "ndoo"], clinical_events=events, opt_outs=opt)
    assert list(p.type1_optout) == [True, False, True, False]


def test_palliative_care_from_gp_or_hospital(engine, codelists):
    _, p = derive(engine, codelists, ["gp", "hosp", "none"], clinical_events=[event("gp", 3, "103735009")],
               apcs_diagnoses=[diagnosis("hosp", 3, "Z515")])
    assert list(p.palliative_care) == [True, True, False]
