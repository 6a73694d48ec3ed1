"""What is known on the as-of date T: a person's age, and the hospital diagnoses coded by then.

Each rule is written once here and used by the features (population, code-list matching, HFRS)
and by the calibration report of the generator.

* Age at T: whole years, integer arithmetic on (year, month, day), no day-count division; the
  birthday on T counts (born 1960-03-31 is 66 on 2026-03-31). A 29 February birthday is reached
  on 1 March in a non-leap year.
* Diagnoses known at T (clinical-definitions.md §6.3: no discharge diagnoses added after T):
  hospital diagnoses are coded at discharge, so a spell counts only if it was admitted on or
  before T and not discharged after T. An open spell (no discharge date in the extract) is kept:
  the extract holds what was coded by then. Look-back windows (HFRS: 730 days) are applied on
  top by the caller.
"""

from __future__ import annotations

from datetime import date

import ibis


def age_at(dob: ibis.Value, as_of: date) -> ibis.Value:
    """Whole years between `dob` and `as_of` (int64)."""
    before_birthday = (dob.month() * 100 + dob.day()) > (as_of.month * 100 + as_of.day)
    return (as_of.year - dob.year() - before_birthday.cast("int64")).cast("int64")


def diagnoses_known_at(diag: ibis.Table, as_of: date | ibis.Value) -> ibis.Table:
    """The rows of `apcs_diagnoses` (admission_date, discharge_date, ...) known on `as_of`."""
    t = ibis.date(as_of) if isinstance(as_of, date) else as_of
    return diag.filter((diag.admission_date <= t) & ~(diag.discharge_date > t).fill_null(False))
