"""The pure-Python reference of the feature rules: obviously correct, slow, no engine code.

One reading of the catalogue (codelists.model.Condition and ValueRule) in dicts and loops, used
by the generative test (tests/generative/test_features_agree_with_reference.py: hypothesis draws
patients, the engine must agree) and by the equivalence test (tests/unit/
test_features_perf_equivalence.py: seeded data shaped to hit every shortcut derive_features
takes). Both hand it the same rows they give the engine.

For each person, on the as-of date T (events dated after T are not read):

* a condition's diagnosis arm holds when any of its dx-list codes was recorded ever, or within
  `dx_window_days` (of the latest record, or of the first with basis `first`) (`dx_holds`);
* its prescription arm holds when at least `rx_min_count` distinct issues (code, date) of its
  rx-list codes fall within `rx_window_days`;
* a value rule holds for a code of its list with a numeric value inside its bounds (for its
  sex), on any record (`any`) or on the higher of the last two (`best_of_last_2`, latest first,
  on one day the higher value first);
* the flag is dx AND rx (combine `and`), else dx OR rx OR a value rule; a cancelling code
  recorded after the latest diagnosis removes it (a tie keeps it); any `unless` code vetoes it;
  the person must be at least `age_floor` years old;
* a part (kind `part`) holds on the same terms and sets the conditions naming it in `any_of`;
* polypharmacy is >= 5 distinct active ingredients (dm+d codes without an ingredient count as
  their own) issued in the last 365 days; HFRS sums the points of each 3-character ICD-10
  category admitted in the last 730 days, once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date

from npc_risk.codelists import CodelistSet, Condition
from npc_risk.features.events import column_name

SOURCE = {"snomedct": "clinical_events", "dmd": "medications", "icd10": "apcs"}


def dx_holds(c: Condition, dx_days: list[int]) -> bool:
    """model.Condition's diagnosis arm from the days-before-T of its diagnosis records: any record
    ever, or in the last `dx_window_days` (the latest record, or with basis `first` the first)."""
    if not dx_days:
        return False
    if c.dx_window_days is None:
        return True
    if c.dx_window_basis == "first":
        return max(dx_days) < c.dx_window_days
    return min(dx_days) < c.dx_window_days


def matches(codelists: CodelistSet, list_name: str, code: str | None) -> bool:
    """A code is in a list: exactly, or by prefix for lists whose match rule is `prefix`."""
    cl = codelists.lists[list_name]
    codes = {c for c, _ in cl.codes}
    if code is None:
        return False
    if cl.match == "prefix":
        return any(code.startswith(c) for c in codes)
    return code in codes


def events_by_patient(ce: Iterable[dict], med: Iterable[dict], dx: Iterable[dict]) -> dict[str, list]:
    """patient -> [(system, code, date, value)] from clinical_events, medications and
    apcs_diagnoses rows (the rows the engine is given)."""
    events = defaultdict(list)
    for r in ce:
        events[r["patient_id"]].append(("snomedct", r["snomedct_code"], r["date"], r.get("numeric_value")))
    for r in med:
        events[r["patient_id"]].append(("dmd", r["dmd_code"], r["date"], None))
    for r in dx:
        events[r["patient_id"]].append(("icd10", r["icd10_code"], r["admission_date"], None))
    return events


def age_on(date_of_birth: str, as_of: date) -> int:
    dob = date.fromisoformat(date_of_birth)
    return as_of.year - dob.year - ((dob.month, dob.day) > (as_of.month, as_of.day))


def flags_and_evidence(codelists: CodelistSet, as_of: date, patients: Sequence[dict], ce: Sequence[dict],
                       med: Sequence[dict], dx: Sequence[dict], conds: Sequence[tuple[str, Condition]]):
    """The flags of `conds` ((catalogue, condition) pairs) per patient and their evidence.

    Returns {patient: set of flag columns}, {(patient, column, code, source): (first, last)}.
    """
    events = events_by_patient(ce, med, dx)
    rules = defaultdict(list)  # (catalogue, key) -> value rules
    for v in codelists.value_rules:
        rules[v.catalogue, v.key].append(v)
    flags, evidence = defaultdict(set), {}
    for p in patients:
        pid, sex = p["patient_id"], p["sex"]
        age = age_on(p["date_of_birth"], as_of)
        evs = [e for e in events[pid] if e[2] <= as_of]

        def hits(lists, evs=evs):
            return [(s, c, d, v, n) for s, c, d, v in evs for n in lists
                    if codelists.lists[n].system == s and matches(codelists, n, c)]

        def holds(r, v, sex=sex):
            return ((r.sex is None or r.sex == sex) and (r.gt is None or v > r.gt)
                    and (r.ge is None or v >= r.ge) and (r.lt is None or v < r.lt)
                    and (r.le is None or v <= r.le))

        for catalogue, c in conds:
            dx_h, rx_h, cancel_h = hits(c.dx_lists), hits(c.rx_lists), hits(c.cancel_lists)
            unless_h = hits(c.unless_lists)
            val_h = []
            for r in rules[catalogue, c.key]:
                vals = [(s, code, d, v, r.list_name) for s, code, d, v in evs
                        if codelists.lists[r.list_name].system == s and matches(codelists, r.list_name, code)
                        and v is not None]
                if r.aggregate == "any":
                    val_h += [h for h in vals if holds(r, h[3])]
                else:  # best_of_last_2: latest first, on one day the higher value first
                    last = sorted(set(vals), key=lambda h: (h[2], h[3], [-ord(x) for x in h[1]]),
                                  reverse=True)[:2]
                    if last and holds(r, max(h[3] for h in last)):
                        val_h += last
            dx_ok = dx_holds(c, [(as_of - d).days for _, _, d, _, _ in dx_h])
            # an issue is a distinct (code, date); one code in two rx lists is one issue
            issues = {(d, code, s) for s, code, d, v, n in rx_h if (as_of - d).days < c.rx_window_days}
            rx_ok = bool(c.rx_lists) and len(issues) >= c.rx_min_count
            flag = (dx_ok and rx_ok) if c.combine == "and" else (dx_ok or rx_ok or bool(val_h))
            if flag and cancel_h:
                flag = bool(dx_h) and max(d for _, _, d, _, _ in dx_h) >= max(d for _, _, d, _, _ in cancel_h)
            if not (flag and not unless_h and age >= c.age_floor):
                continue
            # a part (kind "part") holds for the conditions naming it in any_of, under their names
            targets = ([column_name(p) for name, p in conds if name == catalogue and c.key in p.any_of]
                       if c.kind == "part" else [column_name(c)])
            for col in targets:
                flags[pid].add(col)
                for s, code, d, _, _ in dx_h + rx_h + val_h:
                    key = (pid, col, code, SOURCE[s])
                    first, last = evidence.get(key, (d, d))
                    evidence[key] = (min(first, d), max(last, d))
    return flags, evidence


def polypharmacy(codelists: CodelistSet, as_of: date, med: Iterable[dict]) -> dict[str, bool]:
    """patient -> >= 5 distinct active ingredients issued in (T - 365 d, T]."""
    ingredients = defaultdict(set)
    for r in med:
        if 0 <= (as_of - r["date"]).days < 365:
            ingredients[r["patient_id"]].add(codelists.ingredients.get(r["dmd_code"], r["dmd_code"]))
    return {pid: len(found) >= 5 for pid, found in ingredients.items()}


def hfrs_tenths(weights: dict[str, int], as_of: date, dx: Iterable[dict]) -> dict[str, int]:
    """patient -> HFRS in integer tenths: each 3-character category admitted in [T - 730 d, T]
    scores its points once."""
    categories = defaultdict(set)
    for r in dx:
        if 0 <= (as_of - r["admission_date"]).days <= 730:
            categories[r["patient_id"]].add(r["icd10_code"][:3])
    return {pid: sum(weights.get(c, 0) for c in cats) for pid, cats in categories.items()}
