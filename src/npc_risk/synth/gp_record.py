"""The GP record: coded events, observations with values, and medication issues.

Codes are real SNOMED CT / dm+d ids from the packaged tables. Most events for a concept use its
`main` codes (the clinical-definitions.md §1.4 examples); a few use `child`/`rare` codes a code list
may miss, and attended GP appointments leave symptom and admin codes (`noise_codes.csv`) that no
condition list should match, so unmatched-code reporting has something to count.

Every function returns a frame (dict of arrays; frames.py) with int code indices into the shared
SNOMED vocabulary `Vocab.snomed`; nothing here loops over people.
"""

from __future__ import annotations

import numpy as np

from npc_risk.synth.conditions import Morbidity
from npc_risk.synth.params import Params, categorical, column
from npc_risk.synth.population import YEAR, Population


class Vocab:
    """Code strings -> int indices, in first-seen order (deterministic)."""

    def __init__(self) -> None:
        self.codes: list[str] = []
        self._index: dict[str, int] = {}

    def id(self, code: str) -> int:
        if code not in self._index:
            self._index[code] = len(self.codes)
            self.codes.append(code)
        return self._index[code]

    def ids(self, codes) -> np.ndarray:
        return np.array([self.id(c) for c in codes], dtype=np.int64)


def _uniform_days(rng, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """A uniform day in [lo, hi] per row (hi >= lo)."""
    return lo + (rng.random(len(lo)) * (hi - lo + 1)).astype(np.int64)


def _events(patient, day, code, value=None) -> dict[str, np.ndarray]:
    value = np.full(len(patient), np.nan) if value is None else value
    return {"patient": patient, "date": day, "code": code, "value": value}


def _choose_codes(rng, params: Params, vocab: Vocab, concept: str, female: np.ndarray) -> np.ndarray:
    rows = [r for r in params.concept_codes if r["concept"] == concept]
    ids = vocab.ids([r["snomedct_code"] for r in rows])
    out = np.empty(len(female), dtype=np.int64)
    for is_female, label in ((True, "female"), (False, "male")):  # sex-specific codes
        allowed = np.array([r["sex"] in ("", label) for r in rows])
        w = column(rows, "weight") * allowed
        who = np.flatnonzero(female == is_female)
        out[who] = ids[categorical(rng, w, len(who))]
    return out


def diagnosis_events(rng, params: Params, pop: Population, morb: Morbidity, vocab: Vocab):
    """First recording at onset (any date, even before the window) plus yearly reviews."""
    frames = []
    review = params.rate("condition_review_per_year")
    for k, key in enumerate(morb.keys):  # a few dozen concepts
        onset = morb.onset[k]
        who = np.flatnonzero(onset <= pop.obs_end)
        day = onset[who]
        frames.append(_events(who, day, _choose_codes(rng, params, vocab, key, pop.female[who])))
        first = np.maximum(day, pop.window_start)
        first = np.maximum(first, pop.obs_start[who])
        years = np.clip((pop.obs_end[who] - first) / YEAR, 0, None)
        count = rng.poisson(review * years)
        rep = np.repeat(np.arange(len(who)), count)
        rdays = _uniform_days(rng, first[rep], pop.obs_end[who][rep])
        frames.append(_events(who[rep], rdays, _choose_codes(rng, params, vocab, key, pop.female[who][rep])))
    return frames


def observation_events(rng, params: Params, pop: Population, morb: Morbidity, vocab: Vocab):
    """Numeric observations where the eFI value rules apply (clinical-definitions.md §1.5).

    Values sit on the abnormal side of the rule only for people with the matching concept from
    its onset, so value-based and code-based deficits agree.
    """
    index = {k: i for i, k in enumerate(morb.keys)}
    frames = []
    start = np.maximum(pop.obs_start, pop.window_start)
    years = np.clip((pop.obs_end - start) / YEAR, 0, None)
    for r in params.observations:  # nine observation types
        eligible = np.zeros(pop.n, dtype=bool)
        abnormal_from = np.full(pop.n, np.iinfo(np.int64).max)
        for term in r["population"].split("|"):
            if term.startswith("age"):
                eligible |= pop.age >= float(term[3:])
            else:
                eligible |= morb.onset[index[term]] <= pop.obs_end
        abnormal_keys = {"egfr": ["ckd"], "hba1c": ["diabetes"], "systolic_bp": ["hypertension"],
                         "diastolic_bp": ["hypertension"], "haemoglobin": ["anaemia"],
                         "tsh": ["thyroid"], "six_cit": ["dementia", "cognitive_concern"],
                         "barthel": ["activity_limitation"], "bmi": []}[r["key"]]
        for key in abnormal_keys:
            abnormal_from = np.minimum(abnormal_from, morb.onset[index[key]])
        who = np.flatnonzero(eligible & (years > 0))
        count = rng.poisson(float(r["yearly_probability"]) * years[who])
        rep = np.repeat(who, count)
        day = _uniform_days(rng, start[rep], pop.obs_end[rep])
        bad = day >= abnormal_from[rep]
        value = np.where(bad, rng.normal(float(r["abnormal_mean"]), float(r["abnormal_sd"]), len(rep)),
                         rng.normal(float(r["normal_mean"]), float(r["normal_sd"]), len(rep)))
        value = _respect_rule(r["key"], value, bad, pop.female[rep])
        value = np.clip(value, float(r["lower"]), float(r["upper"]))
        if r["key"] == "haemoglobin":  # some labs report g/dL: the eFI unit split (§1.5)
            value = np.where(rng.random(len(rep)) < 0.1, value / 10, value)
        value = np.round(value, 1)
        frames.append(_events(rep, day, np.full(len(rep), vocab.id(r["snomedct_code"])), value))
    return frames


def _respect_rule(key: str, value, bad, female):
    """Keep normal values on the normal side of the eFI thresholds and abnormal ones beyond."""
    if key == "egfr":
        return np.where(bad, np.minimum(value, 59), np.maximum(value, 60))
    if key == "haemoglobin":
        cut = np.where(female, 115, 130)
        return np.where(bad, np.minimum(value, cut - 1), np.maximum(value, cut + 1))
    if key == "tsh":
        return np.where(bad, np.maximum(value, 5.6), np.clip(value, 0.4, 5.4))
    if key == "six_cit":
        return np.where(bad, np.maximum(value, 8), np.minimum(value, 7))
    if key == "barthel":
        return np.where(bad, np.minimum(value, 18), np.maximum(value, 19))
    return value


def medication_issues(rng, params: Params, pop: Population, morb: Morbidity, vocab: Vocab):
    """Repeat prescriptions: one row per 28-day issue while the person is registered.

    Issues cover the whole history window (as_of - history_years .. as_of): the pipeline trains on
    features as of as_of - 730 days and evaluates as of as_of - 365 days, each with a 12-month
    medication look-back, so drug-based features must exist in every year of the window. A drug
    started before the window shows its issues from the window start. Polypharmacy (eFI deficit 26)
    is not forced: it emerges from multimorbidity.
    """
    index = {k: i for i, k in enumerate(morb.keys)}
    drugs = list(dict.fromkeys(r["dmd_code"] for r in params.medications))
    start = np.full((len(drugs), pop.n), np.iinfo(np.int64).max)
    for r in params.medications:  # dozens of concept -> drug rows
        d = drugs.index(r["dmd_code"])
        onset = morb.onset[index[r["concept"]]]
        takes = (onset <= pop.obs_end) & (rng.random(pop.n) < float(r["probability"]))
        begin = onset + rng.integers(3, 60, pop.n)
        start[d] = np.where(takes, np.minimum(start[d], begin), start[d])
    med_start = pop.window_start
    frames = []
    for d, code in enumerate(drugs):
        who = np.flatnonzero(start[d] <= pop.obs_end)
        first = start[d][who]
        first = np.where(first < med_start, first + 28 * np.ceil((med_start - first) / 28).astype(np.int64), first)
        first = np.maximum(first, pop.obs_start[who])
        count = np.maximum((pop.obs_end[who] - first) // 28 + 1, 0)
        rep = np.repeat(np.arange(len(who)), count)
        k = np.arange(len(rep)) - np.repeat(np.cumsum(count) - count, count)
        day = first[rep] + 28 * k - rng.integers(0, 3, len(rep))
        keep = day <= pop.obs_end[who][rep]
        frames.append({"patient": who[rep][keep], "date": day[keep],
                       "code": np.full(int(keep.sum()), vocab.id(code))})
    return frames
