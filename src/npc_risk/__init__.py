"""npc_risk: population risk stratification for NHS neighbourhood proactive care."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("npc-risk")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"
