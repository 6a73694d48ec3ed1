"""Utilisation counts in the 12 and 24 months before T, and the social-care status on T.

Windows: "last 12 months" = (T - 365 d, T]; "last 24 months" = (T - 730 d, T] (includes the last
12). Each source is scanned once with the wider window and both counts come from the same group-by.

Rules (clinical-definitions.md §5; nhs-data-conventions.md §1.4, §1.8, §1.10):
* emergency_admissions_12m / _24m: emergency admissions as `admissions.is_emergency_admission`
  defines them for the outcome too (21-25, 2A, 2D, 28; not 2B transfers or 2C births: "the same
  code set defines emergency admissions in the previous 12 months", §5.1). One row is one spell
  (spell_id is the staged apcs table's unique key), never episodes.
* emergency_bed_days_12m: sum over the 12-month emergency admissions of (min(discharge_date, T) -
  admission_date); a same-day spell counts 0; a spell still open (null discharge) or ending after
  T counts only the days up to T (no facts after T, §6.3).
* elective_admissions_12m: methods 11, 12, 13.
* ae_attendances_12m / _24m: EC attendances (all department types).
* outpatient_attendances_12m / _24m: attendance_status 5 or 6; outpatient_dnas_12m: 3 or 7 (§1.8).
* gp_appointments_12m / _24m: status `attended`.
* social_care_packages_active: packages with start_date <= T and (end_date null or
  end_date >= T) — the end date is the last day of service, so a package ending on T is active.

Why 24 months as well: a person's need persists across years, and one year of counts is a noisy
reading of it (regression to the mean); the risk model reads both (`risk/`). attendance_id and
appointment_id are unique keys of the staged tables (ingest quarantines repeated keys), so a row
count is a count of attendances: COUNT(DISTINCT) inside a group-by costs several times the scan
at 8M outpatient rows.
"""

from __future__ import annotations

from datetime import date

import ibis

from npc_risk.admissions import is_emergency_admission

YEAR, TWO_YEARS = 365, 730


def _within(col: ibis.Value, as_of: date, days: int) -> ibis.Value:
    """(T - days, T] as two plain comparisons, so the Parquet scan can use them."""
    t = ibis.date(as_of)
    return (col <= t) & (col > t - ibis.interval(days=days))


def utilisation(tables: dict[str, ibis.Table], as_of: date) -> list[ibis.Table]:
    """A list of per-patient tables (patient_id + counts) to left-join onto the population."""
    t = ibis.date(as_of)
    apcs = tables["apcs"]
    apcs = apcs.filter(_within(apcs.admission_date, as_of, TWO_YEARS))
    year = _within(apcs.admission_date, as_of, YEAR)
    emergency = is_emergency_admission(apcs.admission_method)
    elective = apcs.admission_method.isin(["11", "12", "13"])
    end = ibis.least(apcs.discharge_date.fill_null(t), t)
    los = ibis.greatest(end.delta(apcs.admission_date, unit="day"), 0)
    a = apcs.group_by("patient_id").aggregate(
        emergency_admissions_12m=apcs.count(where=emergency & year),
        # DuckDB sums int64 into HUGEINT and writes that to Parquet as DOUBLE, and ibis drops a
        # cast to the type it believes the sum has (int64): through decimal(38, 0) the cast
        # stays, exact, and both engines write int64 (issue 13).
        emergency_bed_days_12m=los.sum(where=emergency & year).cast("decimal(38, 0)").cast("int64"),
        elective_admissions_12m=apcs.count(where=elective & year),
        emergency_admissions_24m=apcs.count(where=emergency))
    ec = tables["ec"]
    ec = ec.filter(_within(ec.arrival_date, as_of, TWO_YEARS))
    e = ec.group_by("patient_id").aggregate(
        ae_attendances_12m=ec.count(where=_within(ec.arrival_date, as_of, YEAR)),
        ae_attendances_24m=ec.count())
    opa = tables["opa"]
    opa = opa.filter(_within(opa.appointment_date, as_of, TWO_YEARS))
    attended = opa.attendance_status.isin(["5", "6"])
    year = _within(opa.appointment_date, as_of, YEAR)
    op = opa.group_by("patient_id").aggregate(
        outpatient_attendances_12m=opa.count(where=attended & year),
        outpatient_dnas_12m=opa.count(where=opa.attendance_status.isin(["3", "7"]) & year),
        outpatient_attendances_24m=opa.count(where=attended))
    gp = tables["gp_appointments"]
    gp = gp.filter(_within(gp.date, as_of, TWO_YEARS) & (gp.status == "attended"))
    g = gp.group_by("patient_id").aggregate(
        gp_appointments_12m=gp.count(where=_within(gp.date, as_of, YEAR)),
        gp_appointments_24m=gp.count())
    sc = tables["social_care_packages"]
    sc = sc.filter((sc.start_date <= t) & (sc.end_date.isnull() | (sc.end_date >= t)))
    sc = sc.group_by("patient_id").aggregate(social_care_packages_active=sc.count())
    return [a, e, op, g, sc]


UTILISATION_COLUMNS = (
    "emergency_admissions_12m", "emergency_bed_days_12m", "elective_admissions_12m",
    "ae_attendances_12m", "outpatient_attendances_12m", "outpatient_dnas_12m",
    "gp_appointments_12m", "social_care_packages_active",
)
#: the 24-month history counts (features for the risk model; also published per person)
HISTORY_COLUMNS = (
    "emergency_admissions_24m", "ae_attendances_24m", "outpatient_attendances_24m",
    "gp_appointments_24m",
)
