"""Where the public code-list exports live: beside the repository, never inside it (issue 9).

`../shared/reallists/` holds OpenCodelists and other public exports with their sources
(SOURCES.md) and `usage/` national ICD-10 usage counts. A clone without the shared folder has
none: every test that reads them skips with NO_REALLISTS, which names the path it looked in.
"""

from pathlib import Path

REALLISTS = Path(__file__).resolve().parents[2] / ".." / "shared" / "reallists"
NO_REALLISTS = (f"public code-list exports not found at {REALLISTS} (issue 9: they live beside the "
                "repository in ../shared/reallists, never inside it)")
