"""The generated city's respiratory magnitudes, measured beside respiratory-and-packs.md §7.

Called by calibration._measure with the tables it has opened; targets and their sources are the
rows of `data/synth/respiratory_targets.csv`. Codes are the generator's own
(`respiratory_codes.csv`, the asthma and COPD rows of `concept_codes.csv`): this measures what the
generator meant to emit, while the respiratory pipeline reads the same records through its code
lists (a unit test keeps the two in step).
"""

from __future__ import annotations

import datetime as dt

import ibis
import pyarrow as pa

from npc_risk.admissions import is_emergency_admission
from npc_risk.synth.params import load_params, read_table

INHALED = ("saba", "ics", "ics_laba", "mart", "lama", "lama_laba", "triple")  # asthma-related drugs (ASTTRT_COD)


def targets() -> dict[str, tuple[float, float, str]]:
    """metric -> (low, high, basis), in file order."""
    rows = read_table("respiratory_targets.csv")
    return {r["metric"]: (float(r["low"]), float(r["high"]), r["basis"]) for r in rows}


def _items() -> ibis.Table:
    params = load_params()
    rows = [(r["code"], r["item"]) for r in params.respiratory_codes]
    rows += [(r["snomedct_code"], f"{r['concept']}_dx") for r in params.concept_codes
             if r["concept"] in ("asthma", "copd")]
    rows += [(r["code"], "asthma_dx") for r in params.respiratory_codes if r["item"] == "past_asthma_dx"]
    code, item = (list(x) for x in zip(*rows, strict=True))
    return ibis.memtable(pa.table({"code": code, "item": item}))


def measure_respiratory(engine, t: dict, pop: ibis.Table, truth: ibis.Table, as_of: dt.date, value) -> dict:
    """The measured value of every metric in respiratory_targets.csv.

    `t` holds the extract tables, `pop` the as-of population (patient_id, age, sex, imd_decile),
    `value` turns a scalar expression into a float (calibration._measure's helpers).
    """
    d, year_before = ibis.literal(as_of), ibis.literal(as_of - dt.timedelta(days=365))
    n = value(pop.count())
    items = _items()
    ce, meds = t["clinical_events"], t["medications"]
    coded = ce.filter(ce.date <= d).inner_join(items, ce.snomedct_code == items.code)
    coded = engine.temp_table("resp_coded", coded.select("patient_id", "date", "item").inner_join(
        pop.select("patient_id", "age"), "patient_id"))
    last = coded.group_by(["patient_id", "age", "item"]).aggregate(day=coded.date.max())
    last = engine.temp_table("resp_last", last)
    rx = meds.filter((meds.date > year_before) & (meds.date <= d)).inner_join(items, meds.dmd_code == items.code)
    rx = rx.inner_join(pop.select("patient_id"), "patient_id")
    m: dict[str, float] = {}

    def item(name):
        return last.filter(last.item == name).select("patient_id", "age", **{name: last.day})

    def unresolved(dx, res):
        j = item(dx).left_join(item(res).select("patient_id", res), "patient_id")
        return j.filter(j[res].isnull() | (j[dx] > j[res])).select("patient_id", "age")

    ever = item("asthma_dx")
    m["asthma_ever_coded_share"] = value(ever.count()) / n
    m["asthma_ever_coded_share_0_15"] = value(ever.filter(ever.age < 16).count()) / max(
        value(pop.filter(pop.age < 16).count()), 1)
    treated = rx.filter(rx.item.isin(INHALED)).select("patient_id").distinct()
    register = engine.temp_table("asthma_register", unresolved("asthma_dx", "asthma_resolved").filter(
        ibis._.age >= 6).semi_join(treated, "patient_id"))
    n_register = value(register.count())
    m["asthma_register_share"] = n_register / n
    copd = engine.temp_table("copd_register", unresolved("copd_dx", "copd_resolved"))
    n_copd = value(copd.count())
    m["copd_register_share"] = n_copd / n
    status = last.filter(last.item.isin(["smoker", "ex_smoker", "never_smoked"]))
    latest = status.mutate(r=ibis.row_number().over(group_by=status.patient_id,
                                                    order_by=[ibis.desc(status.day), status.item]))
    latest = latest.filter(latest.r == 0)
    m["copd_current_smoker_share"] = value(latest.filter(latest.item == "smoker").semi_join(
        copd, "patient_id").count()) / max(n_copd, 1)
    saba = rx.filter(rx.item == "saba").group_by("patient_id").aggregate(k=ibis._.count())
    m["asthma_saba_ge3_share"] = value(saba.filter(saba.k >= 3).semi_join(register, "patient_id").count()) / max(
        n_register, 1)
    # flu: the season holding as_of (1 Sep - end Feb; npc_risk's key runs to 31 Mar)
    opens = dt.date(as_of.year if as_of.month >= 9 else as_of.year - 1, 9, 1)
    closes = dt.date(opens.year + 1, 3, 1) - dt.timedelta(days=1)
    flu = coded.filter((coded.item == "flu_vaccination") & (coded.date >= opens) & (coded.date <= closes))
    flu = flu.select("patient_id").distinct()
    old = pop.filter(pop.age >= 65)
    m["flu_uptake_65plus"] = value(old.semi_join(flu, "patient_id").count()) / max(value(old.count()), 1)
    lung = ibis.union(register.select("patient_id"), copd.select("patient_id"), distinct=True)
    lung = lung.inner_join(pop.filter(pop.age < 65).select("patient_id"), "patient_id")
    m["flu_uptake_lung_under65"] = value(lung.semi_join(flu, "patient_id").count()) / max(value(lung.count()), 1)
    # respiratory emergency admissions (primary J00-J99, §6)
    apcs = t["apcs"]
    em = apcs.filter(is_emergency_admission(apcs.admission_method) & apcs.admission_date.notnull()
                     & (apcs.admission_date <= d))
    em = em.mutate(resp=em.primary_diagnosis.upper().startswith("J").fill_null(False),
                   month=em.admission_date.month())
    em = em.inner_join(pop.select("patient_id", "age"), "patient_id")
    em12 = em.filter(em.admission_date > year_before)
    n_resp = value(em12.filter(em12.resp).count())
    m["resp_emergency_admissions_per_1000"] = 1000 * n_resp / n
    m["resp_share_of_emergency_admissions"] = n_resp / max(value(em12.count()), 1)
    m["resp_admissions_65plus_share"] = value(em12.filter(em12.resp & (em12.age >= 65)).count()) / max(n_resp, 1)
    resp = em.filter(em.resp)
    winter = value(resp.filter(resp.month.isin([12, 1, 2])).count())
    spring = value(resp.filter(resp.month.isin([3, 4, 5])).count())
    m["resp_winter_to_spring_ratio"] = winter / spring if spring else float("nan")
    # A&E attendances with a respiratory ECDS diagnosis (the generator's codes: ecds_diagnoses.csv)
    ec = t["ec"]
    ec = ec.filter(ec.arrival_date.notnull() & (ec.arrival_date > year_before) & (ec.arrival_date <= d))
    ec = ec.inner_join(pop.select("patient_id"), "patient_id")
    resp_codes = [r["code"] for r in load_params().ecds_diagnoses if r["kind"] != "other"]
    m["resp_share_of_ae_attendances"] = value(ec.filter(ec.diagnosis_code.isin(resp_codes)).count()) / max(
        value(ec.count()), 1)
    tr = truth.filter(truth.in_population)
    n_tr = value(tr.count())
    ranked = tr.mutate(r=tr.true_respiratory_probability.rank() + 1,
                       y=(tr.respiratory_emergency_admissions > 0).cast("int64"))
    pos = value(ranked.y.sum())
    rank_sum = value(ranked.filter(ranked.y == 1).r.sum())
    m["respiratory_oracle_auroc"] = (rank_sum - pos * (pos + 1) / 2) / (pos * (n_tr - pos)) if pos else float("nan")
    return m
