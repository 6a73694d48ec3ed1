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
    """One row per (patient_id, col, code, source) that served a rule of `col`, with the dates
    the rule and the audit need:

    ev_first / ev_last: first/last date of the code as evidence (every role except `cancel`);
    dx_min / dx_max: first/last date as a diagnosis; val_max: last date a value rule held;
    cancel_max: last date as a cancelling code; rx_n: issues inside the condition's rx window.

    This is the one aggregate over the matched events: flags (`condition_flags`) and audit rows
    (`evidence`) are both derived from it, so the events are matched and grouped once per run.

    Value hits (role `value`) are kept only when the numeric value satisfies a rule row: all
    given bounds hold, the sex matches when the rule names one, and the value is not null
    (clinical-definitions.md §1.5: ignore null values; Hb unit split is two rule rows).
    rx hits inside the window are de-duplicated on (patient, date, code, list, source, value)
    before counting, so a repeated feed row is one issue; dates need no de-duplication (min/max).
    """
    t = ibis.date(as_of)
    cols = ["patient_id", "col", "role", "code", "source", "date", "rx_in_window"]
    other = roles.filter(~roles.role.isin(["value", "rx"]))
    coded = hits.join(other, "list_name").mutate(rx_in_window=ibis.literal(0, "int64"))
    rx_roles = roles.filter(roles.role == "rx").join(params.select("col", "rx_window_days"), "col")
    rx = hits.join(rx_roles, "list_name")
    in_win = t.delta(rx.date, unit="day") < rx.rx_window_days
    rx_in = rx.filter(in_win).select(*HIT_KEY, "col", "role").distinct().mutate(
        rx_in_window=ibis.literal(1, "int64"))
    rx_out = rx.filter(~in_win).mutate(rx_in_window=ibis.literal(0, "int64"))
    v = hits.filter(hits.numeric_value.notnull()).join(vrules, "list_name")
    v = v.join(pop.select("patient_id", psex="sex"), "patient_id")
    x = v.numeric_value
    ok = ((v.gt.isnull() | (x > v.gt)) & (v.ge.isnull() | (x >= v.ge))
          & (v.lt.isnull() | (x < v.lt)) & (v.le.isnull() | (x <= v.le))
          & (v.sex.isnull() | (v.sex == v.psex)))
    valued = v.filter(ok).mutate(role=ibis.literal("value"), rx_in_window=ibis.literal(0, "int64"))
    rh = ibis.union(*(part.select(*cols) for part in (coded, rx_in, rx_out, valued)))
    role, d = rh.role, rh.date
    return rh.group_by(["patient_id", "col", "code", "source"]).aggregate(
        ev_first=d.min(where=role != "cancel"), ev_last=d.max(where=role != "cancel"),
        dx_min=d.min(where=role == "dx"), dx_max=d.max(where=role == "dx"),
        val_max=d.max(where=role == "value"), cancel_max=d.max(where=role == "cancel"),
        rx_n=rh.rx_in_window.sum())


HIT_KEY = ("patient_id", "date", "code", "list_name", "source", "numeric_value")


def condition_flags(base: ibis.Table, params: ibis.Table, pop: ibis.Table,
                    as_of: date) -> ibis.Table:
    """Long table (patient_id, col) of every condition/deficit/flag that holds.

    `*_last` / `*_first` are days before T of the latest / earliest record of that role.
    """
    t = ibis.date(as_of)
    b = base
    agg = b.group_by(["patient_id", "col"]).aggregate(
        dx_max=b.dx_max.max(), dx_min=b.dx_min.min(), rx_n=b.rx_n.sum(),
        val_max=b.val_max.max(), cancel_max=b.cancel_max.max())
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


BITS_PER_WORD = 62  # powers of two below 2**62 keep the per-person sums inside int64


def wide_flags(pop: ibis.Table, long: ibis.Table, columns: list[str],
               counted: dict[str, list[str]]) -> ibis.Table:
    """Pivot the long flags into one boolean column per name (False when absent), plus
    `<name>` = number of flags among `counted[name]` (e.g. ltc_count).

    `long` must hold each (patient_id, col) once. Each name gets one bit of a few int64 words;
    one aggregate per word (not one per name) collects them, and the columns are unpacked with a
    bitwise AND. Sums of distinct powers of two are portable (no engine-specific bit_or).
    """
    rows = [(c, i // BITS_PER_WORD, 2 ** (i % BITS_PER_WORD)) for i, c in enumerate(columns)]
    bits = rows_memtable(rows, {"col": "string", "word": "int64", "bit": "int64"})
    for name, cs in counted.items():
        bits = bits.mutate(**{name: bits.col.isin(cs)})
    words = sorted({w for _, w, _ in rows})
    lb = long.join(bits, "col")
    wide = lb.group_by("patient_id").aggregate(
        **{f"_w{w}": lb.bit.sum(where=lb.word == w) for w in words},
        **{name: lb.count(where=lb[name]) for name in counted})
    out = pop.left_join(wide, "patient_id").drop("patient_id_right")
    zero = ibis.literal(0, "int64")
    flags = {c: (out[f"_w{w}"].fill_null(zero) & ibis.literal(b, "int64")) != zero
             for c, w, b in rows}
    return out.mutate(**flags, **{name: out[name].fill_null(zero) for name in counted}).drop(
        *(f"_w{w}" for w in words))


def evidence(base: ibis.Table, long: ibis.Table) -> ibis.Table:
    """Audit rows for every condition that holds: first/last date of each code that served it.

    Cancelling codes are not evidence; rx hits outside the rule window are still shown with their
    dates (the rule decided; the evidence explains).
    """
    r = base.filter(base.ev_first.notnull()).semi_join(long, ["patient_id", "col"])
    return r.select("patient_id", feature=r.col, code=r.code, source=r.source,
                    first_date=r.ev_first, last_date=r.ev_last)


def as_of_date(as_of: date) -> ibis.Value:
    return ibis.date(as_of)
