"""The outcome: any emergency admission in the 12 months after the index date.

clinical-definitions.md §5 [D]: >= 1 hospital provider spell with admission method in
{21, 22, 23, 24, 25, 2A, 2D, 28} and admission date in (start, start + days]. Which spells are
emergency admissions is `admissions.is_emergency_admission` (the one definition, also used by
the utilisation features); the code set is data (`data/risk/emergency_admission_methods.csv`).

Traps, each pinned by a spec test:
* The window is open at the start: an admission ON the index date belongs to the feature window
  (features use data dated <= T), so counting it here would be leakage.
* 2B (emergency transfer) would double-count one illness; 2C is a birth. Both are excluded. Legacy
  28 is included although it may hide transfers and births (the data dictionary says so).
* People with no spell are absent from the APCS table. Pass `population` to get a 0 for them;
  without it only patients with some spell are returned.
* A death in the window without an admission is label 0 (competing outcome, not modelled).
"""

from __future__ import annotations

from datetime import date, timedelta

import ibis

from npc_risk.admissions import is_emergency_admission
from npc_risk.errors import ModelError


def label_window(start: date, days: int = 365) -> tuple[date, date]:
    """(exclusive start, inclusive end) of the label window."""
    if days <= 0:
        raise ValueError(f"label window must be at least one day, got {days}")
    return start, start + timedelta(days=days)


def check_windows(*, features_as_of: date, label_start: date) -> None:
    """Refuse a label window that begins before the features' as-of date (leakage).

    The pipeline trains on features as of T - 365 d with labels in (T - 365 d, T], and evaluates
    on features as of T with labels after T (when those are known). Either way the label window
    must start exactly at, or after, the date the features were computed for.
    """
    if label_start < features_as_of:
        raise ModelError(
            f"label window starts {label_start} but features are as of {features_as_of}: the "
            "label would overlap the feature look-back; start the label window at the as-of date"
        )


def emergency_admission_label(
    apcs: ibis.Table,
    *,
    start: date,
    days: int = 365,
    population: ibis.Table | None = None,
    methods: tuple[str, ...] | None = None,
) -> ibis.Table:
    """ibis expression (patient_id string, label int8 0/1), one row per person.

    apcs: the staged `apcs` table (spell level; admission_method upper case, as staged).
    population: optional table with `patient_id`; when given the result has exactly its people,
        with 0 for those without a qualifying spell.
    methods: override the packaged code set (tests and sensitivity analyses).
    """
    lo, hi = label_window(start, days)
    qualifying = apcs.filter(
        is_emergency_admission(apcs.admission_method, methods),
        apcs.admission_date > ibis.literal(lo),
        apcs.admission_date <= ibis.literal(hi),
    )
    admitted = qualifying.select("patient_id").distinct().mutate(_hit=ibis.literal(1, "int8"))
    people = (population if population is not None else apcs).select("patient_id").distinct()
    joined = people.left_join(admitted, "patient_id")
    return joined.select(
        patient_id=joined.patient_id,
        label=joined._hit.fill_null(0).cast("int8"),
    )
