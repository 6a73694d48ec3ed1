"""Catalogue rules -> per-person condition flags, in one aggregation over all conditions.

Each catalogue condition becomes rows of a small `roles` table (column, role, list_name) and one
row of a `params` table (windows, min counts, combine, age floor). Hits are joined to roles once
and aggregated per (patient, column); the rule (model.Condition docstring) is then a vectorised
expression over those aggregates. Loops here only build expressions over a few dozen conditions.

Output column names: `ltc_<key>`, `efi_<key>`, and flags by bare key (`care_home`, ...).
"""

from __future__ import annotations

from datetime import date

import ibis

from npc_risk.codelists.model import CodelistSet, Condition
from npc_risk.features.tables import rows_memtable

PREFIX = {"ltc": "ltc_", "efi_deficit": "efi_", "flag": ""}


def column_name(c: Condition) -> str:
    return PREFIX[c.kind] + c.key


def roles_and_params(conds: list[Condition], cs: CodelistSet) -> tuple[ibis.Table, ibis.Table]:
    roles, params = [], []
    for c in conds:
        col = column_name(c)
        for role, names in (("dx", c.dx_lists), ("rx", c.rx_lists), ("cancel", c.cancel_lists)):
            roles += [(col, role, n) for n in names]
        params.append((col, c.key, c.kind, c.dx_window_days, c.dx_window_basis, bool(c.rx_lists),
                       c.rx_window_days, c.rx_min_count, c.combine, bool(c.cancel_lists), c.age_floor))
    for r in cs.value_rules:
        if any(column_name(c) == PREFIX[c.kind] + r.key for c in conds if c.key == r.key):
            col = next(column_name(c) for c in conds if c.key == r.key)
            roles.append((col, "value", r.list_name))
    rt = rows_memtable(sorted(set(roles)), {"col": "string", "role": "string", "list_name": "string"})
    pt = rows_memtable(params, {"col": "string", "key": "string", "kind": "string",
                                "dx_window_days": "int64", "dx_window_basis": "string",
                                "has_rx": "boolean", "rx_window_days": "int64",
                                "rx_min_count": "int64", "combine": "string",
                                "has_cancel": "boolean", "age_floor": "int64"})
    return rt, pt


def value_rules_table(cs: CodelistSet, conds: list[Condition]) -> ibis.Table:
    cols = {column_name(c): c.key for c in conds}
    key_to_col = {v: k for k, v in cols.items()}
    rows = [(key_to_col[r.key], r.list_name, r.sex, r.gt, r.ge, r.lt, r.le)
            for r in cs.value_rules if r.key in key_to_col]
    return rows_memtable(rows, {"col": "string", "list_name": "string", "sex": "string",
                                "gt": "float64", "ge": "float64", "lt": "float64", "le": "float64"})


def role_hits(hits: ibis.Table, roles: ibis.Table, vrules: ibis.Table,
              pop: ibis.Table) -> ibis.Table:
    """(patient_id, col, role, date, days_before, code, source) for every hit that serves a rule.

    Value hits (role `value`) are kept only when the numeric value satisfies a rule row: all
    given bounds hold, the sex matches when the rule names one, and the value is not null
    (clinical-definitions.md §1.5: ignore null values; Hb unit split is two rule rows).
    """
    coded = hits.join(roles.filter(roles.role != "value"), "list_name").select(
        "patient_id", "col", "role", "date", "days_before", "code", "source")
    v = hits.filter(hits.numeric_value.notnull()).join(vrules, "list_name")
    v = v.join(pop.select("patient_id", psex="sex"), "patient_id")
    x = v.numeric_value
    ok = ((v.gt.isnull() | (x > v.gt)) & (v.ge.isnull() | (x >= v.ge))
          & (v.lt.isnull() | (x < v.lt)) & (v.le.isnull() | (x <= v.le))
          & (v.sex.isnull() | (v.sex == v.psex)))
    valued = v.filter(ok).select("patient_id", "col", role=ibis.literal("value"), date=v.date,
                                 days_before=v.days_before, code=v.code, source=v.source)
    return ibis.union(coded, valued)


def condition_flags(rh: ibis.Table, params: ibis.Table, pop: ibis.Table) -> ibis.Table:
    """Long table (patient_id, col, flag=True) of every condition/deficit/flag that holds."""
    rh = rh.join(params.select("col", "rx_window_days"), "col")
    agg = rh.group_by(["patient_id", "col"]).aggregate(
        dx_last=rh.days_before.min(where=rh.role == "dx"),
        dx_first=rh.days_before.max(where=rh.role == "dx"),
        rx_n=(rh.role == "rx").ifelse(rh.days_before < rh.rx_window_days, False).cast("int64").sum(),
        val_last=rh.days_before.min(where=rh.role == "value"),
        cancel_last=rh.days_before.min(where=rh.role == "cancel"),
    )
    a = agg.join(params, "col").join(pop.select("patient_id", "age"), "patient_id")
    win = a.dx_window_days
    dx = a.dx_last.notnull() & (
        win.isnull()
        | ((a.dx_window_basis == "any") & (a.dx_last < win))
        | ((a.dx_window_basis == "first") & (a.dx_first < win)))
    rx = a.has_rx & (a.rx_n >= a.rx_min_count)
    val = a.val_last.notnull()
    base = (a.combine == "and").ifelse(dx & rx, dx | rx | val)
    # latest record wins against a cancelling code; a tie keeps the flag (model.Condition)
    not_cancelled = ~a.has_cancel | a.cancel_last.isnull() | (a.dx_last <= a.cancel_last)
    flag = base & not_cancelled & (a.age >= a.age_floor)
    return a.filter(flag.fill_null(False)).select("patient_id", "col")


def wide_flags(pop: ibis.Table, long: ibis.Table, columns: list[str]) -> ibis.Table:
    """Pivot the long flags into one boolean column per name (False when absent)."""
    wide = long.group_by("patient_id").aggregate(
        **{c: (long.col == c).any() for c in columns})
    out = pop.left_join(wide, "patient_id").drop("patient_id_right")
    return out.mutate(**{c: out[c].fill_null(False) for c in columns})


def evidence(rh: ibis.Table, long: ibis.Table) -> ibis.Table:
    """Audit rows for every condition that holds: first/last date of each code that served it.

    Cancelling codes are not evidence; rx hits outside the rule window are still shown with their
    dates (the rule decided; the evidence explains).
    """
    r = rh.filter(rh.role != "cancel").join(long, ["patient_id", "col"])
    return r.group_by(["patient_id", "col", "code", "source"]).aggregate(
        first_date=r.date.min(), last_date=r.date.max()).rename(feature="col")


def as_of_date(as_of: date) -> ibis.Value:
    return ibis.date(as_of)
