"""Unit: packaged scoring data files are valid and match the manifest hashes.

Rule (npc_risk.manifest): every file in `data/risk/` has a `[files."<name>"]` entry with
description, source, version and sha256; the sha256 over the file bytes matches; a file that
differs from its manifest is never read.
"""

from __future__ import annotations

import shutil

import pytest

from npc_risk.admissions import emergency_admission_methods
from npc_risk.errors import CodelistError
from npc_risk.manifest import FILE_KEYS, check_manifest, packaged_folder, read_packaged
from npc_risk.risk.design import NEVER_FEATURES
from npc_risk.risk.resources import (
    driver_templates,
    points_table,
)


def test_manifest_hashes_match():
    entries, problems = check_manifest(packaged_folder("risk"))
    assert problems == []
    assert set(entries) == {"emergency_admission_methods.csv", "rules_points.csv",
                            "driver_templates.csv", "hfrs_weights.csv"}
    assert all(entry[key] for entry in entries.values() for key in FILE_KEYS)


def test_an_edited_file_is_reported_and_an_unlisted_one_too(tmp_path):
    folder = tmp_path / "risk"
    shutil.copytree(packaged_folder("risk"), folder)
    (folder / "rules_points.csv").write_text("feature,min,max,category,points\n")
    (folder / "extra.csv").write_text("a\n")
    _, problems = check_manifest(folder)
    assert [str(p).split(";")[0] for p in problems] == [
        "rules_points.csv: sha256 differs from manifest.toml",
        "extra.csv: file has no manifest entry"]


def test_packaged_files_are_read_only_through_the_manifest():
    assert read_packaged("risk", "hfrs_weights.csv").startswith("icd10_3char,points")
    with pytest.raises(CodelistError, match="not in the packaged data manifest"):
        read_packaged("risk", "README.md")


def test_files_parse():
    assert "2B" not in emergency_admission_methods() and "2C" not in emergency_admission_methods()
    table = points_table()
    assert set(table["feature"]) == {"emergency_admissions_12m", "ltc_count", "efi_category",
                                     "hfrs_category", "age"}
    templates = driver_templates()
    assert not set(templates["members"]) & NEVER_FEATURES
    # every points-table feature has wording
    members = " ".join(templates["members"])
    for feature in table["feature"].unique():
        assert feature in members or feature.split("_")[0] + "_*" in members


def test_opt_out_flags_are_never_predictors():
    """Regression: the national data opt-out column is `ndo_optout`; the list said `ndo`, so the
    flag reached the model as a predictor. Neither opt-out may ever predict admission."""
    assert {"type1_optout", "ndo_optout"} <= NEVER_FEATURES
