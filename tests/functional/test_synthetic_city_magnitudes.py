"""Functional (slow): magnitudes of a 20,000-person city against nhs-data-conventions.md §10 (bands, not points).

One city is generated for the module; `calibration.measure` computes each figure the way the
pipeline would (last 12 months before as-of; people registered and alive on it).
"""

from __future__ import annotations

import datetime as dt

import pytest

from npc_risk.synth import generate_city
from npc_risk.synth.calibration import calibration_report
from npc_risk.synth.resp_calibration import targets as respiratory_targets

pytestmark = pytest.mark.slow  # generates a city / reads the sample city


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """`npc-risk calibrate`'s rows for the city (measured once for the module)."""
    out = tmp_path_factory.mktemp("city20k")
    generate_city(patients=20_000, seed=2026, as_of=dt.date(2026, 3, 31), output=out)
    return calibration_report(out / "extract", out / "truth")


@pytest.fixture(scope="module")
def city(report):
    return {row["metric"]: row["measured"] for row in report}


@pytest.mark.parametrize(("metric", "low", "high"), [
    ("emergency_admissions_per_1000", 70, 125),  # ~100 (§10.1)
    ("emergency_admissions_per_1000_67plus", 170, 320),  # 202-282 at 67+
    ("ae_attendances_per_1000", 320, 480),  # ~400
    ("outpatient_appointments_per_1000", 1600, 2400),  # ~2,000 booked
    ("outpatient_dna_share", 0.045, 0.08),  # 6.2 %
    ("gp_appointments_per_person", 4.8, 6.8),  # ~5.8
])
def test_utilisation_in_plausible_bands(city, metric, low, high):
    assert low <= city[metric] <= high, f"{metric} = {city[metric]:.3f}"


def test_efi_distribution_in_over_65s_roughly_50_35_12_3(city):
    """Deficits counted with the reference example codes, value rules and polypharmacy (§1.2)."""
    assert 0.40 <= city["efi_fit_share_65plus"] <= 0.65
    assert 0.20 <= city["efi_mild_share_65plus"] <= 0.45
    assert 0.06 <= city["efi_moderate_share_65plus"] <= 0.18
    assert 0.01 <= city["efi_severe_share_65plus"] <= 0.06


def test_top_five_percent_by_true_risk_hold_about_half_of_bed_days(city):
    """Leeds concentration (§10.2): the top 5 % by true risk use about half of emergency bed days."""
    assert 0.40 <= city["top5_share_emergency_bed_days"] <= 0.62
    assert 0.65 <= city["top5_share_social_care_packages"] <= 0.92


@pytest.mark.parametrize(("metric", "low", "high"), [
    ("prevalence_copd", 0.014, 0.025),  # QOF 1.9 % (§10.3)
    ("prevalence_chd", 0.024, 0.038),  # 3.1 %
    ("prevalence_atrial_fibrillation", 0.015, 0.027),  # 2.1 %
    ("prevalence_heart_failure", 0.0055, 0.012),  # 0.89 %
    ("prevalence_dementia", 0.005, 0.011),  # 0.78 %
    ("prevalence_ckd_18plus", 0.032, 0.05),  # 4.1 % of 18+
    ("ltc2plus_share_80plus", 0.62, 0.82),  # 65-80 % (§10.5)
])
def test_age_related_prevalence_is_measured_on_the_as_of_population(city, metric, low, high):
    """Intercepts are solved on the people alive and registered at as_of, not on those who died."""
    assert low <= city[metric] <= high, f"{metric} = {city[metric]:.4f}"


def test_oracle_discriminates_like_a_good_model(city):
    assert 0.72 <= city["oracle_auroc"] <= 0.88


def test_calibration_report_puts_the_respiratory_magnitudes_beside_their_targets(report):
    """`npc-risk calibrate` reports every respiratory-and-packs §7 target with its measured value."""
    rows = {row["metric"]: row for row in report}
    for metric, (low, high, basis) in respiratory_targets().items():
        assert (rows[metric]["target_low"], rows[metric]["target_high"], rows[metric]["basis"]) == (low, high, basis)


@pytest.mark.parametrize(("metric", "low", "high"), [
    ("asthma_ever_coded_share", 0.115, 0.16),  # the seed's 13.7 % reads as ever coded (§7.1)
    ("asthma_register_share", 0.052, 0.078),  # QOF 6.5 %: age >= 6, unresolved, Rx in 12 months
    ("asthma_ever_coded_share_0_15", 0.06, 0.14),  # HSE 2018 0-15: 10 %
    ("copd_register_share", 0.014, 0.025),  # QOF 1.9 %
    ("copd_current_smoker_share", 0.30, 0.60),  # 47 % at diagnosis (§7.2)
    ("asthma_saba_ge3_share", 0.25, 0.50),  # SABINA UK: over a third
    ("flu_uptake_65plus", 0.68, 0.82),  # 74.9 % (§7.3)
    ("flu_uptake_lung_under65", 0.38, 0.58),  # 49.8 %
    ("resp_emergency_admissions_per_1000", 9, 21),  # ~15 (§7.4)
    ("resp_share_of_emergency_admissions", 0.08, 0.18),  # 1 in 8
    ("resp_winter_to_spring_ratio", 1.4, 2.3),  # 1.8; ~1,400 spells in 20k people, so a wide band
])
def test_respiratory_magnitudes_in_plausible_bands(city, metric, low, high):
    assert low <= city[metric] <= high, f"{metric} = {city[metric]:.4f}"


def test_respiratory_oracle_ranks_next_years_respiratory_admissions(city):
    """The latent respiratory probability (truth/) carries the care-gap model: it ranks the
    simulated respiratory admissions well, better than chance by far."""
    assert 0.75 <= city["respiratory_oracle_auroc"] <= 0.95
