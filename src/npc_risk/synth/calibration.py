"""`calibration_report`: a generated city's magnitudes beside the reference targets.

Measures the extract the way the pipeline would (last 12 months before the as-of date, people
registered and alive on it) plus the truth folder (concentration of next-year use in the top 5 %
by true risk). Targets and their sources are the `TARGETS` rows below, each citing the
reference section (the respiratory ones are data: `respiratory_targets.csv`, measured by
resp_calibration.py); the report is a list of dicts (metric, measured, target, basis) that the CLI
can print as a table. Reads the files through an `npc_risk.engine.Engine` (only files.py touches
patient rows directly).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import ibis
import pyarrow as pa

from npc_risk.admissions import is_emergency_admission
from npc_risk.codelists import default_folder
from npc_risk.codelists.maps import load_ingredients
from npc_risk.engine import Engine
from npc_risk.features.as_of import age_at
from npc_risk.frailty import efi_category
from npc_risk.synth.params import load_params
from npc_risk.synth.resp_calibration import measure_respiratory
from npc_risk.synth.resp_calibration import targets as respiratory_targets

# metric -> (low, high, basis)
TARGETS = {
    "emergency_admissions_per_1000": (85, 110, "nhs-data-conventions §10.1: ~100 (NEW Devon ~85)"),
    "emergency_admissions_per_1000_67plus": (200, 290, "§10.1: 202-282 at 67+"),
    "emergency_deprivation_ratio_q1_vs_q5": (1.3, 2.1, "§10.1/§10.7: most vs least deprived ~1.4-2x"),
    "ae_attendances_per_1000": (350, 450, "§10.1: ~400"),
    "type01_followed_by_admission_share": (0.24, 0.32, "§1.9: ~29 % of type 1 attendances admitted"),
    "outpatient_appointments_per_1000": (1800, 2200, "§10.1: ~2,080 booked"),
    "outpatient_dna_share": (0.05, 0.075, "§10.1: 6.2 %"),
    "outpatient_cancelled_share": (0.13, 0.19, "§10.1: 16.2 %"),
    "gp_appointments_per_person": (5.2, 6.4, "§10.1: ~5.8"),
    "mean_emergency_los_65plus": (5, 8.5, "task brief: mean LOS ~5-8 days for the elderly"),
    "prevalence_hypertension": (0.12, 0.16, "QOF 14.1 % (§10.3)"),
    "prevalence_diabetes_17plus": (0.06, 0.085, "QOF 7.1 % of 17+"),
    "prevalence_copd": (0.015, 0.025, "QOF 1.9 %"),
    "prevalence_chd": (0.025, 0.037, "QOF 3.1 %"),
    "prevalence_atrial_fibrillation": (0.017, 0.025, "QOF 2.1 %"),
    "prevalence_heart_failure": (0.007, 0.011, "QOF 0.89 %"),
    "prevalence_dementia": (0.006, 0.010, "QOF 0.78 %"),
    "prevalence_ckd_18plus": (0.033, 0.05, "QOF CKD 3-5 4.1 % of 18+"),
    "ltc2plus_share": (0.15, 0.25, "§10.5: >=2 LTCs ~15-25 %"),
    "ltc2plus_share_80plus": (0.65, 0.80, "§10.5: 65-80 % at 80+"),
    "efi_fit_share_65plus": (0.44, 0.56, "clinical-definitions §1.2: ~50 %"),
    "efi_mild_share_65plus": (0.29, 0.41, "~35 %"),
    "efi_moderate_share_65plus": (0.08, 0.16, "~12 %"),
    "efi_severe_share_65plus": (0.015, 0.05, "~3 %"),
    "top5_share_emergency_bed_days": (0.40, 0.60, "§10.2: ~50 % (top 5 % by true risk)"),
    "top5_share_outpatient_appointments": (0.14, 0.25, "§10.2: ~19 %"),
    "top5_share_social_care_packages": (0.65, 0.90, "§10.2: ~80 %"),
    "top5_gp_appointments_per_person": (11, 19, "§10.2: ~15 a year"),
    "oracle_auroc": (0.74, 0.85, "clinical-definitions §6.2: achievable 0.74-0.80"),
}

LTC_KEYS = {  # QOF-style register list used for the multimorbidity count (clinical-definitions §3.2)
    "hypertension", "diabetes", "asthma", "copd", "chd", "atrial_fibrillation", "heart_failure",
    "dementia", "ckd", "depression", "epilepsy", "cancer", "stroke_tia", "pad",
    "rheumatoid_arthritis", "smi", "learning_disability", "osteoporosis"}


def _codes_table() -> ibis.Table:
    params = load_params()
    deficit = {r["key"]: r["efi_deficit"] for r in params.concepts}
    rows = [(r["snomedct_code"], r["concept"], deficit.get(r["concept"], "")) for r in params.concept_codes]
    rows += [(r["snomedct_code"], "care_home", "requirement_for_care")
             for r in params.flag_codes if r["flag"] == "care_home"]
    code, concept, deficit_name = (list(x) for x in zip(*rows, strict=True))
    return ibis.memtable(pa.table({"code": code, "concept": concept, "deficit": deficit_name}))


# eFI value rules (clinical-definitions §1.5): code -> (deficit, rule on the value and sex)
def _value_rules(v, sex) -> list[tuple[str, str, object]]:
    def hb(cut_gdl, cut_gl):
        return ((v <= 25) & (v < cut_gdl)) | ((v > 25) & (v < cut_gl))
    return [("1011481000000105", "chronic_kidney_disease", (v > 0) & (v < 60)),
            ("1022431000000105", "anaemia", ((sex == "male") & hb(13, 130)) | ((sex == "female") & hb(11.5, 115))),
            ("1022791000000101", "thyroid_disease", (v < 0.36) | (v > 5.5)),
            ("711061000000109", "memory_cognitive", v >= 8),
            ("273302005", "activity_limitation", v <= 18)]


def measure(extract_dir: Path, truth_dir: Path) -> dict[str, float]:
    """The measured value of every metric in TARGETS."""
    with Engine.open() as engine:
        return _measure(engine, Path(extract_dir), Path(truth_dir))


def _measure(engine: Engine, extract_dir: Path, truth_dir: Path) -> dict[str, float]:
    meta = json.loads((extract_dir / "README.json").read_text())
    as_of = dt.date.fromisoformat(meta["as_of"])
    con = engine.con
    t = {name: con.read_parquet(str(extract_dir / f"{name}.parquet"), table_name=name)
         for name in ("patients", "practice_registrations", "clinical_events", "medications", "gp_appointments",
                      "apcs", "ec", "opa", "lsoa_deprivation")}
    truth = con.read_parquet(str(truth_dir / "persons.parquet"), table_name="truth")
    d, year_before = ibis.literal(as_of), ibis.literal(as_of - dt.timedelta(days=365))

    def last12(col):
        return (col > year_before) & (col <= d)

    def value(expr) -> float:
        out = expr.to_pyarrow().as_py()  # (not .execute(): pandas conversion warns under pandas 3)
        return float("nan") if out is None else float(out)

    # the as-of population: alive, born and registered on as_of
    p, reg = t["patients"], t["practice_registrations"]
    registered = reg.filter((reg.start_date <= d) & (reg.end_date.isnull() | (reg.end_date >= d)))
    dob = p.date_of_birth
    age = age_at(dob, as_of)
    alive = p.filter((p.date_of_death.isnull() | (p.date_of_death > d)) & (dob <= d))
    alive = alive.semi_join(registered, "patient_id")
    alive = alive.mutate(age=age.name("age"))
    lsoa = t["lsoa_deprivation"]
    pop = engine.temp_table("pop", alive.left_join(lsoa, alive.lsoa_code == lsoa.lsoa_code).select(
        alive.patient_id, alive.age, alive.sex, lsoa.imd_decile))
    n = value(pop.count())
    count = lambda table: value(table.count())
    with_pop = lambda table: table.inner_join(pop, "patient_id")
    m: dict[str, float] = {}
    apcs = t["apcs"]
    em = with_pop(apcs.filter(is_emergency_admission(apcs.admission_method) & last12(apcs.admission_date)))
    m["emergency_admissions_per_1000"] = 1000 * count(em) / n
    m["emergency_admissions_per_1000_67plus"] = 1000 * count(em.filter(em.age >= 67)) / max(
        count(pop.filter(pop.age >= 67)), 1)
    q1, q5 = (pop.imd_decile <= 2), (pop.imd_decile >= 9)
    rate_q1 = count(em.filter(em.imd_decile <= 2)) / max(count(pop.filter(q1)), 1)
    rate_q5 = count(em.filter(em.imd_decile >= 9)) / max(count(pop.filter(q5)), 1)
    m["emergency_deprivation_ratio_q1_vs_q5"] = rate_q1 / rate_q5 if rate_q5 else float("nan")
    ec = t["ec"]
    ae = with_pop(ec.filter(last12(ec.arrival_date)))
    m["ae_attendances_per_1000"] = 1000 * count(ae) / n
    via_ed = count(with_pop(apcs.filter((apcs.admission_method == "21") & last12(apcs.admission_date))))
    m["type01_followed_by_admission_share"] = via_ed / max(count(ae.filter(ae.department_type == "01")), 1)
    opa = t["opa"]
    op = with_pop(opa.filter(last12(opa.appointment_date)))
    booked = count(op)
    m["outpatient_appointments_per_1000"] = 1000 * booked / n
    m["outpatient_dna_share"] = count(op.filter(op.attendance_status.isin(["3", "7"]))) / max(booked, 1)
    m["outpatient_cancelled_share"] = count(op.filter(op.attendance_status.isin(["2", "4"]))) / max(booked, 1)
    gp = t["gp_appointments"]
    m["gp_appointments_per_person"] = count(with_pop(gp.filter(last12(gp.date)))) / n
    stays = with_pop(apcs.filter(is_emergency_admission(apcs.admission_method) & apcs.discharge_date.notnull()
                                 & (apcs.discharge_date >= apcs.admission_date)))
    stays = stays.filter(stays.age >= 65)
    m["mean_emergency_los_65plus"] = value(stays.discharge_date.delta(stays.admission_date, unit="day").mean())
    ce, codes = t["clinical_events"], _codes_table()
    coded = ce.filter(ce.date <= d).inner_join(codes, ce.snomedct_code == codes.code)
    ever = engine.temp_table("ever", with_pop(coded.select("patient_id", "concept", "deficit")).select(
        "patient_id", "concept", "deficit", "age").distinct())
    for key, label, min_age in (("hypertension", "hypertension", 0), ("diabetes", "diabetes_17plus", 17),
                                ("copd", "copd", 0), ("chd", "chd", 0),
                                ("atrial_fibrillation", "atrial_fibrillation", 0),
                                ("heart_failure", "heart_failure", 0),
                                ("dementia", "dementia", 0), ("ckd", "ckd_18plus", 18)):
        has = ever.filter((ever.concept == key) & (ever.age >= min_age)).patient_id.nunique()
        m[f"prevalence_{label}"] = value(has) / count(pop.filter(pop.age >= min_age))
    ltc = ever.filter(ever.concept.isin(sorted(LTC_KEYS))).group_by(["patient_id", "age"]).aggregate(
        k=ibis._.concept.nunique())
    m["ltc2plus_share"] = count(ltc.filter(ltc.k >= 2)) / n
    m["ltc2plus_share_80plus"] = count(ltc.filter((ltc.k >= 2) & (ltc.age >= 80))) / max(
        count(pop.filter(pop.age >= 80)), 1)
    # eFI deficits of the 65+: coded, value rules and polypharmacy (clinical-definitions §1.2-§1.5)
    old = pop.filter(pop.age >= 65)
    events = ce.filter(ce.date <= d).inner_join(old.select("patient_id", "sex"), "patient_id")
    parts = [ever.filter((ever.deficit != "") & (ever.age >= 65)).select("patient_id", "deficit")]
    for code, name, rule in _value_rules(events.numeric_value, events.sex):
        parts.append(events.filter((events.snomedct_code == code) & rule).select(
            "patient_id", deficit=ibis.literal(name)))
    # polypharmacy as the features count it: active ingredients (codelists/maps.py)
    ingredients = load_ingredients(default_folder())  # the map only: no need to verify every list
    imap = ibis.memtable(pa.table({"code": list(ingredients), "ingredient": list(ingredients.values())}))
    meds = t["medications"].filter(last12(t["medications"].date))
    meds = meds.left_join(imap, meds.dmd_code == imap.code)
    poly = meds.group_by("patient_id").aggregate(k=meds.ingredient.fill_null(meds.dmd_code).nunique())
    parts.append(poly.filter(poly.k >= 5).semi_join(old, "patient_id").select(
        "patient_id", deficit=ibis.literal("polypharmacy")))
    alld = ibis.union(*parts, distinct=True)
    k = alld.group_by("patient_id").aggregate(k=alld.deficit.nunique())
    k = k.mutate(band=efi_category(k.k))
    n_old = max(count(old), 1)
    mild, moderate, severe = (count(k.filter(k.band == band)) / n_old for band in ("mild", "moderate", "severe"))
    m.update({"efi_fit_share_65plus": 1 - mild - moderate - severe, "efi_mild_share_65plus": mild,
              "efi_moderate_share_65plus": moderate, "efi_severe_share_65plus": severe})
    # concentration of next-year use in the top 5 % by true risk, and the oracle's AUROC
    tr = truth.filter(truth.in_population)
    n_tr = value(tr.count())
    top = tr.mutate(r=ibis.row_number().over(order_by=[ibis.desc(tr.true_probability), tr.patient_id]) + 1)
    top = top.filter(top.r <= n_tr * 0.05)
    for metric, col in (("top5_share_emergency_bed_days", "emergency_bed_days"),
                        ("top5_share_outpatient_appointments", "outpatient_appointments"),
                        ("top5_share_social_care_packages", "social_care_packages")):
        m[metric] = value(top[col].sum()) / value(tr[col].sum())
    m["top5_gp_appointments_per_person"] = value(top.gp_appointments.mean())
    ranked = tr.mutate(r=tr.true_probability.rank() + 1, y=(tr.emergency_admissions > 0).cast("int64"))
    pos = value(ranked.y.sum())
    rank_sum = value(ranked.filter(ranked.y == 1).r.sum())
    m["oracle_auroc"] = (rank_sum - pos * (pos + 1) / 2) / (pos * (n_tr - pos))
    m.update(measure_respiratory(engine, t, pop, truth, as_of, value))
    return {k: float(v) for k, v in m.items()}


def calibration_report(extract_dir: Path, truth_dir: Path) -> list[dict[str, object]]:
    """Rows of (metric, measured, target_low, target_high, within, basis): TARGETS, then the
    respiratory targets (data/synth/respiratory_targets.csv, respiratory-and-packs §7)."""
    measured = measure(extract_dir, truth_dir)
    every = {**TARGETS, **respiratory_targets()}
    return [{"metric": k, "measured": round(measured[k], 4), "target_low": lo, "target_high": hi,
             "within": lo <= measured[k] <= hi, "basis": basis} for k, (lo, hi, basis) in every.items()]
