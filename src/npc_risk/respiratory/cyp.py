"""Children and young people's (CYP) asthma: the `cyp_asthma` feature set, population and score.

Rules (../shared/reference/respiratory-and-packs.md; docs/respiratory.md "Children and young
people's asthma" is the rulebook). T = the as-of date; "last 12 months" = (T - 365 d, T], "2
years" = (T - 730 d, T], "5 years" = (T - 1825 d, T]. Ages are whole years at T. Every number is
data: `data/respiratory/cyp_rules.csv` (ages, windows, case-finding thresholds),
`data/respiratory/thresholds.csv` (the respiratory thresholds reused: SABA >= 6, ICS < 3, OCS
courses >= 2, the 14-day course merge) and `data/respiratory/cyp_points.csv` (the points).

* Population `under_18`: registered and alive on T, age < 18.
* cyp_asthma_register (§1.2, local, not QOF): age < 18, the latest asthma diagnosis code later than
  the latest resolved code, >= 1 inhaled asthma treatment issue in the last 12 months (the
  respiratory set's ASTTRT_COD stand-in). Departure from the QOF register (§1.1) as §1.2 says:
  no age-6 floor, so a treated 4-year-old with an asthma code is on it.
* Attacks: cyp_attacks_12m = attack episodes in the last 12 months among the days with an
  emergency admission with a J45/J46 primary diagnosis (admission date), an A&E attendance with
  an asthma ECDS diagnosis (resp-ecds-asthma, arrival date), a GP-coded emergency asthma admission
  (ASTADM_COD) or an asthma exacerbation code; days at most 14 days after the previous one are one
  attack (the §4.2 course rule, so the A&E attendance before an admission and the GP's admission
  code a few days after discharge are the same attack). Oral-steroid courses are their own factor
  (below), not attacks here, so one GP-treated attack is not counted twice. An extract without
  ec.diagnosis_code has no asthma A&E attendances.
* List 1, at risk (§5.2-5.3, the NRAD-based search): on the CYP register and any factor -
  cyp_factor_attacks (>= 1 attack), cyp_factor_ocs (>= 2 OCS courses, §4.2 merge),
  cyp_factor_reliever (>= 6 SABA issues), cyp_factor_low_ics (no or < 3 ICS-containing issues),
  cyp_factor_no_review (no asthma review code), cyp_factor_no_action_plan (no action plan code),
  cyp_factor_missed_appointment (>= 1 GP appointment not attended) - each in the last 12 months.
  Departure: "no personalised action plan" is read as none coded in the last 12 months (the
  respiratory set's gap; a plan is reviewed yearly), and the plan-less child's words say since when.
* cyp_points: the sum of the factors' points (cyp_points.csv; attacks in two exclusive bands, 1
  and >= 2); the `cyp_points` risk method ranks by cyp_points / the maximum (a rank, not a
  probability). No validated under-18 attack model exists (§5.3 [U]).
* List 2, possibly undiagnosed (ASTCF00, §5.3): age 5-17, no unresolved asthma diagnosis (none
  ever, or the latest resolved), and any of: wheeze coded in 2 years (cf_wheeze), >= 2 SABA
  issues in 1 year (cf_saba), >= 2 ICS-containing issues in 2 years or >= 1 in 1 year (cf_ics),
  >= 1 oral prednisolone issue in 1 year (cf_ocs), an asthma review coded in 5 years (cf_review).
  Departures: no packaged suspected-asthma list (no public list of its SNOMED codes was to hand;
  the arm is not evaluated), and "without another indication" cannot be checked (a prescription
  carries no indication in the extract), so any prednisolone issue counts.
"""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date

import ibis
import ibis.expr.types as ir
import pandas as pd

from npc_risk.codelists import CodelistSet
from npc_risk.engine import Engine
from npc_risk.errors import ConfigError
from npc_risk.features.derive import FeatureResult
from npc_risk.features.population import population as registered
from npc_risk.features.tables import complete_tables, rows_memtable
from npc_risk.manifest import read_packaged
from npc_risk.respiratory.features import (
    _emergency_primary,
    _episodes,
    _event_facts,
    _events,
    _medicine_facts,
    _medicines,
    _missed_gp,
    _ocs_courses,
    _since,
    ae_attendances,
)
from npc_risk.respiratory.lists import diagnosis_map, ecds_map, event_map, medicine_map
from npc_risk.respiratory.rules import Thresholds, packaged_values, thresholds

FOLDER, RULES_FILE, POINTS_FILE = "respiratory", "cyp_rules.csv", "cyp_points.csv"


@functools.cache
def cyp_rules() -> Thresholds:
    """The packaged CYP rules (hash-checked by the data manifest)."""
    return Thresholds(packaged_values(RULES_FILE, "rule", "value", float, "a numeric value"))


@dataclass(frozen=True)
class Factor:
    key: str  # the row of cyp_points.csv
    column: str  # the person table's boolean column


# The at-risk factors, in the order their words are listed (the attack bands share one column).
FACTORS: tuple[Factor, ...] = (
    Factor("attacks_many", "cyp_factor_attacks"),
    Factor("attack_one", "cyp_factor_attacks"),
    Factor("ocs_courses", "cyp_factor_ocs"),
    Factor("reliever_overuse", "cyp_factor_reliever"),
    Factor("low_ics", "cyp_factor_low_ics"),
    Factor("missed_appointment", "cyp_factor_missed_appointment"),
    Factor("no_review", "cyp_factor_no_review"),
    Factor("no_action_plan", "cyp_factor_no_action_plan"),
)
FACTOR_COLUMNS = tuple(dict.fromkeys(f.column for f in FACTORS))
CASE_FINDING_COLUMNS = ("cf_wheeze", "cf_saba", "cf_ics", "cf_ocs", "cf_review")


@functools.cache
def cyp_points() -> dict[str, int]:
    """{factor: points} from cyp_points.csv (every FACTORS key, integer points >= 0)."""
    points = packaged_values(POINTS_FILE, "factor", "points", int, "whole points")
    missing = sorted({f.key for f in FACTORS} - set(points))
    if missing or any(p < 0 for p in points.values()):
        raise ConfigError(f"{FOLDER}/{POINTS_FILE}: factors {missing} missing or points negative; "
                          "give every factor a row with points >= 0")
    return points


def points_table() -> list[dict[str, str]]:
    """The rows of cyp_points.csv as written (factor, points, odds_ratio, evidence, source): the card's table."""
    return [dict(row) for row in csv.DictReader(io.StringIO(read_packaged(FOLDER, POINTS_FILE)))]


def max_points() -> int:
    """The largest total: every factor, the attacks at their heavier band."""
    p = cyp_points()
    return max(p["attacks_many"], p["attack_one"]) + sum(
        v for k, v in p.items() if k not in ("attacks_many", "attack_one"))


# ------------------------------------------------------------------------- population, selection
def under_18(tables: Mapping[str, ir.Table], as_of: date) -> ir.Table:
    """Registered and alive on `as_of`, aged under 18 (the CYP population)."""
    pop = registered(dict(tables), as_of)
    return pop.filter(pop.age < int(cyp_rules()["cyp_age_below"]))


def at_risk(table: ir.Table) -> ir.BooleanValue:
    """The CYP selection's candidates and denominator: list 1 (on the CYP register, >= 1 factor)."""
    return table.cyp_at_risk.fill_null(False)


def cyp_score(features: pd.DataFrame) -> pd.Series:
    """risk_score of the `cyp_points` method: cyp_points / max_points(), in [0, 1] (a rank)."""
    points = features["cyp_points"].fillna(0).to_numpy(dtype="float64")
    return pd.Series(points / max_points(), index=features.index, name="risk_score", dtype="float64")


# ------------------------------------------------------------------------------- the feature set
def cyp_features(engine: Engine, tables: Mapping[str, ir.Table], *, as_of: date, codelists: CodelistSet,
                 config=None, population: Callable = under_18) -> FeatureResult:
    """The `cyp_asthma` feature set for `population(tables, as_of)` (module docstring): the CYP
    register, attacks, factors, points and case-finding rules, built on the respiratory set's own
    counting functions (issues, OCS courses, reviews, missed appointments) so that both sets read
    every record the same way. `config` is accepted for the signature and not used."""
    del config
    tables = complete_tables(dict(tables))
    th, cy = thresholds(), cyp_rules()
    t = ibis.date(as_of)
    person = engine.cache(population(tables, as_of).select("patient_id", "age"))
    # only the population's records are kept (children: a fifth of the events of the whole list)
    ev = engine.cache(_events(tables, t, event_map(codelists)).semi_join(person, "patient_id"))
    rx = engine.cache(_medicines(tables, t, medicine_map(codelists)).semi_join(person, "patient_id"))
    # the respiratory set's own counts (same functions, same rules), then this set's
    parts = (_event_facts(ev, as_of, th), _medicine_facts(rx, as_of, th), _ocs_courses(rx, ev, as_of, th),
             _missed_gp(tables, as_of, th), _diagnosis(ev), _cyp_events(ev, as_of, th, cy),
             _cyp_medicines(rx, as_of, th),
             _attacks(tables, ev, as_of, th, cy, diagnosis_map(codelists),
                      ae_attendances(tables, as_of, ecds_map(codelists)).semi_join(person, "patient_id")))
    for part in parts:
        person = person.left_join(part, "patient_id").drop("patient_id_right")
    person = engine.cache(_derive(person, as_of, th, cy).select(*PERSON_COLUMNS))
    empty = {"source": "string", "coding_system": "string", "events": "int64", "unmatched_events": "int64",
             "unmatched_codes": "int64"}
    evidence = {"patient_id": "string", "feature": "string", "code": "string", "first_date": "date",
                "last_date": "date", "source": "string"}
    return FeatureResult(person=person, evidence=rows_memtable([], evidence), unmatched=rows_memtable([], empty),
                         ltc_columns=(), efi_columns=())


def _diagnosis(ev: ir.Table) -> ir.Table:
    return ev.group_by("patient_id").aggregate(
        dx_latest=ev.date.max(where=ev.concept == "asthma_dx"),
        res_latest=ev.date.max(where=ev.concept == "asthma_resolved"))


def _cyp_events(ev: ir.Table, as_of: date, th: Thresholds, cy: Thresholds) -> ir.Table:
    two = _since(as_of, th.days("two_years_days"))
    five = _since(as_of, cy.days("five_years_days"))
    return ev.group_by("patient_id").aggregate(
        wheeze_last_2y=ev.date.max(where=(ev.concept == "wheeze") & (ev.date > two)),
        asthma_review_last_5y=ev.date.max(where=(ev.concept == "asthma_review") & (ev.date > five)))


def _cyp_medicines(rx: ir.Table, as_of: date, th: Thresholds) -> ir.Table:
    two = rx.date > _since(as_of, th.days("two_years_days"))
    return rx.group_by("patient_id").aggregate(ics_issues_24m=rx.count(where=(rx.concept == "ics_containing") & two))


def _attacks(tables, ev: ir.Table, as_of: date, th: Thresholds, cy: Thresholds, dmap: ir.Table,
             ae: ir.Table) -> ir.Table:
    year = _since(as_of, th.days("year_days"))
    s = _emergency_primary(tables, as_of, th, dmap)
    spells = s.filter((s.concept == "asthma") & (s.admission_date > year)).select("patient_id", date="admission_date")
    coded = ev.filter(ev.concept.isin(["asthma_admission_gp", "asthma_exacerbation"]) & (ev.date > year))
    ae = ae.filter((ae.concept == "asthma") & (ae.date > year)).select("patient_id", "date")
    days = ibis.union(spells, coded.select("patient_id", "date"), ae, distinct=True)
    n = _episodes(days, new_after=cy.days("attack_merge_days"), name="cyp_attacks_12m")
    last = days.group_by("patient_id").aggregate(cyp_attack_last=days.date.max())
    return n.left_join(last, "patient_id").drop("patient_id_right")


def _derive(p: ir.Table, as_of: date, th: Thresholds, cy: Thresholds) -> ir.Table:
    year = _since(as_of, th.days("year_days"))
    pts = cyp_points()
    zero = ("cyp_attacks_12m", "ics_issues_24m", "saba_issues_12m", "ics_issues_12m", "ocs_issues_12m",
            "ocs_courses_12m", "asthma_treatment_issues_12m", "gp_dnas_12m")
    p = p.mutate(**{c: p[c].fill_null(0) for c in zero})
    active = p.dx_latest.notnull() & (p.res_latest.isnull() | (p.dx_latest > p.res_latest)).fill_null(False)
    child = (p.age < cy["cyp_age_below"]).fill_null(False)
    register = child & active & (p.asthma_treatment_issues_12m > 0)
    p = p.mutate(cyp_asthma_register=register.fill_null(False), asthma_active=active.fill_null(False))

    def none_in_year(col: str) -> ir.BooleanValue:
        return p[col].isnull() | (p[col] <= year)

    reg = p.cyp_asthma_register
    p = p.mutate(
        cyp_factor_attacks=reg & (p.cyp_attacks_12m > 0),
        cyp_factor_ocs=reg & (p.ocs_courses_12m >= th["ocs_courses_flag"]),
        cyp_factor_reliever=reg & (p.saba_issues_12m >= th["asthma_saba_high_risk"]),
        cyp_factor_low_ics=reg & (p.ics_issues_12m < th["asthma_ics_high_risk_below"]),
        cyp_factor_missed_appointment=reg & (p.gp_dnas_12m > 0),
        cyp_factor_no_review=reg & none_in_year("asthma_review_last"),
        cyp_factor_no_action_plan=reg & none_in_year("action_plan_last"),
    )
    many = p.cyp_attacks_12m >= cy["attacks_many"]
    attack_points = ibis.ifelse(p.cyp_factor_attacks, ibis.ifelse(many, pts["attacks_many"], pts["attack_one"]), 0)
    others = [(f.column, pts[f.key]) for f in FACTORS if f.column != "cyp_factor_attacks"]
    total = attack_points + sum(ibis.ifelse(p[c], v, 0) for c, v in others)
    p = p.mutate(cyp_factors=sum(p[c].cast("int64") for c in FACTOR_COLUMNS).cast("int64"),
                 cyp_points=total.cast("int64"))
    p = p.mutate(cyp_at_risk=p.cyp_factors > 0)
    age_ok = ((p.age >= cy["case_finding_min_age"]) & (p.age < cy["cyp_age_below"])).fill_null(False)
    p = p.mutate(
        cf_wheeze=p.wheeze_last_2y.notnull(),
        cf_saba=p.saba_issues_12m >= cy["case_finding_saba_min"],
        cf_ics=((p.ics_issues_24m >= cy["case_finding_ics_2y_min"])
                | (p.ics_issues_12m >= cy["case_finding_ics_1y_min"])),
        cf_ocs=p.ocs_issues_12m >= cy["case_finding_ocs_min"],
        cf_review=p.asthma_review_last_5y.notnull(),
    )
    met = sum(p[c].cast("int64") for c in CASE_FINDING_COLUMNS).cast("int64")
    undiagnosed = age_ok & ~p.asthma_active & (met > 0)
    return p.mutate(cf_rules_met=ibis.ifelse(undiagnosed, met, 0).cast("int64"),
                    cyp_possibly_undiagnosed=undiagnosed)


# The feature set's person columns (the respiratory counts its words read are repeated from the
# respiratory set only where this set needs them under its own name; the join drops nothing).
PERSON_COLUMNS = (
    "patient_id", "cyp_asthma_register", "cyp_attacks_12m", "cyp_attack_last", *FACTOR_COLUMNS, "cyp_factors",
    "cyp_points", "cyp_at_risk", "wheeze_last_2y", "asthma_review_last_5y", "ics_issues_24m",
    *CASE_FINDING_COLUMNS, "cf_rules_met", "cyp_possibly_undiagnosed",
)


# ------------------------------------------------------------------------------------ the words
def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _day(value) -> str | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).date().isoformat()


def factor_words(row: Mapping) -> list[tuple[str, int, str]]:
    """(factor key, points, words) of each factor a child has, in FACTORS order (reliever
    over-use and a missing inhaled steroid read as one phrase when both hold). `row` holds the
    cyp_asthma and respiratory columns of one person."""
    pts, th = cyp_points(), thresholds()
    out: list[tuple[str, int, str]] = []
    attacks = int(row["cyp_attacks_12m"] or 0)
    if row["cyp_factor_attacks"]:
        key = "attacks_many" if attacks >= cyp_rules()["attacks_many"] else "attack_one"
        out.append((key, pts[key], f"{_plural(attacks, 'asthma attack', 'asthma attacks')} in 12 months "
                                   f"(latest {_day(row['cyp_attack_last'])})"))
    if row["cyp_factor_ocs"]:
        courses = _plural(int(row["ocs_courses_12m"]), "oral steroid course", "oral steroid courses")
        out.append(("ocs_courses", pts["ocs_courses"], f"{courses} in 12 months"))
    saba, ics = int(row["saba_issues_12m"] or 0), int(row["ics_issues_12m"] or 0)
    steroid = "no inhaled steroid" if ics == 0 else _plural(ics, "inhaled steroid issue", "inhaled steroid issues")
    if row["cyp_factor_reliever"] and row["cyp_factor_low_ics"]:
        words = f"{_plural(saba, 'reliever inhaler', 'reliever inhalers')} and {steroid} in 12 months"
        out.append(("reliever_overuse", pts["reliever_overuse"] + pts["low_ics"], words))
    elif row["cyp_factor_reliever"]:
        out.append(("reliever_overuse", pts["reliever_overuse"],
                    f"{_plural(saba, 'reliever inhaler', 'reliever inhalers')} in 12 months"))
    elif row["cyp_factor_low_ics"]:
        below = int(th["asthma_ics_high_risk_below"])
        words = f"{steroid} in 12 months" + ("" if ics == 0 else f" (fewer than {below})")
        out.append(("low_ics", pts["low_ics"], words))
    if row["cyp_factor_missed_appointment"]:
        missed = _plural(int(row["gp_dnas_12m"]), "missed GP appointment", "missed GP appointments")
        out.append(("missed_appointment", pts["missed_appointment"], f"{missed} in 12 months"))
    for key, col, what in (("no_review", "asthma_review_last", "asthma review"),
                           ("no_action_plan", "action_plan_last", "asthma action plan")):
        if row[f"cyp_factor_{key}"]:
            last = _day(row[col])
            out.append((key, pts[key], f"no {what} since {last}" if last else f"no {what} on record"))
    return out


def case_finding_words(row: Mapping) -> list[str]:
    """The case-finding rules a child meets, in words (CASE_FINDING_COLUMNS order)."""
    out = []
    if row["cf_wheeze"]:
        out.append(f"wheeze coded {_day(row['wheeze_last_2y'])}")
    if row["cf_saba"]:
        out.append(f"{_plural(int(row['saba_issues_12m']), 'reliever inhaler', 'reliever inhalers')} in 12 months")
    if row["cf_ics"]:
        n12, n24 = int(row["ics_issues_12m"]), int(row["ics_issues_24m"])
        out.append(f"{_plural(n12, 'inhaled steroid issue', 'inhaled steroid issues')} in 12 months" if n12
                   else f"{_plural(n24, 'inhaled steroid issue', 'inhaled steroid issues')} in 2 years")
    if row["cf_ocs"]:
        out.append(f"{_plural(int(row['ocs_issues_12m']), 'oral prednisolone issue', 'oral prednisolone issues')} "
                   "in 12 months")
    if row["cf_review"]:
        out.append(f"asthma review coded {_day(row['asthma_review_last_5y'])} with no asthma diagnosis")
    return out


def explain_cyp(features: pd.DataFrame, *, n: int = 3) -> pd.DataFrame:
    """driver_1..n (the factors with the most points, in words) and driver_k_group per row: the
    `cyp_points` method's drivers (risk.apply.explain_people)."""
    rows = []
    for row in features.to_dict("records"):
        words = sorted(factor_words(row), key=lambda f: -f[1])[:n]  # stable: FACTORS order on ties
        cells = {}
        for k in range(n):
            cells[f"driver_{k + 1}"] = words[k][2] if k < len(words) else None
            cells[f"driver_{k + 1}_group"] = "cyp_asthma" if k < len(words) else None
        rows.append(cells)
    return pd.DataFrame(rows, index=features.index, columns=[c for k in range(n) for c in
                                                               (f"driver_{k + 1}", f"driver_{k + 1}_group")])
