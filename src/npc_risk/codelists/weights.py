"""HFRS points (clinical-definitions.md §2.2), packaged as `data/risk/hfrs_weights.csv` (hash
checked against `data/risk/manifest.toml` before it is read, like every packaged data file).

Points are returned in integer tenths (7.1 -> 71) so that sums are exact and the category edges
5.0 / 15.0 can never be missed by float drift (§2.1 implementation notes). The 109 points sum to
173.2 (the published maximum); a test pins that.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from npc_risk.codelists.formats import code_problem
from npc_risk.errors import CodelistError
from npc_risk.manifest import read_packaged

PACKAGED = ("risk", "hfrs_weights.csv")


def load_hfrs_weights(path: Path | None = None) -> dict[str, int]:
    """{ICD-10 3-character category: points in tenths}. Raises CodelistError on a bad file."""
    if path is None:
        text, name = read_packaged(*PACKAGED), "/".join(PACKAGED)
    else:
        text, name = Path(path).read_text(encoding="utf-8"), str(path)
    out: dict[str, int] = {}
    for row in csv.DictReader(io.StringIO(text)):
        code = row["icd10_3char"].strip()
        if code_problem("icd10", code) or len(code) != 3 or code in out:
            raise CodelistError(f"{name}: bad or duplicate category {code!r}; one 3-char ICD-10 code per row")
        out[code] = round(float(row["points"]) * 10)
    if len(out) != 109:
        raise CodelistError(f"{name}: {len(out)} categories, expected 109 (clinical-definitions.md §2.2)")
    return out
