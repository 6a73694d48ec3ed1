"""The respiratory outcome: >= 1 emergency admission with a respiratory primary diagnosis (ICD-10
chapter X, J00-J99, respiratory-and-packs.md §6) in the 365 days after the as-of date, with the
emergency admission methods of `admissions.is_emergency_admission` (the all-cause outcome's set).
The primary diagnosis is read from the staged apcs spell (normalised as ingest does), so a label
needs only the `apcs` table, as the all-cause label does.
"""

from __future__ import annotations

from datetime import date

import ibis

from npc_risk.admissions import is_emergency_admission
from npc_risk.codes.icd10 import normalise_icd10_expr
from npc_risk.risk.labels import label_window

DESCRIPTION = (">= 1 emergency admission spell with a respiratory primary diagnosis (ICD-10 J00-J99) in the "
               "365 days after the as-of date (respiratory-and-packs.md §6)")


def respiratory_admission_label(apcs: ibis.Table, *, start: date, days: int = 365,
                                population: ibis.Table | None = None) -> ibis.Table:
    """ibis expression (patient_id string, label int8 0/1), one row per person (as
    risk.labels.emergency_admission_label)."""
    lo, hi = label_window(start, days)
    code = normalise_icd10_expr(apcs.primary_diagnosis)
    qualifying = apcs.filter(
        is_emergency_admission(apcs.admission_method),
        apcs.admission_date > ibis.literal(lo),
        apcs.admission_date <= ibis.literal(hi),
        code.startswith("J").fill_null(False),
    )
    admitted = qualifying.select("patient_id").distinct().mutate(_hit=ibis.literal(1, "int8"))
    people = (population if population is not None else apcs).select("patient_id").distinct()
    joined = people.left_join(admitted, "patient_id")
    return joined.select(patient_id=joined.patient_id, label=joined._hit.fill_null(0).cast("int8"))



def on_a_register(table: ibis.Table) -> ibis.BooleanValue:
    """The respiratory selection's candidates and denominator: asthma or COPD register members."""
    return (table.asthma_register | table.copd_register).fill_null(False)
