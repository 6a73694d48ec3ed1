"""A small synthetic feature frame with a known true risk, for the risk step's tests.

`synthetic_features(n, seed)` -> (features, truth_probability, outcome). The frame has the column
names and dtypes of `features.derive_features(...).person` (docs/architecture.md) with a short
condition and deficit catalogue. The outcome is drawn from `truth_probability`, which depends on
the observed features plus an unobserved person effect, so no model can reach AUROC 1 and the
oracle (the truth) sits near the published 0.74-0.80 band.

This is NOT the city generator (`npc_risk.synth`): it has no events, only person-level features,
and exists so the risk step can be tested without the rest of the pipeline (it lived in
`npc_risk.risk.synthetic` while nothing but tests used it). The eFI and HFRS categories come
from `npc_risk.frailty`, the one definition of the bands. Coefficients are
round numbers chosen to give a base rate of about 6 % and the usual predictor ranking
(clinical-definitions.md §6.3); they are not estimates of anything.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from npc_risk.frailty import efi_category, hfrs_category

LTC_KEYS = ("hypertension", "diabetes", "copd", "heart_failure", "dementia", "cancer", "ckd")
EFI_KEYS = ("falls", "mobility_problems", "polypharmacy", "memory_concerns", "urinary_incontinence")


def synthetic_features(
    n: int, seed: int, *, practices: int = 20
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    age = np.clip(rng.normal(44, 23, n), 0, 104).astype("int64")
    old = np.clip((age - 40) / 50, 0, None)
    imd = rng.integers(1, 11, n)
    deprived = (10 - imd) / 9
    latent = rng.normal(0, 1, n)  # unobserved health: drives both features and outcome
    frail = old + 0.25 * latent + 0.2 * deprived
    ltc = {k: rng.random(n) < 1 / (1 + np.exp(-(-3.2 + 2.4 * frail + 0.3 * i / 7)))
           for i, k in enumerate(LTC_KEYS)}
    ltc_count = np.sum(list(ltc.values()), axis=0).astype("int64")
    efi_deficits = rng.binomial(36, np.clip(0.02 + 0.18 * np.clip(frail, 0, None) ** 1.5, 0, 0.9))
    efi = {k: rng.random(n) < np.clip(efi_deficits / 18 + 0.02 * i, 0, 1) for i, k in enumerate(EFI_KEYS)}
    prior_rate = np.exp(-3.3 + 1.2 * frail + 0.5 * latent + 0.25 * ltc_count)
    em = rng.poisson(prior_rate)
    hfrs = np.where(em > 0, np.round(rng.gamma(2.0, 3.0 + 4 * old, n), 1), 0.0)
    palliative = rng.random(n) < 0.004 + 0.03 * (age >= 80)
    care_home = rng.random(n) < 0.002 + 0.04 * (age >= 85)
    logit = (-4.15 + 1.2 * old + 0.55 * np.minimum(em, 4) + 0.12 * ltc_count + 2.0 * efi_deficits / 36
             + 0.35 * deprived + 0.35 * ltc["heart_failure"] + 0.35 * ltc["copd"] + 0.9 * palliative
             + 0.8 * (age <= 1) + 0.6 * latent)  # under-1s: high emergency admission rates
    truth = 1 / (1 + np.exp(-logit))
    outcome = (rng.random(n) < truth).astype("int8")
    imd_values = pd.array(imd, dtype="Int64")
    imd_values[rng.random(n) < 0.02] = pd.NA
    practice = rng.integers(0, practices, n)
    frame = pd.DataFrame({
        "patient_id": pd.array([f"S{seed}-{i:07d}" for i in range(n)], dtype="string"),
        "practice_code": pd.array(np.char.add("B8", np.char.zfill(practice.astype(str), 4)), dtype="string"),
        "pcn_code": pd.array(np.char.add("U", np.char.zfill((practice // 4).astype(str), 5)), dtype="string"),
        "age": age,
        "sex": pd.array(rng.choice(["female", "male", "unknown"], n, p=[0.505, 0.49, 0.005]), dtype="string"),
        "ethnicity_group": pd.array(rng.choice(["White", "Asian", "Black", "Mixed", "Other", "unknown"], n,
                                               p=[0.74, 0.1, 0.05, 0.03, 0.03, 0.05]), dtype="string"),
        "imd_decile": imd_values,
        **{f"ltc_{k}": v for k, v in ltc.items()},
        "ltc_count": ltc_count,
        **{f"efi_{k}": v for k, v in efi.items()},
        "efi_deficits": efi_deficits.astype("int64"),
        "efi_score": efi_deficits / 36,
        "efi_category": pd.array(efi_category(efi_deficits), dtype="string"),
        "hfrs_score": hfrs,
        "hfrs_category": pd.array(hfrs_category(np.round(hfrs * 10).astype("int64")), dtype="string"),
        "emergency_admissions_12m": em.astype("int64"),
        "emergency_bed_days_12m": (em * rng.poisson(4 + 4 * old, n)).astype("int64"),
        "elective_admissions_12m": rng.poisson(0.05 + 0.1 * old, n).astype("int64"),
        "ae_attendances_12m": (em + rng.poisson(0.25 + 0.1 * np.clip(latent, 0, None), n)).astype("int64"),
        "outpatient_attendances_12m": rng.poisson(0.6 + 1.5 * old + 0.3 * ltc_count, n).astype("int64"),
        "outpatient_dnas_12m": rng.poisson(0.05 + 0.05 * deprived, n).astype("int64"),
        "gp_appointments_12m": rng.poisson(2 + 2 * old + 0.8 * ltc_count, n).astype("int64"),
        "social_care_packages_active": (rng.random(n) < 0.01 + 0.08 * (age >= 80)).astype("int64"),
        # the year before the last one adds to the 24-month counts (same need, its own noise)
        "emergency_admissions_24m": (em + rng.poisson(0.1 + 0.4 * np.clip(latent, 0, None), n)).astype("int64"),
        "palliative_care": palliative,
        "care_home": care_home,
        "type1_optout": rng.random(n) < 0.03,
    })
    for col in ("ae_attendances", "outpatient_attendances", "gp_appointments"):
        last_year = frame[f"{col}_12m"].to_numpy()
        frame[f"{col}_24m"] = (last_year + rng.poisson(np.maximum(last_year, 0.2))).astype("int64")
    return frame, truth, outcome
