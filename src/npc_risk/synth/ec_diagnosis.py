"""The ECDS diagnosis (SNOMED CT, EC_DIAGNOSIS) of every generated A&E attendance.

Codes and weights are `data/synth/ecds_diagnoses.csv` (a hand-picked subset of the ECDS diagnosis
refset, the codes of the packaged `resp-ecds-*` lists plus a few non-respiratory reasons).

* An attendance that leads to an emergency admission carries the admission's reason: its ICD-10
  primary diagnosis mapped by three-character category (J45-J46 asthma, J40-J44 COPD exacerbation,
  J12-J18 pneumonia, J21 bronchiolitis ...; another J code is a lower respiratory tract infection), a
  non-respiratory one a non-respiratory reason drawn by age. Its date is the spell's, which already
  has the respiratory winter peak.
* A non-admitted attendance is respiratory with probability `ae_resp_scale` x the person's chance
  that an emergency spell is respiratory (services.Coder.respiratory_share: the same conditions and
  ages) x exp(respiratory log-RR: control, care, smoking), at most `ae_resp_max`: the same latent
  drivers as respiratory admissions. A respiratory one is then re-dated within its year with the
  same winter peak (respiratory.seasonal_days) and coded by age (bronchiolitis and croup in the
  under-5s, pneumonia at 65+), asthma for people with asthma and COPD exacerbation for people with
  COPD weighted up (`ae_asthma_weight`, `ae_copd_weight`).
* `ae_diagnosis_missing_share` of attendances have no diagnosis recorded.

Draws use their own generator (city.py spawns it), so adding diagnoses leaves every other table's
draws as they were.
"""

from __future__ import annotations

import numpy as np

from npc_risk.synth.params import Params, categorical, categorical_rows, column
from npc_risk.synth.respiratory import seasonal_days

AGE_WEIGHTS = ("weight_0_4", "weight_5_64", "weight_65plus")  # the bands of services.age_band


def _band(age: np.ndarray) -> np.ndarray:
    return (np.asarray(age) >= 5).astype(np.int64) + (np.asarray(age) >= 65)


class EcdsCoder:
    """ecds_diagnoses.csv as arrays, and the ICD-10 vocabulary id -> ECDS row map."""

    def __init__(self, params: Params, icd_codes: list[str]):
        rows = params.ecds_diagnoses
        self.codes = [r["code"] for r in rows]
        kind = np.array([r["kind"] for r in rows])
        self.respiratory = np.flatnonzero(kind != "other")
        self.other = np.flatnonzero(kind == "other")
        self.asthma = int(np.flatnonzero(kind == "asthma")[0])
        self.copd = int(np.flatnonzero(kind == "copd")[0])
        self.by_age = np.vstack([column(rows, k) for k in AGE_WEIGHTS])  # (3 bands, codes)
        prefix = {p: i for i, r in enumerate(rows) for p in r["icd10_prefixes"].split("|") if p}
        other_j = prefix["J22"]  # a J code with no row of its own: unspecified acute LRI
        self.from_icd = np.array([prefix.get(c[:3], other_j if c.startswith("J") else -1) for c in icd_codes],
                                 dtype=np.int64)
        concepts = [r["key"] for r in params.concepts]
        self.asthma_k, self.copd_k = concepts.index("asthma"), concepts.index("copd")
        self.scale, self.cap = params.resp("ae_resp_scale"), params.resp("ae_resp_max")
        self.w_asthma, self.w_copd = params.resp("ae_asthma_weight"), params.resp("ae_copd_weight")
        self.missing = params.resp("ae_diagnosis_missing_share")
        self.amplitude = params.resp("season_amplitude")

    def _other(self, rng, age) -> np.ndarray:
        out = np.empty(len(age), dtype=np.int64)
        band = _band(age)
        for b in range(3):
            rows = np.flatnonzero(band == b)
            out[rows] = self.other[categorical(rng, self.by_age[b, self.other], len(rows))]
        return out

    def draw(self, rng, coder, *, adm_who, adm_primary, who, day, lo, hi, age) -> tuple[np.ndarray, np.ndarray]:
        """(diagnosis row per attendance, admitted ones first, -1 = not recorded; the non-admitted
        attendances' days, respiratory ones re-dated with the winter peak)."""
        morb = coder.morb
        adm = self.from_icd[adm_primary]
        non_resp = np.flatnonzero(adm < 0)
        adm[non_resp] = self._other(rng, age[adm_who[non_resp]])
        # non-admitted: respiratory by the person's respiratory share at the year's start
        share = coder.respiratory_share(lo, age)[who]
        log_rr = 0.0 if morb.resp_log_rr is None else (morb.resp_log_rr * (morb.resp_from <= lo))[who]
        p = np.minimum(self.scale * share * np.exp(log_rr), self.cap)
        resp = rng.random(len(who)) < p
        dx = self._other(rng, age[who])
        r = np.flatnonzero(resp)
        w = self.by_age[_band(age[who[r]])][:, self.respiratory].copy()
        cols = list(self.respiratory)
        w[:, cols.index(self.asthma)] += self.w_asthma * (morb.onset[self.asthma_k, who[r]] <= lo[who[r]])
        w[:, cols.index(self.copd)] += self.w_copd * (morb.onset[self.copd_k, who[r]] <= lo[who[r]])
        dx[r] = self.respiratory[categorical_rows(rng, w)]
        day = day.copy()
        day[r] = seasonal_days(rng, lo[who[r]], hi[who[r]], self.amplitude)
        out = np.concatenate([adm, dx])
        out[rng.random(len(out)) < self.missing] = -1
        return out, day
