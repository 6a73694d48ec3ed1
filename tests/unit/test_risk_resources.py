"""Unit: packaged risk data files are valid and match the manifest hashes."""

from __future__ import annotations

import tomllib

from npc_risk.risk.config import NEVER_FEATURES
from npc_risk.risk.resources import (
    driver_templates,
    emergency_admission_methods,
    points_table,
    read_text,
    sha256,
)


def test_manifest_hashes_match():
    manifest = tomllib.loads(read_text("manifest.toml"))["files"]
    assert set(manifest) == {"emergency_admission_methods.csv", "rules_points.csv",
                             "driver_templates.csv"}
    for name, entry in manifest.items():
        assert sha256(name) == entry["sha256"], f"{name} changed: update manifest.toml"


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
