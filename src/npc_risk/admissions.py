"""Emergency admission: the one definition of which spells count.

clinical-definitions.md §5.1 [D]: a hospital provider spell is an emergency admission when its
admission method is in `data/risk/emergency_admission_methods.csv`: 21, 22, 23, 24, 25, 2A, 2D
and the legacy 28. The same code set defines the 12-month outcome (`risk.labels`), the
emergency admissions and bed days of the last 12 / 24 months (`features.utilisation`), the
generator's outcome and the calibration report (`synth`).

Traps:
* "Starts with 2" (the NHS England analysts' *group*) is not this rule: it also takes 2B
  (transfer of an admitted patient, which would count one illness twice) and 2C (a baby born at
  home as intended). Both are left out on purpose; 28 stays in although it may hide transfers
  and births (the data dictionary says so).
* Codes are compared as staged: two upper-case characters (`2A`, not `2a`); ingest and the SUS
  adapter normalise them and the data contract checks the pattern. Read any CSV of codes as
  text: `21` read as a number and `2A` as a string would silently drop half of them.
"""

from __future__ import annotations

import csv
import functools
import io
import re
from pathlib import Path

import ibis
import numpy as np

from npc_risk.errors import ConfigError
from npc_risk.manifest import read_packaged

METHODS_FILE = "emergency_admission_methods.csv"  # in npc_risk/data/risk/
_CODE = re.compile(r"[1-9][0-9A-Z]")  # two characters, e.g. 21 or 2A


@functools.cache
def emergency_admission_methods(source: str | Path = METHODS_FILE) -> tuple[str, ...]:
    """The admission method codes that make a spell an emergency admission (module docstring).

    `source` is the packaged file name (read through its manifest) or the path of a custom
    `code,term` CSV (sensitivity analyses). Raises ConfigError for a malformed file.
    """
    text = source.read_text(encoding="utf-8") if isinstance(source, Path) else read_packaged("risk", source)
    rows = list(csv.DictReader(io.StringIO(text)))
    if not rows or not {"code", "term"} <= set(rows[0]):
        raise ConfigError(f"{source}: expected columns code,term and at least one row")
    codes = [(r["code"] or "").strip().upper() for r in rows]
    bad = [c for c in codes if not _CODE.fullmatch(c)]
    if bad or len(set(codes)) != len(codes):
        raise ConfigError(
            f"{source}: {len(bad)} malformed and {len(codes) - len(set(codes))} duplicate admission "
            "method code(s); each code is two characters like 21 or 2A, once each"
        )
    return tuple(codes)


def is_emergency_admission(method, methods: tuple[str, ...] | None = None):
    """True where the admission method is an emergency admission.

    `method` is an ibis string column (-> boolean expression), a numpy array or sequence of codes
    (-> boolean array) or one code (-> bool). `methods` overrides the packaged code set.
    """
    codes = emergency_admission_methods() if methods is None else tuple(methods)
    if isinstance(method, ibis.Value):
        return method.isin(list(codes))
    if isinstance(method, str):
        return method in codes
    return np.isin(np.asarray(method, dtype=str), np.asarray(codes, dtype=str))


def describe_methods(methods: tuple[str, ...] | None = None) -> str:
    """The code set in words for people: consecutive numeric codes as a range, in file order
    ("21-25, 2A, 2D, 28" for the packaged set; the model card prints it)."""
    codes = emergency_admission_methods() if methods is None else tuple(methods)
    parts: list[list[str]] = []
    for code in codes:
        last = parts[-1][-1] if parts else ""
        if code.isdigit() and last.isdigit() and int(code) == int(last) + 1:
            parts[-1].append(code)
        else:
            parts.append([code])
    return ", ".join(p[0] if len(p) == 1 else f"{p[0]}-{p[-1]}" for p in parts)
