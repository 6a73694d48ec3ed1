"""Hospital Frailty Risk Score (clinical-definitions.md §2).

Window: spells with admission_date in [T - 730 d, T] — both ends inclusive (a code exactly 730
days before T counts, 731 does not). Every diagnosis position of every spell counts. Each 3-char
category counts once per person however often it recurs (§2.1 counting rule; summing per spell
inflates scores). Points are summed in integer tenths; the category is `frailty.hfrs_category`
of the tenths: low < 50, intermediate 50..150 inclusive, high > 150 (paper wording, §2.1).
"""

from __future__ import annotations

from datetime import date

import ibis

from npc_risk.features.as_of import diagnoses_known_at
from npc_risk.features.tables import rows_memtable
from npc_risk.frailty import hfrs_category


def weights_table(weights: dict[str, int]) -> ibis.Table:
    return rows_memtable(sorted(weights.items()), {"icd10_code3": "string", "tenths": "int64"})


def hfrs_categories(diag: ibis.Table, weights: dict[str, int], as_of: date,
                    window_days: int = 730) -> ibis.Table:
    """(patient_id, icd10_code3, tenths, first_date, last_date): one row per person and category."""
    t = ibis.date(as_of)
    # diagnoses known at T (coded at discharge, §6.3: features.as_of), then the look-back
    d = diagnoses_known_at(diag, t)
    d = d.filter(t.delta(d.admission_date, unit="day") <= window_days)
    w = weights_table(weights)
    j = d.join(w, "icd10_code3")
    return j.group_by(["patient_id", "icd10_code3"]).aggregate(
        tenths=j.tenths.max(), first_date=j.admission_date.min(), last_date=j.admission_date.max())


def hfrs_per_person(cats: ibis.Table) -> ibis.Table:
    return cats.group_by("patient_id").aggregate(hfrs_tenths=cats.tenths.sum())


def hfrs_columns(tenths: ibis.Value) -> dict[str, ibis.Value]:
    """hfrs_score (float, one decimal) and hfrs_category from the integer tenths."""
    t = tenths.fill_null(0)
    return {"hfrs_score": (t.cast("float64") / 10.0).round(1), "hfrs_category": hfrs_category(t)}
