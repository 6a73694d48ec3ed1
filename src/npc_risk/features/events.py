"""Match events to the catalogue's code lists with one join per source (no per-condition scans).

The catalogue is flattened, in Python, into a small `rule map`: one row per (code, condition
column) with the roles the code plays (dx, rx, cancel, unless) and the rx window. Each source is
grouped once per (person, code) on the codes any list uses, then the rule map fans the groups
out to the conditions (`evidence_base`). Matching rules:
* SNOMED CT and dm+d: exact code equality.
* ICD-10 (apcs_diagnoses.icd10_code is canonical, e.g. `J441`): an `exact` list matches the
  whole code; a `prefix` list entry of length L matches the first L characters
  (`J44` matches `J440`, `J441`, `J44`; `J441` matches only `J441`). Implemented as equi-joins
  on substr(code, 0, L) for each L present, so the engine can hash-join.
* Value rules (clinical-definitions.md §1.5) join GP events that carry a numeric value to a
  `value map` (code, column, sex, bounds); a row is kept only when every given bound holds, the
  sex matches when the rule names one, and the value is not null. Rules with
  `aggregate = best_of_last_2` (CMS CKD: the higher of the last two eGFR values < 60) look at
  each person's last two values of the list instead of any value.

Cost model (measured at 1M people, benchmarks/features.py): matched events are never
materialised and never de-duplicated as a whole (a hash-distinct over ~15M matched rows, or
COUNT(DISTINCT) inside the group-by, costs 10-20x the join). First/last dates are unaffected by
repeated feed rows; the one count that is, prescription issues inside a window, de-duplicates
its own set (in-window rows of the codes with that window, distinct on person, code and date).

`unmatched_counts` first collapses each source to one row per code (a few thousand groups), then
matches the codes, so the code-list joins run on codes, not on events.
"""

from __future__ import annotations

from datetime import date

import ibis

from npc_risk.codelists.model import CodelistSet, Condition, ValueRule
from npc_risk.features.as_of import diagnoses_known_at
from npc_risk.features.tables import rows_memtable

#: one row per (patient_id, col, code, source) that served a rule of `col`: see `evidence_base`
BASE_COLUMNS = ("patient_id", "col", "code", "source", "ev_first", "ev_last", "dx_min", "dx_max",
                "val_max", "cancel_max", "unless_max", "rx_n")
#: value-rule matches (`_value_rows`): one row per qualifying reading
VALUE_COLUMNS = ("patient_id", "col", "code", "date")

PREFIX = {"ltc": "ltc_", "efi_deficit": "efi_", "flag": "", "part": "part_"}


def column_name(c: Condition) -> str:
    """Output column of a condition: `ltc_<key>`, `efi_<key>`, or a flag's bare key."""
    return PREFIX[c.kind] + c.key


def rule_map(cs: CodelistSet, conds: list[Condition]) -> ibis.Table:
    """(system, code, code_len, match, col, is_dx, is_rx, is_cancel, is_unless, window_days): one
    row per list entry and condition column, with the roles the entry plays for it."""
    roles: dict[tuple, set[str]] = {}
    window: dict[str, int] = {}
    for c in conds:
        col = column_name(c)
        window[col] = c.rx_window_days
        for role, names in (("dx", c.dx_lists), ("rx", c.rx_lists), ("cancel", c.cancel_lists),
                            ("unless", c.unless_lists)):
            for name in names:
                cl = cs.lists[name]
                for code, _ in cl.codes:
                    roles.setdefault((cl.system, code, len(code), cl.match, col), set()).add(role)
    rows = [(*k, "dx" in r, "rx" in r, "cancel" in r, "unless" in r, window[k[-1]] if "rx" in r else None)
            for k, r in sorted(roles.items())]
    return rows_memtable(rows, {
        "system": "string", "code": "string", "code_len": "int64", "match": "string", "col": "string",
        "is_dx": "boolean", "is_rx": "boolean", "is_cancel": "boolean", "is_unless": "boolean",
        "window_days": "int64"})


def rx_windows(conds: list[Condition]) -> list[int]:
    """The distinct prescription windows of the conditions (usually just 365 days)."""
    return sorted({c.rx_window_days for c in conds if c.rx_lists})


def value_map(cs: CodelistSet, rules: list[tuple[Condition, ValueRule]]) -> ibis.Table:
    """(code, col, sex, gt, ge, lt, le, how): one row per code of each value rule, given
    with the condition it serves."""
    rows = set()
    for c, r in rules:
        rows |= {(code, column_name(c), r.sex, r.gt, r.ge, r.lt, r.le, r.aggregate)
                 for code, _ in cs.lists[r.list_name].codes}
    return rows_memtable(sorted(rows, key=str), {
        "code": "string", "col": "string", "sex": "string", "gt": "float64", "ge": "float64",
        "lt": "float64", "le": "float64", "how": "string"})


def _per_code(ev: ibis.Table, code: str, day: str, t: ibis.Value,
              windows: dict[int, ibis.Table] | None = None) -> ibis.Table:
    """(patient_id, code, _first, _last, _n<w>...): one row per person and code.

    `windows` maps each prescription window w (days) to the codes whose rules use it; _n<w> is
    the number of distinct issue dates of the code in (T - w days, T]. Only those codes' rows in
    the window are de-duplicated, so a long window on a short list (lithium "ever") stays cheap.
    """
    agg = ev.group_by(["patient_id", code]).aggregate(_first=ev[day].min(), _last=ev[day].max())
    for w, codes in (windows or {}).items():
        inw = ev.filter(t.delta(ev[day], unit="day") < w)
        inw = inw.semi_join(codes, inw[code] == codes._c).select("patient_id", code, day).distinct()
        n = inw.group_by(["patient_id", code]).aggregate(**{f"_n{w}": inw.count()})
        agg = agg.left_join(n, ["patient_id", code]).drop("patient_id_right", f"{code}_right")
    return agg.rename(code=code) if code != "code" else agg


def _fan_out(agg: ibis.Table, rmap: ibis.Table, predicate, source: str, windows: list[int]) -> ibis.Table:
    """Per-(person, code) aggregates x the rule map: the base columns for each condition."""
    j = agg.join(rmap, predicate)
    zero = ibis.literal(0, "int64")
    rx_n = ibis.cases(*((j.window_days == w, j[f"_n{w}"].fill_null(zero)) for w in windows),
                      else_=zero) if windows else zero
    evid = j.is_dx | j.is_rx
    return j.select(
        patient_id=j.patient_id, col=j.col, code=agg.code, source=ibis.literal(source),
        ev_first=evid.ifelse(j._first, ibis.null("date")), ev_last=evid.ifelse(j._last, ibis.null("date")),
        dx_min=j.is_dx.ifelse(j._first, ibis.null("date")), dx_max=j.is_dx.ifelse(j._last, ibis.null("date")),
        val_max=ibis.null("date"), cancel_max=j.is_cancel.ifelse(j._last, ibis.null("date")),
        unless_max=j.is_unless.ifelse(j._last, ibis.null("date")), rx_n=j.is_rx.ifelse(rx_n, zero))


def evidence_base(tables: dict[str, ibis.Table], rmap: ibis.Table, vmap: ibis.Table,
                  people: ibis.Table, as_of: date, icd10_lengths: list[int],
                  windows: list[int]) -> ibis.Table:
    """One row per (patient_id, col, code, source) that served a rule of `col` (BASE_COLUMNS):

    ev_first / ev_last: first/last date of the code as evidence (dx, rx and value roles; cancelling
    and excluding codes are not evidence); dx_min / dx_max: first/last date as a diagnosis;
    val_max: last date a value rule held; cancel_max: last date as a cancelling code;
    unless_max: last date as an excluding (`unless`) code; rx_n: distinct issue dates of the code
    inside the condition's rx window.

    Each source is grouped once per (person, code) *before* the rule map fans it out to the
    conditions, so the events are grouped once, on the codes any list uses. Rows from coded
    rules and from value rules never share a key (derive.py checks that a condition's value
    lists and its other lists have no code in common).
    """
    t = ibis.date(as_of)
    parts = []
    for table, col, system, source in (("clinical_events", "snomedct_code", "snomedct", "clinical_events"),
                                       ("medications", "dmd_code", "dmd", "medications")):
        m = rmap.filter(rmap.system == system)
        ev = tables[table].filter(ibis._.date <= t)
        codes = m.select(_c="code").distinct()
        ev = ev.semi_join(codes, ev[col] == codes._c)
        by_window = {w: m.filter(m.window_days == w).select(_c="code").distinct()
                     for w in windows} if system == "dmd" else {}
        agg = _per_code(ev, col, "date", t, by_window)
        parts.append(_fan_out(agg, m, agg.code == m.code, source, list(by_window)))
    diag = diagnoses_known_at(tables["apcs_diagnoses"], t)
    icd = rmap.filter(rmap.system == "icd10")
    # every ICD-10 list entry has >= 3 characters, so a code can only match a list whose entries
    # share its 3-character category: keep those rows before grouping (most diagnoses match none)
    cats = icd.select(_c3=icd.code.substr(0, 3)).distinct()
    diag = diag.semi_join(cats, diag.icd10_code.substr(0, 3) == cats._c3)
    agg = _per_code(diag, "icd10_code", "admission_date", t)
    exact = icd.filter(icd.match == "exact")
    hosp = [_fan_out(agg, exact, agg.code == exact.code, "apcs", [])]
    for n in icd10_lengths:
        sub = icd.filter((icd.match == "prefix") & (icd.code_len == n))
        a = agg.filter(agg.code.length() >= n)
        hosp.append(_fan_out(a, sub, a.code.substr(0, n) == sub.code, "apcs", []))
    # one hospital code can reach a condition through two entries (J44 and J441): merge them
    h = ibis.union(*hosp)
    h = h.group_by(["patient_id", "col", "code", "source"]).aggregate(
        ev_first=h.ev_first.min(), ev_last=h.ev_last.max(), dx_min=h.dx_min.min(), dx_max=h.dx_max.max(),
        val_max=h.val_max.max(), cancel_max=h.cancel_max.max(), unless_max=h.unless_max.max(),
        rx_n=h.rx_n.max())
    parts.append(h)
    v = _value_rows(tables["clinical_events"].filter(ibis._.date <= t), vmap, people)
    v = v.mutate(source=ibis.literal("clinical_events"))
    parts.append(v.group_by(["patient_id", "col", "code", "source"]).aggregate(
        ev_first=v.date.min(), ev_last=v.date.max(), dx_min=ibis.null("date"), dx_max=ibis.null("date"),
        val_max=v.date.max(), cancel_max=ibis.null("date"), unless_max=ibis.null("date"),
        rx_n=ibis.literal(0, "int64")))
    return ibis.union(*(p.select(*BASE_COLUMNS) for p in parts))


def _holds(x: ibis.Value, bounds: ibis.Table) -> ibis.BooleanValue:
    """Every bound of the rule row (gt, ge, lt, le columns of `bounds`) that is given holds."""
    b = bounds
    return ((b.gt.isnull() | (x > b.gt)) & (b.ge.isnull() | (x >= b.ge))
            & (b.lt.isnull() | (x < b.lt)) & (b.le.isnull() | (x <= b.le)))


def _value_rows(ev: ibis.Table, vmap: ibis.Table, people: ibis.Table) -> ibis.Table:
    """Value-rule matches (VALUE_COLUMNS): any qualifying value, or for `best_of_last_2` rules
    the person's last two values of the column's codes when the higher one qualifies."""
    v = ev.filter(ev.numeric_value.notnull()).join(vmap, ev.snomedct_code == vmap.code)
    # only the sex-specific rule rows need the person's sex (a join on ~1M people)
    sexed = v.filter(v.sex.notnull())
    sexed = sexed.join(people.select("patient_id", _sex="sex"), "patient_id")
    v = ibis.union(v.filter(v.sex.isnull()), sexed.filter(sexed.sex == sexed._sex).select(*v.columns))
    x = v.numeric_value
    cols = dict(patient_id=v.patient_id, col=v.col, code=v.snomedct_code, date=v.date)
    anyv = v.filter((v.how == "any") & _holds(x, v)).select(**cols)
    # best of the last two: rank each person's readings of the rule (latest first; on one day the
    # higher value first, so the rank is stable; a repeated feed row is one reading), keep two,
    # and test the higher of them against the rule's bounds (one rule row per condition)
    last = v.filter(v.how == "best_of_last_2").select(**cols, _x=x).distinct()
    rank = ibis.row_number().over(group_by=[last.patient_id, last.col],
                                  order_by=[ibis.desc(last.date), ibis.desc(last._x), last.code])
    last = last.mutate(_rn=rank).filter(ibis._._rn < 2)
    best = last.group_by(["patient_id", "col"]).aggregate(_best=last._x.max())
    bounds = vmap.filter(vmap.how == "best_of_last_2").select("col", "gt", "ge", "lt", "le").distinct()
    best = best.join(bounds, "col")
    good = best.filter(_holds(best._best, best))
    lastv = last.semi_join(good, ["patient_id", "col"]).select(*VALUE_COLUMNS)
    return ibis.union(anyv, lastv)


def unmatched_counts(tables: dict[str, ibis.Table], rmap: ibis.Table, vmap: ibis.Table, as_of: date,
                     hfrs_codes: list[str], icd10_lengths: list[int]) -> ibis.Table:
    """Per source table: events on or before T and how many matched no list in use (counts only):
    the rule map's lists, the value rules' lists and, for ICD-10, the HFRS categories.

    Null codes count as events and unmatched events but not as unmatched codes.
    """
    t = ibis.date(as_of)
    out = []
    for source, table, col, system in (("clinical_events", "clinical_events", "snomedct_code", "snomedct"),
                                       ("medications", "medications", "dmd_code", "dmd")):
        ev = tables[table].filter(ibis._.date <= t)
        per_code = ev.group_by(code=ev[col]).aggregate(n=ev.count())
        known = rmap.filter(rmap.system == system).select("code")
        if system == "snomedct":
            known = ibis.union(known, vmap.select("code"))
        known = known.distinct()
        miss = per_code.anti_join(known, "code")
        out.append(_counts(source, system, per_code, miss))
    diag = diagnoses_known_at(tables["apcs_diagnoses"], t)
    per_code = diag.group_by(code=diag.icd10_code).aggregate(n=diag.count())
    icd = rmap.filter(rmap.system == "icd10").select("code", "code_len", "match")
    hf = rows_memtable([(c, 3, "prefix") for c in hfrs_codes],
                       {"code": "string", "code_len": "int64", "match": "string"})
    icd = ibis.union(icd, hf)
    miss = per_code
    for n in sorted(set(icd10_lengths) | {3}):
        known = icd.filter((icd.code_len == n) & (icd.match == "prefix")).select(k="code").distinct()
        miss = miss.anti_join(known, miss.code.substr(0, n) == known.k)
    ex = icd.filter(icd.match == "exact").select(k="code").distinct()
    miss = miss.anti_join(ex, miss.code == ex.k)
    out.append(_counts("apcs_diagnoses", "icd10", per_code, miss))
    return ibis.union(*out)


def _counts(source: str, system: str, per_code: ibis.Table, miss: ibis.Table) -> ibis.Table:
    zero = ibis.literal(0, "int64")
    return _label(source, system).cross_join(
        per_code.aggregate(events=_int64(per_code.n.sum()).fill_null(zero)).cross_join(
            miss.aggregate(unmatched_events=_int64(miss.n.sum()).fill_null(zero),
                           unmatched_codes=miss.code.count())))


def _int64(total: ibis.Value) -> ibis.Value:
    """A sum of int64 as int64 in the result too: DuckDB widens SUM(BIGINT) to HUGEINT and ibis
    drops a cast to the type it already assumes, so go through decimal explicitly."""
    return total.cast("decimal(38, 0)").cast("int64")


def _label(source: str, system: str) -> ibis.Table:
    return rows_memtable([(source, system)], {"source": "string", "coding_system": "string"})
