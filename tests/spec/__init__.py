"""The rulebook: spec tests, one chapter per step of a run.

Each test holds a small table of patients or events, the expected per-patient (or per-cell)
values beside it, and a docstring stating the rule. Every test that runs ibis set logic takes the
`engine` fixture (tests/conftest.py), so each rule is checked on every installed engine.

Chapters: `ingest` (what an extract must look like), `features` (what each patient's features
mean), `risk` (the outcome, the score and its explanation), `cohort` (who is selected) and
`planning` (what the published neighbourhood figures may show).
"""
