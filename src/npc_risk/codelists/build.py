"""Build a code-list folder from the public lists analysts download (issue 9).

    build_codelists(downloads, output, *, allow_missing=False) -> BuildResult

The mapping from the project's lists to the public lists is data:
`npc_risk/data/codelist_sources/mapping.csv` (hash-checked by its manifest), one row per
(project list, public list): `list` (e.g. `ltc-asthma.snomedct`), `system`, `file_stem` (the
download's name, e.g. `pcd-ast_cod.snomedct`), `opencodelists_id`, `pcd_cluster`, `required`,
`publisher`, `download` (where a list that is not on OpenCodelists is published). A list with
several rows is the union of those public lists (stroke and TIA = STRK_COD + TIA_COD); a row
with no `file_stem` says no public list is mapped and the packaged list is kept.

The built folder has the packaged folder's file names, catalogues and maps, so `[features]
codelists = "<output>"` works with every preset; its manifest records per list the source
(public list ids, the download's file name and sha256), the release (`version`), the match rule
(the packaged list's: the rules the project adds stay as they are) and the sha256. It is written
to a hidden sibling folder, checked like `npc-risk codelists check`, then renamed into place.

Decisions and traps:
* A list built from public lists holds exactly their codes, not the union with the packaged
  list. The public lists are the reference (NHS England re-releases the PCD clusters twice a
  year); 93 % of the packaged codes are in them (issue 9), and a union would keep retired or
  local codes that no release vouches for, while the manifest would claim the release as the
  source. The codes dropped are counted (`packaged_only`) so a reviewer can take any of them
  to the publisher instead.
* A list is built only when every public list mapped to it is in the downloads; a partial union
  (STRK_COD without TIA_COD) would silently narrow the condition. Otherwise the packaged list is
  kept: an error (exit 6) when a missing list is `required` (the NHS England lists), unless
  `allow_missing`, and said in the manifest's source either way.
* ICD-10 lists keep the packaged `prefix` rule, so a 3-character parent whose 4-character codes
  the public list names is dropped (`enumerated_parents`): as a prefix it would add back the
  codes the list leaves out (N18 in a CKD stage 3-5 list).
* Invalid codes in a download (check digit, partition, non-ICD-10 form) are dropped and
  counted; a download damaged by a spreadsheet is refused as a whole (`downloads` module).
* The dm+d ingredient map (`maps/`) is copied as it is: dm+d codes new in a public list are
  absent from it and polypharmacy counts each as its own medicine.
"""

from __future__ import annotations

import csv
import io
import shutil
from dataclasses import dataclass
from pathlib import Path

from npc_risk.codelists.downloads import (
    DownloadIndex,
    find_download,
    normalise_code,
    scan_downloads,
    spreadsheet_damage,
)
from npc_risk.codelists.store import (
    CATALOGUE_DIR,
    check_codelists,
    default_folder,
    load_codelists,
    write_codelist,
    write_manifest,
)
from npc_risk.errors import CodelistError, OutputError
from npc_risk.hashing import file_sha256
from npc_risk.manifest import read_manifest, read_packaged

MAPPING = ("codelist_sources", "mapping.csv")
OPENCODELISTS = "https://www.opencodelists.org/codelist/{id}/"


@dataclass(frozen=True)
class PublicList:
    """One row of the mapping: a public list that defines (part of) a project list."""

    list: str
    system: str
    file_stem: str
    opencodelists_id: str
    pcd_cluster: str
    required: bool
    publisher: str
    download: str

    @property
    def label(self) -> str:
        """The list's public name: the OpenCodelists id, else the download stem."""
        return self.opencodelists_id or self.file_stem

    @property
    def where(self) -> str:
        """Where to download it (for error messages)."""
        if self.opencodelists_id:
            extra = (f" or the {self.pcd_cluster} cluster of the NHS PCD refset release (TRUD)"
                     if self.pcd_cluster else "")
            return OPENCODELISTS.format(id=self.opencodelists_id) + extra
        return self.download


@dataclass(frozen=True)
class ListBuild:
    """What the build did with one project list (counts only)."""

    name: str
    system: str
    status: str  # public | packaged: not mapped | packaged: not downloaded | packaged: allowed missing
    sources: str  # public list ids used, or missing
    public_codes: int  # distinct valid codes in the public lists (0 when not built from them)
    invalid_codes: int  # codes of the downloads that fail the coding system's check (dropped)
    built_codes: int
    packaged_codes: int
    packaged_only: int  # packaged codes absent from the public lists (not carried over)


@dataclass(frozen=True)
class BuildResult:
    output: Path
    lists: tuple[ListBuild, ...]
    concepts: tuple[tuple[str, str], ...]  # (catalogue:key, list name) for every list a concept uses


def load_mapping(text: str | None = None) -> dict[str, tuple[PublicList, ...]]:
    """{project list name: its public lists} from the packaged mapping (or `text`)."""
    text = read_packaged(*MAPPING) if text is None else text
    out: dict[str, list[PublicList]] = {}
    for r in csv.DictReader(io.StringIO(text)):
        row = PublicList(**{k: (v or "").strip() for k, v in r.items() if k != "required"},
                         required=r["required"].strip() == "yes")
        out.setdefault(row.list, [])
        if row.file_stem:
            out[row.list].append(row)
    return {k: tuple(v) for k, v in out.items()}


def _from_public(system: str, publics: tuple[PublicList, ...],
                 index: DownloadIndex) -> tuple[list[tuple[str, str]], int, list[str], list[str]]:
    """(rows, invalid count, source phrases, versions) from the downloads of `publics`; rows is
    empty and the phrases name the missing lists when any is not downloaded."""
    found = [(p, find_download(index, file_stem=p.file_stem, opencodelists_id=p.opencodelists_id,
                               pcd_cluster=p.pcd_cluster)) for p in publics]
    missing = [p for p, d in found if d is None]
    if missing:
        return [], 0, [p.label for p in missing], []
    rows, invalid, phrases, versions = [], 0, [], []
    for p, d in found:
        damaged = sum(spreadsheet_damage(system, c) for c, _ in d.rows)
        if damaged:
            raise CodelistError(f"{d.path.name}: {damaged} of {len(d.rows)} codes look converted by "
                                "a spreadsheet (scientific notation, a decimal point or a leading "
                                f"zero); download {p.label} again and do not open it in a "
                                "spreadsheet before the build")
        before = len(rows)
        for raw, term in d.rows:
            code, problem = normalise_code(system, raw)
            if problem:
                invalid += 1
            else:
                rows.append((code, term))
        if len(rows) == before:
            raise CodelistError(f"{d.path.name}: none of its {len(d.rows)} codes is a valid "
                                f"{system} code; check that {p.label} is the right download")
        phrases.append(f"{p.label} ({p.publisher}); download {d.path.name} "
                       f"sha256 {file_sha256(d.path)[:12]}")
        versions.append(f"{p.label} {d.version}" if len(publics) > 1 else d.version)
    return rows, invalid, phrases, versions


def build_codelists(downloads: Path, output: Path, *, allow_missing: bool = False,
                    mapping: dict[str, tuple[PublicList, ...]] | None = None) -> BuildResult:
    """Write a complete code-list folder at `output` from the public lists in `downloads`.

    Raises CodelistError (exit 6) for a required list missing from the downloads (unless
    `allow_missing`), a damaged download, or a built folder that fails `check_codelists`;
    OutputError (exit 8) when `output` already exists. Nothing is left at `output` on error.
    """
    downloads, output = Path(downloads), Path(output)
    if output.exists():
        raise OutputError(f"{output} already exists; build into a new folder (one per release)")
    packaged = load_codelists(default_folder())
    mapping = load_mapping() if mapping is None else mapping
    index = scan_downloads(downloads)
    entries, _ = read_manifest(default_folder())
    work = output.parent / f".{output.name}.building"
    shutil.rmtree(work, ignore_errors=True)
    try:
        work.mkdir(parents=True)
    except OSError as exc:
        raise OutputError(f"cannot create {output} ({exc.strerror}); choose a folder you can "
                          "write to") from None
    try:
        for sub in (CATALOGUE_DIR, "maps"):
            if (default_folder() / sub).is_dir():
                shutil.copytree(default_folder() / sub, work / sub)
        reports, manifest = [], {}
        for name, cl in sorted(packaged.lists.items()):
            publics = mapping.get(name, ())
            rows, invalid, phrases, versions = (_from_public(cl.system, publics, index)
                                                if publics else ([], 0, [], []))
            entry = dict(entries[cl.file])
            dropped: set[str] = set()
            if rows:
                status, sources = "public", " + ".join(p.label for p in publics)
                if cl.system == "icd10" and cl.match == "prefix":
                    dropped = enumerated_parents({c for c, _ in rows})
                    rows = [(c, t) for c, t in rows if c not in dropped]
                    if dropped:
                        phrases.append(f"{len(dropped)} 3-character code(s) whose 4-character "
                                       "codes the list names are matched only through those")
                entry.update(source="; ".join(phrases), version=" + ".join(versions))
            else:
                status, sources = _keep_packaged(name, publics, phrases, allow_missing, entry)
                rows = list(cl.codes)
            path = write_codelist(work, name, rows)
            built = {c for c, _ in rows}
            public = built if status == "public" else set()
            manifest[cl.file] = entry | {"sha256": file_sha256(path)}
            reports.append(ListBuild(
                name=name, system=cl.system, status=status, sources=sources,
                public_codes=len(public) + len(dropped), invalid_codes=invalid,
                built_codes=len(built),
                packaged_codes=len(cl.codes),
                packaged_only=_not_covered({c for c, _ in cl.codes}, public, cl.match)))
        write_manifest(work, manifest)
        problems = check_codelists(work)
        if problems:
            raise CodelistError(f"the built folder fails its check: {problems[0]}"
                                + (f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""))
        work.rename(output)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    concepts = tuple(sorted(
        (f"{preset}:{c.key}", n) for preset, conds in packaged.catalogues.items() for c in conds
        for n in dict.fromkeys(c.dx_lists + c.rx_lists + c.cancel_lists + c.unless_lists)))
    return BuildResult(output=output, lists=tuple(reports), concepts=concepts)


def enumerated_parents(codes: set[str]) -> set[str]:
    """The 3-character ICD-10 codes of a list that also names some of their 4-character codes.

    Under `prefix` matching such a parent would add back the 4-character codes the list leaves
    out: a CKD list of N18 + N183/N184/N185 means stages 3-5, but N18 as a prefix also matches
    N181, N182 and N189 (643,376 HES episodes in 2023-24). The build drops the parent so that the
    named 4-character codes carry the list's meaning; a parent named without any of its
    4-character codes (I48, K57) still matches them all. HES never records a bare 3-character
    code for a subdivided category, so nothing the list means is lost.
    """
    return {c for c in codes if len(c) == 3 and any(len(o) == 4 and o.startswith(c) for o in codes)}


def _not_covered(packaged: set[str], public: set[str], match: str) -> int:
    """How many packaged codes the public codes do not match (0 when not built from them).
    Under `prefix` matching a public `C18` covers a packaged `C180`."""
    if not public:
        return 0
    if match == "prefix":
        return sum(not any(c.startswith(p) for p in public) for c in packaged)
    return len(packaged - public)


def _keep_packaged(name: str, publics: tuple[PublicList, ...], missing: list[str],
                   allow_missing: bool, entry: dict) -> tuple[str, str]:
    """(status, sources) for a list kept as packaged; raise for a required list not downloaded."""
    if not publics:
        entry["source"] = f"packaged starter list, no public list mapped: {entry['source']}"
        return "packaged: not mapped", ""
    required = [p for p in publics if p.required and p.label in missing]
    if required and not allow_missing:
        p = required[0]
        more = f" (+{len(required) - 1} more required)" if len(required) > 1 else ""
        raise CodelistError(f"required list {p.label} for {name} is not in the downloads{more}; "
                            f"download it from {p.where} as {p.file_stem}.csv, or pass "
                            "--allow-missing to keep the packaged starter list")
    status = "packaged: allowed missing" if required else "packaged: not downloaded"
    entry["source"] = (f"packaged starter list, kept because {' + '.join(missing)} was not in the "
                       f"downloads ({'--allow-missing' if required else 'optional list'}): "
                       f"{entry['source']}")
    return status, " + ".join(missing) + " (missing)"
