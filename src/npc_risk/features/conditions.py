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


def evidence_base(hits: ibis.Table, roles: ibis.Table, vrules: ibis.Table, params: ibis.Table,
                  pop: ibis.Table, as_of: date) -> ibis.Table:
    """One row per (patient_id, col, role, code, source) that served a rule, with first_date,
    last_date and rx_n (issues inside the condition's rx window; 0 for other roles).

    This is the one aggregate over the matched events: flags (`condition_flags`) and audit rows
    (`evidence`) are both derived from it, so the events are matched and grouped once per run.

    Value hits (role `value`) are kept only when the numeric value satisfies a rule row: all
    given bounds hold, the sex matches when the rule names one, and the value is not null
    (clinical-definitions.md §1.5: ignore null values; Hb unit split is two rule rows).
    rx hits are de-duplicated on (patient, date, code, list, source, value) before counting, so a
    repeated feed row is one issue; dates need no de-duplication (min/max).
    """
    t = ibis.date(as_of)
    cols = ["patient_id", "col", "role", "code", "source", "date", "rx_in_window"]
    other = roles.filter(~roles.role.isin(["value", "rx"]))
    coded = hits.join(other, "list_name").select(
        "patient_id", "col", "role", "code", "source", "date",
        rx_in_window=ibis.literal(0, "int64"))
    rx_roles = roles.filter(roles.role == "rx").join(params.select("col", "rx_window_days"), "col")
    rx = hits.select(*HIT_KEY).semi_join(rx_roles.select("list_name"), "list_name").distinct()
    rx = rx.join(rx_roles, "list_name")
    rx = rx.select("patient_id", "col", "role", "code", "source", "date",
                   rx_in_window=(t.delta(rx.date, unit="day") < rx.rx_window_days).cast("int64"))
    v = hits.filter(hits.numeric_value.notnull()).join(vrules, "list_name")
    v = v.join(pop.select("patient_id", psex="sex"), "patient_id")
    x = v.numeric_value
    ok = ((v.gt.isnull() | (x > v.gt)) & (v.ge.isnull() | (x >= v.ge))
          & (v.lt.isnull() | (x < v.lt)) & (v.le.isnull() | (x <= v.le))
          & (v.sex.isnull() | (v.sex == v.psex)))
    valued = v.filter(ok).select("patient_id", "col", role=ibis.literal("value"), code=v.code,
                                 source=v.source, date=v.date,
                                 rx_in_window=ibis.literal(0, "int64"))
    rh = ibis.union(coded.select(*cols), rx.select(*cols), valued.select(*cols))
    return rh.group_by(["patient_id", "col", "role", "code", "source"]).aggregate(
        first_date=rh.date.min(), last_date=rh.date.max(), rx_n=rh.rx_in_window.sum())


HIT_KEY = ("patient_id", "date", "code", "list_name", "source", "numeric_value")


def condition_flags(base: ibis.Table, params: ibis.Table, pop: ibis.Table,
                    as_of: date) -> ibis.Table:
    """Long table (patient_id, col) of every condition/deficit/flag that holds.

    `*_last` / `*_first` are days before T of the latest / earliest record of that role.
    """
    t = ibis.date(as_of)
    b = base
    agg = b.group_by(["patient_id", "col"]).aggregate(
        dx_max=b.last_date.max(where=b.role == "dx"),
        dx_min=b.first_date.min(where=b.role == "dx"),
        rx_n=b.rx_n.sum(),
        val_max=b.last_date.max(where=b.role == "value"),
        cancel_max=b.last_date.max(where=b.role == "cancel"),
    )
    a = agg.join(params, "col").join(pop.select("patient_id", "age"), "patient_id")
    dx_last = t.delta(a.dx_max, unit="day")
    dx_first = t.delta(a.dx_min, unit="day")
    cancel_last = t.delta(a.cancel_max, unit="day")
    win = a.dx_window_days
    dx = a.dx_max.notnull() & (
        win.isnull()
        | ((a.dx_window_basis == "any") & (dx_last < win))
        | ((a.dx_window_basis == "first") & (dx_first < win)))
    rx = a.has_rx & (a.rx_n >= a.rx_min_count)
    val = a.val_max.notnull()
    base_flag = (a.combine == "and").ifelse(dx & rx, dx | rx | val)
    # latest record wins against a cancelling code; a tie keeps the flag (model.Condition)
    not_cancelled = ~a.has_cancel | a.cancel_max.isnull() | (dx_last <= cancel_last)
    flag = base_flag & not_cancelled & (a.age >= a.age_floor)
    return a.filter(flag.fill_null(False)).select("patient_id", "col")


def wide_flags(pop: ibis.Table, long: ibis.Table, columns: list[str]) -> ibis.Table:
    """Pivot the long flags into one boolean column per name (False when absent)."""
    wide = long.group_by("patient_id").aggregate(
        **{c: (long.col == c).any() for c in columns})
    out = pop.left_join(wide, "patient_id").drop("patient_id_right")
    return out.mutate(**{c: out[c].fill_null(False) for c in columns})


def evidence(base: ibis.Table, long: ibis.Table) -> ibis.Table:
    """Audit rows for every condition that holds: first/last date of each code that served it.

    Cancelling codes are not evidence; rx hits outside the rule window are still shown with their
    dates (the rule decided; the evidence explains).
    """
    r = base.filter(base.role != "cancel").semi_join(long, ["patient_id", "col"])
    return r.group_by(["patient_id", "col", "code", "source"]).aggregate(
        first_date=r.first_date.min(), last_date=r.last_date.max()).rename(feature="col")


def as_of_date(as_of: date) -> ibis.Value:
    return ibis.date(as_of)
