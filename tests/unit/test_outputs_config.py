"""Unit: the `[outputs]` section (per-output-class opt-out rules) of the pipeline TOML and its
older `[cohort.exclusions] type1_optout` spelling."""

from __future__ import annotations

from pathlib import Path

import pytest

from npc_risk.cohort import CohortConfig
from npc_risk.config import OptOutRules, OutputsConfig, PipelineConfig, load_config
from npc_risk.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
TODAY = OutputsConfig(
    case_finding=OptOutRules(apply_type1_optout=True, apply_ndo_optout=False),
    planning=OptOutRules(apply_type1_optout=False, apply_ndo_optout=True),
)


def load(tmp_path: Path, text: str) -> PipelineConfig:
    path = tmp_path / "p.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


def test_defaults_reproduce_the_rules_before_the_section_existed(tmp_path):
    for config in (PipelineConfig(), load(tmp_path, ""), load_config(None)):
        assert config.outputs == TODAY
        assert config.cohort.exclusions == ("palliative_care", "care_home", "type1_optout")
        assert config.outputs.planning.applied == ("ndo_optout",)
        assert config.outputs.case_finding.applied == ("type1_optout",)


@pytest.mark.parametrize("name", ["leeds_npc.toml", "leicestershire_int.toml"])
def test_shipped_pipelines_keep_the_default_rules(name):
    config = load_config(ROOT / "pipelines" / name)
    assert config.outputs == TODAY
    assert config.cohort.exclude_type1_optout and not config.cohort.exclude_ndo_optout


def test_each_class_can_be_set(tmp_path):
    config = load(tmp_path, """
[outputs.case_finding]
apply_ndo_optout = true
[outputs.planning]
apply_type1_optout = true
""")
    assert config.outputs.case_finding == OptOutRules(True, True)
    assert config.outputs.planning == OptOutRules(True, True)
    assert config.cohort.exclusions == ("palliative_care", "care_home", "type1_optout", "ndo_optout")
    assert config.as_dict()["outputs"]["planning"] == {"apply_type1_optout": True,
                                                       "apply_ndo_optout": True}
    assert config.digest() != PipelineConfig().digest()


@pytest.mark.parametrize("text", [
    "[cohort.exclusions]\ntype1_optout = false\n",
    "[cohort]\nexclude_type1_optout = false\n",
])
def test_the_older_cohort_key_still_works(tmp_path, text):
    config = load(tmp_path, text)
    assert config.outputs.case_finding.apply_type1_optout is False
    assert config.cohort.exclude_type1_optout is False


def test_old_and_new_keys_may_agree(tmp_path):
    config = load(tmp_path, "[cohort.exclusions]\ntype1_optout = false\n"
                            "[outputs.case_finding]\napply_type1_optout = false\n")
    assert config.cohort.exclusions == ("palliative_care", "care_home")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[cohort.exclusions]\ntype1_optout = true\n[outputs.case_finding]\napply_type1_optout = false\n",
         r"\[outputs.case_finding\] apply_type1_optout = false contradicts \[cohort.exclusions\] "
         r"type1_optout = true; set the rule once, as \[outputs.case_finding\] apply_type1_optout"),
        ("[outputs.planning]\napply_ndo = true\n",
         r"\[outputs.planning\] unknown key\(s\) \['apply_ndo'\]; allowed keys are "
         r"\['apply_ndo_optout', 'apply_type1_optout'\]"),
        ("[outputs.research]\napply_ndo_optout = true\n",
         r"\[outputs\] unknown key\(s\) \['research'\]"),
        ("[outputs]\nplanning = true\n", r"\[outputs\] planning = True: expected a table"),
        ("[outputs.case_finding]\napply_ndo_optout = \"yes\"\n",
         r"\[outputs.case_finding\] apply_ndo_optout = 'yes': expected true or false"),
    ],
)
def test_bad_outputs_config_is_one_clear_line(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message) as caught:
        load(tmp_path, text)
    assert "\n" not in str(caught.value)
    assert str(caught.value).startswith(str(tmp_path / "p.toml"))


def test_inconsistent_objects_are_refused():
    with pytest.raises(ConfigError, match=r"as \[outputs.case_finding\] apply_type1_optout"):
        PipelineConfig(cohort=CohortConfig(exclude_type1_optout=False))
