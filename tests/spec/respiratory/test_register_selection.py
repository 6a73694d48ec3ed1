"""Spec: the respiratory selection (`register_top_fraction`): register members are the candidates
and the denominator of each locality; everyone else is neither eligible nor counted.
"""

from npc_risk.cohort import select_cohort
from npc_risk.config import CohortConfig
from npc_risk.definition import selection_candidates
from tests.builders.people import person, scored_population


def test_register_members_are_the_candidates_and_the_denominator(engine):
    rows = [person(f"r{i}", asthma_register=i % 2 == 0, copd_register=i % 3 == 0, risk_score=i / 100, age=50)
            for i in range(30)]  # members: i even or a multiple of 3 -> 20 of 30
    rows.append(person("outsider", asthma_register=False, copd_register=False, risk_score=0.99, ltc_count=9))
    config = CohortConfig(cohort_fraction=0.10, min_age=0)
    result = select_cohort(scored_population(engine, rows), config=config,
                           candidates=selection_candidates("register_top_fraction"))
    p = {r["patient_id"]: r for r in engine.to_arrow(result.patients).to_pylist()}
    assert sum(r["eligible"] for r in p.values()) == 20
    assert not p["outsider"]["eligible"] and not p["outsider"]["in_denominator"]
    assert p["r0"]["cohort_denominator"] == 20 and p["r0"]["cohort_target"] == 2  # 10 % of 20
    assert sorted(r["patient_id"] for r in p.values() if r["in_cohort"]) == ["r27", "r28"]  # highest scores
    assert selection_candidates("neighbourhood_top_fraction") is None  # the [cohort] routes
