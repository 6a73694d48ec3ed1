"""Benchmarks (run by `make bench`); they report ratios, not pass/fail."""
