"""Plain-Python readings of catalogue rules shared by the reference tests (no engine code)."""

from __future__ import annotations


def dx_holds(c, dx_days: list[int]) -> bool:
    """model.Condition's diagnosis arm from the days-before-T of its diagnosis records: any record
    ever, or in the last `dx_window_days` (the latest record, or with basis `first` the first)."""
    if not dx_days:
        return False
    if c.dx_window_days is None:
        return True
    if c.dx_window_basis == "first":
        return max(dx_days) < c.dx_window_days
    return min(dx_days) < c.dx_window_days
