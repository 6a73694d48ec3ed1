"""Packaged risk content (`npc_risk/data/risk/*.csv`), read with importlib.resources.

Clinical content is data: the rules-score points table and the plain-words driver templates
(the emergency admission method codes are read by `npc_risk.admissions`). Packaged files are
read only after `manifest.check_manifest` has passed on the folder. Each loader validates its
file and raises `ConfigError` naming the file and the row problem; a custom file of the same
shape can be passed instead of the packaged one.

Trap: read CSVs with every column as string (`dtype=str, keep_default_na=False`). Admission method
`21` would otherwise become an integer and `2A` a string, and the `isin` filter would silently
drop half the codes.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from npc_risk.errors import ConfigError
from npc_risk.manifest import read_packaged

FOLDER = "risk"  # npc_risk/data/risk/


def read_text(name: str) -> str:
    """Text of a packaged data file under `npc_risk/data/risk/` (hash-checked)."""
    return read_packaged(FOLDER, name)


def read_csv(source: str | Path, *, required: tuple[str, ...]) -> pd.DataFrame:
    """Read a packaged file name or a path as all-string CSV and check its columns."""
    # A Path is a user's file; a str names a packaged file (never looked up in the working folder).
    text = source.read_text(encoding="utf-8") if isinstance(source, Path) else read_text(source)
    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ConfigError(f"{source}: missing column(s) {missing}; expected {list(required)}")
    return frame


def points_table(source: str | Path = "rules_points.csv") -> pd.DataFrame:
    """The rules-score points table, typed and checked (see `rules.rules_score` for the meaning)."""
    raw = read_csv(source, required=("feature", "min", "max", "category", "points"))
    table = pd.DataFrame({
        "feature": raw["feature"].str.strip(),
        "min": pd.to_numeric(raw["min"].replace("", None), errors="coerce"),
        "max": pd.to_numeric(raw["max"].replace("", None), errors="coerce"),
        "category": raw["category"].str.strip(),
        "points": pd.to_numeric(raw["points"], errors="coerce"),
    })
    numeric = table["category"] == ""
    problems = []
    if table["points"].isna().any() or (table["points"] < 0).any():
        problems.append("points must be whole numbers >= 0")
    if table.loc[numeric, "min"].isna().any():
        problems.append("numeric bands need a min (leave category empty)")
    if (table.loc[~numeric, ["min", "max"]].notna().any(axis=None)):
        problems.append("category rows must leave min and max empty")
    for feature, band in table[numeric].groupby("feature", sort=True):
        band = band.sort_values("min")
        upper = band["max"].fillna(float("inf")).to_numpy()
        lower = band["min"].to_numpy()
        if (upper < lower).any() or (lower[1:] <= upper[:-1]).any():
            problems.append(f"bands of {feature} overlap or run backwards")
    if table[~numeric].duplicated(["feature", "category"]).any():
        problems.append("a category is listed twice")
    if problems:
        raise ConfigError(f"{source}: " + "; ".join(problems))
    return table.reset_index(drop=True)


def driver_templates(source: str | Path = "driver_templates.csv") -> pd.DataFrame:
    """Driver groups and their plain-words templates (see `drivers`)."""
    table = read_csv(source, required=("group", "members", "count_column", "template", "template_one"))
    if table["group"].duplicated().any() or (table["template"] == "").any():
        raise ConfigError(f"{source}: each group must appear once and have a template")
    return table
