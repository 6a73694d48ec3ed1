"""Data-file manifests: one schema and one check for every folder of clinical data.

Every folder of data files (the code lists, their maps, the scoring data under
`npc_risk/data/risk/`, and a user's own code-list folder) has a `manifest.toml` with one table
per file, named by the file::

    [files."emergency_admission_methods.csv"]
    description = "admission methods that make a spell an emergency admission"
    source = "NHS Data Dictionary 'Admission method'; clinical-definitions.md §5.1"
    version = "2026-11-23"
    sha256 = "8bbee95a..."

`FILE_KEYS` are required for every file; a folder may require more (code lists add `system` and
`match`, see `codelists.store`). `check_manifest` is the one check: the manifest parses, every
entry has its keys, every listed file exists and its sha256 (over the file bytes, so a CRLF or
BOM re-save is caught) matches, and every data file in the folder has an entry. It returns the
problems rather than raising, so a `check` command can list them all; `read_packaged` raises on
the first one, so no packaged file is read unless it matches its manifest.

Trap: before this schema the code-list manifest used `[lists."<stem>"]` tables with `concept`
and the map manifest `[maps."<stem>"]`; a folder still in that form gets one problem saying how
to convert it (tables named by file name, `concept` renamed `description`).
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from npc_risk.errors import CodelistError
from npc_risk.hashing import file_sha256

MANIFEST = "manifest.toml"
FILE_KEYS = ("description", "source", "version", "sha256")
OLD_TABLES = ("lists", "maps")  # the pre-2026-12 schemas (see module trap)


@dataclass(frozen=True)
class Problem:
    """One problem found by a check: the file, how many rows, and how to fix it."""

    file: str
    message: str
    rows: int = 0

    def __str__(self) -> str:
        rows = f" ({self.rows} rows)" if self.rows else ""
        return f"{self.file}: {self.message}{rows}"


def read_manifest(folder: Path, *, prefix: str = "") -> tuple[dict[str, dict[str, str]], list[Problem]]:
    """({file name: entry}, problems) from `folder/manifest.toml`; ({}, problem) if unreadable.

    `prefix` is prepended to file names in problems (e.g. "maps/" for a sub-folder).
    """
    path = Path(folder) / MANIFEST
    where = f"{prefix}{MANIFEST}"
    if not path.is_file():
        return {}, [Problem(where, f"missing in {folder}; create it or pass the right folder")]
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        return {}, [Problem(where, f"not valid TOML ({exc}); fix the syntax")]
    old = [t for t in OLD_TABLES if t in data]
    if old and "files" not in data:
        return {}, [Problem(where, f"uses the old [{old[0]}.\"<name>\"] tables; name each table "
                                   "[files.\"<name>.csv\"] and rename `concept` to `description`")]
    return {str(k): dict(v) for k, v in data.get("files", {}).items()}, []


def check_manifest(folder: Path, *, extra_keys: Iterable[str] = (), pattern: str = "*.csv",
                   prefix: str = "") -> tuple[dict[str, dict[str, str]], list[Problem]]:
    """(entries that have their keys and whose file exists, problems) for one folder (module doc).

    An entry whose hash differs is still returned (with its problem), so a caller can go on to
    check the file's content and report every problem at once.
    """
    folder = Path(folder)
    entries, problems = read_manifest(folder, prefix=prefix)
    required = (*FILE_KEYS, *extra_keys)
    good: dict[str, dict[str, str]] = {}
    for name, meta in sorted(entries.items()):
        missing = [k for k in required if k not in meta]
        if missing:
            problems.append(Problem(f"{prefix}{MANIFEST}",
                                    f"[files.{name!r}] lacks {', '.join(missing)}"))
            continue
        path = folder / name
        if not path.is_file():
            problems.append(Problem(f"{prefix}{name}", "listed in the manifest but the file is "
                                                       "missing; add it or drop the entry"))
            continue
        if file_sha256(path) != meta["sha256"]:
            problems.append(Problem(f"{prefix}{name}", f"sha256 differs from {prefix}{MANIFEST}; "
                                    "review the change, then record the new hash "
                                    "(refresh_manifest)"))
        good[name] = meta
    if entries or not problems:
        for path in sorted(folder.glob(pattern)):
            if path.name not in entries:
                problems.append(Problem(f"{prefix}{path.name}",
                                        "file has no manifest entry; add one (refresh_manifest)"))
    return good, problems


def write_manifest(folder: Path, entries: Mapping[str, Mapping[str, str]], *,
                   keys: Iterable[str] = FILE_KEYS, header: Iterable[str] = ()) -> None:
    """Write `folder/manifest.toml` from {file name: entry}: sorted, `keys` in that order."""
    keys = tuple(keys)
    out = [f"# {line}" if line else "#" for line in header]
    out += ["# One [files.\"<file>\"] table per data file; sha256 is over the file bytes "
            "(npc_risk.manifest).", ""]
    for name in sorted(entries):
        out.append(f"[files.{_toml_str(name)}]")
        out += [f"{k} = {_toml_str(str(entries[name][k]))}" for k in keys]
        out.append("")
    (Path(folder) / MANIFEST).write_text("\n".join(out), encoding="utf-8")


def refresh_hashes(folder: Path, entries: dict[str, dict[str, str]]) -> None:
    """Record the current sha256 of every listed file that exists (after a reviewed edit)."""
    for name, meta in entries.items():
        if (Path(folder) / name).is_file():
            meta["sha256"] = file_sha256(Path(folder) / name)


def _toml_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


# ------------------------------------------------------------------------ packaged data files
def packaged_folder(*parts: str) -> Path:
    """A folder of packaged data, `npc_risk/data/<parts>` (read through importlib.resources)."""
    return Path(str(resources.files("npc_risk").joinpath("data", *parts)))


@functools.cache
def _verified(folder: Path) -> dict[str, dict[str, str]]:
    good, problems = check_manifest(folder)
    if problems:
        more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        raise CodelistError(f"packaged data in {folder}: {problems[0]}{more}; reinstall npc_risk "
                            "or restore the file")
    return good


def read_packaged(folder: str, name: str) -> str:
    """Text of the packaged data file `npc_risk/data/<folder>/<name>`, once its folder has
    passed `check_manifest` (checked once per process). Raises CodelistError otherwise."""
    path = packaged_folder(folder)
    if name not in _verified(path):
        raise CodelistError(f"{folder}/{name}: not in the packaged data manifest")
    return (path / name).read_text(encoding="utf-8")
