"""Unit: `CohortConfig.from_mapping` validates the `[cohort]` section with one clear line."""

from __future__ import annotations

import pytest

from npc_risk.cohort import CohortConfig
from npc_risk.errors import ConfigError


def test_defaults():
    config = CohortConfig.from_mapping({})
    assert config == CohortConfig()
    assert (config.neighbourhood, config.cohort_fraction, config.denominator) == ("pcn", 0.025, "all")
    assert (config.min_ltc_count, config.frailty_min_deficits, config.frailty_min_age) == (3, 9, 65)
    assert (config.hfrs_high_threshold, config.min_age) == (15.0, 18)
    assert config.exclusions == ("palliative_care", "care_home", "type1_optout")


def test_nested_tables_are_accepted():
    config = CohortConfig.from_mapping({
        "neighbourhood": "lcp",
        "eligibility": {"min_ltc_count": 4, "hfrs_high_threshold": 10},
        "exclusions": {"type1_optout": False},
    })
    assert config.neighbourhood == "lcp"
    assert config.min_ltc_count == 4
    assert config.hfrs_high_threshold == 10.0
    assert config.exclusions == ("palliative_care", "care_home")


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"cohort_fraction": 0.5}, r"cohort_fraction = 0.5: allowed range is 0.005-0.1"),
        ({"cohort_fraction": 0.001}, r"allowed range"),
        ({"cohort_fraction": "2.5%"}, r"expected a number"),
        ({"neighbourhood": "ward"}, r"neighbourhood = 'ward': allowed values are \['pcn', 'lcp', 'practice'\]"),
        ({"denominator": "children"}, r"allowed values are \['all', 'adults'\]"),
        ({"min_ltc_count": 2.5}, r"expected a whole number"),
        ({"exclude_care_home": "yes"}, r"expected true or false"),
        ({"exclusions": {"care_homes": True}}, r"unknown key\(s\) \['exclude_care_homes'\]"),
        ({"cohort_fracton": 0.02}, r"unknown key\(s\) \['cohort_fracton'\]"),
        ({"frailty_min_deficits": 40}, r"allowed range is 1-36"),
    ],
)
def test_bad_values_raise_config_error_naming_the_key(mapping, message):
    with pytest.raises(ConfigError, match=message) as caught:
        CohortConfig.from_mapping(mapping)
    assert "\n" not in str(caught.value)
    assert str(caught.value).startswith("[cohort]")


def test_the_ndo_exclusion_is_off_by_default_and_can_be_switched_on():
    assert CohortConfig().exclude_ndo_optout is False
    config = CohortConfig.from_mapping({"exclusions": {"ndo_optout": True}})
    assert config.exclusions == ("palliative_care", "care_home", "type1_optout", "ndo_optout")


def test_to_dict_round_trips():
    config = CohortConfig(neighbourhood="practice", exclude_type1_optout=False)
    assert CohortConfig.from_mapping(config.to_dict()) == config
