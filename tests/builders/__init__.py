"""Builders of test data shared by the test modules (not part of the npc_risk package).

Test modules import from here, never from each other; fixtures built from these live in
tests/conftest.py.

* `extract`: a tiny CSV extract folder (one clean, linked row per table) and ingest over it.
* `features`: patients and their GP events, diagnoses and prescriptions for the feature step,
  and the feature step run on an engine; the packaged code lists and HFRS weights, loaded once.
* `people`: person rows of a scored population, a toy neighbourhood, and the cohort and planning
  steps run over them on an engine.
* `reference`: the one pure-Python reference of the feature rules.
* `synthetic`: a synthetic feature frame with a known true risk.
* `model`: the small trained model the risk tests share, and the frames it is trained on.
"""
