"""The `respiratory` feature set: registers, care processes, care gaps and respiratory utilisation.

Rules (../shared/reference/respiratory-and-packs.md; every number is in
`data/respiratory/thresholds.csv`, read by `rules.thresholds`). T = the as-of date; "last 12
months" = (T - 365 d, T], so an event 365 days before T is outside and one 364 days before is in.

Registers (§1):
* asthma_register: age >= 6 at T, the latest asthma diagnosis (AST_COD = resp-asthma +
  resp-asthma-exacerbation) later than the latest resolved code (or none), and >= 1 asthma
  treatment issue (inhaled respiratory products, the ASTTRT_COD stand-in) in the last 12 months.
* copd_register (QOF v50): EUNRESCOPD_DAT = the earliest COPD code (resp-copd + resp-aecopd,
  the COPD_COD split) after the latest COPD resolved code (all of them if none is resolved).
  Rule 1: before 2023-04-01. Rules 2-3: on/after, with FEV1/FVC < 0.7 (values > 1 divided by
  100) from 93 days before to 186 days after the diagnosis, or after the current registration's
  start when it began in the last 12 months. Rule 4: everyone else diagnosed on/after (spirometry
  is a quality measure, not a gate); copd_register_rule is 1, 2 (rules 2-3) or 4.
  Departure: the pre-coded "FEV1/FVC < 0.7" cluster (FEV1FVCL70_COD) has no packaged list; only
  measured ratios count. COPD review codes are not diagnoses here (COPD_COD lists them).
* asthma_ever / copd_ever: any diagnosis code on or before T (resolved or not): the "ever coded"
  prevalence.

Care processes and gaps (§2.4), for register members; a gap is a boolean `gap_*` column plus its
evidence (the last date the process was seen, counts):
* gap_asthma_no_review / gap_copd_no_review: no review code in the last 12 months (a review code
  alone counts: the AST007/COPD components are reported as their own gaps).
* gap_no_mrc (COPD): no MRC/mMRC grade in the last 12 months.
* gap_pr_not_offered (COPD): the latest graded MRC is in the last 12 months, grade >= 3, and no
  pulmonary-rehab referral/offer/decline/unsuitable/attended code on or after its date (a same-day
  referral at the review counts as the offer).
* gap_no_flu: no flu vaccination code in this season. Season S = 1 Sep S to 31 Mar S+1, the
  season holding T (from April to August, the season that ended on 31 March); flu_season names it.
* gap_smoker_no_offer: age >= 15, latest smoking status (codes recorded before age 11 ignored, §8;
  same-day ties: current > ex > never) current, no cessation intervention in the last 12 months.
* gap_no_action_plan (asthma), gap_no_inhaler_technique: no such code in the last 12 months.
* saba_overuse_level (asthma): SABA issues in the last 12 months >= 3 review, >= 6 priority,
  >= 12 urgent (issue = distinct issue date per class, §3.3).
* gap_saba_without_ics / gap_laba_without_ics (asthma): SABA / LABA-only issued in the last 12
  months and no ICS-containing issue (ICS, ICS/LABA, MART, triple).
* gap_ics_underuse (asthma): 1-3 ICS-containing issues in the last 12 months.
* gap_ocs_courses (both): >= 2 oral-steroid courses in the last 12 months. A course is a run of
  issues each <= 14 days after the previous; issue days with a review code are ignored (§4.2).
* gap_post_attack_no_review (asthma): an asthma attack in the last 12 months (emergency admission
  with J45/J46 primary diagnosis, its end = discharge; or a GP-coded emergency asthma admission,
  its end = the code's date) with no asthma review code from its end to 2 working days after
  (Mon-Fri; bank holidays are not known), once that deadline is on or before T. Departure: an
  asthma A&E attendance that was not admitted is not an attack here (the gap's wording is about
  admissions; the A&E attendance is the high-risk search's own factor, score.py).
* gap_copd_no_spirometry: on the COPD register by rule 4.

Exacerbations (§4.1): copd_exacerbations_12m counts AECOPD codes and days with an antibiotic
and an oral steroid issued together, not on a COPD review day, events < 14 days apart merged
(the symptom and LRTI arms have no packaged lists). asthma_attacks_12m = OCS courses + emergency
asthma admissions (§4.2).

Respiratory utilisation (§6): emergency admissions (admissions.is_emergency_admission) whose
primary diagnosis is in ICD-10 chapter X (J00-J99), known at T, in the last 12 and 24 months, and
their bed days (as features/utilisation); asthma (J45-J46) and COPD (J43-J44) admissions.
A&E (§5.3, §6): resp_ae_attendances_12m / _24m count A&E attendances (ec) arriving in the last 12 /
24 months whose ECDS diagnosis (ec.diagnosis_code, SNOMED CT, matched exactly) is in
resp-ecds-diagnosis; asthma_ae_attendances_12m those in resp-ecds-asthma. An attendance without a
diagnosis, or an extract without the optional diagnosis_code column (read as nulls), counts 0:
such extracts under-count respiratory A&E rather than stop. npc_core's ae_attendances_* stay all
causes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, timedelta

import ibis
import ibis.expr.types as ir

from npc_risk.admissions import is_emergency_admission
from npc_risk.codelists import CodelistSet
from npc_risk.engine import Engine
from npc_risk.features.as_of import diagnoses_known_at
from npc_risk.features.derive import FeatureResult
from npc_risk.features.population import population as registered
from npc_risk.features.tables import complete_tables, rows_memtable
from npc_risk.respiratory.lists import diagnosis_map, ecds_map, event_map, medicine_map
from npc_risk.respiratory.rules import Thresholds, thresholds
from npc_risk.respiratory.score import rules_columns

# Working days to add so that "2 working days after" lands Mon-Fri (index 0 = Monday).
_SATURDAY = 5


def working_days_after(weekday: int, n: int) -> int:
    """Calendar days from a day with `weekday` (0 = Monday) to the n-th working day after it."""
    days, day, left = 0, weekday, n
    while left:
        days += 1
        day = (day + 1) % 7
        left -= day < _SATURDAY
    return days


def flu_season(as_of: date, th: Thresholds | None = None) -> tuple[date, date, str]:
    """(first day, last day counted, label) of the flu season holding `as_of` (module docstring)."""
    th = th or thresholds()
    start_month, end_month = int(th["flu_season_start_month"]), int(th["flu_season_end_month"])
    year = as_of.year if as_of.month >= start_month else as_of.year - 1
    start = date(year, start_month, 1)
    end = date(year + 1, end_month + 1, 1) - timedelta(days=1)
    return start, min(end, as_of), f"{year}/{str(year + 1)[-2:]}"


def respiratory_features(engine: Engine, tables: Mapping[str, ir.Table], *, as_of: date,
                         codelists: CodelistSet, config=None,
                         population: Callable = registered) -> FeatureResult:
    """The respiratory feature set for `population(tables, as_of)` (module docstring).

    `config` (the FeatureConfig) is accepted for the feature-set signature and not used."""
    del config
    tables = complete_tables(dict(tables))
    th = thresholds()
    t = ibis.date(as_of)
    people = engine.cache(population(tables, as_of).select("patient_id", "age"))
    ev = engine.cache(_events(tables, t, event_map(codelists)))
    rx = engine.cache(_medicines(tables, t, medicine_map(codelists)))
    parts = [
        _event_facts(ev, as_of, th),
        _latest_mrc(ev),
        _latest_value(ev, "fev1_predicted", "fev1_pct_latest"),
        _smoking(ev, tables["patients"], th),
        _copd_diagnosis(ev, tables["practice_registrations"], as_of, th),
        _medicine_facts(rx, as_of, th),
        _ocs_courses(rx, ev, as_of, th),
        _copd_exacerbations(rx, ev, as_of, th),
        _hospital(tables, as_of, th, diagnosis_map(codelists)),
        _ae(ae_attendances(tables, as_of, ecds_map(codelists)), as_of, th),
        _post_attack(tables, ev, as_of, th, diagnosis_map(codelists)),
        _missed_gp(tables, as_of, th),
    ]
    person = people
    for part in parts:
        person = person.left_join(part, "patient_id").drop("patient_id_right")
    person = engine.cache(_derive(person, as_of, th))
    person = person.select(*PERSON_COLUMNS)
    evidence = _evidence(ev, person)
    unmatched = rows_memtable([], {"source": "string", "coding_system": "string", "events": "int64",
                                   "unmatched_events": "int64", "unmatched_codes": "int64"})
    return FeatureResult(person=person, evidence=evidence, unmatched=unmatched,
                         ltc_columns=(), efi_columns=())


# ------------------------------------------------------------------------------- the inputs
def _events(tables, t, emap: ir.Table) -> ir.Table:
    ev = tables["clinical_events"]
    ev = ev.filter(ev.date <= t)
    j = ev.join(emap, ev.snomedct_code == emap.code)
    return j.select(patient_id=ev.patient_id, date=ev.date, code=ev.snomedct_code, concept=emap.concept,
                    value=ev.numeric_value, grade=emap.grade)


def _medicines(tables, t, mmap: ir.Table) -> ir.Table:
    """One row per (person, issue date, concept): the counting unit is a distinct issue date."""
    rx = tables["medications"]
    rx = rx.filter(rx.date <= t)
    j = rx.join(mmap, rx.dmd_code == mmap.code)
    return j.select(patient_id=rx.patient_id, date=rx.date, concept=mmap.concept).distinct()


def _since(as_of: date, days: int) -> ir.DateScalar:
    return ibis.date(as_of - timedelta(days=days))


def _count(cond: ir.BooleanValue) -> ir.IntegerValue:
    return cond.fill_null(False).cast("int64").sum().cast("decimal(38, 0)").cast("int64")


# ------------------------------------------------------------------------------ GP events
def _event_facts(ev: ir.Table, as_of: date, th: Thresholds) -> ir.Table:
    year = _since(as_of, th.days("year_days"))
    start, end, _ = flu_season(as_of, th)

    def last(concept: str, cond=None):
        c = ev.concept == concept
        return ev.date.max(where=c if cond is None else c & cond)

    exac = ev.filter((ev.concept == "asthma_exacerbation") & (ev.date > year))
    exac = exac.select("patient_id", "date").distinct().group_by("patient_id").aggregate(
        asthma_exacerbation_codes_12m=ibis._.count())
    facts = ev.group_by("patient_id").aggregate(
        asthma_dx_last=last("asthma_dx"), asthma_resolved_last=last("asthma_resolved"),
        copd_dx_last=last("copd_dx"), copd_resolved_last=last("copd_resolved"),
        asthma_review_last=last("asthma_review"), copd_review_last=last("copd_review"),
        mrc_last=last("mrc"), pr_last=last("pr_any"), cessation_last=last("cessation"),
        action_plan_last=last("action_plan"), inhaler_technique_last=last("inhaler_technique"),
        flu_last=last("flu"),
        flu_this_season=last("flu", (ev.date >= ibis.date(start)) & (ev.date <= ibis.date(end))),
    )
    return facts.left_join(exac, "patient_id").drop("patient_id_right")


def _latest(rows: ir.Table, order: list) -> ir.Table:
    rn = ibis.row_number().over(group_by=rows.patient_id, order_by=order)
    return rows.mutate(_rn=rn).filter(ibis._._rn == 0).drop("_rn")


def _latest_mrc(ev: ir.Table) -> ir.Table:
    """The latest graded MRC record (same day: the higher grade)."""
    m = ev.filter(ev.concept == "mrc")
    from_value = ibis.ifelse(m.value.between(1, 5) & (m.value == m.value.round()), m.value.cast("int64"),
                             ibis.null("int64"))
    m = m.mutate(g=m.grade.fill_null(from_value)).filter(ibis._.g.notnull())
    m = _latest(m, [ibis.desc(m.date), ibis.desc(m.g)])
    return m.select("patient_id", mrc_grade_latest=m.g, mrc_graded_last=m.date)


def _latest_value(ev: ir.Table, concept: str, name: str) -> ir.Table:
    v = ev.filter((ev.concept == concept) & ev.value.notnull())
    v = _latest(v, [ibis.desc(v.date), v.value])
    return v.select("patient_id", **{name: v.value})


def _smoking(ev: ir.Table, patients: ir.Table, th: Thresholds) -> ir.Table:
    rank = {"smoking_current": 3, "smoking_ex": 2, "smoking_never": 1}
    s = ev.filter(ev.concept.isin(list(rank)))
    s = s.join(patients.select("patient_id", "date_of_birth"), "patient_id")
    years = int(th["smoking_code_min_age"])
    born = s.date_of_birth.year() * 10000 + s.date_of_birth.month() * 100 + s.date_of_birth.day()
    on = s.date.year() * 10000 + s.date.month() * 100 + s.date.day()
    s = s.filter(on >= born + years * 10000)
    r = s.concept.cases(*rank.items(), else_=0)
    s = s.mutate(_r=r)
    s = _latest(s, [ibis.desc(s.date), ibis.desc(s._r)])
    status = s.concept.cases(("smoking_current", "current"), ("smoking_ex", "ex"), ("smoking_never", "never"))
    return s.select("patient_id", smoking_status=status, smoking_status_date=s.date)


def _copd_diagnosis(ev: ir.Table, registrations: ir.Table, as_of: date, th: Thresholds) -> ir.Table:
    """EUNRESCOPD_DAT, the spirometry check and the register rule (module docstring)."""
    t = ibis.date(as_of)
    res = ev.filter(ev.concept == "copd_resolved").group_by("patient_id").aggregate(res=ibis._.date.max())
    dx = ev.filter(ev.concept == "copd_dx").left_join(res, "patient_id")
    dx = dx.filter(dx.res.isnull() | (dx.date > dx.res))
    dx = dx.group_by("patient_id").aggregate(copd_diagnosis_date=ibis._.date.min())
    reg = registrations.filter((registrations.start_date <= t)
                               & (registrations.end_date.isnull() | (registrations.end_date >= t)))
    reg = reg.group_by("patient_id").aggregate(reg_start=ibis._.start_date.max())
    recent = reg.filter(reg.reg_start > _since(as_of, th.days("year_days")))
    dx = dx.left_join(recent, "patient_id").drop("patient_id_right")
    spiro = ev.filter((ev.concept == "fev1fvc") & ev.value.notnull())
    ratio = ibis.ifelse(spiro.value > 1, spiro.value / 100, spiro.value)
    spiro = spiro.filter(ratio < th["fev1fvc_obstruction_below"]).select("patient_id", s_date="date")
    before, after = th.days("copd_spirometry_days_before"), th.days("copd_spirometry_days_after")

    def near(ref: ir.DateValue) -> ir.BooleanValue:
        d = j.s_date.delta(ref, unit="day")
        return (d >= -before) & (d <= after)

    j = dx.left_join(spiro, "patient_id")
    confirmed = near(j.copd_diagnosis_date) | near(j.reg_start).fill_null(False)
    j = j.group_by("patient_id").aggregate(
        copd_diagnosis_date=j.copd_diagnosis_date.max(),
        copd_spirometry_confirmed=confirmed.fill_null(False).any())
    rule1 = j.copd_diagnosis_date < ibis.date(th.date("copd_rule1_before"))
    rule = ibis.ifelse(rule1, 1, ibis.ifelse(j.copd_spirometry_confirmed, 2, 4)).cast("int64")
    return j.mutate(copd_register_rule=rule)


# ---------------------------------------------------------------------------- prescriptions
def _medicine_facts(rx: ir.Table, as_of: date, th: Thresholds) -> ir.Table:
    year = rx.date > _since(as_of, th.days("year_days"))
    half = rx.date > _since(as_of, th.days("six_months_days"))

    def n(concept: str, window=year):
        return rx.count(where=(rx.concept == concept) & window)

    return rx.group_by("patient_id").aggregate(
        saba_issues_12m=n("saba"), ics_issues_12m=n("ics_containing"),
        laba_only_issues_12m=n("laba_only"), antibiotic_issues_12m=n("antibiotic"),
        ocs_issues_12m=n("ocs"), asthma_treatment_issues_12m=n("asthma_treatment"),
        triple_issues_6m=n("triple", half), ics_issues_6m=n("ics_containing", half),
        laba_issues_6m=n("laba_containing", half), lama_issues_6m=n("lama_containing", half),
        saba_last=rx.date.max(where=rx.concept == "saba"),
        ics_last=rx.date.max(where=rx.concept == "ics_containing"),
    )


def _episodes(days: ir.Table, *, new_after: int, name: str) -> ir.Table:
    """Per person, the number of episodes among distinct `date`s: a date more than `new_after`
    days after the previous one starts a new episode."""
    w = ibis.window(group_by=days.patient_id, order_by=days.date)
    prev = days.date.lag().over(w)
    new = prev.isnull() | (days.date.delta(prev, unit="day") > new_after)
    d = days.mutate(_new=new)
    return d.group_by("patient_id").aggregate(**{name: _count(d._new)})


def _review_days(ev: ir.Table, concepts: list[str]) -> ir.Table:
    return ev.filter(ev.concept.isin(concepts)).select("patient_id", "date").distinct()


def _ocs_courses(rx: ir.Table, ev: ir.Table, as_of: date, th: Thresholds) -> ir.Table:
    year = _since(as_of, th.days("year_days"))
    ocs = rx.filter((rx.concept == "ocs") & (rx.date > year)).select("patient_id", "date").distinct()
    ocs = ocs.anti_join(_review_days(ev, ["asthma_review", "copd_review"]), ["patient_id", "date"])
    return _episodes(ocs, new_after=th.days("ocs_course_gap_days"), name="ocs_courses_12m")


def _copd_exacerbations(rx: ir.Table, ev: ir.Table, as_of: date, th: Thresholds) -> ir.Table:
    year = _since(as_of, th.days("year_days"))
    codes = ev.filter((ev.concept == "aecopd") & (ev.date > year)).select("patient_id", "date")
    r = rx.filter(rx.concept.isin(["antibiotic", "ocs"]) & (rx.date > year))
    both = r.group_by(["patient_id", "date"]).aggregate(k=r.concept.nunique()).filter(ibis._.k == 2)
    days = ibis.union(codes, both.select("patient_id", "date"), distinct=True)
    days = days.anti_join(_review_days(ev, ["copd_review"]), ["patient_id", "date"])
    # "fewer than 14 days apart form one": a new exacerbation starts 14 or more days after the last
    return _episodes(days, new_after=th.days("aecopd_merge_below_days") - 1, name="copd_exacerbations_12m")


# ------------------------------------------------------------------------------- hospital
def _emergency_primary(tables, as_of: date, th: Thresholds, dmap: ir.Table) -> ir.Table:
    diag = diagnoses_known_at(tables["apcs_diagnoses"], as_of)
    diag = diag.filter((diag.position == 0) & is_emergency_admission(diag.admission_method)
                       & (diag.admission_date > _since(as_of, th.days("two_years_days"))))
    j = diag.join(dmap, diag.icd10_code3 == dmap.code3)
    return j.select("spell_id", "patient_id", "admission_date", "discharge_date", "concept").distinct()


def _hospital(tables, as_of: date, th: Thresholds, dmap: ir.Table) -> ir.Table:
    t = ibis.date(as_of)
    s = _emergency_primary(tables, as_of, th, dmap)
    year = s.admission_date > _since(as_of, th.days("year_days"))
    resp = s.concept == "respiratory"
    end = ibis.least(s.discharge_date.fill_null(t), t)
    los = ibis.greatest(end.delta(s.admission_date, unit="day"), 0)
    return s.group_by("patient_id").aggregate(
        resp_emergency_admissions_12m=s.count(where=resp & year),
        resp_emergency_admissions_24m=s.count(where=resp),
        resp_emergency_bed_days_12m=ibis.ifelse(resp & year, los, 0).sum().cast("decimal(38, 0)").cast("int64"),
        asthma_emergency_admissions_12m=s.count(where=(s.concept == "asthma") & year),
        copd_emergency_admissions_12m=s.count(where=(s.concept == "copd") & year),
    )


def ae_attendances(tables, as_of: date, amap: ir.Table) -> ir.Table:
    """(patient_id, date, concept): one row per A&E attendance on or before T and ECDS concept of
    its diagnosis (respiratory, asthma). No diagnosis_code column (an old extract read without
    ingest) gives no rows."""
    ec = tables["ec"]
    if "diagnosis_code" not in ec.columns:
        return rows_memtable([], {"patient_id": "string", "date": "date", "concept": "string"})
    ec = ec.filter(ec.arrival_date <= ibis.date(as_of))
    j = ec.join(amap, ec.diagnosis_code == amap.code)
    return j.select(patient_id=ec.patient_id, date=ec.arrival_date, concept=amap.concept)


def _ae(a: ir.Table, as_of: date, th: Thresholds) -> ir.Table:
    year = a.date > _since(as_of, th.days("year_days"))
    two = a.date > _since(as_of, th.days("two_years_days"))
    return a.group_by("patient_id").aggregate(
        resp_ae_attendances_12m=a.count(where=(a.concept == "respiratory") & year),
        resp_ae_attendances_24m=a.count(where=(a.concept == "respiratory") & two),
        asthma_ae_attendances_12m=a.count(where=(a.concept == "asthma") & year),
    )


def _post_attack(tables, ev: ir.Table, as_of: date, th: Thresholds, dmap: ir.Table) -> ir.Table:
    year = _since(as_of, th.days("year_days"))
    s = _emergency_primary(tables, as_of, th, dmap)
    spells = s.filter((s.concept == "asthma") & (s.admission_date > year) & s.discharge_date.notnull())
    gp = ev.filter((ev.concept == "asthma_admission_gp") & (ev.date > year))
    attacks = ibis.union(spells.select("patient_id", end="discharge_date"),
                         gp.select("patient_id", end="date"), distinct=True)
    n = th.days("post_attack_working_days")
    offsets = rows_memtable([(d, working_days_after(d, n)) for d in range(7)], {"dow": "int64", "offset": "int64"})
    attacks = attacks.mutate(dow=attacks.end.day_of_week.index().cast("int64"))
    attacks = attacks.join(offsets, "dow").select("patient_id", "end", "offset")
    attacks = attacks.filter(ibis.date(as_of).delta(attacks.end, unit="day") >= attacks.offset)
    reviews = _review_days(ev, ["asthma_review"]).select("patient_id", r_date="date")
    j = attacks.left_join(reviews, "patient_id")
    gap = j.r_date.delta(j.end, unit="day")
    seen = ((gap >= 0) & (gap <= j.offset)).fill_null(False)
    per = j.group_by(["patient_id", "end"]).aggregate(reviewed=seen.any())
    missed = per.filter(~per.reviewed)
    return missed.group_by("patient_id").aggregate(
        unreviewed_attacks_12m=missed.count(), unreviewed_attack_last=missed.end.max())


def _missed_gp(tables, as_of: date, th: Thresholds) -> ir.Table:
    gp = tables["gp_appointments"]
    year = _since(as_of, th.days("year_days"))
    gp = gp.filter((gp.date <= ibis.date(as_of)) & (gp.date > year) & (gp.status == "did_not_attend"))
    return gp.group_by("patient_id").aggregate(gp_dnas_12m=gp.count())


# --------------------------------------------------------------------------- the person row
_ZERO = ("asthma_exacerbation_codes_12m", "saba_issues_12m", "ics_issues_12m", "laba_only_issues_12m",
         "antibiotic_issues_12m", "ocs_issues_12m", "asthma_treatment_issues_12m", "triple_issues_6m",
         "ics_issues_6m", "laba_issues_6m", "lama_issues_6m", "ocs_courses_12m", "copd_exacerbations_12m",
         "resp_emergency_admissions_12m", "resp_emergency_admissions_24m", "resp_emergency_bed_days_12m",
         "asthma_emergency_admissions_12m", "copd_emergency_admissions_12m", "unreviewed_attacks_12m",
         "gp_dnas_12m", "resp_ae_attendances_12m", "resp_ae_attendances_24m", "asthma_ae_attendances_12m")


def _derive(p: ir.Table, as_of: date, th: Thresholds) -> ir.Table:
    p = p.mutate(**{c: p[c].fill_null(0) for c in _ZERO})
    year = _since(as_of, th.days("year_days"))

    def none_in_year(col: str) -> ir.BooleanValue:
        return p[col].isnull() | (p[col] <= year)

    asthma = ((p.age >= int(th["asthma_register_min_age"])) & p.asthma_dx_last.notnull()
              & (p.asthma_resolved_last.isnull() | (p.asthma_dx_last > p.asthma_resolved_last)).fill_null(False)
              & (p.asthma_treatment_issues_12m > 0))
    copd = p.copd_diagnosis_date.notnull()
    p = p.mutate(asthma_ever=p.asthma_dx_last.notnull(), copd_ever=p.copd_dx_last.notnull(),
                 asthma_register=asthma.fill_null(False), copd_register=copd)
    on = p.asthma_register | p.copd_register
    none = ibis.null("string")
    pathway = ibis.ifelse(p.asthma_register & p.copd_register, "asthma+copd",
                          ibis.ifelse(p.asthma_register, "asthma", ibis.ifelse(p.copd_register, "copd", none)))
    saba = p.saba_issues_12m
    level = ibis.ifelse(saba >= th["saba_urgent"], "urgent", ibis.ifelse(
        saba >= th["saba_priority"], "priority", ibis.ifelse(saba >= th["saba_review"], "review", none)))
    p = p.mutate(
        resp_pathway=pathway,
        copd_register_rule=ibis.ifelse(p.copd_register, p.copd_register_rule, ibis.null("int64")),
        flu_vaccinated_this_season=p.flu_this_season.notnull(),
        asthma_attacks_12m=p.ocs_courses_12m + p.asthma_emergency_admissions_12m,
        gap_asthma_no_review=p.asthma_register & none_in_year("asthma_review_last"),
        gap_copd_no_review=p.copd_register & none_in_year("copd_review_last"),
        gap_no_mrc=p.copd_register & none_in_year("mrc_last"),
        gap_pr_not_offered=(p.copd_register & (p.mrc_graded_last > year)
                            & (p.mrc_grade_latest >= th["mrc_pr_min_grade"])
                            & (p.pr_last.isnull() | (p.pr_last < p.mrc_graded_last))).fill_null(False),
        gap_no_flu=on & p.flu_this_season.isnull(),
        gap_smoker_no_offer=(on & (p.age >= th["smoking_min_age"]) & (p.smoking_status == "current")
                             & none_in_year("cessation_last")).fill_null(False),
        gap_no_action_plan=p.asthma_register & none_in_year("action_plan_last"),
        gap_no_inhaler_technique=on & none_in_year("inhaler_technique_last"),
        saba_overuse_level=ibis.ifelse(p.asthma_register, level, none),
        gap_saba_without_ics=p.asthma_register & (saba > 0) & (p.ics_issues_12m == 0),
        gap_laba_without_ics=p.asthma_register & (p.laba_only_issues_12m > 0) & (p.ics_issues_12m == 0),
        gap_ics_underuse=p.asthma_register & (p.ics_issues_12m > 0) & (p.ics_issues_12m < th["ics_underuse_below"]),
        gap_ocs_courses=on & (p.ocs_courses_12m >= th["ocs_courses_flag"]),
        gap_post_attack_no_review=p.asthma_register & (p.unreviewed_attacks_12m > 0),
        gap_copd_no_spirometry=(p.copd_register & (p.copd_register_rule == 4)).fill_null(False),
    )
    p = p.mutate(gap_saba_overuse=p.saba_overuse_level.notnull())
    p = p.mutate(open_care_gaps=sum(p[g].cast("int64") for g in GAP_COLUMNS))
    return rules_columns(p, th)


GAP_COLUMNS = (
    "gap_asthma_no_review", "gap_copd_no_review", "gap_no_mrc", "gap_pr_not_offered", "gap_no_flu",
    "gap_smoker_no_offer", "gap_no_action_plan", "gap_no_inhaler_technique", "gap_saba_overuse",
    "gap_saba_without_ics", "gap_laba_without_ics", "gap_ics_underuse", "gap_ocs_courses",
    "gap_post_attack_no_review", "gap_copd_no_spirometry",
)

# The feature set's person columns (after patient_id), in order.
PERSON_COLUMNS = (
    "patient_id", "asthma_ever", "asthma_register", "copd_ever", "copd_register", "copd_register_rule",
    "copd_diagnosis_date", "resp_pathway",
    "asthma_review_last", "copd_review_last", "mrc_last", "mrc_grade_latest", "mrc_graded_last", "pr_last",
    "flu_last", "flu_vaccinated_this_season", "smoking_status", "smoking_status_date", "cessation_last",
    "action_plan_last", "inhaler_technique_last", "fev1_pct_latest",
    "saba_issues_12m", "saba_overuse_level", "ics_issues_12m", "laba_only_issues_12m", "antibiotic_issues_12m",
    "ocs_issues_12m", "ocs_courses_12m", "triple_issues_6m", "saba_last", "ics_last",
    "asthma_exacerbation_codes_12m", "asthma_attacks_12m", "copd_exacerbations_12m",
    "unreviewed_attacks_12m", "unreviewed_attack_last", "gp_dnas_12m",
    "resp_emergency_admissions_12m", "resp_emergency_admissions_24m", "resp_emergency_bed_days_12m",
    "asthma_emergency_admissions_12m", "copd_emergency_admissions_12m",
    "resp_ae_attendances_12m", "resp_ae_attendances_24m", "asthma_ae_attendances_12m",
    *GAP_COLUMNS, "open_care_gaps",
    "copd_priority_group", "asthma_risk_factors", "resp_rules_tier", "resp_rules_score",
)


def _evidence(ev: ir.Table, person: ir.Table) -> ir.Table:
    """The register diagnoses behind each register member: feature asthma_register / copd_register."""
    out = []
    for feature, concept in (("asthma_register", "asthma_dx"), ("copd_register", "copd_dx")):
        members = person.filter(person[feature]).select("patient_id")
        e = ev.filter(ev.concept == concept).semi_join(members, "patient_id")
        e = e.group_by(["patient_id", "code"]).aggregate(first_date=e.date.min(), last_date=e.date.max())
        out.append(e.select("patient_id", feature=ibis.literal(feature), code="code",
                            first_date="first_date", last_date="last_date",
                            source=ibis.literal("clinical_events")))
    return ibis.union(*out)
