"""Spec: the ICD-10 normaliser (nhs-data-conventions.md §2.1-2.2).

Rule: upper-case, remove dots and blanks, strip trailing dagger/asterisk marks (`+` `†` `*`) and
the `-` filler, remove a 6th-position `D`/`A` flag (only from a token longer than 4 characters),
then the code must be one letter, two digits, an optional 4th character (digit or `X` padding)
and at most one more digit; an `X` in the 4th place is padding and is dropped (an `X` in the
first place is a real chapter XX code). Anything else is not a code: None, never an error.

Diagnosis strings split on any run of `,` `;` `|` (SUS `||` episode markers) or white space.

The ibis expression `normalise_icd10_expr` (run in the engine at ingest) must give exactly the
Python function's result on every value.
"""

from __future__ import annotations

import ibis
import pyarrow as pa
import pytest

from npc_risk.codes.icd10 import normalise_icd10, normalise_icd10_expr, split_diagnoses

CODES = [
    # raw          canonical  why
    ("I10X",       "I10"),    # SUS pads an undivided 3-character code with X
    ("I10",        "I10"),
    ("I10.X",      "I10"),    # dotted form of the padding
    ("F05.1",      "F051"),   # the dot is not stored
    ("f051",       "F051"),   # lower case
    ("f05.1 ",     "F051"),   # trailing blank
    (" j44.0 ",    "J440"),   # surrounding blanks
    ("J 44.0",     "J440"),   # internal blank
    ("M32.1+",     "M321"),   # + marks a dagger (aetiology) code
    ("M32.1†",     "M321"),   # † is the same mark
    ("N08.5*",     "N085"),   # * marks an asterisk (manifestation) code
    ("E11.9-",     "E119"),   # - fills an unused 5th character
    ("G473-",      "G473"),
    ("J44.1D",     "J441"),   # 6th-position flag D (dagger) ...
    ("G4730D",     "G4730"),  # ... after a 5-character code
    ("G4730A",     "G4730"),  # A (asterisk) flag
    ("G473-D",     "G473"),   # flag after the filler
    ("E119D",      "E119"),   # flag straight after a 4-character code (feeds that drop the filler)
    ("M1990",      "M1990"),  # 5-character code
    ("X59X",       "X59"),    # chapter XX codes start with X: only the 4th-place X is padding
    ("X59",        "X59"),
    ("X590",       "X590"),
    ("Z99.9",      "Z999"),
    ("A00",        "A00"),
    # -- not ICD-10 codes
    ("ZZ9",        None),     # second character must be a digit
    ("123",        None),     # must start with a letter
    ("",           None),
    ("   ",        None),
    ("I1",         None),     # too short
    ("I10XX",      None),     # 5th character must be a digit
    ("I10.123",    None),     # at most 5 characters
    ("I10D",       None),     # a 4-character token ending in D is not flagged: I10D is invalid
    ("R69A",       None),
    ("I10-X",      None),     # filler is stripped from the right only
    ("1I0",        None),
    ("I10X;J44",   None),     # one token, not a diagnosis string
    (None,         None),
]


@pytest.mark.parametrize(("raw", "canonical"), CODES, ids=[repr(r) for r, _ in CODES])
def test_normalise_icd10(raw, canonical):
    assert normalise_icd10(raw) == canonical


@pytest.mark.parametrize(("raw", "canonical"), [c for c in CODES if c[1] is not None])
def test_normalise_is_idempotent(raw, canonical):
    """A canonical code normalises to itself (code lists go through the same normaliser)."""
    assert normalise_icd10(canonical) == canonical


def test_ibis_twin_agrees_with_python_function(engine):
    raws = [raw for raw, _ in CODES]
    table = ibis.memtable(pa.table({"raw": pa.array(raws, pa.string())}))
    got = engine.to_arrow(table.select(code=normalise_icd10_expr(table.raw)))["code"].to_pylist()
    assert got == [normalise_icd10(raw) for raw in raws]
    assert got == [canonical for _, canonical in CODES]


def test_ibis_twin_agrees_on_non_ascii_blanks(engine):
    """Regression (Python's `\\s` is Unicode-aware, DuckDB's RE2 `\\s` is ASCII [\\t\\n\\f\\r ]): a
    code with a no-break space (U+00A0, common in spreadsheet exports) or a vertical tab must get
    the same answer from both twins (the bug: Python gave 'I10' where the engine gave null)."""
    raws = ["I10\u00a0", "\u00a0F05.1", "J44.1\u000b"]
    table = ibis.memtable(pa.table({"raw": pa.array(raws, pa.string())}))
    got = engine.to_arrow(table.select(code=normalise_icd10_expr(table.raw)))["code"].to_pylist()
    assert got == [normalise_icd10(raw) for raw in raws]


DIAGNOSIS_STRINGS = [
    # raw                                     tokens
    ("I10X,E119",                             ["I10X", "E119"]),
    ("I10X;E119",                             ["I10X", "E119"]),
    ("I10X|E119",                             ["I10X", "E119"]),
    ("I10X||E119",                            ["I10X", "E119"]),
    ("I10X E119",                             ["I10X", "E119"]),
    ("I10X , E119 ;; J44.1",                  ["I10X", "E119", "J44.1"]),
    ("||E119 ,J849 ,K869 ||I801",             ["E119", "J849", "K869", "I801"]),  # SUS Der_Diagnosis_All
    ("\tI10X\nE119 ",                         ["I10X", "E119"]),
    ("E119",                                  ["E119"]),
    ("",                                      []),
    ("||",                                    []),
    (None,                                    []),
]


@pytest.mark.parametrize(("raw", "tokens"), DIAGNOSIS_STRINGS, ids=[repr(r) for r, _ in DIAGNOSIS_STRINGS])
def test_split_diagnoses(raw, tokens):
    assert split_diagnoses(raw) == tokens


def test_split_then_normalise_a_sus_spell_string():
    raw = "||E11.9- ,J84.9 ,k869 ||I80.1,ZZ9,G4730D"
    assert [normalise_icd10(t) for t in split_diagnoses(raw)] == [
        "E119", "J849", "K869", "I801", None, "G4730"]
