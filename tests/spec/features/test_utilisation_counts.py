"""Spec: utilisation counts in the 12 months before T (clinical-definitions.md §5;
nhs-data-conventions.md §1.8, §1.10). T is 2026-03-31.
"""

from tests.builders.features import T, days_before, derive


def test_utilisation_windows_and_definitions(engine, codelists):
    """Emergency = admissions.is_emergency_admission, the outcome's code set (21-25, 2A, 2D, 28;
    not 2B transfers or 2C births, §5.1); window (T-365d, T]; bed days are
    LOS to min(discharge, T), same-day = 0, open spells count to T; electives 11/12/13;
    OPA attended 5/6, DNA 3/7; GP attended only; social care active on T."""
    def spell(sid, pid, adm, dis, method):
        return {"spell_id": sid, "patient_id": pid, "admission_date": days_before(adm),
                "discharge_date": None if dis is None else days_before(dis), "admission_method": method}
    apcs = [spell("s1", "p", 10, 5, "21"),      # 5 bed days
            spell("s2", "p", 100, 100, "2A"),   # same day: 0
            spell("s3", "p", 3, None, "28"),    # open: 3 days to T
            spell("s4", "p", 365, 360, "21"),   # outside the window
            spell("s5", "p", 200, 198, "12"),   # elective
            spell("s6", "p", 50, 49, "31"),     # maternity: neither
            spell("s7", "p", 40, 30, "2B"),     # transfer: not an emergency admission (was 1 and 10 days)
            spell("s8", "p", 60, 60, "2C")]     # birth at home: not an emergency admission
    ec = [{"attendance_id": f"a{i}", "patient_id": "p", "arrival_date": days_before(x)}
          for i, x in enumerate([0, 364, 365])]
    opa = [{"appointment_id": f"o{s}", "patient_id": "p", "appointment_date": days_before(5), "attendance_status": s}
           for s in "234567"]
    gp = [{"patient_id": "p", "date": days_before(1), "status": s}
          for s in ("attended", "attended", "did_not_attend", "cancelled")]
    sc = [{"patient_id": "p", "start_date": days_before(100), "end_date": None, "service_type": "x"},
          {"patient_id": "p", "start_date": days_before(100), "end_date": T, "service_type": "x"},
          {"patient_id": "p", "start_date": days_before(100), "end_date": days_before(1), "service_type": "x"}]
    _, p = derive(engine, codelists, ["p", "q"], apcs=apcs, ec=ec, opa=opa, gp_appointments=gp, social_care_packages=sc)
    r = p.loc["p"]
    assert (r.emergency_admissions_12m, r.emergency_bed_days_12m, r.elective_admissions_12m) == (3, 8, 1)
    assert (r.ae_attendances_12m, r.outpatient_attendances_12m, r.outpatient_dnas_12m) == (2, 2, 2)
    assert (r.gp_appointments_12m, r.social_care_packages_active) == (2, 2)
    assert p.loc["q", "emergency_admissions_12m"] == 0
