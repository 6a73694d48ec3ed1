"""The synthetic city generator: a Leeds-like extract with known truth (see city.py)."""

from npc_risk.synth.calibration import calibration_report
from npc_risk.synth.city import GenerateSummary, generate_city

__all__ = ["GenerateSummary", "calibration_report", "generate_city"]
