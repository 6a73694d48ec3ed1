"""Helpers of the Spark tests: run the CLI in a child process (each Spark run starts and stops
its own session, apart from the test suite's shared one) and compare two published runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from npc_risk.schemas.outputs import OUTPUTS

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_data" / "extract"
# The city the whole-run comparisons use: the sample city, or NPC_RISK_SPARK_CITY (an extract
# folder, e.g. a generated 100k city: `make test-spark-city`), with NPC_RISK_SPARK_MODEL (a
# .skops model) passed to both engines' runs so neither trains (training collects its frames to
# the driver on either engine, and a 100k fit on Spark would only measure scikit-learn twice).
CITY = Path(os.environ.get("NPC_RISK_SPARK_CITY") or SAMPLE)
MODEL = os.environ.get("NPC_RISK_SPARK_MODEL") or None
AS_OF = "2026-03-31"
LEEDS = ROOT / "pipelines" / "leeds_npc.toml"
FLOAT_TOLERANCE = 1e-9


def selected_engines() -> list[str]:
    """The engines NPC_RISK_TEST_ENGINES names (tests/conftest.py)."""
    return [n.strip() for n in os.environ.get("NPC_RISK_TEST_ENGINES", "duckdb").split(",") if n.strip()]


def model_args() -> list[str]:
    """`--model <path>` when NPC_RISK_SPARK_MODEL names one; else nothing (each run trains)."""
    return ["--model", MODEL] if MODEL else []


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`npc-risk <args>` in a child process; the completed process (output captured)."""
    return subprocess.run([sys.executable, "-m", "npc_risk", *args], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, **(env or {})}, check=False)


def published_files(run: Path) -> list[str]:
    """Every declared output file of a published run and every file under quarantine/ (where a
    Spark folder of part files would show as its parts), relative to the run, sorted."""
    found = []
    for spec in OUTPUTS:
        found += [str(p.relative_to(run)) for p in run.glob(spec.path.replace("<key>", "*"))]
    found += [str(p.relative_to(run)) for p in (run / "quarantine").rglob("*") if p.is_file()]
    return sorted(found)


def differences(expected: Path, actual: Path) -> list[str]:
    """How two published runs differ (file names, schemas, row counts, values; floats to 1e-9),
    as short lines naming file and column (never values); empty when they are equal."""
    problems = []
    names = published_files(expected)
    if names != published_files(actual):
        return [f"files differ: {sorted(set(names) ^ set(published_files(actual)))}"]
    for name in names:
        a, b = pq.read_table(expected / name), pq.read_table(actual / name)
        if a.schema.remove_metadata() != b.schema.remove_metadata():
            problems.append(f"{name}: schema differs")
            continue
        if a.num_rows != b.num_rows:
            problems.append(f"{name}: {a.num_rows} rows against {b.num_rows}")
            continue
        for column in a.column_names:
            x, y = a[column].combine_chunks(), b[column].combine_chunks()
            if not _equal(x, y):
                problems.append(f"{name}: column {column} differs")
    return problems


def _equal(x: pa.Array, y: pa.Array) -> bool:
    if not pa.types.is_floating(x.type):
        return x.equals(y)
    if not pc.equal(pc.is_null(x), pc.is_null(y)).to_numpy(zero_copy_only=False).all():
        return False
    both = pc.and_(pc.is_valid(x), pc.is_valid(y))
    gap = pc.abs(pc.subtract(pc.filter(x, both), pc.filter(y, both)))
    return len(gap) == 0 or pc.max(gap).as_py() <= FLOAT_TOLERANCE
