"""The pipeline config: every section, every key, one mechanism (npc_risk.config).

Every malformed value of every key is a ConfigError of one line naming the section, the key, the
value, the kind expected and the allowed range; the CLI exits 5 with it. Older spellings are
translated by one alias table, and an old and a new spelling that disagree are refused.
"""

from __future__ import annotations

from dataclasses import fields, replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from npc_risk.cli import app
from npc_risk.config import (
    DEFAULT_MEMORY_LIMIT,
    CaseFindingRules,
    CohortConfig,
    DefinitionConfig,
    FeatureConfig,
    PipelineConfig,
    PlanningRules,
    RiskConfig,
    RunConfig,
    load_config,
)
from npc_risk.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]

# section       key                        bad value (TOML)       the message says
BAD_VALUES = [
    ("pipeline", "population",               '"everyone"',          "expected one of 'registered'"),
    ("pipeline", "feature_sets",             '["npc_core", "x"]',   "expected one of 'npc_core'"),
    ("pipeline", "outcome",                  '"death"',             "expected one of 'emergency_admission_12m'"),
    ("pipeline", "selection",                '"random"',            "expected one of 'neighbourhood_top_fraction'"),
    ("pipeline", "outputs",                  '["patients", "pdf"]', "expected one of 'patients', 'cohort'"),
    ("run",      "engine",                   '"sqlite"',            "expected one of 'duckdb', 'pyspark'"),
    ("run",      "memory_limit",             '"lots"',              "expected a size such as '2GB' or '512MB'"),
    ("run",      "threads",                  '"four"',              "expected a whole number from 1 to 1024"),
    ("run",      "spark_master",             '"spark:/host"',       "expected a Spark master URL"),
    ("run",      "spark_executor_memory",    '"lots"',              "expected a size such as '2GB'"),
    ("run",      "spark_partitions",         "0",                   "expected a whole number from 1 to 100000"),
    ("run",      "keep",                     "-1",                  "expected a whole number from 0 to 100000"),
    ("features", "preset",                   '""',                  "expected a catalogue name"),
    ("features", "codelists",                "3",                   "expected a folder path"),
    ("features", "efi_min_age",              "-1",                  "expected a whole number from 0 to 120"),
    ("features", "efi_below_min_age",        '"skip"',              "expected one of 'flag', 'null'"),
    ("features", "hfrs_window_days",         "0",                   "expected a whole number from 1 to 36525"),
    ("features", "polypharmacy_min",         "true",                "expected a whole number from 1 to 100"),
    ("risk",     "method",                   '"magic"',             "expected one of 'model', 'rules'"),
    ("risk",     "estimator",                '"xgboost"',
     "expected one of 'hist_gradient_boosting', 'logistic'"),
    ("risk",     "seed",                     '"42"',                "expected a whole number from 0 to 4294967295"),
    ("risk",     "exclude_features",         '"age"',               "expected a list of texts"),
    ("risk",     "calibration",              '"platt"',             "expected one of 'sigmoid', 'isotonic'"),
    ("risk",     "calibration_folds",        "1",                   "expected a whole number from 2 to 10"),
    ("risk",     "calibration_holdout_min_people", "5",             "expected a whole number from 1000 to 1000000000"),
    ("risk",     "holdout_practice_fraction", "0.9",                "expected a number from 0.0 to 0.5"),
    ("risk",     "learning_rate",            "2",                   "expected a number from 0.0001 to 1.0"),
    ("risk",     "max_iter",                 "0",                   "expected a whole number from 1 to 5000"),
    ("risk",     "max_leaf_nodes",           "1",                   "expected a whole number from 2 to 255"),
    ("risk",     "min_samples_leaf",         "0",                   "expected a whole number from 1 to 100000"),
    ("risk",     "l2_regularization",        "-1",                  "expected a number from 0.0 to 1000000.0"),
    ("risk",     "early_stopping",           '"yes"',               "expected true or false"),
    ("risk",     "logistic_c",               "0",                   "expected a number from 1e-06 to 1000000.0"),
    ("risk",     "top_fractions",            "[0.0]",               "expected a number from 1e-06 to 0.5"),
    ("risk",     "leakage_auroc",            "1.5",                 "expected a number from 0.5 to 1.0"),
    ("risk",     "n_drivers",                "11",                  "expected a whole number from 1 to 10"),
    ("risk",     "driver_min_contribution",  '"small"',             "expected a number from 0.0 to 0.5"),
    ("risk",     "training_max_people",      "10",                  "expected a whole number from 1000 to 1000000000"),
    ("cohort",   "neighbourhood",            '"ward"',              "expected one of 'pcn', 'lcp', 'practice'"),
    ("cohort",   "cohort_fraction",          "0.5",                 "expected a number from 0.005 to 0.1"),
    ("cohort",   "denominator",              '"children"',          "expected one of 'all', 'adults'"),
    ("cohort",   "min_age",                  "2.5",                 "expected a whole number from 0 to 120"),
    ("cohort",   "min_ltc_count",            "0",                   "expected a whole number from 1 to 50"),
    ("cohort",   "frailty_min_deficits",     "40",                  "expected a whole number from 1 to 36"),
    ("cohort",   "frailty_min_age",          "-5",                  "expected a whole number from 0 to 120"),
    ("cohort",   "hfrs_high_threshold",      "500",                 "expected a number from 0.0 to 200.0"),
    ("cohort",   "exclude_palliative_care",  '"yes"',               "expected true or false"),
    ("cohort",   "exclude_care_home",        "1",                   "expected true or false"),
    ("outputs.case_finding", "apply_type1_optout", '"yes"',         "expected true or false"),
    ("outputs.case_finding", "apply_ndo_optout",   "0",             "expected true or false"),
    ("outputs.planning",     "apply_type1_optout", '"no"',          "expected true or false"),
    ("outputs.planning",     "apply_ndo_optout",   "[]",            "expected true or false"),
]
SECTIONS = {"pipeline": DefinitionConfig, "run": RunConfig, "features": FeatureConfig,
            "risk": RiskConfig, "cohort": CohortConfig, "outputs.case_finding": CaseFindingRules,
            "outputs.planning": PlanningRules}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "p.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_table_covers_every_key_of_every_section():
    covered = {(section, key) for section, key, *_ in BAD_VALUES}
    every = {(name, f.name) for name, cls in SECTIONS.items() for f in fields(cls)}
    assert covered == every


@pytest.mark.parametrize(("section", "key", "value", "message"), BAD_VALUES,
                         ids=[f"{s}.{k}" for s, k, *_ in BAD_VALUES])
def test_every_bad_value_is_one_line_naming_section_key_and_range(tmp_path, section, key, value,
                                                                    message):
    path = write(tmp_path, f"[{section}]\n{key} = {value}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    text = str(caught.value)
    assert "\n" not in text
    assert text.startswith(f"{path}: [{section}] {key} = ")
    assert message in text


@pytest.mark.parametrize(("section", "key", "value", "message"), BAD_VALUES[:8],
                         ids=[f"{s}.{k}" for s, k, *_ in BAD_VALUES[:8]])
def test_the_cli_exits_5_with_the_message(tmp_path, section, key, value, message):
    path = write(tmp_path, f"[{section}]\n{key} = {value}\n")
    result = CliRunner().invoke(app, ["validate", "--input", str(tmp_path), "--as-of", "2026-03-31",
                                      "--pipeline", str(path)])
    assert result.exit_code == 5
    assert message in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(("text", "message"), [
    ("[cohort]\ncohort_fracton = 0.02\n", "[cohort] unknown key 'cohort_fracton'; allowed keys are"),
    ("[outputs.planning]\napply_ndo = true\n", "[outputs.planning] unknown key 'apply_ndo'"),
    ("[outputs.research]\napply_ndo_optout = true\n", "[outputs.research]: unknown section"),
    ("[outputs]\nplanning = true\n", "[outputs] planning = True: expected a table [outputs.planning]"),
    ("[cohort.exclusions]\ncare_homes = true\n", "[cohort.exclusions]: unknown section"),
    ("[risk]\nexclude_features = [\"age\"]\n", "age may not be excluded"),
    ("[risk]\ntop_fractions = []\n", "[risk] top_fractions = []"),
    ("[pipeline]\nfeature_sets = []\n", "feature_sets lacks 'npc_core'"),
    ("[pipeline]\noutputs = [\"patients\", \"cohort\", \"cohort\"]\n", "a name is repeated"),
    ("[pipeline]\noutputs = [\"cohort\"]\n", "outputs lacks 'patients'"),
    ("colour = \"blue\"\n", "[top level] unknown key 'colour'"),
    ("name = 3\n", "name = 3: expected text"),
    ("[run\n", "not valid TOML"),
])
def test_other_mistakes_are_one_line_too(tmp_path, text, message):
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    assert "\n" not in str(caught.value)
    assert message in str(caught.value)


def test_missing_file_says_how_to_fix():
    with pytest.raises(ConfigError, match="pipeline config not found; pass --pipeline"):
        load_config(Path("no/such.toml"))


# ------------------------------------------------------------------------ defaults and values
def test_an_empty_file_is_the_defaults(tmp_path):
    config = load_config(write(tmp_path, ""))
    assert replace(config, name="default", source=None) == PipelineConfig() == load_config(None)
    assert config.run.memory_limit == DEFAULT_MEMORY_LIMIT == "2GB"
    assert config.outputs.case_finding.applied == ("type1_optout",)
    assert config.outputs.planning.applied == ("ndo_optout",)


def test_values_are_normalised(tmp_path):
    config = load_config(write(tmp_path, "[risk]\ntop_fractions = [0.02, 1e-2]\nlearning_rate = 1\n"
                                         "[features]\ncodelists = \"lists\"\n"))
    assert config.risk.top_fractions == (0.02, 0.01)
    assert config.risk.learning_rate == 1.0 and isinstance(config.risk.learning_rate, float)
    assert config.features.codelists == Path("lists")
    assert config.as_dict()["features"]["codelists"] == "lists"


def test_sections_built_in_code_are_checked_the_same_way():
    with pytest.raises(ConfigError, match=r"\[cohort\] cohort_fraction = 0.5"):
        CohortConfig(cohort_fraction=0.5)
    with pytest.raises(AttributeError):
        RiskConfig().seed = 1  # type: ignore[misc]


@pytest.mark.parametrize("name", ["leeds_npc.toml", "leicestershire_int.toml"])
def test_shipped_pipelines_load(name):
    config = load_config(ROOT / "pipelines" / name)
    assert config.name == name.removesuffix(".toml")
    assert config.outputs.case_finding.applied == ("type1_optout",)


# ------------------------------------------------------------------------------- the aliases
@pytest.mark.parametrize("text", [
    "[cohort.exclusions]\ntype1_optout = false\n",
    "[cohort]\nexclude_type1_optout = false\n",
])
def test_the_older_case_finding_spellings_still_work(tmp_path, text):
    config = load_config(write(tmp_path, text))
    assert config.outputs.case_finding.applied == ()


def test_older_nested_cohort_tables_are_flattened(tmp_path):
    config = load_config(write(tmp_path, "[cohort.eligibility]\nmin_ltc_count = 4\n"
                                         "[cohort.exclusions]\ncare_home = false\nndo_optout = true\n"))
    assert config.cohort.min_ltc_count == 4
    assert config.cohort.exclude_care_home is False
    assert config.outputs.case_finding.applied == ("type1_optout", "ndo_optout")


def test_the_features_neighbourhood_key_now_sets_the_cohort_unit(tmp_path):
    """`[features] neighbourhood` was validated and read by nothing; it means [cohort]'s unit."""
    assert load_config(write(tmp_path, "[features]\nneighbourhood = \"lcp\"\n")).cohort.neighbourhood == "lcp"
    with pytest.raises(ConfigError, match=r"contradicts \[cohort\] neighbourhood = 'pcn'"):
        load_config(write(tmp_path, "[features]\nneighbourhood = \"lcp\"\n[cohort]\nneighbourhood = \"pcn\"\n"))


def test_old_and_new_spellings_may_agree(tmp_path):
    config = load_config(write(tmp_path, "[cohort.exclusions]\ntype1_optout = false\n"
                                         "[outputs.case_finding]\napply_type1_optout = false\n"))
    assert config.outputs.case_finding.applied == ()


def test_old_and_new_spellings_that_disagree_are_refused(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, "[cohort.exclusions]\ntype1_optout = true\n"
                                    "[outputs.case_finding]\napply_type1_optout = false\n"))
    assert ("[cohort.exclusions] type1_optout = true contradicts [outputs.case_finding] "
            "apply_type1_optout = false; set the rule once, as [outputs.case_finding] "
            "apply_type1_optout") in str(caught.value)
