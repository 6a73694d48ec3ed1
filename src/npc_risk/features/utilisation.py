"""12-month utilisation counts in (T - 365 d, T] and the social-care status on T.

Rules (clinical-definitions.md §5; nhs-data-conventions.md §1.4, §1.8, §1.10):
* emergency_admissions_12m: spells whose admission_method starts with `2` (21-25, 2A-2D, 28 —
  the issue's definition for the *feature*; the outcome excludes 2B/2C, §5.1). Counted as
  distinct spells, never episodes.
* emergency_bed_days_12m: sum over those spells of (min(discharge_date, T) - admission_date);
  a same-day spell counts 0; a spell still open (null discharge) or ending after T counts only
  the days up to T (no facts after T, §6.3).
* elective_admissions_12m: methods 11, 12, 13.
* ae_attendances_12m: EC attendances (all department types; attendance_id is unique once staged).
* outpatient_attendances_12m: attendance_status 5 or 6; outpatient_dnas_12m: 3 or 7 (§1.8).
* gp_appointments_12m: status `attended`.
* social_care_packages_active: packages with start_date <= T and (end_date null or
  end_date >= T) — the end date is the last day of service, so a package ending on T is active.
"""

from __future__ import annotations

from datetime import date

import ibis


def _in_12m(col: ibis.Value, as_of: date) -> ibis.Value:
    """(T - 365 d, T] as two plain comparisons, so the Parquet scan can use them."""
    t = ibis.date(as_of)
    return (col <= t) & (col > t - ibis.interval(days=365))


def utilisation(tables: dict[str, ibis.Table], as_of: date) -> list[ibis.Table]:
    """A list of per-patient tables (patient_id + counts) to left-join onto the population."""
    t = ibis.date(as_of)
    apcs = tables["apcs"]
    apcs = apcs.filter(_in_12m(apcs.admission_date, as_of))
    emerg = apcs.filter(apcs.admission_method.startswith("2"))
    end = ibis.least(emerg.discharge_date.fill_null(t), t)
    emerg = emerg.mutate(_los=ibis.greatest(end.delta(emerg.admission_date, unit="day"), 0))
    # spell_id is the staged apcs table's unique key: one row is one spell (never episodes)
    e = emerg.group_by("patient_id").aggregate(
        emergency_admissions_12m=emerg.count(), emergency_bed_days_12m=emerg._los.sum())
    el = apcs.filter(apcs.admission_method.isin(["11", "12", "13"]))
    el = el.group_by("patient_id").aggregate(elective_admissions_12m=el.count())
    ec = tables["ec"]
    ec = ec.filter(_in_12m(ec.arrival_date, as_of))
    # attendance_id / appointment_id are unique keys of the staged tables (ingest quarantines
    # repeated keys), so a row count is a count of attendances; COUNT(DISTINCT) inside a
    # group-by costs several times the scan at 8M outpatient rows.
    ec = ec.group_by("patient_id").aggregate(ae_attendances_12m=ec.count())
    opa = tables["opa"]
    opa = opa.filter(_in_12m(opa.appointment_date, as_of))
    op = opa.group_by("patient_id").aggregate(
        outpatient_attendances_12m=opa.count(where=opa.attendance_status.isin(["5", "6"])),
        outpatient_dnas_12m=opa.count(where=opa.attendance_status.isin(["3", "7"])))
    gp = tables["gp_appointments"]
    gp = gp.filter(_in_12m(gp.date, as_of) & (gp.status == "attended"))
    gp = gp.group_by("patient_id").aggregate(gp_appointments_12m=gp.count())
    sc = tables["social_care_packages"]
    sc = sc.filter((sc.start_date <= t) & (sc.end_date.isnull() | (sc.end_date >= t)))
    sc = sc.group_by("patient_id").aggregate(social_care_packages_active=sc.count())
    return [e, el, ec, op, gp, sc]


UTILISATION_COLUMNS = (
    "emergency_admissions_12m", "emergency_bed_days_12m", "elective_admissions_12m",
    "ae_attendances_12m", "outpatient_attendances_12m", "outpatient_dnas_12m",
    "gp_appointments_12m", "social_care_packages_active",
)
