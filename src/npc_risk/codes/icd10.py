"""ICD-10 code normaliser: SUS/HES spellings in, one canonical form out.

Canonical form: upper case, no dot, no `X` padding, no `-` filler, no dagger/asterisk marks,
3 or 4 characters (rarely 5): `I10`, `J441`, `F051`, `M1990`.

Messy forms seen in SUS and GP data (nhs-data-conventions.md §2.1-2.2), and what they become:

| raw      | canonical | why                                                              |
|----------|-----------|------------------------------------------------------------------|
| `I10X`   | `I10`     | SUS pads undivided 3-character codes with `X` in the 4th place   |
| `I10.X`  | `I10`     | dotted form of the same                                          |
| `F05.1`  | `F051`    | the dot after the 3rd character is not stored                    |
| `f051 `  | `F051`    | case and surrounding blanks                                      |
| `M32.1+` | `M321`    | `+` (or `†`) marks a dagger (aetiology) code                     |
| `N08.5*` | `N085`    | `*` marks an asterisk (manifestation) code                       |
| `E11.9-` | `E119`    | `-` fills an unused 5th character                                |
| `J44.1D` | `J441`    | 6th-position flag `D` (dagger) / `A` (asterisk) after the code   |
| `X59X`   | `X59`     | only the 4th-position `X` is padding: chapter XX codes start `X` |

Anything that does not then match one letter, two digits and an optional 4th character (digit
or the `X` padding) plus at most one more digit is not an ICD-10 code: the normaliser returns
None and callers count it as an invalid token (never fail the batch).

Trap: a code list may hold `I10` while the data say `I10X`; both normalise to `I10`, which is why
code lists go through this normaliser too.
"""

from __future__ import annotations

import re

import ibis
import ibis.expr.types as ir

# Separators between codes in a diagnosis string: comma, semicolon, pipe (SUS `||` episode
# markers included) or white space.
# Blanks spelled out: Python's \s is Unicode-aware but RE2's (DuckDB) is ASCII-only, and a
# no-break space (U+00A0) is common in spreadsheet exports.
# A regex character-class body. \v and \f are written as the escapes \x0B and \x0C: as raw
# characters, Spark read the rendered pattern's `\v` `\f` as the letters v and f and split
# secondary diagnoses such as "i10 f051" on the f (issue 13; engine-notes.md).
BLANKS = " \t\n\r\u00a0" + r"\x0B\x0C"
SEPARATORS = f"[,;|{BLANKS}]+"
VALID = r"^[A-Z][0-9]{2}([0-9X][0-9]?)?$"
_MARKS = "†*+-"  # dagger/asterisk symbols and the filler, stripped from the right
_VALID_RE = re.compile(VALID)
_SEPARATORS_RE = re.compile(SEPARATORS)
_MARKS_RE = r"[†*+\-]+$"


def normalise_icd10(raw: str | None) -> str | None:
    """Return the canonical form of one ICD-10 token, or None if it is not a valid code."""
    if raw is None:
        return None
    code = re.sub(f"[.{BLANKS}]", "", raw.upper())
    code = code.rstrip(_MARKS)
    if len(code) > 4 and code[-1] in "DA":  # 6th-position dagger/asterisk flag
        code = code[:-1].rstrip(_MARKS)
    if not _VALID_RE.match(code):
        return None
    if len(code) >= 4 and code[3] == "X":
        code = code[:3]
    return code


def split_diagnoses(raw: str | None) -> list[str]:
    """Split a diagnosis string on any of , ; | or white space, dropping empty tokens."""
    if raw is None:
        return []
    return [token for token in _SEPARATORS_RE.split(raw) if token]


def normalise_icd10_expr(raw: ir.StringValue) -> ir.StringValue:
    """The ibis twin of `normalise_icd10`: same rules, written as portable expressions.

    Uses only upper/re_replace/re_search/length/substr (no back-references, which DuckDB and
    Spark spell differently), so it runs unchanged on both engines.
    """
    code = raw.upper().re_replace(f"[.{BLANKS}]", "").re_replace(_MARKS_RE, "")
    flagged = (code.length() > 4) & code.re_search(r"[DA]$")
    code = ibis.ifelse(flagged, code.substr(0, code.length() - 1), code).re_replace(_MARKS_RE, "")
    padded = (code.length() >= 4) & (code.substr(3, 1) == "X")
    canonical = ibis.ifelse(padded, code.substr(0, 3), code)
    return ibis.ifelse(code.re_search(VALID), canonical, ibis.null("string"))
