"""Code maps kept beside the code lists: `maps/<name>.csv` with `maps/manifest.toml`.

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
import hashlib
import tomllib
from pathlib import Path

from npc_risk.codelists.model import Problem

MAPS_DIR = "maps"
INGREDIENTS = "dmd-ingredients"
_KEYS = {"source", "version", "sha256"}


def _manifest(folder: Path) -> tuple[dict, list[Problem]]:
    path = folder / MAPS_DIR / "manifest.toml"
    if not path.is_file():
        return {}, []
    try:
        return dict(tomllib.loads(path.read_text(encoding="utf-8")).get("maps", {})), []
    except tomllib.TOMLDecodeError as exc:
        return {}, [Problem(f"{MAPS_DIR}/manifest.toml", f"not valid TOML ({exc}); fix the syntax")]


def check_maps(folder: Path) -> list[Problem]:
    """Hash, header and duplicate checks for every map in the manifest."""
    entries, problems = _manifest(folder)
    for name, meta in sorted(entries.items()):
        rel = f"{MAPS_DIR}/{name}.csv"
        path = folder / MAPS_DIR / f"{name}.csv"
        if _KEYS - set(meta):
            problems.append(Problem(f"{MAPS_DIR}/manifest.toml", f"[maps.{name!r}] lacks "
                                    f"{', '.join(sorted(_KEYS - set(meta)))}"))
        elif not path.is_file():
            problems.append(Problem(rel, "listed in the maps manifest but missing"))
        elif hashlib.sha256(path.read_bytes()).hexdigest() != meta["sha256"]:
            problems.append(Problem(rel, "sha256 differs from maps/manifest.toml; review the change, "
                                    "then record the new hash"))
        else:
            rows = _rows(path)
            if not rows or set(rows[0]) < {"code", "ingredient"}:
                problems.append(Problem(rel, "needs a header with code and ingredient"))
            elif len({r["code"] for r in rows}) != len(rows):
                problems.append(Problem(rel, "duplicate codes; keep one row per code"))
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
