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

import importlib.util
import os
import random
import shutil

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


# Every engine the spec and generative tests run on: the installed engines named in
# NPC_RISK_TEST_ENGINES (comma-separated; default "duckdb"). The Spark leg is much slower than
# DuckDB on 2 cores (a fixed cost of seconds per Spark job), so CI's `make test` runs DuckDB and
# `make test-spark` sets NPC_RISK_TEST_ENGINES=duckdb,pyspark (docs/scaling.md). An engine named
# but not installed (pyspark without the [spark] extra, or no `java`) is skipped, saying why.
def _engine_params() -> list:
    from npc_risk.engine import BACKENDS

    names = [n.strip() for n in os.environ.get("NPC_RISK_TEST_ENGINES", "duckdb").split(",") if n.strip()]
    unknown = sorted(set(names) - set(BACKENDS))
    if unknown:
        raise pytest.UsageError(f"NPC_RISK_TEST_ENGINES names {unknown}; the engines are {BACKENDS}")
    params = []
    for name in names:
        missing = _missing(name)
        marks = [pytest.mark.skip(reason=missing)] if missing else []
        params.append(pytest.param(name, id=name, marks=marks))
    return params


def _missing(name: str) -> str | None:
    """Why engine `name` cannot run here, or None."""
    if name != "pyspark":
        return None
    if importlib.util.find_spec("pyspark") is None:
        return "pyspark is not installed: make spark-env (uv sync --extra spark)"
    if shutil.which("java") is None:
        return "java is not on PATH: make spark-env installs openjdk-17-jre-headless"
    return None


TEST_ENGINES = _engine_params()


@pytest.fixture(scope="session")
def spark_session(tmp_path_factory):
    """One local Spark session for the whole test run (starting one costs seconds), stopped at
    the end; every pyspark engine borrows it."""
    from npc_risk.config import RunConfig
    from npc_risk.spark import open_session

    session = open_session(RunConfig(engine="pyspark", threads=2, spark_partitions=2),
                           local_dir=tmp_path_factory.mktemp("spark"))
    yield session
    session.stop()


def _open_engine(request):
    from npc_risk.config import RunConfig
    from npc_risk.engine import Engine

    if request.param == "pyspark":
        from npc_risk.spark import connect

        return Engine(connect(request.getfixturevalue("spark_session"), owns_session=False), "pyspark")
    return Engine.open(RunConfig(engine=request.param))


@pytest.fixture(params=TEST_ENGINES)
def engine(request):
    """An open engine (npc_risk.engine.Engine), closed after the test: every cached and
    temporary table is released before the connection closes."""
    with _open_engine(request) as opened:
        yield opened


@pytest.fixture(scope="module", params=TEST_ENGINES)
def module_engine(request):
    """As `engine`, shared by a module's expensive fixtures (e.g. one ingest read by many tests)."""
    with _open_engine(request) as opened:
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
