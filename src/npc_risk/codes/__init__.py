"""Coding-system normalisers and validators: one per system, each with a Python function (the
readable reference) and an ibis-expression twin (what the pipeline runs over millions of rows).
A hypothesis test keeps the two in agreement."""
