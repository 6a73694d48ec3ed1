"""People, places and registrations: who lives in the synthetic city, where, and when.

The city is Leeds-shaped (nhs-data-conventions.md §6): 90 practices in 19 PCNs and a handful of
LCPs, 482 LSOAs whose national IMD deciles follow Leeds (24 % in decile 1), ages and sexes like
England (ONS mid-2020). Each person also carries the latent health state that drives everything
else: a permanent effect `v` (constitution; drives conditions and deficits) and a yearly AR(1)
shock `w` (acute instability; drives admissions), so that what is recorded before a date predicts
what happens after it, but not perfectly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from npc_risk.synth.frames import NULL_DAY, day_number
from npc_risk.synth.params import Params, categorical, column

N_LSOA = 482  # Leeds 2011 LSOAs (nhs-data-conventions.md §6)
LSOA_FIRST = 11264  # E01011264..E01011745: a Leeds-like block of LSOA codes
FLOOR_DAY = day_number(__import__("datetime").date(1900, 1, 1))
YEAR = 365
LSOA_CODES = [f"E01{LSOA_FIRST + i:06d}" for i in range(N_LSOA)]


@dataclass
class Population:
    """Person-level arrays (index = person) plus the geography they live in."""

    n: int
    as_of: int
    history_years: int
    age: np.ndarray  # float years at as_of (would-be age for the dead)
    dob: np.ndarray  # int32 day, 1st of the month
    female: np.ndarray
    sex: np.ndarray  # index into SEXES
    lsoa: np.ndarray  # index into lsoa_codes
    dep: np.ndarray  # 0 = least deprived .. 1 = most deprived (from the IMD decile)
    practice: np.ndarray  # current / last practice index
    ethnicity: np.ndarray  # index into ETHNICITY (-1 = null)
    v: np.ndarray  # permanent latent effect, N(0, 1)
    w: np.ndarray  # (years + 1, n) AR(1) shocks; row history_years = the future year
    lsoa_decile: np.ndarray
    lsoa_codes: list[str]
    # filled by `registrations`
    obs_start: np.ndarray | None = None
    obs_end: np.ndarray | None = None
    death: np.ndarray | None = None
    in_population: np.ndarray | None = None

    @property
    def window_start(self) -> int:
        return self.as_of - self.history_years * YEAR + 1


SEXES = ["female", "male", "intersex", "unknown"]


@dataclass(frozen=True)
class Geography:
    """City-wide facts shared by every chunk of people (drawn once per seed)."""

    lsoa_decile: np.ndarray
    lsoa_pcn: np.ndarray
    practice_weight: np.ndarray
    lsoa_weight: np.ndarray


def build_geography(rng: np.random.Generator, params: Params) -> Geography:
    """LSOA deciles, LSOA -> PCN footprint, practice and LSOA weights.

    LSOAs are sorted by decile and handed to PCNs in order of the PCNs' deprivation rank, so a
    deprived PCN (Seacroft) serves deprived LSOAs; footprints are contiguous blocks sized by the
    PCN's number of practices.
    """
    shares = column(params.imd_deciles, "share_of_lsoas")
    counts = np.floor(shares / shares.sum() * N_LSOA).astype(int)
    counts[0] += N_LSOA - counts.sum()  # keep decile 1 at ~24 % (114 of 482)
    decile = np.repeat(np.arange(1, 11), counts)
    decile = decile[np.argsort(decile + rng.random(N_LSOA) * 2.5, kind="stable")]
    pcn_rank = column(params.pcns, "deprivation_rank") + rng.random(len(params.pcns)) * 0.1
    pcn_practices = column(params.pcns, "practices", int)
    pcn_order = np.argsort(pcn_rank, kind="stable")
    sizes = np.floor(pcn_practices[pcn_order] / pcn_practices.sum() * N_LSOA).astype(int)
    sizes[-1] += N_LSOA - sizes.sum()
    lsoa_pcn = np.repeat(pcn_order, sizes)
    shuffle = rng.permutation(N_LSOA)  # LSOA codes are not ordered by deprivation
    practice_weight = rng.lognormal(0.0, 0.35, len(params.practices))
    lsoa_weight = rng.lognormal(0, 0.25, N_LSOA)  # LSOA sizes
    return Geography(lsoa_decile=decile[shuffle], lsoa_pcn=lsoa_pcn[shuffle],
                     practice_weight=practice_weight, lsoa_weight=lsoa_weight)


def build_population(rng: np.random.Generator, params: Params, geo: Geography, *, n: int, as_of: int,
                     history_years: int) -> Population:
    """`n` people of the city (one chunk; people are exchangeable, the geography is shared)."""
    lsoa_decile, lsoa_pcn, practice_weight = geo.lsoa_decile, geo.lsoa_pcn, geo.practice_weight
    bands = params.age_structure
    band = categorical(rng, column(bands, "share"), n)
    lo, hi = column(bands, "age_lo")[band], column(bands, "age_hi")[band]
    age = lo + rng.random(n) * (hi - lo + 1)
    dob_raw = (as_of - age * 365.25).astype("int64").astype("datetime64[D]")
    dob = dob_raw.astype("datetime64[M]").astype("datetime64[D]").astype(np.int32)
    age = (as_of - dob) / 365.25
    female = rng.random(n) < column(bands, "female_share")[band]
    sex = np.where(female, 0, 1)
    u = rng.random(n)
    sex = np.where(u < params.rate("sex_unknown_share"), 3, sex)
    sex = np.where(u > 1 - params.rate("sex_intersex_share"), 2, sex)
    lsoa = categorical(rng, geo.lsoa_weight, n)
    dep = (10 - lsoa_decile[lsoa]) / 9.0
    # practice: one in the footprint PCN of the LSOA, sometimes anywhere in the city
    practice_pcn = np.searchsorted([p["pcn_code"] for p in params.pcns],
                                   [p["pcn_code"] for p in params.practices])
    pcn = lsoa_pcn[lsoa]
    practice = np.empty(n, dtype=np.int64)
    for k in range(len(params.pcns)):  # 19 PCNs, not a loop over people
        members = np.flatnonzero(practice_pcn == k)
        who = np.flatnonzero(pcn == k)
        practice[who] = members[categorical(rng, practice_weight[members], len(who))]
    anywhere = rng.random(n) < params.rate("other_practice_share")
    practice[anywhere] = categorical(rng, practice_weight, int(anywhere.sum()))
    eth = categorical(rng, column(params.ethnicity, "share"), n)
    eth = np.where(rng.random(n) < params.rate("ethnicity_missing_share"), -1, eth)
    # latent state: permanent effect and a yearly AR(1) shock (rates.csv rho_transient)
    v = rng.standard_normal(n)
    rho = params.rate("rho_transient")
    w = np.empty((history_years + 1, n))
    w[0] = rng.standard_normal(n)
    for y in range(1, history_years + 1):  # a handful of years
        w[y] = rho * w[y - 1] + np.sqrt(1 - rho**2) * rng.standard_normal(n)
    codes = LSOA_CODES
    return Population(n=n, as_of=as_of, history_years=history_years, age=age, dob=dob,
                      female=female, sex=sex, lsoa=lsoa, dep=dep, practice=practice,
                      ethnicity=eth, v=v, w=w, lsoa_decile=lsoa_decile, lsoa_codes=codes)


def registrations(rng: np.random.Generator, params: Params, pop: Population,
                  hazard_multiplier: np.ndarray) -> dict[str, np.ndarray]:
    """Registration periods, deaths and the observation window of every person.

    Joiners start inside the history window, leavers end inside it, movers have two periods at
    different practices, and deaths (Gompertz hazard times the person's morbidity multiplier)
    end the registration. Sets pop.obs_start / obs_end / death / in_population.
    """
    n, A, W, H = pop.n, pop.as_of, pop.window_start, pop.history_years
    dob = pop.dob.astype(np.int64)
    # start: born here, or an earlier date between birth and the window; joiners inside it
    start = dob + (rng.random(n) * np.maximum(W - dob, 0)).astype(np.int64)
    joiner = rng.random(n) < params.rate("joiners_per_year") * H
    start = np.where(joiner, np.maximum(dob, W + (rng.random(n) * (A - W)).astype(np.int64)), start)
    start = np.minimum(start, A)
    end = np.full(n, NULL_DAY, dtype=np.int64)
    leaver = rng.random(n) < params.rate("leavers_per_year") * H
    leave_day = np.maximum(start, W) + (rng.random(n) * (A - np.maximum(start, W))).astype(np.int64)
    leaver &= leave_day < A
    end = np.where(leaver, leave_day, end)
    # deaths: yearly Gompertz hazard, times the morbidity multiplier
    age_mid = pop.age - H / 2
    hazard = np.exp(params.rate("mortality_log_intercept") + params.rate("mortality_age_slope") * age_mid)
    p_die = 1 - np.exp(-hazard * hazard_multiplier * H)
    death = np.where(rng.random(n) < p_die, W + (rng.random(n) * (A - W)).astype(np.int64), NULL_DAY)
    death = np.where((death != NULL_DAY) & ((death <= np.maximum(start, dob)) | leaver), NULL_DAY, death)
    end = np.where(death != NULL_DAY, death, end)
    obs_start = np.maximum(start, dob)
    obs_end = np.where(end == NULL_DAY, A, end)
    # movers: two periods, the first at another practice
    mover = rng.random(n) < params.rate("practice_movers_per_year") * H
    move_day = np.maximum(start, W) + (rng.random(n) * (obs_end - np.maximum(start, W))).astype(np.int64)
    mover &= (move_day > start + 30) & (move_day < obs_end)
    n_practices = len(params.practices)
    old_practice = (pop.practice + rng.integers(1, n_practices, n)) % n_practices
    floor = rng.random(n) < params.rate("floor_date_share")
    shown_start = np.where(floor & ~joiner, FLOOR_DAY, start)
    pid_main = np.arange(n)
    movers = np.flatnonzero(mover)
    reg = {
        "patient": np.concatenate([pid_main, movers]),
        "practice": np.concatenate([pop.practice, old_practice[movers]]),
        "start_date": np.concatenate([np.where(mover, move_day, shown_start), shown_start[movers]]),
        "end_date": np.concatenate([end, move_day[movers] - 1]),
    }
    pop.obs_start, pop.obs_end = obs_start.astype(np.int64), obs_end.astype(np.int64)
    pop.death = death
    pop.in_population = (end == NULL_DAY) & (start <= A)
    return {k: v.astype(np.int64) for k, v in reg.items()}
