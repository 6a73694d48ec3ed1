"""`derive_features`: the feature table, the evidence table and unmatched-code counts.

Everything is an ibis expression evaluated as of `as_of` (never today), so the same expressions
run on DuckDB or Spark. Contract and column list: docs/architecture.md.

Cost model (benchmarks/features.py): the intermediates that more than one output needs — the
population, the matched-event aggregate (`events.evidence_base`), the long flags, the
per-person medicines and the HFRS categories — are materialised once with `engine.cache()` (a
DuckDB temp table; `persist` on Spark). So calling `derive_features` runs those queries; `person`,
`evidence` and `unmatched` stay lazy and read the cached tables, which the engine owns and
releases when it closes (npc_risk.engine).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date

import ibis

from npc_risk.codelists.model import CodelistSet
from npc_risk.codelists.weights import load_hfrs_weights
from npc_risk.config import FeatureConfig
from npc_risk.engine import Engine
from npc_risk.errors import CodelistError
from npc_risk.features import conditions as cond
from npc_risk.features.events import column_name, evidence_base, rule_map, rx_windows, unmatched_counts, value_map
from npc_risk.features.hfrs import hfrs_categories, hfrs_columns, hfrs_per_person
from npc_risk.features.population import population as registered
from npc_risk.features.tables import complete_tables, rows_memtable
from npc_risk.features.utilisation import HISTORY_COLUMNS, UTILISATION_COLUMNS, utilisation
from npc_risk.frailty import EFI_DEFICITS, efi_category  # the eFI bands (§1.2), defined once


@dataclass(frozen=True)
class FeatureResult:
    """person: one row per person in the population; evidence: long audit table
    (patient_id, feature, code, first_date, last_date, source); unmatched: per source table,
    events on or before T and how many matched no list (counts only, never codes)."""

    person: ibis.Table
    evidence: ibis.Table
    unmatched: ibis.Table
    ltc_columns: tuple[str, ...]
    efi_columns: tuple[str, ...]


def derive_features(engine: Engine, tables: Mapping[str, ibis.Table], *, as_of: date,
                    codelists: CodelistSet, config: FeatureConfig,
                    population: Callable = registered) -> FeatureResult:
    """The `npc_core` feature set for `population(tables, as_of)` (default: registered and alive
    on `as_of`; definition.py names the others)."""
    tables = complete_tables(tables)
    catalogues = {name: list(codelists.catalogue(name)) for name in (config.preset, "efi", "flags")}
    # `part` rows (model.Condition.any_of) are rules without an output column of their own
    ltc, efi, flags = ([c for c in catalogues[n] if c.kind != "part"] for n in (config.preset, "efi", "flags"))
    every = [c for conds in catalogues.values() for c in conds]
    named = {(name, c.key): c for name, conds in catalogues.items() for c in conds}
    rules = [(named[r.catalogue, r.key], r) for r in codelists.value_rules if (r.catalogue, r.key) in named]
    valued = {column_name(c) for c, _ in rules}
    coded = [c for c in every if c.dx_lists or c.rx_lists or column_name(c) in valued]
    pairs = [pair for conds in catalogues.values() for pair in cond.part_pairs(conds)]
    _check_disjoint(codelists, rules, catalogues)
    rmap = rule_map(codelists, coded)
    vmap = value_map(codelists, rules)
    lengths = sorted({len(code) for c in coded for n in c.dx_lists + c.cancel_lists + c.unless_lists
                      if codelists.lists[n].system == "icd10" for code, _ in codelists.lists[n].codes})
    weights = load_hfrs_weights()

    # Intermediate tables used by more than one output are computed once and cached by the
    # engine (DuckDB temp table / Spark persist); everything else stays lazy. The
    # matched events are aggregated straight from the sources (never materialised); the
    # population is applied where the flags meet it (condition_flags), not to every event.
    pop = engine.cache(population(tables, as_of))
    in_pop = pop.select("patient_id")
    people = tables["patients"].select("patient_id", "sex")
    base = engine.cache(evidence_base(tables, rmap, vmap, people, as_of, lengths, rx_windows(coded)))
    params = cond.params_table(coded)
    long = cond.condition_flags(base, params, pop, as_of)

    # eFI deficit 26, polypharmacy: >= 5 distinct medicines issued in (T-365d, T] (§1.3), counted
    # by active ingredient (codelists/maps.py) so a brand or strength switch does not add one;
    # a code the map lacks counts as its own medicine.
    t = ibis.date(as_of)
    med = tables["medications"]
    # (T - 365 d, T] as plain date comparisons, so the scan can filter on them
    med = med.filter((med.date <= t) & (med.date > t - ibis.interval(days=365)))
    # one row per (person, product): the evidence shows products; grouped before the population
    # filter (fewer rows to match)
    pm = med.group_by(["patient_id", "dmd_code"]).aggregate(
        first_date=med.date.min(), last_date=med.date.max())
    pm = engine.cache(pm.semi_join(in_pop, "patient_id"))
    imap = rows_memtable(sorted(codelists.ingredients.items()), {"code": "string", "ingredient": "string"})
    per = pm.left_join(imap, pm.dmd_code == imap.code)
    per = per.select("patient_id", medicine=per.ingredient.fill_null(per.dmd_code)).distinct()
    poly = per.group_by("patient_id").aggregate(_n=per.count())
    poly = poly.filter(poly._n >= config.polypharmacy_min).select(
        "patient_id", col=ibis.literal("efi_polypharmacy"))
    # each (patient, col) once: condition_flags groups by it, and polypharmacy is only derived
    long_parts = engine.cache(ibis.union(long.filter(long.col != "efi_polypharmacy"), poly))
    long = cond.with_parts(long_parts, pairs)

    ltc_cols = [column_name(c) for c in ltc]
    efi_cols = [column_name(c) for c in efi]
    flag_cols = [column_name(c) for c in flags]
    person = cond.wide_flags(pop, long, ltc_cols + efi_cols + flag_cols,
                             {"ltc_count": ltc_cols, "efi_deficits": efi_cols})

    cats = hfrs_categories(tables["apcs_diagnoses"], weights, as_of, config.hfrs_window_days)
    cats = engine.cache(cats.semi_join(in_pop, "patient_id"))
    person = person.left_join(hfrs_per_person(cats), "patient_id").drop("patient_id_right")
    for u in utilisation(tables, as_of):
        person = person.left_join(u, "patient_id").drop("patient_id_right")

    opts = tables["opt_outs"]
    opt = opts.group_by("patient_id").aggregate(
        _t1=(opts.opt_out_type == "type1").any(), _ndo=(opts.opt_out_type == "ndoo").any())
    person = person.left_join(opt, "patient_id").drop("patient_id_right")

    n = person.efi_deficits
    in_range = person.age >= config.efi_min_age
    score = (n.cast("float64") / EFI_DEFICITS)
    category = efi_category(n)
    if config.efi_below_min_age == "null":
        score = in_range.ifelse(score, ibis.null("float64"))
        category = in_range.ifelse(category, ibis.null("string"))
    person = person.mutate(
        ltc_conditions=_joined_keys(person, ltc_cols),
        efi_deficits=n, efi_score=score, efi_category=category, efi_in_age_range=in_range,
        **hfrs_columns(person.hfrs_tenths),
        **{c: person[c].fill_null(0).cast("int64") for c in UTILISATION_COLUMNS + HISTORY_COLUMNS},
        type1_optout=person.type1_optout | person._t1.fill_null(False),
        # National data opt-out: does not apply to case-finding (direct care) but does to the
        # planning outputs (nhs-data-conventions.md §8); datapack.py applies it.
        ndo_optout=person._ndo.fill_null(False),
    )
    lead = ["patient_id", "practice_code", "pcn_code", "pcn_name", "lcp_name", "age", "sex",
            "ethnicity_group", "lsoa_code", "imd_decile"]
    tail = ["ltc_count", "ltc_conditions", *efi_cols, "efi_deficits", "efi_score", "efi_category",
            "efi_in_age_range", "hfrs_score", "hfrs_category", *UTILISATION_COLUMNS, *HISTORY_COLUMNS,
            "palliative_care", "care_home", "type1_optout", "ndo_optout"]
    extra = [c for c in flag_cols if c not in tail]
    person = person.select(*lead, *ltc_cols, *tail, *extra)

    ev = cond.evidence(base, long_parts, pairs)
    poly_ev = pm.semi_join(poly, "patient_id")
    poly_ev = poly_ev.select("patient_id", feature=ibis.literal("efi_polypharmacy"),
                             code="dmd_code", source=ibis.literal("medications"),
                             first_date="first_date", last_date="last_date")
    hf_ev = cats.select("patient_id", feature="hfrs_" + cats.icd10_code3, code="icd10_code3",
                        source=ibis.literal("apcs"), first_date="first_date", last_date="last_date")
    cols = ["patient_id", "feature", "code", "first_date", "last_date", "source"]
    evidence = ibis.union(ev.select(*cols), poly_ev.select(*cols), hf_ev.select(*cols))
    unmatched = unmatched_counts(tables, rmap, vmap, as_of, sorted(weights), lengths)
    return FeatureResult(person=person, evidence=evidence, unmatched=unmatched,
                         ltc_columns=tuple(ltc_cols), efi_columns=tuple(efi_cols))


def _check_disjoint(cs: CodelistSet, rules: list, catalogues: dict[str, list]) -> None:
    """Evidence rows of one condition never collide: a condition's value-rule lists and its
    coded lists share no code (a code is either a measurement or a diagnosis/prescription of
    it), and a part's lists share no code with its parent's or its siblings' lists."""
    def codes(names):
        return {code for n in names for code, _ in cs.lists[n].codes}

    for c, r in rules:
        shared = codes(c.dx_lists + c.rx_lists + c.cancel_lists) & codes((r.list_name,))
        if shared:
            raise CodelistError(f"{r.list_name} (value rule of {column_name(c)}) shares {len(shared)} "
                                f"code(s) with that condition's other lists; remove them from one side")
    for name, conds in catalogues.items():
        by_key = {c.key: c for c in conds}
        for c in conds:
            groups = [c.dx_lists + c.rx_lists] + [by_key[k].dx_lists + by_key[k].rx_lists for k in c.any_of]
            seen: set[str] = set()
            for group in groups:
                if seen & codes(group):
                    raise CodelistError(f"catalogues/{name}.csv: {c.key!r} and its any_of parts share "
                                        "codes in their dx/rx lists; give each code to one of them")
                seen |= codes(group)


def _joined_keys(t: ibis.Table, cols: list[str]) -> ibis.Value:
    """`;`-joined sorted condition keys (without the `ltc_` prefix), '' when none.

    Built as ';a;b' and the leading ';' dropped with substr (no regular expression per row).
    """
    keys = sorted(cols, key=lambda c: c[len("ltc_"):])
    parts = [t[c].ifelse(ibis.literal(";" + c[len("ltc_"):]), ibis.literal("")) for c in keys]
    if not parts:
        return ibis.literal("")
    s = parts[0]
    for p in parts[1:]:
        s = s + p
    return s.substr(1)
