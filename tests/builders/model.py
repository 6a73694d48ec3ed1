"""The small trained model the risk tests share, and the frames it is trained and evaluated on.

`training_frames()` draws two synthetic feature frames (tests/builders/synthetic.py, 5,000 people
each, seeds 1 and 2): one to train on, one held out with its true probability. `train_small_model`
fits the production estimator with a fast configuration (`FAST`: 30 shallow trees, 2 calibration
folds) under the temporal split of as-of 2026-03-31 (`WINDOW`). The session fixtures
`small_frames` and `small_model` (tests/conftest.py) build each once for the whole run; a test
that must train its own model (another estimator, shuffled labels, a leaking column) uses the same
frames and configuration.
"""

from __future__ import annotations

from datetime import date
from typing import NamedTuple

import numpy as np
import pandas as pd

from npc_risk.config import RiskConfig
from npc_risk.risk.labels import training_windows
from npc_risk.risk.model import TrainedModel, train_model
from tests.builders.synthetic import synthetic_features

FAST = RiskConfig(min_samples_leaf=20, max_iter=30, max_leaf_nodes=7, learning_rate=0.1,
                  calibration_folds=2)
WINDOW = training_windows(date(2026, 3, 31))


class Frames(NamedTuple):
    """train / y: the training frame and its outcomes; held / y_eval / truth: the held-out frame,
    its outcomes and its true probabilities."""

    train: pd.DataFrame
    y: np.ndarray
    held: pd.DataFrame
    y_eval: np.ndarray
    truth: np.ndarray


def training_frames(n: int = 5000, seeds: tuple[int, int] = (1, 2)) -> Frames:
    train, _, y = synthetic_features(n, seed=seeds[0])
    held, truth, y_eval = synthetic_features(n, seed=seeds[1])
    return Frames(train, y, held, y_eval, truth)


def train_small_model(frames: Frames, config: RiskConfig = FAST, window: dict = WINDOW) -> TrainedModel:
    return train_model(frames.train, frames.y, frames.held, frames.y_eval, config=config,
                       training_window=window)
