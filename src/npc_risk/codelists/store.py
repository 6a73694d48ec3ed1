"""Read, check and write a code-list folder: `manifest.toml`, `<name>.csv` lists, `catalogues/`.

Folder layout (the packaged default is `npc_risk/data/codelists/`)::

    manifest.toml               one [files."<name>.csv"] table per list: the common schema of
                                npc_risk.manifest (description, source, version, sha256)
                                plus `system` and `match`
    <concept>.<system>.csv      `code,term`, one code per row, header required
    catalogues/<preset>.csv     condition catalogue presets (cambridge, qof, efi, flags, ...)
    catalogues/value_rules.csv  numeric rules (clinical-definitions.md §1.5)

Contract: `check_codelists` never raises for content problems, it returns them all;
`load_codelists` raises `CodelistError` with one line (file, row count, fix) when any exist.
Hashes are sha256 over the file bytes, so re-saving a list in a spreadsheet (CRLF, BOM) is caught;
the manifest check (keys, hashes, files without an entry) is `manifest.check_manifest`, shared
with the maps and the packaged scoring data. A list's `description` is its `Codelist.concept`.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path

from npc_risk.codelists.formats import CODING_SYSTEMS, code_problem
from npc_risk.codelists.maps import check_maps, load_ingredients
from npc_risk.codelists.model import (
    KINDS,
    MATCH_RULES,
    VALUE_AGGREGATES,
    Codelist,
    CodelistSet,
    Condition,
    Problem,
    ValueRule,
)
from npc_risk.errors import CodelistError
from npc_risk.manifest import FILE_KEYS, check_manifest, packaged_folder, read_manifest, refresh_hashes
from npc_risk.manifest import write_manifest as _write_manifest

CATALOGUE_DIR = "catalogues"
VALUE_RULES = "value_rules.csv"
LIST_KEYS = ("system", "match")  # a code list's manifest keys beyond manifest.FILE_KEYS


def default_folder() -> Path:
    """The packaged code-list folder (read through importlib.resources)."""
    return packaged_folder("codelists")


def _list_name(file_name: str) -> str:
    return file_name.removesuffix(".csv")


def _read_rows(path: Path) -> tuple[list[tuple[str, str]], str | None]:
    text = path.read_text(encoding="utf-8-sig")
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None or [h.strip().lower() for h in header[:2]] != ["code", "term"]:
        return [], "header must be `code,term`"
    rows = [(r[0].strip(), (r[1] if len(r) > 1 else "").strip()) for r in reader if r and any(r)]
    return rows, None


def check_codelists(folder: Path | None = None) -> list[Problem]:
    """Every problem in a code-list folder: hashes, formats, duplicates, empties, agreement.

    Checks: `manifest.check_manifest` (manifest parses; each entry has the required keys; its
    file exists and its sha256 matches; every CSV in the folder has an entry); then a known coding
    system and match rule; header is `code,term`; list is not empty; every code is valid for its
    system (formats.code_problem); no code twice in one list; catalogues refer only to known
    lists and have valid rules; the maps (`maps.check_maps`).
    """
    folder = Path(folder) if folder is not None else default_folder()
    entries, problems = check_manifest(folder, extra_keys=LIST_KEYS)
    for fname, meta in entries.items():
        if meta["system"] not in CODING_SYSTEMS:
            problems.append(Problem(fname, f"unknown system {meta['system']!r} in manifest"))
            continue
        if meta["match"] not in MATCH_RULES:
            problems.append(Problem(fname, f"match must be exact or prefix, not {meta['match']!r}"))
        rows, err = _read_rows(folder / fname)
        if err:
            problems.append(Problem(fname, err))
            continue
        if not rows:
            problems.append(Problem(fname, "list is empty; add codes or remove the list"))
        bad = [c for c, _ in rows if code_problem(meta["system"], c)]
        if bad:
            why = code_problem(meta["system"], bad[0])
            problems.append(Problem(fname, f"invalid {meta['system']} codes, first at row "
                                    f"{[c for c, _ in rows].index(bad[0]) + 2}: {why}", len(bad)))
        dups = [c for c, n in Counter(c for c, _ in rows).items() if n > 1]
        if dups:
            problems.append(Problem(fname, "duplicate codes; keep one row per code", len(dups)))
    problems += _check_catalogues(folder, {_list_name(f) for f in read_manifest(folder)[0]})
    problems += check_maps(folder)
    return problems


def _catalogue_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return [{k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(fh)]


def _names(cell: str) -> tuple[str, ...]:
    return tuple(cell.split()) if cell else ()


def _condition(row: dict[str, str]) -> Condition:
    return Condition(
        key=row["key"], label=row["label"], kind=row["kind"],
        dx_lists=_names(row.get("dx_lists", "")),
        dx_window_days=int(row["dx_window_days"]) if row.get("dx_window_days") else None,
        dx_window_basis=row.get("dx_window_basis") or "any",
        rx_lists=_names(row.get("rx_lists", "")),
        rx_window_days=int(row.get("rx_window_days") or 365),
        rx_min_count=int(row.get("rx_min_count") or 1),
        combine=row.get("combine") or "or",
        cancel_lists=_names(row.get("cancel_lists", "")),
        age_floor=int(row.get("age_floor") or 0),
        unless_lists=_names(row.get("unless_lists", "")),
        any_of=_names(row.get("any_of", "")),
        notes=row.get("notes", ""),
    )


def _value_rules(folder: Path) -> tuple[ValueRule, ...]:
    path = folder / CATALOGUE_DIR / VALUE_RULES
    if not path.is_file():
        return ()
    num = lambda s: float(s) if s else None
    return tuple(
        ValueRule(catalogue=r["catalogue"], key=r["key"], list_name=r["list"], sex=r.get("sex") or None,
                  gt=num(r.get("gt")), ge=num(r.get("ge")), lt=num(r.get("lt")), le=num(r.get("le")),
                  aggregate=r.get("aggregate") or "any", description=r.get("description", ""))
        for r in _catalogue_rows(path)
    )


def _check_value_rules(rel: str, rules: tuple[ValueRule, ...], known: set[str],
                       conditions: dict[str, set[str]]) -> list[Problem]:
    problems = []
    unknown = [r for r in rules if r.list_name not in known]
    if unknown:
        problems.append(Problem(rel, f"refers to unknown list {unknown[0].list_name!r}", len(unknown)))
    bad = [r for r in rules if r.aggregate not in VALUE_AGGREGATES]
    if bad:
        problems.append(Problem(rel, f"aggregate must be one of {', '.join(VALUE_AGGREGATES)}", len(bad)))
    missing = [r for r in rules if r.key not in conditions.get(r.catalogue, set())]
    if missing:
        problems.append(Problem(rel, f"names no condition: {missing[0].catalogue}/{missing[0].key} "
                                     "(catalogue = a catalogues/*.csv file stem, key = its row key)",
                                len(missing)))
    best = Counter((r.catalogue, r.key) for r in rules if r.aggregate == "best_of_last_2")
    if any(n > 1 for n in best.values()):
        problems.append(Problem(rel, "a best_of_last_2 rule must be the only row of its condition"))
    return problems


def _condition_keys(cat_dir: Path) -> dict[str, set[str]]:
    """{catalogue stem: its condition keys}, skipping files that do not parse (reported apart)."""
    out = {}
    for path in sorted(cat_dir.glob("*.csv")):
        if path.name != VALUE_RULES:
            try:
                out[path.stem] = {r["key"] for r in _catalogue_rows(path)}
            except (KeyError, ValueError):
                continue
    return out


def _check_catalogues(folder: Path, known: set[str]) -> list[Problem]:
    problems: list[Problem] = []
    cat_dir = folder / CATALOGUE_DIR
    for path in sorted(cat_dir.glob("*.csv")) if cat_dir.is_dir() else []:
        rel = f"{CATALOGUE_DIR}/{path.name}"
        if path.name == VALUE_RULES:
            try:
                rules = _value_rules(folder)
            except (KeyError, ValueError) as exc:
                problems.append(Problem(rel, f"unreadable value rule ({exc}); columns "
                                             "catalogue,key,list,sex,gt,ge,lt,le,aggregate,description"))
                continue
            problems += _check_value_rules(rel, rules, known, _condition_keys(cat_dir))
            continue
        try:
            conds = [_condition(r) for r in _catalogue_rows(path)]
        except (KeyError, ValueError) as exc:
            problems.append(Problem(rel, f"unreadable row ({exc}); see catalogues/README.md"))
            continue
        keys = Counter(c.key for c in conds)
        if [k for k, n in keys.items() if n > 1]:
            problems.append(Problem(rel, "duplicate condition keys", sum(n > 1 for n in keys.values())))
        parts = {c.key for c in conds if c.kind == "part"}
        for c in conds:
            used = c.dx_lists + c.rx_lists + c.cancel_lists + c.unless_lists
            missing = [n for n in used if n not in known]
            if missing:
                problems.append(Problem(rel, f"condition {c.key!r} uses unknown list {missing[0]!r}"))
            if c.kind not in KINDS or c.combine not in ("or", "and") or c.dx_window_basis not in ("any", "first"):
                problems.append(Problem(rel, f"condition {c.key!r}: bad kind/combine/dx_window_basis"))
            if not c.key.isidentifier() or c.key != c.key.lower():
                problems.append(Problem(rel, f"condition key {c.key!r} must be a lower-case identifier"))
            if set(c.any_of) - parts or (c.kind == "part" and c.any_of):
                problems.append(Problem(rel, f"condition {c.key!r}: any_of must name rows of kind "
                                             "'part' in the same catalogue (parts do not nest)"))
    return problems


def load_codelists(folder: Path | None = None) -> CodelistSet:
    """Load and verify every list, catalogue preset and value rule in `folder`.

    `folder=None` loads the packaged default. Raises `CodelistError` (one line: file, row count,
    fix; full detail via `check_codelists`) when anything is wrong: a pipeline must never run on a
    list whose content differs from its manifest.
    """
    folder = Path(folder) if folder is not None else default_folder()
    if not folder.is_dir():
        raise CodelistError(f"code-list folder {folder} does not exist; fix [features] codelists")
    problems = check_codelists(folder)
    if problems:
        more = f" (+{len(problems) - 1} more; run `npc-risk codelists check`)" if len(problems) > 1 else ""
        raise CodelistError(f"code lists in {folder}: {problems[0]}{more}")
    entries, _ = read_manifest(folder)
    lists = {}
    for fname, meta in entries.items():
        name = _list_name(fname)
        rows, _ = _read_rows(folder / fname)
        lists[name] = Codelist(name=name, codes=tuple(rows), concept=str(meta["description"]),
                               **{k: str(meta[k]) for k in ("system", "source", "version", "match",
                                                            "sha256")})
    catalogues = {
        p.stem: tuple(_condition(r) for r in _catalogue_rows(p))
        for p in sorted((folder / CATALOGUE_DIR).glob("*.csv")) if p.name != VALUE_RULES
    }
    return CodelistSet(folder=str(folder), lists=lists, catalogues=catalogues,
                       value_rules=_value_rules(folder), ingredients=load_ingredients(folder))


def list_codelists(folder: Path | None = None) -> list[dict[str, object]]:
    """Rows for `npc-risk codelists list`: one dict per list (name, concept, system, match,
    codes, source, version, used_by). Raises CodelistError like `load_codelists`."""
    cs = load_codelists(folder)
    used: dict[str, list[str]] = {}
    for preset, conds in cs.catalogues.items():
        for c in conds:
            for n in c.dx_lists + c.rx_lists + c.cancel_lists:
                used.setdefault(n, []).append(f"{preset}:{c.key}")
    return [
        {"name": cl.name, "concept": cl.concept, "system": cl.system, "match": cl.match,
         "codes": len(cl.codes), "source": cl.source, "version": cl.version,
         "used_by": ";".join(sorted(set(used.get(cl.name, []))))}
        for cl in sorted(cs.lists.values(), key=lambda c: c.name)
    ]


def write_manifest(folder: Path, entries: dict[str, dict]) -> None:
    """Write the code-list `manifest.toml` from {file name: entry} (sorted, deterministic)."""
    keys = (FILE_KEYS[0], *LIST_KEYS, *FILE_KEYS[1:])
    _write_manifest(folder, entries, keys=keys, header=[
        "Code-list manifest: one entry per <concept>.<system>.csv (npc_risk.codelists.store).",
        "After a reviewed edit record the new hashes with "
        "npc_risk.codelists.refresh_manifest(folder)."])


def refresh_manifest(folder: Path, updates: dict[str, dict] | None = None) -> None:
    """Merge `updates` ({list name: partial entry}) into the manifest and recompute every sha256.

    A partial entry may give the list's concept as `concept` or `description`.
    """
    folder = Path(folder)
    entries, _ = read_manifest(folder) if (folder / "manifest.toml").is_file() else ({}, [])
    for name, meta in (updates or {}).items():
        meta = dict(meta)
        if "concept" in meta:
            meta["description"] = meta.pop("concept")
        entries.setdefault(f"{name}.csv", {}).update(meta)
    refresh_hashes(folder, entries)
    write_manifest(folder, entries)


def write_codelist(folder: Path, name: str, rows: list[tuple[str, str]]) -> Path:
    """Write `<name>.csv` (`code,term`, LF line ends, sorted by code, duplicates dropped)."""
    seen: dict[str, str] = {}
    for code, term in rows:
        seen.setdefault(code.strip(), term.strip())
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["code", "term"])
    for code in sorted(seen):
        w.writerow([code, seen[code]])
    path = Path(folder) / f"{name}.csv"
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path
