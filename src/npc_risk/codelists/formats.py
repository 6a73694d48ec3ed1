"""Code formats per coding system (nhs-data-conventions.md §3.3, house-style §3).

Each coding system is a regex plus, for SNOMED CT identifiers, the Verhoeff check digit and the
partition identifier. dm+d identifiers are SNOMED CT identifiers too (the UK drug extension), so
they get the same checks.

Traps:
* ICD-10 in code lists must be *canonical* (upper case, no dot, no `X` padding, no `-`/dagger
  marks): `I10`, `J441`. A list holding `I10X` or `J44.1` would silently match nothing against
  `apcs_diagnoses.icd10_code`, so the check rejects it instead.
* Leading zeros: SNOMED CT identifiers never start with 0; a spreadsheet that turned them into
  numbers and back may have produced `1.23E+14`, which the regex rejects.
"""

from __future__ import annotations

import re

CODING_SYSTEMS = ("snomedct", "icd10", "dmd")

# SNOMED CT / dm+d: 6-18 digits, no leading zero (SNOMED CT identifier spec, "SCTID").
_SCTID = re.compile(r"^[1-9][0-9]{5,17}$")
# ICD-10 canonical: letter, two digits, optional 4th digit (no dot, no X padding).
_ICD10 = re.compile(r"^[A-Z][0-9]{2}[0-9]?$")

_PATTERNS = {"snomedct": _SCTID, "dmd": _SCTID, "icd10": _ICD10}

# Verhoeff tables (dihedral group D5), used for the SCTID check digit.
_D = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
    [2, 3, 4, 0, 1, 7, 8, 9, 5, 6], [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
    [4, 0, 1, 2, 3, 9, 5, 6, 7, 8], [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2], [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
    [8, 7, 6, 5, 9, 3, 2, 1, 0, 4], [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
]
_P = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
    [5, 8, 0, 3, 7, 9, 6, 1, 4, 2], [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
    [9, 4, 5, 3, 1, 2, 6, 8, 7, 0], [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5], [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
]


def verhoeff_ok(digits: str) -> bool:
    """True when the last digit of `digits` is a valid Verhoeff check digit."""
    c = 0
    for i, ch in enumerate(reversed(digits)):
        c = _D[c][_P[i % 8][int(ch)]]
    return c == 0


def code_problem(system: str, code: str) -> str | None:
    """Return why `code` is not a valid `system` code, or None when it is valid.

    SNOMED CT / dm+d: digits, 6-18 long, no leading zero, partition identifier of a concept
    (`00` short form or `10` extension form, i.e. second- and third-last digits), and a valid
    Verhoeff check digit. ICD-10: canonical `^[A-Z][0-9]{2}[0-9]?$`.
    """
    if system not in _PATTERNS:
        return f"unknown coding system {system!r} (expected one of {', '.join(CODING_SYSTEMS)})"
    if not _PATTERNS[system].match(code):
        if system == "icd10":
            return "not a canonical ICD-10 code (letter, 2 digits, optional digit; no dot/X/-)"
        return "not a SNOMED CT identifier (6-18 digits, no leading zero)"
    if system in ("snomedct", "dmd"):
        if code[-3:-1] not in ("00", "10"):
            return "partition identifier is not a concept (second/third-last digits must be 00 or 10)"
        if not verhoeff_ok(code):
            return "Verhoeff check digit fails (typo or truncated identifier)"
    return None
