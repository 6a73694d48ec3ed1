"""What a pipeline definition's names mean: the registries behind `[pipeline]` in the TOML.

    [pipeline]
    population = "registered"
    feature_sets = ["npc_core"]
    outcome = "emergency_admission_12m"
    selection = "neighbourhood_top_fraction"
    outputs = ["patients", "cohort", "neighbourhoods", "evidence"]

The config package lists the allowed names (config.sections); this module maps each to the code
that carries it out, so a condition pipeline (respiratory, children's asthma) is a new TOML plus
its own entries here (a population, a feature set), not a second copy of the run. A feature set
is a function `(engine, tables, *, as_of, codelists, config) -> FeatureResult` whose `person`
table has one row per person of the population (the first set) or is joined to it on patient_id
(every further set).
"""

from __future__ import annotations

from collections.abc import Callable

from npc_risk.config.sections import FEATURE_SETS, OUTCOMES, POPULATIONS, SELECTIONS
from npc_risk.features import derive_features
from npc_risk.features.population import population as registered_population
from npc_risk.respiratory import respiratory_features
from npc_risk.respiratory.cyp import at_risk, cyp_features, under_18
from npc_risk.respiratory.outcome import DESCRIPTION as RESPIRATORY_OUTCOME
from npc_risk.respiratory.outcome import on_a_register, respiratory_admission_label
from npc_risk.risk.labels import emergency_admission_label

_POPULATIONS: dict[str, Callable] = {"registered": registered_population, "under_18": under_18}
_FEATURE_SETS: dict[str, Callable] = {"npc_core": derive_features, "respiratory": respiratory_features,
                                      "cyp_asthma": cyp_features}
_OUTCOMES: dict[str, Callable] = {"emergency_admission_12m": emergency_admission_label,
                                  "respiratory_admission_12m": respiratory_admission_label}
# What the model card says the outcome is, when not the all-cause default (risk/card.py).
_OUTCOME_TEXT: dict[str, str] = {"respiratory_admission_12m": RESPIRATORY_OUTCOME}
# cohort.select_cohort's candidates: None = its three eligibility routes
_SELECTIONS: dict[str, Callable | None] = {"neighbourhood_top_fraction": None,
                                           "register_top_fraction": on_a_register,
                                           "cyp_at_risk_top_fraction": at_risk}

# The config's allowed names and the registries are one list: a name without code is a bug.
assert set(_POPULATIONS) == set(POPULATIONS) and set(_FEATURE_SETS) == set(FEATURE_SETS)
assert set(_OUTCOMES) == set(OUTCOMES) and set(_SELECTIONS) == set(SELECTIONS)


def population(name: str) -> Callable:
    return _POPULATIONS[name]


def feature_set(name: str) -> Callable:
    return _FEATURE_SETS[name]


def outcome(name: str) -> Callable:
    return _OUTCOMES[name]


def outcome_text(name: str) -> str | None:
    """The model card's outcome wording for a non-default outcome (None: the card's own)."""
    return _OUTCOME_TEXT.get(name)


def selection_candidates(name: str) -> Callable | None:
    """The candidates rule of a selection (cohort.select_cohort `candidates`), or None."""
    return _SELECTIONS[name]
