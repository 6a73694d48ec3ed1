"""Spec: opt-outs per output class (nhs-data-conventions.md §8; config.OutputsConfig).

Two output classes: **case-finding** (the cohort lists; individual care) and **planning**
(neighbourhoods.parquet; aggregates). Each applies its own opt-out rules, set in the pipeline
TOML as `[outputs.case_finding]` / `[outputs.planning]` apply_type1_optout, apply_ndo_optout.
Everyone an opt-out removes is counted by reason; nobody leaves a denominator silently.

Toy neighbourhood of 40 (tests/builders/people.py: p00..p09 are all eligible):

| people   | type 1 opt-out | national data opt-out |
|----------|----------------|-----------------------|
| p00-p02  | yes            | no                    |
| p03-p04  | yes            | yes                   |
| p05-p09  | no             | yes                   |
| p10-p39  | no             | no                    |

| rules (case-finding / planning) | excl. type 1 | excl. NDO | denominator | planning pop. | NDO excl. | type 1 excl. |
|---------------------------------|--------------|-----------|-------------|---------------|-----------|--------------|
| defaults: type1 / ndo           | 5            | 0         | 40          | 33            | 7         | 0            |
| type1+ndo / type1+ndo           | 5            | 5         | 40          | 30            | 7         | 3            |
| none / none                     | 0            | 0         | 40          | 40            | 0         | 0            |

(columns: excluded_type1_optout, excluded_ndo_optout and denominator of the cohort report;
planning_population, ndo_excluded and type1_excluded of the planning statistics)

A person with both opt-outs is counted once: under type 1 in the cohort (its exclusion order
is palliative care, care home, type 1, NDO), under NDO in the planning figures (order NDO,
type 1), so population = planning_population + ndo_excluded + type1_excluded.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from npc_risk.config import load_config
from npc_risk.errors import SchemaError
from npc_risk.planning.statistics import neighbourhood_statistics
from tests.builders.people import cohort_result, toy_neighbourhood

DEFAULTS = ""
BOTH = """
[outputs.case_finding]
apply_type1_optout = true
apply_ndo_optout = true
[outputs.planning]
apply_type1_optout = true
apply_ndo_optout = true
"""
NONE = """
[outputs.case_finding]
apply_type1_optout = false
apply_ndo_optout = false
[outputs.planning]
apply_type1_optout = false
apply_ndo_optout = false
"""


def run(engine, toml: str, tmp_path: Path) -> dict:
    """The statistics row of the toy neighbourhood (opt-outs as in the table above) under the
    rules of `toml`, plus `_cohort`: the ids in the cohort list."""
    path = tmp_path / "pipeline.toml"
    path.write_text(toml, encoding="utf-8")
    config = load_config(path)
    rows = [r | {"type1_optout": i < 5, "ndo_optout": 3 <= i < 10}
            for i, r in enumerate(toy_neighbourhood())]  # p00..p39 in order
    result = cohort_result(engine, rows, config.cohort, optouts=config.outputs.case_finding.applied)
    stats = neighbourhood_statistics(result.patients, result.report,
                                     optouts=config.outputs.planning.applied)
    row = engine.to_arrow(stats).to_pylist()[0]
    cohort = set(engine.to_arrow(result.cohort)["patient_id"].to_pylist())
    return row | {"_cohort": cohort}


@pytest.fixture(scope="module")
def outcome(module_engine, tmp_path_factory) -> dict[str, dict]:
    """run() under each rule set of the table above, once per module: {toml: row}."""
    return {toml: run(module_engine, toml, tmp_path_factory.mktemp("rules"))
            for toml in (DEFAULTS, BOTH, NONE)}


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        (DEFAULTS, (5, 0, 40, 33, 7, 0)),
        (BOTH, (5, 5, 40, 30, 7, 3)),
        (NONE, (0, 0, 40, 40, 0, 0)),
    ],
    ids=["defaults", "both-rules-both-classes", "no-rules"],
)
def test_each_output_class_applies_its_own_rules_and_counts_them(outcome, toml, expected):
    row = outcome[toml]
    columns = ("excluded_type1_optout", "excluded_ndo_optout", "denominator",
               "planning_population", "ndo_excluded", "type1_excluded")
    assert tuple(row[c] for c in columns) == expected
    assert row["population"] == 40
    assert row["population"] == (row["planning_population"] + row["ndo_excluded"]
                                 + row["type1_excluded"])


def test_defaults_are_the_rules_the_pipeline_always_had(outcome):
    """Case-finding: type 1 opt-outs excluded (counted), the NDO ignored (direct care).
    Planning: the NDO applied (counted), type 1 ignored (aggregates are not identifiable)."""
    row = outcome[DEFAULTS]
    assert row["excluded"] == 5 and row["excluded_ndo_optout"] == 0
    assert row["cohort_target"] == 1  # 2.5 % of 40: the opt-outs stay in the denominator
    assert not row["_cohort"] & {f"p{i:02d}" for i in range(5)}


def test_case_finding_ndo_rule_removes_people_from_the_lists_only(outcome):
    """Case-finding NDO rule: the NDO people leave the lists and are counted; the cohort target
    keeps its denominator of everyone."""
    row = outcome[BOTH]
    assert row["excluded"] == 10  # 5 type 1 + 5 NDO (p03, p04 counted under type 1)
    assert row["cohort_target"] == 1 and row["denominator"] == 40
    assert not row["_cohort"] & {f"p{i:02d}" for i in range(10)}


def test_a_case_finding_ndo_rule_needs_the_flag_column(engine):
    """Asked to apply the NDO to the lists without an `ndo_optout` column: a schema error, not
    a silent no-op."""
    with pytest.raises(SchemaError, match=r"\['ndo_optout'\]"):
        cohort_result(engine, toy_neighbourhood(), load_config(None).cohort,
                      optouts=("type1_optout", "ndo_optout"))
