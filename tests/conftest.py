"""Shared test fixtures.

Global randomness is forbidden in tests: every generator must be seeded explicitly
(numpy.random.default_rng(seed)). The autouse fixture below fails any test that draws from the
global numpy or `random` state.
"""

from __future__ import annotations

import random

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _no_global_randomness():
    np_state = np.random.get_state()[1].copy()
    py_state = random.getstate()
    yield
    assert np.array_equal(np.random.get_state()[1], np_state), (
        "test used numpy's global random state; use numpy.random.default_rng(seed)"
    )
    assert random.getstate() == py_state, "test used the global `random` state; seed a Random()"
