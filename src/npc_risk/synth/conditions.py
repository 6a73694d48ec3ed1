"""Conditions and frailty deficits: who has what, and since when.

Every concept in `concepts.csv` (QOF-style LTCs, other conditions, eFI deficits) is a logistic
function of age, deprivation and the permanent latent effect `v` (clinical-definitions.md §1, §3;
nhs-data-conventions.md §10.3-10.6). Intercepts are solved at generation time so the recorded
prevalence at the as-of date hits the `target` column in its denominator (e.g. CKD among 18+) among
the as-of population (alive and registered on as_of: people who died or left are sicker and would
drag the totals down), so the age slopes and latent loadings shape the distribution without moving
the totals. `city.calibrate_constants` solves them once per seed on a reference sample.

Onset: years since onset (counted back from as_of + 1 year) are exponential with the concept's
mean, so some diagnoses predate the history window (ever-recorded logic has something to find),
some fall inside it, and some fall in the future year (they raise future risk unseen).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from npc_risk.synth.params import Params, column
from npc_risk.synth.population import YEAR, Population

NEVER = np.iinfo(np.int64).max // 4


@dataclass
class Morbidity:
    keys: list[str]
    onset: np.ndarray  # (K, n) int64 day of onset, NEVER if none
    deficit_names: list[str]
    deficit_of: np.ndarray  # (K,) index into deficit_names or -1
    emerg_log_rr: np.ndarray  # (K,)
    # respiratory care's extra admission log-rate and the day it starts (synth/respiratory.py)
    resp_log_rr: np.ndarray | None = None  # (n,)
    resp_from: np.ndarray | None = None  # (n,) first day of asthma or COPD

    def present(self, k: int, day: np.ndarray | int) -> np.ndarray:
        return self.onset[k] <= day

    def deficit_onsets(self) -> np.ndarray:
        """(deficits, n) first day of each distinct eFI deficit, sorted per person: row k-1 is the
        day the person's deficit count reaches k (NEVER if it never does)."""
        first = np.vstack([self.onset[self.deficit_of == d].min(axis=0)
                           for d in range(len(self.deficit_names))])
        return np.sort(first, axis=0)

    def deficits_at(self, day: np.ndarray | int) -> np.ndarray:
        """Number of distinct coded eFI deficits present on `day` (polypharmacy excluded)."""
        count = np.zeros(self.onset.shape[1], dtype=np.int64)
        for d in range(len(self.deficit_names)):  # 35 deficits
            rows = np.flatnonzero(self.deficit_of == d)
            count += (self.onset[rows].min(axis=0) <= day)
        return count


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _solve_intercept(linear: np.ndarray, weight: np.ndarray, target: float) -> float:
    """Intercept a with mean(weight * sigmoid(a + linear)) == target (bisection; monotone in a)."""
    lo, hi = -30.0, 15.0
    for _ in range(45):
        mid = (lo + hi) / 2
        if (weight * _sigmoid(mid + linear)).mean() < target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def _linear(r: dict[str, str], pop: Population) -> np.ndarray:
    return (float(r["age_slope"]) * (pop.age - 60) / 10 + float(r["dep_log_or"]) * pop.dep
            + float(r["latent_load"]) * pop.v)


def _recorded_by_as_of(r: dict[str, str], pop: Population) -> np.ndarray:
    """P(onset <= as_of | has the concept) per person under the onset model of `assign_conditions`.

    Years since onset (back from as_of + 1 year) are Exponential(m) up to the L years since the
    earliest possible onset; beyond that the onset is uniform over those L years.
    """
    m = float(r["mean_onset_years"])
    L = np.maximum((pop.as_of + YEAR - (pop.dob + float(r["min_age"]) * 365.25)) / 365.25, 1e-9)
    tail = np.exp(-L / m)
    return np.clip(np.exp(-1.0 / m) - tail, 0, None) + tail * np.clip(L - 1, 0, None) / L


def solve_intercepts(params: Params, pop: Population, reference: np.ndarray) -> np.ndarray:
    """Per-concept intercepts so that recorded prevalence at as_of, among the `reference` people
    (the as-of population) in the concept's denominator, hits the `target` column."""
    out = np.empty(len(params.concepts))
    for k, r in enumerate(params.concepts):  # a few dozen concepts
        denom = reference & (pop.age >= float(r["target_min_age"]))
        eligible = pop.age >= float(r["min_age"])
        weight = np.where(eligible, _recorded_by_as_of(r, pop), 0.0)[denom]
        target = min(float(r["target"]), 0.95 * weight.mean())
        out[k] = _solve_intercept(_linear(r, pop)[denom], weight, target)
    return out


def assign_conditions(rng: np.random.Generator, params: Params, pop: Population,
                      intercepts: np.ndarray) -> Morbidity:
    """Who has each concept (by as_of + 1 year) and its onset day, given solved intercepts."""
    rows = params.concepts
    keys = [r["key"] for r in rows]
    n, A = pop.n, pop.as_of
    onset = np.full((len(rows), n), NEVER, dtype=np.int64)
    for k, r in enumerate(rows):  # a few dozen concepts
        min_age = float(r["min_age"])
        mean_years = float(r["mean_onset_years"])
        eligible = pop.age >= min_age
        has = eligible & (rng.random(n) < _sigmoid(intercepts[k] + _linear(r, pop)))
        years_since = rng.exponential(mean_years, n)
        day = A + YEAR - (years_since * 365.25).astype(np.int64)
        earliest = pop.dob + (min_age * 365.25)
        too_early = day < earliest
        day = np.where(too_early, earliest + rng.random(n) * np.maximum(A + YEAR - earliest, 1), day)
        onset[k] = np.where(has, day.astype(np.int64), NEVER)
    deficit_names = sorted({r["efi_deficit"] for r in rows if r["efi_deficit"]})
    deficit_of = np.array([deficit_names.index(r["efi_deficit"]) if r["efi_deficit"] else -1
                           for r in rows])
    return Morbidity(keys=keys, onset=onset, deficit_names=deficit_names, deficit_of=deficit_of,
                     emerg_log_rr=column(rows, "emerg_log_rr"))


def mortality_multiplier(params: Params, pop: Population, morb: Morbidity) -> np.ndarray:
    """Relative death hazard: worse with the latent state and serious conditions."""
    burden = (morb.emerg_log_rr[:, None] * (morb.onset <= pop.as_of)).sum(axis=0)
    return np.minimum(np.exp(0.25 * pop.v + 0.3 * burden - 0.1), 10.0)
