"""Risk: the outcome, the score and the words that explain it.

Pins the emergency admission code set and the 12-month label window (clinical-definitions.md
§5.1, §6), the temporal training split and the leakage guard at the label/feature boundary
(§6.3), the transparent rules score (data/risk/rules_points.csv) and the plain-words drivers of a
score (data/risk/driver_templates.csv).
"""
