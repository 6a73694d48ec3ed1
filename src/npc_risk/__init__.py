"""npc_risk: population risk stratification for NHS neighbourhood proactive care."""

import os
from importlib.metadata import PackageNotFoundError, version

# OpenMP threads (scikit-learn's gradient boosting) sleep instead of spinning while they wait.
# With the default spin-wait, a fit on a 2-core VM that anything else is using slowed ninefold
# (300k x 100 histogram boosting: 166 s against 19 s passive, same load), the collapse seen when
# `train` at 1M took 24 min; on a quiet machine passive waiting measured as fast (15.8 s against
# 19.1 s). Set before scikit-learn loads the OpenMP runtime; a value already in the environment
# wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

try:
    __version__ = version("npc-risk")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"
