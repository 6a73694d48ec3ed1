"""Clinical code lists held as data: load, check, list, import.

Public API::

    load_codelists(folder: Path | None = None) -> CodelistSet   # raises CodelistError
    check_codelists(folder: Path | None = None) -> list[Problem]
    list_codelists(folder: Path | None = None) -> list[dict]     # for `npc-risk codelists list`
    load_hfrs_weights() -> dict[str, int]                          # ICD-10 3-char -> points in tenths
    import_pcd_refset(...), import_opencodelists(...)              # write a list + manifest entry
"""

from npc_risk.codelists.formats import CODING_SYSTEMS, code_problem
from npc_risk.codelists.importers import import_opencodelists, import_pcd_refset
from npc_risk.codelists.model import Codelist, CodelistSet, Condition, Problem, ValueRule
from npc_risk.codelists.store import (
    check_codelists,
    default_folder,
    list_codelists,
    load_codelists,
    refresh_manifest,
    write_codelist,
)
from npc_risk.codelists.weights import load_hfrs_weights

__all__ = [
    "CODING_SYSTEMS", "Codelist", "CodelistSet", "Condition", "Problem", "ValueRule",
    "check_codelists", "code_problem", "default_folder", "import_opencodelists",
    "import_pcd_refset", "list_codelists", "load_codelists", "load_hfrs_weights",
    "refresh_manifest", "write_codelist",
]
