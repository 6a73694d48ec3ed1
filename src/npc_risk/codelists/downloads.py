"""Read a folder of downloaded public code lists: OpenCodelists CSV exports and NHS PCD refset
release files, each code kept as the string the file spells.

Contract: `scan_downloads(folder)` indexes every `*.csv`, `*.tsv` and `*.txt` file under the
folder (recursively) by file stem and, for PCD release files, by cluster id; `read_download`
returns a file's (code, term) rows as strings. `find_download` picks the file for one public
list (see its docstring for the names it accepts). Nothing here validates codes against a coding
system: `normalise_code` does that, with the one normaliser per coding system
(`codes.icd10.normalise_icd10`, `formats.code_problem` for SNOMED CT and dm+d).

Column spellings seen in public exports (matched case-insensitively; the first present wins):
`code,term` (OpenCodelists), `dmd_id,dmd_name` (OpenSAFELY dm+d), `snomedctconceptid,descr`
(CPRD Aurum), `ICD10code,ICD10codeDescr` (CALIBER), `id,name` (OpenCodelists older exports), and
the PCD release file's `Cluster_ID, SNOMED_code, SNOMED_code_description`. GM SDE sets are
tab-separated `.txt` files; the delimiter is taken from the header line.

Traps:
* Codes are never parsed as numbers: an 18-digit dm+d id does not survive a float, and a list
  that went through a spreadsheet holds `1.23457E+15`, `0123...` or `123.0`. Such a file is
  refused as a whole (`spreadsheet_damage`), because the codes it lost cannot be recovered: a
  public ICB list lost 326 of 430 codes that way (issue 9).
* One folder may hold two releases of one list; `find_download` refuses to guess between them.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from npc_risk.codelists.formats import code_problem
from npc_risk.codes.icd10 import normalise_icd10
from npc_risk.errors import CodelistError

# Order matters: the first column present is the code (the importers use the same tuples).
CODE_COLUMNS = ("code", "snomedcode", "snomed_code", "snomedct_code", "dmd_id", "dmd_code",
                "icd10_code", "icd_code", "ctv3_id", "ctv3_code", "snomedctconceptid",
                "icd10code", "snomedct_id", "snomed_id", "icd10", "icd code", "id")
TERM_COLUMNS = ("term", "description", "dmd_name", "snomed_code_description", "name", "descr",
                "icd10codedescr")
SUFFIXES = (".csv", ".tsv", ".txt")
# OpenCodelists' "Download CSV" names end in the version: a date tag, an 8-hex hash or vN.
_VERSION = re.compile(r"-(\d{8}|[0-9a-f]{8}|v\d[\d.]*)$")
# What a spreadsheet does to an identifier: scientific notation, a decimal point, a leading zero.
_DAMAGE = re.compile(r"^(\d+(\.\d*)?[eE][+-]?\d+|\d+\.\d*|0\d+)$")


@dataclass(frozen=True)
class Download:
    """One downloaded list: where it came from and its rows as strings."""

    path: Path
    rows: tuple[tuple[str, str], ...]  # (code as spelled, term)
    version: str  # from the file name (OpenCodelists names end in it) or "unversioned"


@dataclass(frozen=True)
class DownloadIndex:
    folder: Path
    by_stem: dict[str, tuple[Path, ...]]  # lower-case stem -> files
    clusters: dict[str, tuple[Path, tuple[tuple[str, str], ...]]]  # PCD cluster id -> (file, rows)


def _table(path: Path) -> list[dict[str, str]]:
    text = path.read_text(encoding="utf-8-sig")
    first = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first and "," not in first else ","
    return [{(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
            for row in csv.DictReader(io.StringIO(text), delimiter=delimiter)]


def _pcd_clusters(path: Path) -> dict[str, tuple[Path, tuple[tuple[str, str], ...]]]:
    """{cluster id: (file, rows)} when `path` is a PCD refset release file, else {}."""
    with path.open(encoding="utf-8-sig") as fh:
        header = fh.readline().lower()
    if "cluster_id" not in header or "snomed_code" not in header:
        return {}
    out: dict[str, list[tuple[str, str]]] = {}
    for r in _table(path):
        out.setdefault(r.get("cluster_id", "").upper(), []).append(
            (r.get("snomed_code", ""), r.get("snomed_code_description", "")))
    return {k: (path, tuple(v)) for k, v in out.items() if k}


def scan_downloads(folder: Path) -> DownloadIndex:
    """Index a downloads folder. Raises CodelistError when it does not exist."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CodelistError(f"downloads folder {folder} does not exist; pass --from with the folder "
                            "holding your OpenCodelists / PCD refset downloads")
    by_stem: dict[str, list[Path]] = {}
    clusters: dict[str, tuple[Path, tuple[tuple[str, str], ...]]] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES):
        by_stem.setdefault(path.stem.lower(), []).append(path)
        clusters.update(_pcd_clusters(path))
    return DownloadIndex(folder, {k: tuple(v) for k, v in by_stem.items()}, clusters)


def read_download(path: Path, version: str = "unversioned") -> Download:
    """The (code, term) rows of one list file, codes as strings. Raises CodelistError when the
    file has no recognisable code column."""
    rows = _table(path)
    if not rows:
        raise CodelistError(f"{path.name}: no rows; download the list again")
    code_col = next((c for c in CODE_COLUMNS if c in rows[0]), None)
    if code_col is None:
        raise CodelistError(f"{path.name}: no code column (expected one of "
                            f"{', '.join(CODE_COLUMNS)})")
    term_col = next((c for c in TERM_COLUMNS if c in rows[0]), None)
    picked = tuple((r[code_col], r.get(term_col, "") if term_col else "") for r in rows
                   if r.get(code_col))
    return Download(path=path, rows=picked, version=version)


def opencodelists_stems(list_id: str) -> tuple[str, str]:
    """(the stem OpenSAFELY's `codelists pull` writes, the stem OpenCodelists' "Download CSV"
    gives before its `-<tag or hash>`) for list `org/slug` or `user/name/slug`.

    `org/slug` -> (`org-slug`, `org-slug`); `user/name/slug` -> (`user-name-slug`,
    `name-slug`): OpenCodelists names a download `{user}-{slug}-{tag_or_hash}` or
    `{organisation}-{slug}-{tag_or_hash}` (opencodelists codelists/models.py,
    `CodelistVersion.download_filename`).
    """
    parts = list_id.strip("/").lower().split("/")
    return "-".join(parts), "-".join(parts[1:] if parts[0] == "user" else parts)


def find_download(index: DownloadIndex, *, file_stem: str, opencodelists_id: str,
                  pcd_cluster: str) -> Download | None:
    """The download of one public list, or None when the folder has none.

    Accepted, in this order: `<file_stem>.csv` (the project's name, e.g.
    `pcd-ast_cod.snomedct.csv`); `<org>-<slug>.csv` (OpenSAFELY `codelists pull`, e.g.
    `nhsd-primary-care-domain-refsets-ast_cod.csv`); `<org>-<slug>-<version>.csv` (OpenCodelists
    "Download CSV", e.g. `...-ast_cod-20250627.csv` or, for a user's list,
    `markdrussell-asthma-secondary-care-2a250f1b.csv`, whose version is recorded); the cluster in a
    PCD refset release file. Two matching files are a CodelistError (which release is meant?).
    """
    found: list[tuple[Path, str]] = []
    if file_stem:
        found += [(p, "unversioned") for p in index.by_stem.get(file_stem.lower(), ())]
    if opencodelists_id and not found:
        pulled, downloaded = opencodelists_stems(opencodelists_id)
        found += [(p, "unversioned") for p in index.by_stem.get(pulled, ())]
        for other, paths in index.by_stem.items():
            m = _VERSION.search(other)
            if m and other[:m.start()] in (pulled, downloaded):
                found += [(p, m.group(1)) for p in paths]
    if len(found) > 1:
        names = ", ".join(sorted(str(p.relative_to(index.folder)) for p, _ in found))
        raise CodelistError(f"{len(found)} downloads match list {opencodelists_id or file_stem} "
                            f"({names}); keep one release in {index.folder}")
    if found:
        return read_download(*found[0])
    if pcd_cluster and pcd_cluster.upper() in index.clusters:
        path, rows = index.clusters[pcd_cluster.upper()]
        m = re.search(r"(\d{8})", path.stem)
        return Download(path=path, rows=rows, version=m.group(1) if m else "unversioned")
    return None


def spreadsheet_damage(system: str, raw: str) -> bool:
    """True when a SNOMED CT / dm+d code looks converted by a spreadsheet (module trap)."""
    return system in ("snomedct", "dmd") and bool(_DAMAGE.match(raw.strip()))


def normalise_code(system: str, raw: str) -> tuple[str, str | None]:
    """(canonical code, None) or (raw code, why it is invalid) for one code of `system`.

    ICD-10 goes through the one ICD-10 normaliser (`I10X`, `I10.X` -> `I10`; `J44.1` -> `J441`);
    SNOMED CT and dm+d are kept exactly as spelled and checked (digits, partition, Verhoeff).
    """
    code = raw.strip()
    if system == "icd10":
        canonical = normalise_icd10(code)
        if canonical is None:
            return code, "not an ICD-10 code"
        code = canonical
    return code, code_problem(system, code)
