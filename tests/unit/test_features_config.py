import pytest

from npc_risk.errors import ConfigError
from npc_risk.features import FeatureConfig


def test_defaults_and_mapping():
    c = FeatureConfig.from_mapping({"preset": "qof", "neighbourhood": "lcp", "codelists": "/x"})
    assert c.preset == "qof" and c.neighbourhood == "lcp" and str(c.codelists) == "/x"
    assert FeatureConfig.from_mapping(None) == FeatureConfig()


@pytest.mark.parametrize("bad", [{"nope": 1}, {"neighbourhood": "ccg"}, {"efi_min_age": -1},
                                 {"efi_below_min_age": "skip"}, {"preset": ""}, {"polypharmacy_min": True}])
def test_bad_values_raise_config_error(bad):
    with pytest.raises(ConfigError):
        FeatureConfig.from_mapping(bad)
