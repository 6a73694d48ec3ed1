"""Respiratory (COPD + asthma) pipeline: registers, care processes and gaps, respiratory
utilisation, the transparent priority rules and the respiratory-admission outcome.

Modules: `lists` (which code lists make each concept), `rules` (the packaged thresholds),
`features` (the `respiratory` feature set: one row per person), `score` (COPD priority groups
and the asthma high-risk search), `gaps` (the long care-gap table in plain words and the gap rates
per neighbourhood and practice), `outcome` (respiratory emergency admission in the next 12 months),
`cyp` (the children's asthma feature set, population, points score and words) and `cyp_outputs`
(its two lists, rates and method card).
docs/respiratory.md is the rulebook; ../shared/reference/respiratory-and-packs.md the source.
"""

from npc_risk.respiratory.features import GAP_COLUMNS, PERSON_COLUMNS, flu_season, respiratory_features

__all__ = ["GAP_COLUMNS", "PERSON_COLUMNS", "flu_season", "respiratory_features"]
