"""The synthetic city's respiratory codes and seasonality (synth/respiratory.py, its data tables)."""

from __future__ import annotations

import csv
import datetime as dt
from importlib import resources

import numpy as np
import pytest

from npc_risk.codelists.formats import verhoeff_ok
from npc_risk.synth.frames import day_number
from npc_risk.synth.params import load_params
from npc_risk.synth.resp_calibration import targets
from npc_risk.synth.respiratory import ASTHMA_REGIMENS, COPD_REGIMENS, seasonal_days

CODELISTS = resources.files("npc_risk").joinpath("data/codelists")


def _emitted() -> list[tuple[str, str]]:
    """(code, the resp-* list meant to hold it) for every respiratory code the generator can write:
    its own table plus the asthma and COPD diagnosis codes of concept_codes.csv."""
    params = load_params()
    out = [(r["code"], r["codelist"]) for r in params.respiratory_codes]
    out += [(r["snomedct_code"], f"resp-{r['concept']}.snomedct") for r in params.concept_codes
            if r["concept"] in ("asthma", "copd")]
    return out


def _codes_of(name: str) -> set[str] | None:
    """The codes of one packaged code list (None while the list is absent)."""
    entry = CODELISTS.joinpath(f"{name}.csv")
    if not entry.is_file():
        return None
    with entry.open(encoding="utf-8") as f:
        return {row["code"] for row in csv.DictReader(f)}


def test_every_respiratory_code_is_a_valid_snomed_or_dmd_id_once_per_item():
    rows = load_params().respiratory_codes
    assert all(r["code"].isdigit() and verhoeff_ok(r["code"]) for r in rows)
    assert len({(r["item"], r["code"]) for r in rows}) == len(rows)
    assert {r["system"] for r in rows} == {"snomedct", "dmd"}


def test_every_item_the_generator_draws_has_codes():
    """respiratory.py picks codes by item name; a renamed row would fail at generation time."""
    items = {r["item"] for r in load_params().respiratory_codes}
    drawn = {"past_asthma_dx", "asthma_resolved", "copd_resolved", "asthma_review", "copd_review",
             "asthma_control_test", "rcp3_score", "asthma_exacerbation_count", "copd_exacerbation_count",
             "action_plan", "inhaler_technique", "mrc_score", "fev1fvc_post", "fev1fvc_ratio",
             "fev1_percent_predicted", "pr_referral", "pr_declined", "pr_commenced", "smoker", "ex_smoker",
             "never_smoked", "cessation_offer", "flu_vaccination", "asthma_exacerbation", "aecopd",
             "saba", "ocs", "antibiotic", "wheeze", "asthma_admission_gp", *(f"mrc_{g}" for g in range(1, 6)),
             *(r for r in ASTHMA_REGIMENS + COPD_REGIMENS if r not in ("saba_only", "ics_laba_lama"))}
    assert drawn <= items


def test_every_emitted_code_is_in_the_respiratory_code_list_meant_to_read_it():
    """The generator emits only codes the respiratory rules read: each code sits in the resp-*
    list its row names (the rules own those lists; absent lists are skipped, saying which)."""
    emitted = _emitted()
    lists = {name: _codes_of(name) for name in sorted({name for _, name in emitted})}
    absent = sorted(name for name, codes in lists.items() if codes is None)
    if len(absent) == len(lists):
        pytest.skip(f"none of the respiratory code lists is packaged yet: {absent}")
    missing = sorted((code, name) for code, name in emitted if lists[name] is not None and code not in lists[name])
    assert not missing, f"emitted codes missing from the list their row names: {missing}"
    if absent:
        pytest.skip(f"checked all but these absent lists: {absent}")


def test_every_respiratory_icd10_code_the_city_writes_is_in_the_any_respiratory_list():
    """Spells' J-chapter primary codes (concepts' and generic reasons) are matched by the rules'
    resp-respiratory-any.icd10 list (prefix match), so outcome, features and truth count alike."""
    params = load_params()
    written = {c for r in params.concepts for c in r["icd10_primary"].split("|") if c.startswith("J")}
    written |= {r["icd10"] for r in params.generic_diagnoses if r["icd10"].startswith("J")}
    prefixes = _codes_of("resp-respiratory-any.icd10")
    if prefixes is None:
        pytest.skip("resp-respiratory-any.icd10.csv is not packaged yet (issue 11 rules)")
    assert {"J189", "J440", "J459"} <= written
    assert all(any(code.startswith(p) for p in prefixes) for code in written), sorted(written)


def test_winter_peak_of_respiratory_dates():
    """Dec-Feb / Mar-May = 1.8 with the packaged amplitude (respiratory-and-packs §7.4), and every
    day stays inside its person's window."""
    rng = np.random.default_rng(11)
    lo = np.full(200_000, day_number(dt.date(2021, 4, 1)))
    hi = np.full(200_000, day_number(dt.date(2026, 3, 31)))
    hi[:1000] = lo[:1000] + 10  # short windows (eleven April days) stay inside too
    day = seasonal_days(rng, lo, hi, load_params().resp("season_amplitude"))
    assert ((day >= lo) & (day <= hi)).all()
    month = day[1000:].astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12 + 1
    ratio = np.isin(month, [12, 1, 2]).sum() / np.isin(month, [3, 4, 5]).sum()
    assert 1.7 <= ratio <= 1.9, ratio


def test_respiratory_targets_are_bands_with_a_basis():
    rows = targets()
    assert {"asthma_register_share", "asthma_ever_coded_share", "copd_register_share", "flu_uptake_65plus",
            "resp_emergency_admissions_per_1000", "resp_winter_to_spring_ratio"} <= set(rows)
    assert all(lo < hi and basis for lo, hi, basis in rows.values())
