"""Code maps kept beside the code lists: `maps/<name>.csv` with `maps/manifest.toml` (the
schema and hash check of `npc_risk.manifest`).

One map today, `dmd-ingredients`: dm+d product code -> active ingredient (`code,ingredient,term`),
so polypharmacy counts distinct medicines at ingredient level (clinical-definitions.md §1.3:
a brand or strength switch must not add a medicine). Built by the project from the terms of
every dm+d code in the packaged lists and the generator: the ingredient is the term up to its
first strength/form word ("Sertraline 50mg tablets" -> sertraline; a "VMP previous to" entry
takes its successor's term), and brand names are mapped by a reviewed table ("Ventolin" ->
salbutamol). Brands it does not know stay as their own medicine; codes absent from the map
count as their own medicine too (the feature report counts them). Review before clinical use.

A user's code-list folder may omit `maps/`: polypharmacy then counts distinct dm+d codes.
"""

from __future__ import annotations

import csv
from pathlib import Path

from npc_risk.manifest import Problem, check_manifest

MAPS_DIR = "maps"
INGREDIENTS = "dmd-ingredients"


def check_maps(folder: Path) -> list[Problem]:
    """Manifest (keys, hash, files without an entry), header and duplicate checks for every map;
    none when the folder has no `maps/`."""
    maps = Path(folder) / MAPS_DIR
    if not maps.is_dir():
        return []
    entries, problems = check_manifest(maps, prefix=f"{MAPS_DIR}/")
    for name in entries:
        rows = _rows(maps / name)
        if not rows or set(rows[0]) < {"code", "ingredient"}:
            problems.append(Problem(f"{MAPS_DIR}/{name}", "needs a header with code and ingredient"))
        elif len({r["code"] for r in rows}) != len(rows):
            problems.append(Problem(f"{MAPS_DIR}/{name}", "duplicate codes; keep one row per code"))
    return problems


def load_ingredients(folder: Path) -> dict[str, str]:
    """{dm+d code: ingredient} from `maps/dmd-ingredients.csv`, or {} when the folder has none."""
    path = folder / MAPS_DIR / f"{INGREDIENTS}.csv"
    if not path.is_file():
        return {}
    return {r["code"]: r["ingredient"] for r in _rows(path) if r.get("ingredient")}


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return [{k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(fh)]
