"""Shared test fixtures.

Global randomness is forbidden in tests: every generator must be seeded explicitly
(numpy.random.default_rng(seed)). The autouse fixture below fails any test that draws from the
global numpy or `random` state.

`engine` / `module_engine`: an open engine, once per installed engine (TEST_ENGINES); every spec
and generative test that runs ibis set logic takes one and runs its expressions on it.
`codelists`, `hfrs_weights`, `small_frames`, `small_model`: built once per session from the
builders in tests/builders/ (treat them as read-only).
`built_codelists`: the code-list folder `codelists build` makes from the public exports beside
the repository (REALLISTS, issue 9), once a session; tests that take it skip, saying why, where
that folder is absent. The features chapter runs on it as well as on the packaged lists.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from tests.builders.reallists import NO_REALLISTS, REALLISTS


@pytest.fixture(autouse=True)
def _no_global_randomness():
    np_state = np.random.get_state()[1].copy()
    py_state = random.getstate()
    yield
    assert np.array_equal(np.random.get_state()[1], np_state), (
        "test used numpy's global random state; use numpy.random.default_rng(seed)"
    )
    assert random.getstate() == py_state, "test used the global `random` state; seed a Random()"


# Every engine the spec and generative tests run on. DuckDB (embedded) always; the Spark issue
# adds "pyspark" here once the pipeline runs on it (npc_risk.engine.BACKENDS lists both).
TEST_ENGINES = ("duckdb",)


@pytest.fixture(params=TEST_ENGINES)
def engine(request):
    """An open engine (npc_risk.engine.Engine), closed after the test: every cached and
    temporary table is released before the connection closes."""
    from npc_risk.config import RunConfig
    from npc_risk.engine import Engine

    with Engine.open(RunConfig(engine=request.param)) as opened:
        yield opened


@pytest.fixture(scope="module", params=TEST_ENGINES)
def module_engine(request):
    """As `engine`, shared by a module's expensive fixtures (e.g. one ingest read by many tests)."""
    from npc_risk.config import RunConfig
    from npc_risk.engine import Engine

    with Engine.open(RunConfig(engine=request.param)) as opened:
        yield opened


# ------------------------------------------------------------------ shared, built once a session
@pytest.fixture(scope="session")
def codelists():
    """The packaged code lists (npc_risk/data/codelists), loaded once for the whole session."""
    from tests.builders.features import packaged_codelists

    return packaged_codelists()


@pytest.fixture(scope="session")
def built_codelists(tmp_path_factory):
    """(BuildResult, CodelistSet) of the folder built from REALLISTS, once a session."""
    from npc_risk.codelists import load_codelists
    from npc_risk.codelists.build import build_codelists

    if not REALLISTS.is_dir():
        pytest.skip(NO_REALLISTS)
    output = tmp_path_factory.mktemp("codelists") / "built"
    result = build_codelists(REALLISTS, output)
    return result, load_codelists(output)


@pytest.fixture(scope="session")
def hfrs_weights() -> dict[str, int]:
    """The packaged HFRS points per 3-character ICD-10 category, in tenths."""
    from tests.builders.features import packaged_hfrs_weights

    return packaged_hfrs_weights()


@pytest.fixture(scope="session")
def small_frames():
    """Synthetic training and held-out feature frames (tests/builders/model.py), drawn once."""
    from tests.builders.model import training_frames

    return training_frames()


@pytest.fixture(scope="session")
def small_model(small_frames):
    """The small model trained once on `small_frames` (tests/builders/model.py); treat it as
    read-only."""
    from tests.builders.model import train_small_model

    return train_small_model(small_frames)
