"""The Spark engine: a Spark session built for this pipeline, and ibis's PySpark backend with the
fixes the pipeline needs (optional extra: `pip install npc-risk[spark]`, Java 17).

Only `engine.py` imports this module, and only when `[run] engine = "pyspark"`.

Session (`open_session`): `local[N]` unless `[run] spark_master` (or `--spark-master`) names a
cluster (`spark://host:7077`, `k8s://...`, `yarn`); the Spark UI off; Arrow transfers on
(collects 2-2.5x faster and keep types); `spark.sql.shuffle.partitions` from
`[run] spark_partitions` (Spark's 200 is a fixed cost per shuffle that dominates small data);
scratch (`spark.local.dir`) in the run's private work folder; the driver's log4j at ERROR
(`data/spark/log4j2.properties`: no Spark banner or WARN lines on a cron job's stderr); the
driver's memory from `[run] memory_limit`, each executor's from `[run] spark_executor_memory`.
On a local or loopback master the driver binds to 127.0.0.1 (`SPARK_LOCAL_IP` and driver host /
bind address), else it binds to the network interface.

Backend (`SparkBackend`), each fix measured by the probe in engine-notes.md (Spark 4.0.5):
* memtables are registered from Arrow (`createDataFrame(pyarrow.Table)`); through pandas 3 (ibis's
  default) null strings arrived as the text "NaN" and nullable int64 columns became all-null;
* results are collected as Arrow (`DataFrame.toArrow()`) and cast to the expression's ibis schema,
  so a rank Spark types INTEGER comes back int64 like DuckDB's;
* caching an expression registers its memtables first (ibis's own `_create_cached_table` did not,
  and failed on any expression that reads one);
* `map_batches` applies a Python function (the risk model) to Arrow batches on the executors
  (`mapInArrow`), so scoring never pulls the feature table into the driver;
* `to_pyarrow_batches` streams a result to the driver one partition at a time (publish writes
  every output through it); ibis's own collected the whole result first (`toArrow`).
Spark has no temporary tables: `Engine.temp_table` caches instead (engine.py).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa
from ibis.backends.pyspark import Backend as _PySparkBackend
from ibis.formats.pyarrow import PyArrowData, PyArrowSchema

from npc_risk.manifest import packaged_folder

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from npc_risk.config import RunConfig

_LOG4J = packaged_folder("spark") / "log4j2.properties"

_UNITS = {"KB": "k", "MB": "m", "GB": "g", "TB": "t", "KIB": "k", "MIB": "m", "GIB": "g", "TIB": "t"}


def spark_size(size: str) -> str:
    """A config size ('2GB', '512 MiB', '1.5GB') as Spark writes it ('2g', '512m', '1536m')."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B)\s*", size, flags=re.IGNORECASE)
    if not match:
        raise ValueError(f"not a size: {size!r}")  # RunConfig has checked the pattern already
    number, unit = float(match.group(1)), _UNITS[match.group(2).upper()]
    if number != int(number):  # Spark takes whole numbers only: one unit down
        down = {"t": "g", "g": "m", "m": "k", "k": "k"}[unit]
        return f"{int(number * 1024)}{down}"
    return f"{int(number)}{unit}"


def master_url(run: RunConfig) -> str:
    """`[run] spark_master`, or `local[threads]` (`local[*]`: one thread per core)."""
    if run.spark_master:
        return run.spark_master
    return f"local[{int(run.threads)}]" if run.threads else "local[*]"


def _loopback(master: str) -> bool:
    return master.startswith("local") or "127.0.0.1" in master or "localhost" in master


def open_session(run: RunConfig, *, local_dir: Path | None = None) -> SparkSession:
    """A Spark session with the settings in the module docstring (started, or the process's
    running session with these settings applied where Spark allows it)."""
    from pyspark.sql import SparkSession  # noqa: PLC0415 (optional extra)

    master = master_url(run)
    # the Python the executors run the model with: this interpreter (its packages), unless the
    # deployment names one; pyspark reads the variable, not spark.pyspark.python, when the
    # context starts (without it the workers ran a `python3` from PATH, without pyarrow)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = (SparkSession.builder.master(master).appName("npc_risk")
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               # the driver JVM logs errors only (data/spark/log4j2.properties); ignored where
               # spark-submit or a notebook has started the JVM already
               .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={_LOG4J.as_uri()}")
               .config("spark.sql.execution.arrow.pyspark.enabled", "true")
               .config("spark.sql.execution.arrow.pyspark.fallback.enabled", "false")
               .config("spark.sql.shuffle.partitions", str(run.spark_partitions))
               .config("spark.sql.session.timeZone", "UTC")
               # executors run the model (map_batches) with this interpreter and its packages
               .config("spark.pyspark.python", sys.executable)
               .config("spark.driver.memory", spark_size(run.memory_limit))
               .config("spark.executor.memory", spark_size(run.spark_executor_memory)))
    if _loopback(master):
        os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
        builder = (builder.config("spark.driver.host", "127.0.0.1")
                   .config("spark.driver.bindAddress", "127.0.0.1"))
    if local_dir is not None:
        Path(local_dir).mkdir(parents=True, exist_ok=True)
        builder = builder.config("spark.local.dir", str(local_dir))
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")  # also where the JVM was started with other logging
    return session


class SparkBackend(_PySparkBackend):
    """ibis's PySpark backend with the pipeline's fixes (module docstring).

    `owns_session`: `disconnect()` stops the session only if this backend started it (the test
    suite shares one session between many engines)."""

    owns_session = True

    def _register_in_memory_table(self, op) -> None:
        arrow = op.data.to_pyarrow(op.schema)
        frame = self._session.createDataFrame(arrow)
        frame.createOrReplaceTempView(op.name)

    def _spark_frame(self, expr: ir.Expr, **kwargs: Any):
        table = expr.as_table()
        self._run_pre_execute_hooks(table)
        return self._session.sql(self.compile(table, **kwargs))

    def to_pyarrow(self, expr: ir.Expr, /, *, params=None, limit=None, **kwargs: Any) -> pa.Table:
        table_expr = expr.as_table()
        arrow = self._spark_frame(table_expr, params=params, limit=limit).toArrow()
        schema = table_expr.schema()
        # Spark's Arrow names the columns as they are; ibis's converter casts each to its type.
        arrow = arrow.rename_columns(list(schema.names))
        arrow = PyArrowData.convert_table(arrow, schema)
        return expr.__pyarrow_result__(arrow)

    def execute(self, expr: ir.Expr, /, *, params=None, limit=None, **kwargs: Any):
        arrow = self.to_pyarrow(expr.as_table(), params=params, limit=limit)
        return expr.__pandas_result__(arrow.to_pandas(types_mapper=None))

    def _create_cached_table(self, name: str, expr: ir.Table) -> ir.Table:
        self._run_pre_execute_hooks(expr)
        return super()._create_cached_table(name, expr)

    def map_batches(self, table: ir.Table, func: Callable[[pa.RecordBatch], pa.RecordBatch],
                    schema: pa.Schema) -> ir.Table:
        """`func` applied to each Arrow batch of `table` on the executors: a lazy table of
        `schema` (cache it when it is read more than once, so the function runs once per row)."""
        frame = self._spark_frame(table)
        spark_schema = _spark_schema(schema)

        def apply(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
            for batch in batches:
                yield func(batch)

        result = frame.mapInArrow(apply, spark_schema)
        name = ibis.util.gen_name("mapped")
        result.createOrReplaceTempView(name)
        return self.table(name)

    def to_pyarrow_batches(self, expr: ir.Expr, /, *, params=None, limit=None, chunk_size: int = 1_000_000,
                           **kwargs: Any) -> pa.RecordBatchReader:
        """The result as a stream of Arrow batches of the expression's ibis types, in its order,
        with one partition of it in the driver at a time.

        How: on the executors each partition's Arrow batches (`mapInArrow`; at most
        `spark.sql.execution.arrow.maxRecordsPerBatch` rows each) are serialised into one Arrow
        IPC message per row of a one-column binary frame; `toLocalIterator(prefetchPartitions=
        False)` then runs one job per partition, in partition order, and the driver reads the
        messages back as batches. A sorted expression's partitions are ranges of the sort key in
        order (Spark's range partitioning), so the stream is in the expression's order.
        """
        table_expr = expr.as_table()
        schema = table_expr.schema()
        names = list(schema.names)
        messages = self._spark_frame(table_expr, params=params, limit=limit).mapInArrow(
            _ipc_messages, "message binary")

        def batches() -> Iterator[pa.RecordBatch]:
            for row in messages.toLocalIterator(prefetchPartitions=False):
                with pa.ipc.open_stream(pa.py_buffer(row[0])) as reader:
                    for batch in reader:
                        arrow = pa.Table.from_batches([batch]).rename_columns(names)
                        yield from PyArrowData.convert_table(arrow, schema).to_batches(max_chunksize=chunk_size)

        return pa.RecordBatchReader.from_batches(PyArrowSchema.from_ibis(schema), batches())

    def disconnect(self) -> None:
        if self.owns_session:
            self._session.stop()


def _ipc_messages(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Each Arrow batch of a partition as one Arrow IPC stream in a one-row binary batch (runs on
    the executors; see SparkBackend.to_pyarrow_batches)."""
    for batch in batches:
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, batch.schema) as writer:
            writer.write_batch(batch)
        yield pa.record_batch([pa.array([sink.getvalue().to_pybytes()], pa.binary())], names=["message"])


def _spark_schema(schema: pa.Schema):
    from ibis.backends.pyspark.datatypes import PySparkSchema  # noqa: PLC0415

    return PySparkSchema.from_ibis(PyArrowSchema.to_ibis(schema))


def connect(session: SparkSession, *, owns_session: bool = True) -> SparkBackend:
    """The pipeline's ibis backend on `session`."""
    if getattr(ibis.options, "pyspark", None) is None:  # what `ibis.pyspark` does on first use
        SparkBackend.register_options()
    backend = SparkBackend().connect(session)
    backend.owns_session = owns_session
    return backend
