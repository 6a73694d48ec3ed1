"""Importers: NHS primary-care domain (PCD) refset clusters and OpenCodelists CSV downloads.

Each importer reads a downloaded CSV, keeps the codes of one list, validates them for the coding
system, writes `<name>.csv` (`code,term`) into the folder and records the manifest entry (with the
new sha256). Invalid codes are a `CodelistError` naming the file and row count: importing a list
that silently lost rows would change who is counted.

Column conventions handled:
* PCD refset cluster file: `Cluster_ID, Cluster_description, SNOMED_code,
  SNOMED_code_description, PCD_Refset_ID` (one file holds many clusters; pick one with
  `cluster_id`).
* OpenCodelists download: `code,term`, or a system-specific code column (`snomedcode`,
  `dmd_id`, `ctv3_id`, `icd10_code`, ...) with `term`/`dmd_name`/`description`; the spellings
  are `downloads.CODE_COLUMNS` / `TERM_COLUMNS`, shared with `codelists build`.
"""

from __future__ import annotations

import csv
from pathlib import Path

from npc_risk.codelists.downloads import CODE_COLUMNS, TERM_COLUMNS
from npc_risk.codelists.formats import code_problem
from npc_risk.codelists.store import refresh_manifest, write_codelist
from npc_risk.codes.icd10 import normalise_icd10
from npc_risk.errors import CodelistError

_CODE_COLUMNS = CODE_COLUMNS  # one list of spellings for the importers and the build
_TERM_COLUMNS = TERM_COLUMNS


def _read(path: Path) -> list[dict[str, str]]:
    with Path(path).open(encoding="utf-8-sig", newline="") as fh:
        return [{(k or "").strip().lower(): (v or "").strip() for k, v in r.items()}
                for r in csv.DictReader(fh)]


def _save(rows: list[tuple[str, str]], *, src: Path, folder: Path, name: str, concept: str,
          system: str, source: str, version: str | None, match: str) -> Path:
    if not rows:
        raise CodelistError(f"{src}: no codes found for list {name!r}; check the cluster id / columns")
    bad = [c for c, _ in rows if code_problem(system, c)]
    if bad:
        raise CodelistError(f"{src}: {len(bad)} of {len(rows)} rows are not valid {system} codes "
                            f"({code_problem(system, bad[0])}); check the coding system")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = write_codelist(folder, name, rows)
    refresh_manifest(folder, {name: {"concept": concept, "system": system, "source": source,
                                     "version": version or "unversioned", "match": match}})
    return path


def import_pcd_refset(path: Path, folder: Path, *, cluster_id: str, name: str, concept: str,
                      version: str | None = None) -> Path:
    """Import one cluster of an NHS PCD refset file as a SNOMED CT list `name`."""
    rows = _read(path)
    if rows and "snomed_code" not in rows[0]:
        raise CodelistError(f"{path}: not a PCD refset file (no SNOMED_code column)")
    picked = [(r["snomed_code"], r.get("snomed_code_description", "")) for r in rows
              if r.get("cluster_id", "").upper() == cluster_id.upper()]
    refset = next((r.get("pcd_refset_id", "") for r in rows
                   if r.get("cluster_id", "").upper() == cluster_id.upper()), "")
    return _save(picked, src=Path(path), folder=folder, name=name, concept=concept,
                 system="snomedct", source=f"NHS PCD refset cluster {cluster_id} ({refset})",
                 version=version, match="exact")


def import_opencodelists(path: Path, folder: Path, *, name: str, concept: str, system: str,
                         source: str, version: str | None = None, match: str | None = None) -> Path:
    """Import an OpenCodelists CSV download as list `name` of `system` (snomedct/icd10/dmd).

    ICD-10 codes are accepted dotted or X-padded and stored canonical (`I10X` -> `I10`,
    `J44.1` -> `J441`), with match rule `prefix` by default.
    """
    rows = _read(path)
    if not rows:
        raise CodelistError(f"{path}: empty file")
    code_col = next((c for c in _CODE_COLUMNS if c in rows[0]), None)
    if code_col is None:
        raise CodelistError(f"{path}: no code column (expected one of {', '.join(_CODE_COLUMNS)})")
    term_col = next((c for c in _TERM_COLUMNS if c in rows[0]), None)
    picked = []
    for r in rows:
        code = r[code_col]
        if system == "icd10":  # the one ICD-10 normaliser; an invalid code stays as given, to be reported
            code = normalise_icd10(code) or code
        if code:
            picked.append((code, r.get(term_col, "") if term_col else ""))
    return _save(picked, src=Path(path), folder=folder, name=name, concept=concept, system=system,
                 source=source, version=version,
                 match=match or ("prefix" if system == "icd10" else "exact"))
