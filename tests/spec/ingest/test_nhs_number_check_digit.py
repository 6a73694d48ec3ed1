"""Spec: NHS number validation (nhs-data-conventions.md §4, NHS Data Dictionary).

Rule: a valid NHS number is exactly ten ASCII digits once spaces are removed (numbers are shown
3-3-4). Multiply the first nine digits by 10, 9, ..., 2 and add the products; the check digit is
11 - (sum mod 11), where 11 means 0 and 10 means the nine-digit stem is never issued, so every
number built on it is invalid. The number is valid when the tenth digit equals the check digit.
Anything other than digits and spaces (hyphens, letters, tabs) makes it invalid.

The ibis expression `nhs_number_valid_expr` (run in the engine at ingest) must give the same
answer as the Python function on every value.
"""

from __future__ import annotations

import ibis
import pyarrow as pa
import pytest

from npc_risk.codes.nhs_number import check_digit, is_valid_nhs_number, nhs_number_valid_expr

STEMS = [
    # stem          check digit   sum of products -> sum mod 11 -> 11 - remainder
    ("943476591",   9),           # 299 -> 2 -> 9  (the worked example)
    ("999000000",   None),        # 243 -> 1 -> 10: never issued
    ("999000001",   8),           # 245 -> 3 -> 8  (first valid test number 999 000 0018)
    ("999000005",   0),           # 253 -> 0 -> 11, which means 0
    ("401023213",   7),           # 92  -> 4 -> 7
    ("123456789",   None),        # 210 -> 1 -> 10: never issued
]


@pytest.mark.parametrize(("stem", "expected"), STEMS)
def test_check_digit(stem, expected):
    assert check_digit(stem) == expected


NUMBERS = [
    # raw               valid   why
    ("9434765919",      True),   # worked example: check digit 9
    ("943 476 5919",    True),   # displayed 3-3-4: spaces are removed first
    (" 9434765919 ",    True),   # surrounding spaces too
    ("94 34 76 59 19",  True),   # any spaces
    ("9434765918",      False),  # wrong check digit
    ("9434765910",      False),  # wrong check digit
    ("9990000018",      True),   # first valid number of the test range 999 000 0000 - 999 999 9999
    ("9990000017",      False),  # same stem, wrong check digit
    ("9990000000",      False),  # stem 999 000 000 gives check digit 10: never issued ...
    ("9990000001",      False),  # ... so no tenth digit can make it valid
    ("9990000009",      False),
    ("9990000050",      True),   # 11 - 0 = 11 means check digit 0
    ("9990000051",      False),
    ("4010232137",      True),
    ("1234567890",      False),  # stem 123 456 789 is never issued (check digit 10)
    ("943476591",       False),  # 9 digits
    ("94347659190",     False),  # 11 digits
    ("943476591A",      False),  # letter
    ("A434765919",      False),  # letter
    ("NHS9434765919",   False),  # prefix
    ("943-476-5919",    False),  # hyphens are not stripped
    ("943\t476\t5919",  False),  # tabs are not spaces
    ("９４３４７６５９１９", False),  # full-width digits are not ASCII digits
    ("9434765919.0",    False),  # a number read as a float and written back
    ("",                False),
    ("          ",      False),
    (None,              False),
]


@pytest.mark.parametrize(("raw", "valid"), NUMBERS, ids=[repr(r) for r, _ in NUMBERS])
def test_is_valid_nhs_number(raw, valid):
    assert is_valid_nhs_number(raw) is valid


def test_every_stem_of_the_test_range_start_has_at_most_one_valid_number():
    """For each stem exactly one tenth digit is valid, unless the stem is never issued."""
    for stem, _ in STEMS:
        valid = [d for d in "0123456789" if is_valid_nhs_number(stem + d)]
        assert valid == ([] if check_digit(stem) is None else [str(check_digit(stem))])


def test_ibis_twin_agrees_with_python_function(engine):
    """The engine expression gives the Python function's answer on every value above, and on
    every tenth digit of every stem above (null input: invalid, never null)."""
    raws = [raw for raw, _ in NUMBERS] + [stem + d for stem, _ in STEMS for d in "0123456789"]
    table = ibis.memtable(pa.table({"raw": pa.array(raws, pa.string())}))
    got = engine.to_arrow(table.select(valid=nhs_number_valid_expr(table.raw)))["valid"].to_pylist()
    assert got == [is_valid_nhs_number(raw) for raw in raws]
    assert got[: len(NUMBERS)] == [valid for _, valid in NUMBERS]
