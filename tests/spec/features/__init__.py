"""Features: what each patient's features mean on the as-of date T.

Pins who is in the population on T and their age (clinical-definitions.md §7.3,
nhs-data-conventions.md §3.1); the eFI deficits, value rules and bands (clinical-definitions.md
§1.2-§1.5); the HFRS window, points and bands (§2.1-§2.2, and agreement with comorbidipy); the
Cambridge Multimorbidity Score and QOF long-term conditions, including the prescription rules
(§3.1-§3.2); hospital diagnoses known only once the spell is discharged (§6.3); the care-home,
type 1 opt-out and palliative flags (§7.3-§7.4); utilisation counts (§5,
nhs-data-conventions.md §1.8, §1.10); and the evidence rows behind each feature.
"""
