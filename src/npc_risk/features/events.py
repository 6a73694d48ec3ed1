"""Match events to code lists with one join per source (no per-condition scans).

`code_map` is a small table (list_name, system, code, code_len, match). Matching rules:
* SNOMED CT and dm+d: exact code equality.
* ICD-10 (apcs_diagnoses.icd10_code is canonical, e.g. `J441`): an `exact` list matches the
  whole code; a `prefix` list entry of length L matches the first L characters
  (`J44` matches `J440`, `J441`, `J44`; `J441` matches only `J441`). Implemented as equi-joins
  on substr(code, 0, L) for each L present, so DuckDB can hash-join.

`hits` has one row per (event, matching list) with `days_before` = T - date in days (0 = on T).
Duplicated events are NOT collapsed here (a hash-distinct over every hit is the most expensive
step at scale): first/last dates are unaffected by duplicates, and the one count that is
(`rx_min_count`) de-duplicates its own, much smaller, set of hits (conditions.evidence_base).

`unmatched_counts` first collapses each source to one row per code (a few thousand groups), then
matches the codes, so the code-list joins run on codes, not on events.
"""

from __future__ import annotations

from datetime import date

import ibis

from npc_risk.codelists.model import CodelistSet
from npc_risk.features.tables import rows_memtable

HIT_COLUMNS = ("patient_id", "date", "code", "list_name", "source", "numeric_value")


def code_map(cs: CodelistSet, names: set[str]) -> ibis.Table:
    rows = [(cl.name, cl.system, code, len(code), cl.match)
            for cl in cs.lists.values() if cl.name in names for code, _ in cl.codes]
    return rows_memtable(rows, {"list_name": "string", "system": "string", "code": "string",
                                "code_len": "int64", "match": "string"})


def _icd10_join(diag: ibis.Table, cmap: ibis.Table, lengths: list[int]) -> list[ibis.Table]:
    parts = []
    icd = cmap.filter(cmap.system == "icd10")
    exact = icd.filter(icd.match == "exact")
    parts.append(diag.join(exact, diag.icd10_code == exact.code))
    pref = icd.filter(icd.match == "prefix")
    for n in lengths:
        sub = pref.filter(pref.code_len == n)
        key = diag.icd10_code.substr(0, n)
        d = diag.filter(diag.icd10_code.length() >= n).mutate(_k=key)
        parts.append(d.join(sub, d._k == sub.code))
    return parts


def event_hits(tables: dict[str, ibis.Table], cmap: ibis.Table, as_of: date,
               icd10_lengths: list[int]) -> ibis.Table:
    """All list matches on or before `as_of`, from GP events, medications and hospital spells."""
    t = ibis.date(as_of)
    ev = tables["clinical_events"].filter(ibis._.date <= t)
    snomed = cmap.filter(cmap.system == "snomedct")
    gp = ev.join(snomed, ev.snomedct_code == snomed.code).select(
        "patient_id", "date", code=ev.snomedct_code, list_name=snomed.list_name,
        source=ibis.literal("clinical_events"), numeric_value=ev.numeric_value)
    med = tables["medications"].filter(ibis._.date <= t)
    dmd = cmap.filter(cmap.system == "dmd")
    rx = med.join(dmd, med.dmd_code == dmd.code).select(
        "patient_id", "date", code=med.dmd_code, list_name=dmd.list_name,
        source=ibis.literal("medications"), numeric_value=ibis.null("float64"))
    # Coded at discharge: a spell discharged after T carries no diagnoses as of T (§6.3).
    diag = tables["apcs_diagnoses"].filter((ibis._.admission_date <= t) & ~(ibis._.discharge_date > t).fill_null(False))
    hosp = [p.select("patient_id", date=p.admission_date, code=p.icd10_code,
                     list_name=p.list_name, source=ibis.literal("apcs"),
                     numeric_value=ibis.null("float64"))
            for p in _icd10_join(diag, cmap, icd10_lengths)]
    hits = ibis.union(gp, rx, *hosp)
    return hits.mutate(days_before=t.delta(hits.date, unit="day"))


def unmatched_counts(tables: dict[str, ibis.Table], cmap: ibis.Table, as_of: date,
                     hfrs_codes: list[str], icd10_lengths: list[int]) -> ibis.Table:
    """Per source table: events on or before T and how many matched no list (counts only).

    Null codes count as events and unmatched events but not as unmatched codes.
    """
    t = ibis.date(as_of)
    out = []
    for source, table, col, system in (("clinical_events", "clinical_events", "snomedct_code", "snomedct"),
                                       ("medications", "medications", "dmd_code", "dmd")):
        ev = tables[table].filter(ibis._.date <= t)
        per_code = ev.group_by(code=ev[col]).aggregate(n=ev.count())
        known = cmap.filter(cmap.system == system).select(code="code").distinct()
        miss = per_code.anti_join(known, "code")
        out.append(_counts(source, system, per_code, miss))
    diag = tables["apcs_diagnoses"].filter((ibis._.admission_date <= t) & ~(ibis._.discharge_date > t).fill_null(False))
    per_code = diag.group_by(code=diag.icd10_code).aggregate(n=diag.count())
    hf = rows_memtable([(c, "icd10", 3, "prefix", "hfrs") for c in hfrs_codes],
                       {"code": "string", "system": "string", "code_len": "int64", "match": "string",
                        "list_name": "string"})
    icd = ibis.union(cmap.filter(cmap.system == "icd10"), hf.select(*cmap.columns))
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
