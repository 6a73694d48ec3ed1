"""Person-level flags and identifiers: frailty codes, palliative care, care homes, opt-outs,
NHS numbers.

Shares come from rates.csv (QOF palliative register 0.48 %, care-home residents, opt-out rates);
who gets a flag follows the latent state, so flags sit with the frailest people.
"""

from __future__ import annotations

import numpy as np

from npc_risk.codes.nhs_number import WEIGHTS
from npc_risk.frailty import EFI_FLOOR, efi_at_least
from npc_risk.synth.conditions import Morbidity
from npc_risk.synth.params import Params, categorical
from npc_risk.synth.population import Population

TEST_RANGE_FIRST_STEM = 999_000_000  # nhs-data-conventions.md §4: 999 000 0000 - 999 999 9999


def nhs_numbers(rng, n: int, missing_share: float) -> np.ndarray:
    """Distinct valid test-range NHS numbers (Modulus 11), skipping never-issued stems.

    The test range holds ~909,000 valid numbers; people beyond that (and a `missing_share`) get
    none (-1), which the contract allows (nhs_number is nullable). Drawn once for the whole city.
    """
    stems = TEST_RANGE_FIRST_STEM + np.arange(1_000_000, dtype=np.int64)
    digits = (stems[:, None] // (10 ** np.arange(8, -1, -1, dtype=np.int64))) % 10
    check = 11 - (digits * np.array(WEIGHTS)).sum(axis=1) % 11
    check = np.where(check == 11, 0, check)
    usable = check != 10
    numbers = (stems * 10 + check)[usable]
    chosen = numbers[rng.permutation(len(numbers))[: min(n, len(numbers))]]
    out = np.full(n, -1, dtype=np.int64)
    out[: len(chosen)] = chosen
    out[rng.random(n) < missing_share] = -1
    return out


def nhs_number_strings(numbers: np.ndarray) -> list[str | None]:
    """One chunk of `nhs_numbers` as strings (None where missing)."""
    return [str(x) if x >= 0 else None for x in numbers.tolist()]


def _normalised_probability(score: np.ndarray, eligible: np.ndarray, share: float) -> np.ndarray:
    """Probabilities proportional to `score` among the eligible with mean `share` over them."""
    s = np.where(eligible, score, 0.0)
    return np.clip(s * share * max(eligible.sum(), 1) / max(s.sum(), 1e-12), 0, 1)


def flag_events(rng, params: Params, pop: Population, morb: Morbidity, meds, vocab):
    """Frailty category codes, palliative-care and care-home codes (as clinical events)."""
    A = pop.as_of
    deficits = morb.deficits_at(np.minimum(pop.obs_end, A))
    codes = {r["flag"]: [] for r in params.flag_codes}
    for r in params.flag_codes:
        codes[r["flag"]].append((vocab.id(r["snomedct_code"]), float(r["weight"])))
    frames = []
    alive = pop.obs_end >= pop.window_start

    def emit_on(who, day, flag):
        ids = np.array([c for c, _ in codes[flag]])
        w = np.array([x for _, x in codes[flag]])
        frames.append({"patient": who, "date": day, "code": ids[categorical(rng, w, len(who))],
                       "value": np.full(len(who), np.nan)})

    def emit(who, mean_years, flag):
        """Coded at a start day an exponential time (mean `mean_years`) before the end of the
        person's record, so records at earlier dates hold flags too (not only the last year)."""
        back = (rng.exponential(mean_years, len(who)) * 365.25).astype(np.int64)
        emit_on(who, np.maximum(pop.obs_end[who] - back, pop.obs_start[who]), flag)

    coded = (alive & (pop.age >= 65) & efi_at_least(deficits, "mild")
             & (rng.random(pop.n) < params.rate("frailty_code_share_65plus")))
    # each category is coded at a review within months of the deficit count reaching it, so the
    # record at any earlier date shows the category the person had then
    reach = morb.deficit_onsets()
    for band in ("mild", "moderate", "severe"):
        flag, lo = f"frailty_{band}", EFI_FLOOR[band]
        who = np.flatnonzero(coded & efi_at_least(deficits, band))
        day = np.maximum(reach[lo - 1, who] + rng.integers(0, 180, len(who)), pop.obs_start[who])
        keep = day <= pop.obs_end[who]
        emit_on(who[keep], day[keep], flag)
    burden = (morb.emerg_log_rr[:, None] * (morb.onset <= A)).sum(axis=0)
    score = np.exp(1.2 * burden + 0.5 * pop.v + 0.04 * pop.age)
    pal = rng.random(pop.n) < _normalised_probability(score, alive, params.rate("palliative_share"))
    emit(np.flatnonzero(pal), 1.5, "palliative")
    score = np.exp(0.35 * deficits)
    old = alive & (pop.age >= 75)
    home = rng.random(pop.n) < _normalised_probability(score, old, params.rate("care_home_share_75plus"))
    emit(np.flatnonzero(home), 2.5, "care_home")
    frames = [f for f in frames if len(f["patient"])]
    return {k: np.concatenate([f[k] for f in frames]) for k in frames[0]}, deficits


def opt_outs(rng, params: Params, pop: Population) -> dict[str, np.ndarray]:
    """type1 (GP-recorded dissent) and ndoo rows; a person may have both."""
    t1 = np.flatnonzero(rng.random(pop.n) < params.rate("type1_share"))
    nd = np.flatnonzero(rng.random(pop.n) < params.rate("ndoo_share"))
    return {"patient": np.concatenate([t1, nd]),
            "kind": np.concatenate([np.zeros(len(t1), dtype=np.int64), np.ones(len(nd), dtype=np.int64)])}
