"""Respiratory care in the synthetic city: what the respiratory and children's-asthma rules read.

Asthma and COPD themselves are concepts (concepts.csv: active, unresolved diagnoses, with
their onsets); this module adds, from `respiratory.csv` and the codes in `respiratory_codes.csv`
(respiratory-and-packs.md §1-§7):

* asthma coded and since resolved (ASTRES_COD) or left dormant, so that "ever coded" (~13.7 %)
  and the QOF register (~6.5 %) both come out realistic; a few COPD diagnoses resolved;
* smoking status (COPD case-mix §7.2) and cessation offers; flu vaccinations per season
  (1 Sep - end Feb) at the uptake of §7.3 by age and risk group;
* reviews (asthma control test, RCP three questions, exacerbation count, action plan, inhaler
  technique; COPD: MRC grade, exacerbation count), spirometry (FEV1/FVC, FEV1 % predicted) around
  a COPD diagnosis, pulmonary-rehabilitation referrals after MRC >= 3;
* wheezy children without a diagnosis (relievers, now and then prednisolone) for case finding;
  after an asthma emergency admission, the GP's admission code and (for the engaged) a review;
* prescribing with real dm+d codes: SABA, ICS, ICS/LABA, MART, LAMA, LAMA/LABA, triple, and
  prednisolone (with amoxicillin for AECOPD) at each attack, winter-weighted.

Everything follows a few person-level latents drawn from the chunk's own respiratory stream:
poor control `c`, engagement `e` (lower where deprived), COPD severity `s`, the regimen and the
smoking status. The same latents enter the admission model: `Morbidity.resp_log_rr` (added to the
latent log-need from the first day of asthma or COPD, activity.log_need) rises with poor control,
low engagement, a SABA-only regimen, smoking and COPD severity. So the gaps the rules find (13
relievers and no inhaled steroid, no review, >= 2 steroid courses) carry real risk, and truth/
can score a respiratory model.

Nothing loops over people: each step is a vectorised draw over the people it concerns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow.compute as pc
from scipy.special import ndtri

from npc_risk.synth.activity import year_bounds
from npc_risk.synth.conditions import NEVER, Morbidity
from npc_risk.synth.params import Params, categorical, column
from npc_risk.synth.population import YEAR, Population

ASTHMA_REGIMENS = ("saba_only", "ics", "ics_laba", "mart", "ics_laba_lama")
COPD_REGIMENS = ("lama", "lama_laba", "triple", "ics_laba")
NEVER_SMOKED, EX_SMOKER, SMOKER, NOT_RECORDED = 0, 1, 2, -1
_KEY = np.int64(1 << 20)  # (patient, day) packed into one sortable int64 (days < 2**20)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _weights(text: str, names: tuple[str, ...]) -> np.ndarray:
    parts = dict(p.split(":") for p in text.split("|"))
    return np.array([float(parts[n]) for n in names])


@dataclass
class RespLatent:
    """Per-person respiratory state (index = person)."""

    control: np.ndarray
    engagement: np.ndarray
    severity: np.ndarray
    smoking: np.ndarray  # NEVER_SMOKED / EX_SMOKER / SMOKER / NOT_RECORDED (children, unknown)
    asthma_regimen: np.ndarray  # index into ASTHMA_REGIMENS, -1 = untreated or no asthma
    copd_regimen: np.ndarray  # index into COPD_REGIMENS, -1 = no COPD
    adherence: np.ndarray
    past_asthma: np.ndarray  # day of a past asthma diagnosis (NEVER if none)
    asthma_resolved: np.ndarray  # day of its resolved code (NEVER if dormant or none)
    copd_resolved: np.ndarray  # day of a COPD resolved code (NEVER if none)
    wheeze: np.ndarray  # day wheeze was first coded in a child without asthma (NEVER if none)


def latent(rng, params: Params, pop: Population, morb: Morbidity) -> RespLatent:
    """Draw the latents and set `morb.resp_log_rr` / `morb.resp_from` (the admission-risk term)."""
    r, n, A = params.resp, pop.n, pop.as_of
    asthma, copd = morb.onset[morb.keys.index("asthma")], morb.onset[morb.keys.index("copd")]
    has_asthma, has_copd = asthma < NEVER, copd < NEVER
    control = rng.standard_normal(n)
    engagement = rng.standard_normal(n) + r("engagement_deprivation") * (pop.dep - 0.5)
    severity = rng.standard_normal(n)
    # smoking: adults by age and deprivation; COPD by the case-mix at diagnosis (§7.2)
    current = np.clip(r("current_smoker_base") + r("current_smoker_deprivation") * pop.dep, 0, 1)
    current = np.where(pop.age >= 75, current * r("current_smoker_75plus_factor"), current)
    ex = np.clip(r("ex_smoker_base") + r("ex_smoker_per_year") * (pop.age - 15), 0, 0.40)
    general = np.stack([1 - current - ex, ex, current, np.zeros(n)], axis=1)
    copd_mix = np.array([r("copd_never_smoked"), r("copd_ex_smoker"), r("copd_current_smoker"), 0.0])
    copd_mix[3] = 1 - copd_mix.sum()
    u = rng.random(n)
    status = (np.cumsum(general, axis=1) < u[:, None]).sum(axis=1)
    status_copd = (np.cumsum(copd_mix) < u[:, None]).sum(axis=1)
    status = np.where(has_copd, status_copd, status)
    smoking = np.where(status >= 3, NOT_RECORDED, status)
    smoking = np.where(pop.age < 15, NOT_RECORDED, smoking)
    # asthma regimens (treated people only); COPD regimens
    child = pop.age < 12
    w_adult = _weights(params.resp_text("asthma_regimen_adult"), ASTHMA_REGIMENS)
    w_child = _weights(params.resp_text("asthma_regimen_child"), ASTHMA_REGIMENS)
    w = np.where(child[:, None], w_child, w_adult)
    w[:, 0] *= np.exp(r("saba_only_engagement") * engagement)
    cum = np.cumsum(w, axis=1)
    regimen = (cum < rng.random(n)[:, None] * cum[:, -1:]).sum(axis=1)
    treated = has_asthma & (rng.random(n) < r("asthma_treated_share"))
    asthma_regimen = np.where(treated, regimen, -1)
    copd_pick = categorical(rng, _weights(params.resp_text("copd_regimen"), COPD_REGIMENS), n)
    copd_regimen = np.where(has_copd, copd_pick, -1)
    adherence = _sigmoid(r("adherence_logit") + r("adherence_engagement") * engagement
                         + r("adherence_noise") * rng.standard_normal(n)
                         + r("copd_adherence_shift") * has_copd)
    # asthma coded in the past and since resolved (or dormant: coded, untreated, unresolved)
    share = np.select([pop.age < 5, pop.age < 16, pop.age < 65],
                      [0.0, r("past_asthma_share_5_15"), r("past_asthma_share_16_64")], r("past_asthma_share_65plus"))
    past = ~has_asthma & (rng.random(n) < share)
    dx_age = 3 + rng.random(n) * np.clip(np.minimum(pop.age, 40) - 3, 0, None)
    dx_day = np.minimum(pop.dob + (dx_age * 365.25).astype(np.int64), A - 60)
    past_asthma = np.where(past, dx_day, NEVER)
    res_day = dx_day + ((2 + 13 * rng.random(n)) * 365.25).astype(np.int64)
    resolved = past & (rng.random(n) < r("past_asthma_resolved_share")) & (res_day <= A - 30)
    asthma_resolved = np.where(resolved, res_day, NEVER)
    copd_res_day = copd + (rng.random(n) * np.maximum(A - copd, 0)).astype(np.int64)
    copd_resolved = np.where(has_copd & (copd < A - 180) & (rng.random(n) < r("copd_resolved_share")),
                             copd_res_day, NEVER)
    # wheezy children without a diagnosis (possibly undiagnosed asthma: case finding §5.3)
    wheeze_share = np.select([(pop.age >= 1) & (pop.age < 6), (pop.age >= 6) & (pop.age < 18)],
                             [r("wheeze_share_1_5"), r("wheeze_share_6_17")], 0.0)
    wheezy = ~has_asthma & ~past & (rng.random(n) < wheeze_share)
    wheeze = np.where(wheezy, A - 1 - (rng.random(n) * 729).astype(np.int64), NEVER)
    # the admission-risk term from the first day of asthma or COPD (centred near zero)
    saba_only = (asthma_regimen == 0) & ~has_copd
    lrr = (r("risk_control") * control + r("risk_engagement") * engagement
           + r("risk_saba_only") * (saba_only - 0.15) + r("risk_smoker") * ((smoking == SMOKER) - 0.2)
           + r("risk_copd_severity") * severity * has_copd)
    morb.resp_log_rr = np.where(has_asthma | has_copd, lrr, np.where(wheezy, r("wheeze_log_rr"), 0.0))
    morb.resp_from = np.minimum(np.minimum(asthma, copd), wheeze)
    return RespLatent(control=control, engagement=engagement, severity=severity, smoking=smoking,
                      asthma_regimen=asthma_regimen, copd_regimen=copd_regimen, adherence=adherence,
                      past_asthma=past_asthma, asthma_resolved=asthma_resolved, copd_resolved=copd_resolved,
                      wheeze=wheeze)


def seasonal_days(rng, lo: np.ndarray, hi: np.ndarray, amplitude: float, rounds: int = 10) -> np.ndarray:
    """A day in [lo, hi] per row, weighted by 1 + amplitude * cos(2 pi (day of year) / 365.25)
    (peak on 1 January; respiratory-and-packs §7.4), by thinning uniform proposals; the few rows
    still unaccepted after `rounds` keep their last (uniform) proposal."""
    day = lo + (rng.random(len(lo)) * (hi - lo + 1)).astype(np.int64)
    todo = np.arange(len(lo))
    for _ in range(rounds):  # ~60 % accepted per round
        if not len(todo):
            break
        d = lo[todo] + (rng.random(len(todo)) * (hi[todo] - lo[todo] + 1)).astype(np.int64)
        doy = (d - d.astype("datetime64[D]").astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64))
        accept = rng.random(len(todo)) * (1 + amplitude) < 1 + amplitude * np.cos(2 * np.pi * doy / 365.25)
        day[todo] = d
        todo = todo[~accept]
    return day


class _Codes:
    """Codes of each item in respiratory_codes.csv as vocabulary ids, with their weights."""

    def __init__(self, params: Params, snomed, dmd):
        self.rows = params.respiratory_codes
        self.snomed, self.dmd = snomed, dmd

    def pick(self, rng, item: str, size: int) -> np.ndarray:
        rows = [r for r in self.rows if r["item"] == item]
        vocab = self.dmd if rows[0]["system"] == "dmd" else self.snomed
        ids = vocab.ids([r["code"] for r in rows])
        return ids[categorical(rng, column(rows, "weight"), size)]


def _events(patient, day, code, value=None) -> dict[str, np.ndarray]:
    value = np.full(len(patient), np.nan) if value is None else np.asarray(value, dtype=float)
    return {"patient": patient, "date": day, "code": code, "value": value}


def _poisson_days(rng, who, rate, lo, hi, amplitude: float = 0.0):
    """Poisson(rate * years observed) events per person in [lo, hi], optionally winter-weighted.
    Returns (row index into `who`, day)."""
    years = np.clip((hi - lo + 1) / YEAR, 0, None)
    count = rng.poisson(rate * years)
    rep = np.repeat(np.arange(len(who)), count)
    if amplitude:
        return rep, seasonal_days(rng, lo[rep], hi[rep], amplitude)
    return rep, lo[rep] + (rng.random(len(rep)) * (hi[rep] - lo[rep] + 1)).astype(np.int64)


def _count_in(ev_patient, ev_day, q_patient, q_day, span: int) -> np.ndarray:
    """Events of the same patient in (q_day - span, q_day] for each query."""
    key = np.sort(ev_patient.astype(np.int64) * _KEY + ev_day)
    q = q_patient.astype(np.int64) * _KEY + q_day
    return np.searchsorted(key, q, side="right") - np.searchsorted(key, q - span, side="right")


def records(rng, params: Params, pop: Population, morb: Morbidity, lat: RespLatent, snomed, dmd):
    """(clinical-event frames, medication frames) of the respiratory record, history window only."""
    r, codes = params.resp, _Codes(params, snomed, dmd)
    W = pop.window_start
    amp = r("season_amplitude")
    events, meds = [], []
    asthma, copd = morb.onset[morb.keys.index("asthma")], morb.onset[morb.keys.index("copd")]
    start = np.maximum(pop.obs_start, W)
    # past asthma: its diagnosis and (most) its resolved code; resolved COPD
    who = np.flatnonzero(lat.past_asthma <= pop.obs_end)
    events.append(_events(who, lat.past_asthma[who], codes.pick(rng, "past_asthma_dx", len(who))))
    who = np.flatnonzero(lat.asthma_resolved <= pop.obs_end)
    events.append(_events(who, lat.asthma_resolved[who], codes.pick(rng, "asthma_resolved", len(who))))
    who = np.flatnonzero(lat.copd_resolved <= pop.obs_end)
    events.append(_events(who, lat.copd_resolved[who], codes.pick(rng, "copd_resolved", len(who))))
    events += _wheeze(rng, params, pop, lat, codes, meds)
    events += _smoking(rng, params, pop, lat, codes, start)
    events += _flu(rng, params, pop, morb, lat, codes)
    # prescribing and attacks from the first day of asthma / COPD inside the window
    has_asthma, has_copd = asthma <= pop.obs_end, copd <= pop.obs_end
    first = np.maximum(start, np.minimum(asthma, copd) + 7)
    ill = np.flatnonzero((has_asthma | has_copd) & (first <= pop.obs_end))
    lo, hi = first[ill], pop.obs_end[ill]
    c, e, s = lat.control[ill], lat.engagement[ill], lat.severity[ill]
    reg_a, reg_c = lat.asthma_regimen[ill], lat.copd_regimen[ill]
    is_copd = has_copd[ill]
    treated = (reg_a >= 0) | is_copd
    saba_only = (reg_a == 0) & ~is_copd
    mart = (reg_a == 3) & ~is_copd
    saba_rate = np.where(is_copd, r("saba_rate_copd") * np.exp(0.5 * c + 0.3 * s),
                         r("saba_rate_asthma") * np.exp(r("saba_control") * c + r("saba_only_log_rr") * saba_only
                                                        + r("mart_log_rr") * mart))
    saba_rate = np.where(treated, saba_rate, 0.0)
    rep, day = _poisson_days(rng, ill, saba_rate, lo, hi)
    meds.append({"patient": ill[rep], "date": day, "code": codes.pick(rng, "saba", len(rep))})
    maintenance = r("maintenance_issues_per_year") * lat.adherence[ill]
    classes = {  # regimen -> maintenance products issued (each its own repeat)
        "ics": (reg_a == 1) & ~is_copd, "ics_laba": ((reg_a == 2) | (reg_a == 4)) & ~is_copd | (reg_c == 3),
        "mart": mart, "lama": ((reg_a == 4) & ~is_copd) | (reg_c == 0), "lama_laba": reg_c == 1, "triple": reg_c == 2}
    for item, on in classes.items():  # six product classes
        idx = np.flatnonzero(on)
        rep, day = _poisson_days(rng, idx, maintenance[idx], lo[idx], hi[idx])
        meds.append({"patient": ill[idx][rep], "date": day, "code": codes.pick(rng, item, len(rep))})
    smoker = lat.smoking[ill] == SMOKER
    shared = r("exac_control") * c + r("exac_engagement") * e + r("exac_smoker") * smoker
    attack_rate = np.where(is_copd, r("exac_rate_copd") * np.exp(shared + r("exac_severity") * s),
                           r("exac_rate_asthma") * np.exp(shared + r("exac_saba_only") * saba_only))
    rep, aday = _poisson_days(rng, ill, attack_rate, lo, hi, amp)
    apat, acopd = ill[rep], is_copd[rep]
    ocs = rng.random(len(rep)) < np.where(acopd, r("ocs_per_attack_copd"), r("ocs_per_attack_asthma"))
    meds.append({"patient": apat[ocs], "date": aday[ocs], "code": codes.pick(rng, "ocs", int(ocs.sum()))})
    again = ocs & (rng.random(len(rep)) < r("second_ocs_issue"))
    later = np.minimum(aday[again] + rng.integers(3, 14, int(again.sum())), pop.obs_end[apat[again]])
    meds.append({"patient": apat[again], "date": later, "code": codes.pick(rng, "ocs", int(again.sum()))})
    abx = ocs & acopd & (rng.random(len(rep)) < r("antibiotic_with_ocs_copd"))
    meds.append({"patient": apat[abx], "date": aday[abx], "code": codes.pick(rng, "antibiotic", int(abx.sum()))})
    coded = rng.random(len(rep)) < r("attack_gp_code_share")
    code = np.where(acopd, codes.pick(rng, "aecopd", len(rep)), codes.pick(rng, "asthma_exacerbation", len(rep)))
    events.append(_events(apat[coded], aday[coded], code[coded]))
    events += _reviews(rng, params, pop, lat, codes, asthma, copd, apat, aday)
    events += _spirometry(rng, params, pop, lat, codes, asthma, copd)
    return events, meds


def _wheeze(rng, params, pop, lat, codes, meds: list) -> list[dict]:
    """Wheeze coded (sometimes twice), relievers and now and then prednisolone after it: the
    children the case-finding searches should find (respiratory-and-packs §5.3)."""
    r = params.resp
    who = np.flatnonzero((lat.wheeze <= pop.obs_end) & (lat.wheeze >= pop.obs_start))
    day = lat.wheeze[who]
    again = rng.random(len(who)) < 0.3
    later = np.minimum(day[again] + rng.integers(30, 300, int(again.sum())), pop.obs_end[who[again]])
    out = [_events(who, day, codes.pick(rng, "wheeze", len(who))),
           _events(who[again], later, codes.pick(rng, "wheeze", int(again.sum())))]
    rep, sday = _poisson_days(rng, who, np.full(len(who), r("wheeze_saba_rate")), day, pop.obs_end[who])
    meds.append({"patient": who[rep], "date": sday, "code": codes.pick(rng, "saba", len(rep))})
    ocs = rng.random(len(who)) < r("wheeze_ocs_share")
    oday = np.minimum(day[ocs] + rng.integers(0, 3, int(ocs.sum())), pop.obs_end[who[ocs]])
    meds.append({"patient": who[ocs], "date": oday, "code": codes.pick(rng, "ocs", int(ocs.sum()))})
    return out


def admission_follow_up(rng, params: Params, pop: Population, lat: RespLatent, history: list, snomed) -> dict:
    """GP record after each asthma emergency admission of the history (primary J45/J46): the
    ASTADM_COD code a few days after discharge for some, and an asthma review within 2-14 days
    for the engaged (so `post_attack_no_review` has both outcomes to find)."""
    r, codes = params.resp, _Codes(params, snomed, None)
    patient, admission, discharge, asthma = [], [], [], []
    for year in history:  # a handful of years
        frame, primary, _, _ = year["spells"][0]  # emergency spells
        written = pc.utf8_upper(primary)
        flag = pc.or_(pc.starts_with(written, "J45"), pc.starts_with(written, "J46"))
        asthma.append(np.asarray(pc.fill_null(flag, False)))
        patient.append(frame["patient"])
        admission.append(frame["admission"])
        discharge.append(frame["discharge"])
    keep = np.concatenate(asthma)
    who = np.concatenate(patient)[keep]
    out_day = np.minimum(np.concatenate(discharge)[keep], pop.obs_end[who])
    coded = rng.random(len(who)) < r("admission_gp_code_share")
    day = out_day + rng.integers(1, 10, len(who))
    ok = coded & (day <= pop.obs_end[who])
    frames = [_events(who[ok], day[ok], codes.pick(rng, "asthma_admission_gp", int(ok.sum())))]
    seen = rng.random(len(who)) < _sigmoid(r("post_admission_review_logit") + lat.engagement[who])
    day = out_day + rng.integers(2, 15, len(who))
    ok = seen & (day <= pop.obs_end[who])
    frames.append(_events(who[ok], day[ok], codes.pick(rng, "asthma_review", int(ok.sum()))))
    return {k: np.concatenate([f[k] for f in frames]) for k in frames[0]}


def _smoking(rng, params, pop, lat, codes, start) -> list[dict]:
    r = params.resp
    recorded = (lat.smoking >= 0) & (rng.random(pop.n) < r("smoking_recorded_share"))
    who = np.flatnonzero(recorded & (start <= pop.obs_end))
    lo = np.maximum(start[who], pop.dob[who] + int(15 * 365.25))
    lo = np.minimum(lo, pop.obs_end[who])
    count = 1 + rng.poisson(r("smoking_records_per_year") * (pop.obs_end[who] - lo) / YEAR)
    rep = np.repeat(np.arange(len(who)), count)
    day = lo[rep] + (rng.random(len(rep)) * (pop.obs_end[who][rep] - lo[rep] + 1)).astype(np.int64)
    status = lat.smoking[who][rep]
    item_code = np.select([status == SMOKER, status == EX_SMOKER],
                          [codes.pick(rng, "smoker", len(rep)), codes.pick(rng, "ex_smoker", len(rep))],
                          codes.pick(rng, "never_smoked", len(rep)))
    out = [_events(who[rep], day, item_code)]
    # some ex-smokers' records also hold an earlier "smoker" code, before they stopped
    ex = np.flatnonzero((lat.smoking[who] == EX_SMOKER) & (rng.random(len(who)) < r("ex_smoker_earlier_smoker_code")))
    earliest = np.full(len(who), np.iinfo(np.int64).max)
    np.minimum.at(earliest, rep, day)
    before = earliest[ex] - rng.integers(100, 1500, len(ex))
    out.append(_events(who[ex], before, codes.pick(rng, "smoker", len(ex))))
    # cessation support offered to current smokers aged 15+, year by year (SMOK004)
    smokers = np.flatnonzero(lat.smoking == SMOKER)
    for y in range(pop.history_years):  # a handful of years
        first, last = year_bounds(pop, y)
        lo_y = np.maximum(np.maximum(pop.obs_start[smokers], first), pop.dob[smokers] + int(15 * 365.25))
        hi_y = np.minimum(pop.obs_end[smokers], last)
        frac = np.clip((hi_y - lo_y + 1) / YEAR, 0, 1)
        p = _sigmoid(r("cessation_offer_logit") + 0.6 * lat.engagement[smokers]) * frac
        got = np.flatnonzero(rng.random(len(smokers)) < p)
        day = lo_y[got] + (rng.random(len(got)) * (hi_y[got] - lo_y[got] + 1)).astype(np.int64)
        out.append(_events(smokers[got], day, codes.pick(rng, "cessation_offer", len(got))))
    return out


def _flu(rng, params, pop, morb, lat, codes) -> list[dict]:
    """One vaccination per season (1 Sep - end Feb, most in Oct-Nov) at the §7.3 uptake of each
    person's group; a person's propensity persists across seasons (a Gaussian copula keeps each
    group's uptake exact)."""
    r = params.resp
    index = {k: i for i, k in enumerate(morb.keys)}
    risk_keys = params.resp_text("flu_risk_concepts").split("|")
    rho = r("flu_persistence")
    z = rng.standard_normal(pop.n) + 0.3 * lat.engagement
    z = z / np.sqrt(1 + 0.09)
    out = []
    as_of_year = int(np.datetime64(int(pop.as_of), "D").astype("datetime64[Y]").astype(int)) + 1970
    for season in range(as_of_year - pop.history_years, as_of_year + 1):  # a handful of seasons
        opens = int(np.datetime64(f"{season}-09-01", "D").astype(np.int64))
        closes = int(np.datetime64(f"{season + 1}-03-01", "D").astype(np.int64)) - 1  # end of February
        if opens > pop.as_of or closes < pop.window_start:
            continue
        age = pop.age - (pop.as_of - closes) / 365.25  # age at the season's end
        at_lung = (morb.onset[index["asthma"]] <= opens) | (morb.onset[index["copd"]] <= opens)
        at_risk = np.zeros(pop.n, dtype=bool)
        for key in risk_keys:  # a few concepts
            at_risk |= morb.onset[index[key]] <= opens
        p = np.select([age >= 65, at_lung, at_risk, (age >= 2) & (age < 4)],
                      [r("flu_uptake_65plus"), r("flu_uptake_lung_under65"), r("flu_uptake_risk_under65"),
                       r("flu_uptake_child_2_3")], r("flu_uptake_other"))
        latent_z = rho * z + np.sqrt(1 - rho**2) * rng.standard_normal(pop.n)
        day = opens + np.minimum(20 + rng.gamma(2.0, 25.0, pop.n), closes - opens).astype(np.int64)
        got = (latent_z < ndtri(p)) & (day >= pop.obs_start) & (day <= pop.obs_end) & (age >= 2)
        who = np.flatnonzero(got)
        out.append(_events(who, day[who], codes.pick(rng, "flu_vaccination", len(who))))
    return out


def _reviews(rng, params, pop, lat, codes, asthma, copd, attack_patient, attack_day) -> list[dict]:
    r = params.resp
    out = []
    for disease, onset in (("asthma", asthma), ("copd", copd)):
        for y in range(pop.history_years):  # a handful of years
            first, last = year_bounds(pop, y)
            lo = np.maximum(np.maximum(pop.obs_start, first), onset)
            hi = np.minimum(pop.obs_end, last)
            frac = np.clip((hi - lo + 1) / YEAR, 0, 1)
            if disease == "asthma":  # asthma reviews go to the treated (dormant asthma is not reviewed)
                frac = np.where(lat.asthma_regimen >= 0, frac, 0)
            p = _sigmoid(r(f"review_logit_{disease}") + lat.engagement) * frac
            who = np.flatnonzero(rng.random(pop.n) < p)
            day = lo[who] + (rng.random(len(who)) * (hi[who] - lo[who] + 1)).astype(np.int64)
            out.append(_events(who, day, codes.pick(rng, f"{disease}_review", len(who))))
            attacks = _count_in(attack_patient, attack_day, who, day, YEAR)
            keep = rng.random(len(who)) < r("exacerbation_count_share")
            out.append(_events(who[keep], day[keep], codes.pick(rng, f"{disease}_exacerbation_count", int(keep.sum())),
                               attacks[keep]))
            c, e = lat.control[who], lat.engagement[who]
            if disease == "asthma":
                out += _asthma_review_parts(rng, params, pop, codes, who, day, c, e)
            else:
                out += _copd_review_parts(rng, params, pop, lat, codes, who, day)
    return out


def _asthma_review_parts(rng, params, pop, codes, who, day, c, e) -> list[dict]:
    r, n = params.resp, len(who)
    out = []
    act = rng.random(n) < r("act_share")
    score = np.clip(np.round(20 - 3 * c + 3 * rng.standard_normal(n)), 5, 25)
    out.append(_events(who[act], day[act], codes.pick(rng, "asthma_control_test", int(act.sum())), score[act]))
    rcp = rng.random(n) < r("rcp3_share")
    rcp_score = np.clip(np.round(0.8 + 0.6 * c + 0.8 * rng.standard_normal(n)), 0, 3)
    out.append(_events(who[rcp], day[rcp], codes.pick(rng, "rcp3_score", int(rcp.sum())), rcp_score[rcp]))
    child = pop.age[who] < 18
    plan_logit = np.where(child, r("action_plan_logit_child"), r("action_plan_logit_adult"))
    plan = rng.random(n) < _sigmoid(plan_logit + 0.8 * e)
    out.append(_events(who[plan], day[plan], codes.pick(rng, "action_plan", int(plan.sum()))))
    tech = rng.random(n) < _sigmoid(r("inhaler_technique_logit") + 0.7 * e)
    out.append(_events(who[tech], day[tech], codes.pick(rng, "inhaler_technique", int(tech.sum()))))
    return out


def _copd_review_parts(rng, params, pop, lat, codes, who, day) -> list[dict]:
    r, n = params.resp, len(who)
    out = []
    grade = np.clip(np.round(r("mrc_mean") + r("mrc_severity") * lat.severity[who] + 0.5 * rng.standard_normal(n)),
                    1, 5).astype(np.int64)
    mrc = rng.random(n) < r("mrc_at_review")
    as_score = mrc & (rng.random(n) < r("mrc_score_form_share"))
    as_grade = mrc & ~as_score
    grade_codes = np.stack([codes.pick(rng, f"mrc_{g}", n) for g in range(1, 6)])
    out.append(_events(who[as_grade], day[as_grade], grade_codes[grade[as_grade] - 1, np.flatnonzero(as_grade)]))
    out.append(_events(who[as_score], day[as_score], codes.pick(rng, "mrc_score", int(as_score.sum())),
                       grade[as_score]))
    high = mrc & (grade >= 3)
    u = rng.random(n)
    referred = high & (u < r("pr_referral_if_mrc3"))
    declined = high & ~referred & (u < r("pr_referral_if_mrc3") + r("pr_declined_if_mrc3"))
    out.append(_events(who[referred], day[referred], codes.pick(rng, "pr_referral", int(referred.sum()))))
    out.append(_events(who[declined], day[declined], codes.pick(rng, "pr_declined", int(declined.sum()))))
    started = referred & (rng.random(n) < r("pr_commenced_after_referral"))
    sday = day[started] + rng.integers(30, 90, int(started.sum()))
    ok = sday <= pop.obs_end[who[started]]
    out.append(_events(who[started][ok], sday[ok], codes.pick(rng, "pr_commenced", int(ok.sum()))))
    spiro = rng.random(n) < r("spirometry_at_review")
    out += _fev(rng, params, codes, who[spiro], day[spiro], lat.severity[who[spiro]])
    # inhaler technique is part of the COPD annual review too (NICE NG115 1.2.x), not only asthma's
    tech = rng.random(n) < r("copd_inhaler_technique_at_review")
    out.append(_events(who[tech], day[tech], codes.pick(rng, "inhaler_technique", int(tech.sum()))))
    return out


def _fev(rng, params, codes, who, day, severity) -> list[dict]:
    """Post-bronchodilator FEV1/FVC (< 0.7; some written as a percent, §1.3) and FEV1 % predicted
    by GOLD grade (§7.2: GOLD 1 17 %, 2 39 %, 3 13 %, 4 2 % of all, i.e. of those measured)."""
    n = len(who)
    ratio = np.clip(0.57 - 0.05 * severity + 0.06 * rng.standard_normal(n), 0.25, 0.69)
    percent = rng.random(n) < params.resp("spirometry_percent_form")
    value = np.where(percent, np.round(ratio * 100, 0), np.round(ratio, 2))
    fev1 = np.clip(62 - 20 * severity + 8 * rng.standard_normal(n), 15, 110).round(0)
    return [_events(who, day, codes.pick(rng, "fev1fvc_post", n), value),
            _events(who, day, codes.pick(rng, "fev1_percent_predicted", n), fev1)]


def _spirometry(rng, params, pop, lat, codes, asthma, copd) -> list[dict]:
    """Spirometry around a COPD diagnosis (-93 .. +186 days: QOF rules 2-3, §1.3) and an FEV1/FVC
    objective test around some adult asthma diagnoses (AST012, §2.1)."""
    r = params.resp
    who = np.flatnonzero((copd <= pop.obs_end) & (rng.random(pop.n) < r("spirometry_at_copd_diagnosis")))
    day = np.minimum(copd[who] + rng.integers(-60, 150, len(who)), pop.obs_end[who])
    out = _fev(rng, params, codes, who, day, lat.severity[who])
    adult_dx = (asthma <= pop.obs_end) & (asthma >= pop.dob + int(16 * 365.25))
    who = np.flatnonzero(adult_dx & (rng.random(pop.n) < r("asthma_spirometry_16plus")))
    day = np.minimum(asthma[who] + rng.integers(-60, 60, len(who)), pop.obs_end[who])
    value = np.round(np.clip(0.74 + 0.07 * rng.standard_normal(len(who)), 0.55, 0.95), 2)
    out.append(_events(who, day, codes.pick(rng, "fev1fvc_ratio", len(who)), value))
    return out
