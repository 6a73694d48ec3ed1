"""Utilisation: spells, A&E, outpatients, GP appointments and social care, year by year.

Each person-year has a latent log-need
    eta = sum(concept log-RR for concepts present at the year start) + efi_rr * deficits
          + respiratory log-RR (control, care, smoking: respiratory.py) + sigma_p * v + sigma_t * w[year]
and every service's rate is   target * age_weight * exp(k_service * eta) / normaliser,
with the normaliser fixed on the as-of population so the population mean hits the target
(nhs-data-conventions.md §10.1) while `k_service` sets how concentrated use is in the top 5 %
(§10.2: bed days ~50 %, outpatients ~19 %, social care ~80 %, GP ~15 a year). Emergency
admissions instead start from the NEW Devon age x deprivation table (§10.1) and scale it by
exp(eta) normalised within each age band, so the age and deprivation gradients survive.

Year `history_years` is the future year (as_of, as_of + 365]: its events go to truth/ only.
"""

from __future__ import annotations

import numpy as np

from npc_risk.synth.conditions import Morbidity
from npc_risk.synth.params import Params, band_lookup, column
from npc_risk.synth.population import YEAR, Population


def year_bounds(pop: Population, y: int) -> tuple[int, int]:
    """First and last day of model year y (y = history_years is the future year)."""
    last = pop.as_of + (y - pop.history_years + 1) * YEAR
    return last - YEAR + 1, last


def exposure(pop: Population, y: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Observed part [lo, hi] of year y per person and its length as a fraction of a year."""
    first, last = year_bounds(pop, y)
    if y == pop.history_years:  # the future: everyone in the as-of population, whole year
        lo = np.full(pop.n, first)
        hi = np.where(pop.in_population, last, first - 1)
    else:
        lo = np.maximum(pop.obs_start, first)
        hi = np.minimum(pop.obs_end, last)
    return lo, hi, np.clip((hi - lo + 1) / YEAR, 0, 1)


def log_need(params: Params, pop: Population, morb: Morbidity, y: int,
             shock: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """eta for year y and the eFI deficit count at its start (`shock` replaces pop.w[y])."""
    first, _ = year_bounds(pop, y)
    present = morb.onset <= first
    deficits = morb.deficits_at(first)
    eta = (morb.emerg_log_rr[:, None] * present).sum(axis=0)
    eta += params.rate("efi_log_rr_per_deficit") * deficits
    if morb.resp_log_rr is not None:  # respiratory control, care and smoking (synth/respiratory.py)
        eta += morb.resp_log_rr * (morb.resp_from <= first)
    w = pop.w[y] if shock is None else shock
    eta += params.rate("sigma_permanent") * pop.v + params.rate("sigma_transient") * w
    return np.minimum(eta, params.rate("eta_cap")), deficits


class RateModel:
    """Per-person yearly rates for every service, normalised on the as-of population.

    The normalisers are city-wide constants: `normalisers` computes them once on a reference
    sample (city.calibrate_constants) and every chunk of people reuses them.
    """

    def __init__(self, params: Params, pop: Population, morb: Morbidity, norms: dict):
        self.params, self.pop, self.morb = params, pop, morb
        self.norm, self.emerg_norm = norms["service"], norms["emergency"]

    @staticmethod
    def normalisers(params: Params, pop: Population, morb: Morbidity) -> dict:
        eta, _ = log_need(params, pop, morb, pop.history_years)
        ref = pop.in_population
        norm = {}
        for service in ("ae", "opa", "gp", "elective", "social_care"):
            weight = band_lookup(params.age_activity, pop.age, service)
            k = params.rate(f"k_{service}") if service not in ("elective",) else 0.3
            norm[service] = float((weight * np.exp(k * eta))[ref].mean())
        band = np.searchsorted(column(params.emergency_base, "age_lo", int), pop.age, side="right") - 1
        scaled = np.exp(params.rate("k_emergency") * eta)
        emerg = np.bincount(band[ref], scaled[ref], minlength=5) / np.maximum(np.bincount(band[ref], minlength=5), 1)
        return {"service": norm, "emergency": emerg}

    def yearly(self, y: int) -> dict[str, np.ndarray]:
        p, pop = self.params, self.pop
        eta, deficits = log_need(p, pop, self.morb, y)
        age = pop.age - (pop.history_years - y) - 0.5
        rates = {"eta": eta, "deficits": deficits, "age": age}
        for service, target in (("ae", p.rate("ae_per_1000") / 1000), ("opa", p.rate("opa_per_1000") / 1000),
                                ("gp", p.rate("gp_per_person")), ("elective", p.rate("elective_per_1000") / 1000),
                                ("social_care", p.rate("social_care_per_1000") / 1000)):
            k = p.rate(f"k_{service}") if service != "elective" else 0.3
            rates[service] = target * band_lookup(p.age_activity, age, service) * np.exp(k * eta) / self.norm[service]
        rates["ae"] *= np.exp(p.rate("ae_dep_log_rr") * (pop.dep - pop.dep.mean()))
        rates["emergency"] = self._emergency(eta)
        return rates

    def _emergency(self, eta: np.ndarray) -> np.ndarray:
        p, pop = self.params, self.pop
        lo_age = column(p.emergency_base, "age_lo", int)
        band = np.clip(np.searchsorted(lo_age, pop.age, side="right") - 1, 0, len(lo_age) - 1)
        least, most = column(p.emergency_base, "least_deprived"), column(p.emergency_base, "most_deprived")
        base = np.exp(np.log(least[band]) + pop.dep * np.log(most[band] / least[band])) / 1000
        return p.rate("emergency_scale") * base * np.exp(p.rate("k_emergency") * eta) / self.emerg_norm[band]

    def knowable_probability(self, y: int, outcome_share: float, nodes: int = 24,
                             shares: tuple = (1.0,)) -> np.ndarray | list[np.ndarray]:
        """P(at least one outcome admission in year y) from what is knowable at its start.

        The year's shock is AR(1): w[y] = rho * w[y-1] + sqrt(1 - rho^2) * e with e ~ N(0, 1) drawn
        when the year happens. Everything else (conditions, deficits, the permanent effect, last
        year's shock) is fixed at the start, so this integrates e out (Gauss-Hermite) instead of
        using the drawn value: the best any model of the past could do. The truth table's
        `true_probability` uses the drawn e, which no model can know.

        `shares` thins the outcome (e.g. each person's share of spells with a respiratory primary
        diagnosis, services.Coder.respiratory_share): with more than one share, one probability
        array per share comes back, from the same pass.
        """
        rho = self.params.rate("rho_transient")
        x, weight = np.polynomial.hermite_e.hermegauss(nodes)  # probabilists' Hermite: N(0, 1)
        weight = weight / weight.sum()
        carried = rho * self.pop.w[y - 1] if y > 0 else np.zeros(self.pop.n)
        p = [np.zeros(self.pop.n) for _ in shares]
        for e, wt in zip(x, weight, strict=True):  # a couple of dozen vectorised passes over people
            eta, _ = log_need(self.params, self.pop, self.morb, y, carried + np.sqrt(1 - rho**2) * e)
            rate = self._emergency(eta) * outcome_share
            for out, share in zip(p, shares, strict=True):
                out += wt * (1 - np.exp(-rate * share))
        return p[0] if len(shares) == 1 else p


def draw_events(rng, lo, hi, frac, rate) -> tuple[np.ndarray, np.ndarray]:
    """Poisson(rate * exposure) events per person, dated uniformly in the observed part."""
    count = rng.poisson(np.where(frac > 0, rate * frac, 0.0))
    who = np.repeat(np.arange(len(rate)), count)
    day = lo[who] + (rng.random(len(who)) * (hi[who] - lo[who] + 1)).astype(np.int64)
    return who, day


def length_of_stay(rng, params: Params, age: np.ndarray, deficits: np.ndarray) -> np.ndarray:
    """Emergency LOS in days: same-day spells common in the young; mean 5-8 days in the frail old."""
    p0 = np.interp(age, [0, 90], [params.rate("los_zero_day_young"), params.rate("los_zero_day_old")])
    mean = np.exp(params.rate("los_intercept") + params.rate("los_age_slope") * age
                  + params.rate("los_deficit_slope") * deficits)
    stay = 1 + rng.geometric(1 / np.maximum(mean, 1.0)) - 1
    return np.where(rng.random(len(age)) < p0, 0, stay).astype(np.int64)


def methods(params: Params, group: str) -> tuple[list[str], np.ndarray]:
    rows = [r for r in params.admission_methods if r["group"] == group]
    return [r["code"] for r in rows], column(rows, "share")
