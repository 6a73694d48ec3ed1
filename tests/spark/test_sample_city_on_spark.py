"""The nightly run on Spark (local mode) publishes what DuckDB publishes (issue 13).

On the committed sample city (or the city NPC_RISK_SPARK_CITY names: compare.py, and
`make test-spark-city`), `npc-risk run --engine pyspark` and `--engine duckdb` are run in
child processes from the same extract and the same pipeline (the model trained in each run on
the extract's history); every declared output file (patients, cohort partitions,
neighbourhoods, evidence, quarantine) must have the same columns, Arrow types, rows in the same
order and values (floats equal to 1e-9), and the types must be the declared ones.

Runs when NPC_RISK_TEST_ENGINES names pyspark (`make test-spark`); skipped otherwise, saying why.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from npc_risk.schemas.outputs import OUTPUTS
from tests.conftest import _missing
from tests.spark.compare import AS_OF, CITY, LEEDS, differences, model_args, run_cli, selected_engines

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif("pyspark" not in selected_engines(),
                       reason="the Spark leg runs with NPC_RISK_TEST_ENGINES=duckdb,pyspark (make test-spark)"),
    pytest.mark.skipif(bool(_missing("pyspark")), reason=_missing("pyspark") or ""),
]


# What the JVM itself prints on every start of Spark 4 (its launcher resolves an incubator module
# for vectorised code); no setting of Spark's or log4j's reaches it.
JVM_NOTICE = "WARNING: Using incubator modules: jdk.incubator.vector"


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> dict[str, tuple[Path, str]]:
    """Each engine's published run and the stderr of its `--quiet` run."""
    done_by_engine = {}
    for engine in ("duckdb", "pyspark"):
        out = tmp_path_factory.mktemp(engine)
        done = run_cli("run", "--input", str(CITY), *model_args(), "--output", str(out), "--as-of", AS_OF,
                       "--pipeline", str(LEEDS), "--engine", engine, "--quiet")
        assert done.returncode == 0, done.stderr[-3000:]
        done_by_engine[engine] = (out / AS_OF, done.stderr)
    return done_by_engine


@pytest.fixture(scope="module")
def runs(finished) -> dict[str, Path]:
    return {engine: published for engine, (published, _) in finished.items()}


def test_a_quiet_spark_run_leaves_stderr_as_empty_as_duckdbs(finished):
    """A cron job mails whatever lands on stderr: Spark's log4j banner, its "Setting default log
    level" lines and its WARN lines (native Hadoop, hostname) are kept off it
    (data/spark/log4j2.properties); only the JVM's own start-up notice remains."""
    assert finished["duckdb"][1] == ""
    assert [line for line in finished["pyspark"][1].splitlines() if line != JVM_NOTICE] == []


def test_spark_publishes_the_same_files_rows_and_values_as_duckdb(runs):
    assert differences(runs["duckdb"], runs["pyspark"]) == []


def test_spark_publishes_the_declared_types(runs):
    """schemas/outputs.py pins every published column's type; Spark's INTEGER ranks and
    DuckDB's HUGEINT sums (emergency_bed_days_12m) come out int64 on both engines."""
    for spec in OUTPUTS:
        for path in sorted(runs["pyspark"].glob(spec.path.replace("<key>", "*"))):
            schema = pq.read_schema(path)
            assert [(f.name, f.type) for f in schema] == [(c.name, c.type) for c in spec.file_columns], path.name
