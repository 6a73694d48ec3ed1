"""One model year of hospital, A&E, outpatient, GP and social-care activity.

`simulate_year` draws every service for year y from `RateModel` (activity.py) and returns frames
(frames.py). Emergency spells get a primary diagnosis from a condition the person has (COPD ->
J44x, heart failure -> I50x ...) or a generic emergency reason, secondary diagnoses from their
conditions, and HFRS categories (clinical-definitions.md §2.2) when they are old and frail. A
respiratory primary diagnosis (J00-J99) is dated with a winter peak. A
method-21 spell comes through A&E, so it also writes a type 01 attendance; the share of type 01
attendances that end in admission is held at ~28 % (nhs-data-conventions.md §1.9). Every
attendance gets an ECDS diagnosis (ec_diagnosis.py).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from npc_risk.frailty import EFI_FLOOR, efi_at_least
from npc_risk.synth.activity import RateModel, draw_events, exposure, length_of_stay, methods
from npc_risk.synth.conditions import Morbidity
from npc_risk.synth.ec_diagnosis import EcdsCoder
from npc_risk.synth.icd import IcdVocab, join_lists, write_codes
from npc_risk.synth.params import Params, categorical, categorical_rows, column
from npc_risk.synth.population import Population
from npc_risk.synth.respiratory import seasonal_days

OPA_STATUS = ["5", "6", "7", "3", "2", "4"]
GP_STATUS = ["attended", "did_not_attend", "cancelled"]
DEPARTMENTS = ["01", "02", "03", "04"]


def age_band(age: np.ndarray) -> np.ndarray:
    """0 under 5, 1 for 5-64, 2 for 65+ (the bands of generic_diagnoses.csv)."""
    return (np.asarray(age) >= 5).astype(np.int64) + (np.asarray(age) >= 65)


class Coder:
    """Diagnosis choices for spells, precomputed once from the parameter tables."""

    def __init__(self, params: Params, morb: Morbidity, icd: IcdVocab):
        self.icd = icd
        rows = params.concepts
        self.primary = [icd.ids(r["icd10_primary"].split("|")) if r["icd10_primary"] else None for r in rows]
        self.secondary = [icd.ids(r["icd10_secondary"].split("|")) if r["icd10_secondary"] else None for r in rows]
        self.weight = np.array([float(r["primary_weight"] or 3.0) * np.exp(float(r["emerg_log_rr"]))
                                if p is not None else 0.0 for r, p in zip(rows, self.primary, strict=True)])
        self.generic_weight_65plus = params.rate("generic_weight_65plus")
        self.generic = {g: (icd.ids([r["icd10"] for r in params.generic_diagnoses if r["group"] == g]),
                            column([r for r in params.generic_diagnoses if r["group"] == g], "weight"))
                        for g in ("emergency", "elective", "maternity")}
        # emergency reasons by age band (< 5, 5-64, 65+): weight_0_4 / weight_65plus where given
        rows = [r for r in params.generic_diagnoses if r["group"] == "emergency"]
        self.generic_by_age = np.vstack([column([dict(r, w=r[k] or r["weight"]) for r in rows], "w")
                                         for k in ("weight_0_4", "weight", "weight_65plus")])
        self.hfrs = (icd.ids([r["icd10"] for r in params.hfrs_secondary]), column(params.hfrs_secondary, "weight"))
        self.morb = morb
        # respiratory = primary diagnosis in ICD-10 chapter X (J00-J99; respiratory-and-packs §6)
        self.resp_frac = np.array([0.0 if p is None else float(np.mean([icd.codes[i].startswith("J") for i in p]))
                                   for p in self.primary])
        codes, _ = self.generic["emergency"]
        resp = np.array([icd.codes[i].startswith("J") for i in codes])
        self.generic_resp = (self.generic_by_age * resp).sum(axis=1) / self.generic_by_age.sum(axis=1)  # per band

    def is_respiratory(self, code_ids: np.ndarray) -> np.ndarray:
        flags = np.array([c.startswith("J") for c in self.icd.codes])
        return flags[code_ids]

    def respiratory_share(self, day, age, generic_weight: float = 1.0) -> np.ndarray:
        """Each person's chance that an emergency spell on `day` at `age` gets a respiratory
        primary diagnosis (the mixture `primary_codes` draws from): the truth's respiratory thinning."""
        w = (self.morb.onset <= day) * self.weight[:, None]
        g = self._generic_weight(generic_weight, age, len(age))
        return ((w * self.resp_frac[:, None]).sum(axis=0) + g * self.generic_resp[age_band(age)]) / (w.sum(axis=0) + g)

    def _generic_weight(self, generic_weight: float, age, n: int) -> np.ndarray:
        """Weight of the generic reason against the conditions present (rates.csv: more at 65+)."""
        if age is None:
            return np.full(n, generic_weight)
        return np.where(np.asarray(age) >= 65, generic_weight * self.generic_weight_65plus, generic_weight)

    def primary_codes(self, rng, who, day, group: str, generic_weight: float, age=None) -> np.ndarray:
        codes, w = self.generic[group]
        if group == "emergency" and age is not None:  # reasons by age band (generic_diagnoses.csv)
            band = age_band(age)
            out = np.empty(len(who), dtype=np.int64)
            for b in range(3):  # three age bands
                rows = np.flatnonzero(band == b)
                out[rows] = codes[categorical(rng, self.generic_by_age[b], len(rows))]
        else:
            out = codes[categorical(rng, w, len(who))]
        if group != "emergency" or len(who) == 0:
            return out
        present = self.morb.onset[:, who] <= day  # (K, spells)
        weights = np.vstack([present * self.weight[:, None], self._generic_weight(generic_weight, age, len(who))]).T
        pick = categorical_rows(rng, weights)
        for k, codes_k in enumerate(self.primary):  # a few dozen concepts
            if codes_k is None:
                continue
            mask = pick == k
            out[mask] = codes_k[rng.integers(0, len(codes_k), int(mask.sum()))]
        return out

    def secondary_codes(self, rng, who, day, age, deficits, frail_hfrs: bool):
        owners, codes = [], []
        for k, codes_k in enumerate(self.secondary):
            if codes_k is None:
                continue
            has = (self.morb.onset[k, who] <= day) & (rng.random(len(who)) < 0.8)  # coding completeness
            idx = np.flatnonzero(has)
            owners.append(idx)
            codes.append(codes_k[who[idx] % len(codes_k)])  # a person keeps one code per concept
        if frail_hfrs:
            frail = (age >= 65) & efi_at_least(deficits, "mild")
            beyond = np.clip(deficits - EFI_FLOOR["mild"], 0, None)
            count = np.where(frail, rng.poisson(0.6 + 0.35 * beyond), 0)
            idx = np.repeat(np.arange(len(who)), count)
            owners.append(idx)
            codes.append(self.hfrs[0][categorical(rng, self.hfrs[1], len(idx))])
        return np.concatenate(owners), np.concatenate(codes)


def _spells(rng, params, coder: Coder, written: pa.Array, who, day, los, group, method_codes,
            method_share, age, deficits, season=None):
    method = categorical(rng, method_share, len(who))
    primary = coder.primary_codes(rng, who, day, group, generic_weight=1.0, age=age[who])
    if season is not None:
        day = season(who, day, primary)
    owner, sec = coder.secondary_codes(rng, who, day, age[who], deficits[who], group == "emergency")
    return ({"patient": who, "admission": day, "discharge": day + los, "method": method,
             "emergency": np.full(len(who), group == "emergency"), "primary": primary},
            write_codes(rng, None, written, primary),
            join_lists(rng, written, owner, sec, len(who)),
            [method_codes[i] for i in range(len(method_codes))])


def simulate_year(rng, params: Params, pop: Population, model: RateModel, coder: Coder,
                  written: pa.Array, y: int, *, ec_rng, ecds: EcdsCoder) -> dict:
    rates = model.yearly(y)
    lo, hi, frac = exposure(pop, y)
    age, deficits = rates["age"], rates["deficits"]
    out: dict = {}
    # emergency spells
    who, day = draw_events(rng, lo, hi, frac, rates["emergency"])
    los = length_of_stay(rng, params, age[who], deficits[who])
    codes, share = methods(params, "emergency")

    def season(who, day, primary):
        """Respiratory spells re-dated within the same observed year with the winter peak
        (respiratory-and-packs §7.4: Dec-Feb / Mar-May = 1.8); others stay uniform."""
        resp = np.flatnonzero(coder.is_respiratory(primary))
        day = day.copy()
        day[resp] = seasonal_days(rng, lo[who[resp]], hi[who[resp]], params.resp("season_amplitude"))
        return day

    em = _spells(rng, params, coder, written, who, day, los, "emergency", codes, share, age, deficits, season)
    em[0]["method_code"] = np.array(codes, dtype=object)[em[0]["method"]]
    # elective (and transfers in) and maternity spells
    who, day = draw_events(rng, lo, hi, frac, rates["elective"])
    el_los = np.where(rng.random(len(who)) < 0.7, 0, rng.geometric(1 / 3.0, len(who)))
    codes_el, share_el = methods(params, "elective")
    el = _spells(rng, params, coder, written, who, day, el_los, "elective", codes_el, share_el, age, deficits)
    el[0]["method_code"] = np.array(codes_el, dtype=object)[el[0]["method"]]
    women = pop.female & (age >= 18) & (age < 45)
    mat_rate = np.where(women, params.rate("maternity_per_1000_women_18_44") / 1000, 0.0)
    who, day = draw_events(rng, lo, hi, frac, mat_rate)
    ma = _spells(rng, params, coder, written, who, day, rng.integers(0, 4, len(who)), "maternity",
                 ["31"], np.array([1.0]), age, deficits)
    ma[0]["method_code"] = np.full(len(who), "31", dtype=object)
    out["spells"] = [em, el, ma]
    # A&E: admitted attendances (method 21) plus non-admitted ones
    adm = em[0]["method_code"] == "21"
    a_who = em[0]["patient"][adm]
    a_day = em[0]["admission"][adm] - (rng.random(int(adm.sum())) < 0.3)
    a_day = np.maximum(a_day, lo[a_who])
    n_who, n_day = draw_events(rng, lo, hi, frac, rates["ae"] * 0.83)
    p01 = np.clip((len(a_who) / params.rate("ae_admitted_share_type01") - len(a_who)) / max(len(n_who), 1), 0, 0.95)
    rest = (1 - p01) * np.array([0.06, 0.84, 0.10])  # 02 / 03 / 04 split of the rest [D]
    dept = categorical(rng, np.concatenate([[p01], rest]), len(n_who))
    dept = np.where(rng.random(len(n_who)) < 0.01, -1, dept)  # a few without a department type
    dx, n_day = ecds.draw(ec_rng, coder, adm_who=a_who, adm_primary=em[0]["primary"][adm], who=n_who, day=n_day,
                          lo=lo, hi=hi, age=age)  # ECDS diagnoses (ec_diagnosis.py; own generator)
    out["ec"] = {"patient": np.concatenate([a_who, n_who]), "date": np.concatenate([a_day, n_day]),
                 "dept": np.concatenate([np.zeros(len(a_who), dtype=np.int64), dept]), "dx": dx}
    # outpatients and GP appointments
    who, day = draw_events(rng, lo, hi, frac, rates["opa"])
    p = params.rate
    opa_share = [0, p("opa_late_seen_share"), p("opa_late_unseen_share"), p("opa_dna_share"),
                 p("opa_cancel_patient_share"), p("opa_cancel_provider_share")]
    opa_share[0] = 1 - sum(opa_share)
    out["opa"] = {"patient": who, "date": day, "status": categorical(rng, np.array(opa_share), len(who))}
    who, day = draw_events(rng, lo, hi, frac, rates["gp"])
    gp_share = np.array([1 - p("gp_dna_share") - p("gp_cancel_share"), p("gp_dna_share"), p("gp_cancel_share")])
    out["gp"] = {"patient": who, "date": day, "status": categorical(rng, gp_share, len(who))}
    # social care packages (adults)
    sc_rate = np.where(age >= 18, rates["social_care"], 0.0)
    who, day = draw_events(rng, lo, hi, frac, sc_rate)
    services = params.social_care_services
    kind = categorical(rng, column(services, "share"), len(who))
    dur = rng.exponential(column(services, "mean_days")[kind]).astype(np.int64) + 1
    out["social_care"] = {"patient": who, "start": day, "end": day + dur, "service": kind}
    out["truth_rate"] = rates["emergency"]
    return out
