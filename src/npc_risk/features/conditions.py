"""Catalogue rules -> per-person condition flags, in one aggregation over all conditions.

Each catalogue condition becomes rows of the small rule map (events.rule_map: code, column, role)
and one row of a `params` table (windows, min counts, combine, age floor). Events are joined to
the rule map once and aggregated per (patient, column, code, source); the rule
(model.Condition docstring) is then a vectorised expression over those aggregates. Loops here only
build expressions over a few dozen conditions.

Output column names: `ltc_<key>`, `efi_<key>`, and flags by bare key (`care_home`, ...).
"""

from __future__ import annotations

from datetime import date

import ibis

from npc_risk.codelists.model import Condition
from npc_risk.features.events import column_name
from npc_risk.features.tables import rows_memtable


def params_table(conds: list[Condition]) -> ibis.Table:
    """One row per condition column: the windows, counts, combine rule and age floor."""
    params = [(column_name(c), c.key, c.kind, c.dx_window_days, c.dx_window_basis, bool(c.rx_lists),
               c.rx_min_count, c.combine, bool(c.cancel_lists), c.age_floor) for c in conds]
    return rows_memtable(params, {"col": "string", "key": "string", "kind": "string",
                                  "dx_window_days": "int64", "dx_window_basis": "string",
                                  "has_rx": "boolean", "rx_min_count": "int64", "combine": "string",
                                  "has_cancel": "boolean", "age_floor": "int64"})


def part_pairs(conds: list[Condition]) -> list[tuple[str, str]]:
    """(part column, parent column) for every `any_of` reference (model.Condition)."""
    cols = {c.key: column_name(c) for c in conds if c.kind == "part"}
    return [(cols[k], column_name(c)) for c in conds for k in c.any_of]


def with_parts(flags: ibis.Table, pairs: list[tuple[str, str]]) -> ibis.Table:
    """Long flags with each part's rows counted for its parents and the part rows dropped;
    each (patient_id, col) still once."""
    if not pairs:
        return flags
    pm = rows_memtable(pairs, {"part": "string", "parent": "string"})
    own = flags.filter(~flags.col.isin([p for p, _ in pairs]))
    j = flags.join(pm, flags.col == pm.part)
    via = j.select("patient_id", col=j.parent).distinct().anti_join(own, ["patient_id", "col"])
    return ibis.union(own, via)


def condition_flags(base: ibis.Table, params: ibis.Table, pop: ibis.Table,
                    as_of: date) -> ibis.Table:
    """Long table (patient_id, col) of every condition/deficit/flag that holds.

    `*_last` / `*_first` are days before T of the latest / earliest record of that role.
    """
    t = ibis.date(as_of)
    b = base
    agg = b.group_by(["patient_id", "col"]).aggregate(
        dx_max=b.dx_max.max(), dx_min=b.dx_min.min(), rx_n=b.rx_n.sum(),
        val_max=b.val_max.max(), cancel_max=b.cancel_max.max(), unless_max=b.unless_max.max())
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
    # an excluding (`unless`) record on or before T vetoes the flag
    flag = base_flag & not_cancelled & a.unless_max.isnull() & (a.age >= a.age_floor)
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


def evidence(base: ibis.Table, long: ibis.Table, pairs: list[tuple[str, str]] = ()) -> ibis.Table:
    """Audit rows for every condition that holds: first/last date of each code that served it.

    `long` still holds the part rows (before `with_parts`): a part's codes are shown under its
    parent's name. Cancelling and excluding codes are not evidence; rx hits outside the rule
    window are still shown with their dates (the rule decided; the evidence explains).
    """
    r = base.filter(base.ev_first.notnull()).semi_join(long, ["patient_id", "col"])
    feature = ibis.cases(*((r.col == p, parent) for p, parent in pairs), else_=r.col) if pairs else r.col
    return r.select("patient_id", feature=feature, code=r.code, source=r.source,
                    first_date=r.ev_first, last_date=r.ev_last)
