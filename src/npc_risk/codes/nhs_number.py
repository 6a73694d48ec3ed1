"""NHS number validation: 10 digits with a Modulus 11 check digit (NHS Data Dictionary).

Multiply the first nine digits by 10, 9, ..., 2 and add the products; the check digit is
11 - (sum mod 11), where 11 means 0 and 10 means the nine-digit stem is never issued (so any
number built on it is invalid). Worked example (nhs-data-conventions.md §4): 943 476 5919 sums to
299, 299 mod 11 = 2, 11 - 2 = 9 = the tenth digit: valid. Spaces are stripped first (numbers are
displayed 3-3-4); any other character makes the number invalid.
"""

from __future__ import annotations

import ibis.expr.types as ir

WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2)


def check_digit(stem: str) -> int | None:
    """The check digit for a nine-digit stem, or None if the stem is never issued."""
    total = sum(int(digit) * weight for digit, weight in zip(stem, WEIGHTS, strict=True))
    check = 11 - total % 11
    if check == 11:
        return 0
    if check == 10:
        return None
    return check


def is_valid_nhs_number(raw: str | None) -> bool:
    """True for a ten-digit NHS number (spaces allowed) whose check digit is right."""
    if raw is None:
        return False
    digits = raw.replace(" ", "")
    if len(digits) != 10 or not digits.isascii() or not digits.isdigit():
        return False
    return check_digit(digits[:9]) == int(digits[9])


def nhs_number_valid_expr(raw: ir.StringValue) -> ir.BooleanValue:
    """The ibis twin of `is_valid_nhs_number` (substr and integer arithmetic only).

    Written so that each intermediate is used once: ibis inlines expressions, and the first
    version (check digit computed, then compared three times) expanded to ~200 regex calls per
    row. `(11 - total % 11) % 11` is the check digit, with 11 -> 0; the unusable result 10 can
    never equal a single digit, so it needs no test of its own.
    """
    digits = raw.re_replace(" ", "")
    total = sum(digits.substr(i, 1).try_cast("int64") * weight for i, weight in enumerate(WEIGHTS))
    check = (11 - total % 11) % 11
    last = digits.substr(9, 1).try_cast("int64")
    return (digits.re_search(r"^[0-9]{10}$") & (check == last)).fill_null(False)
