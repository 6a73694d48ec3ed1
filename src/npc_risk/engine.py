"""The engine: the one owner of the ibis backend connection and of every table cached on it.

Every command and every test that runs set logic opens one `Engine` and closes it:

    with Engine.open(config.run, spill_dir=work / "spill") as engine:
        tables = ingest_extract(engine, ...)
        features = derive_features(engine, tables, ...)

What it owns:
* the connection, opened from the `[run]` settings (backend, memory limit, threads, spill folder);
* every table it materialises: `cache(expr)` (an intermediate read more than once) and
  `temp_table(name, data)` (a named table from Arrow or an expression). `close()` releases each
  of them, then disconnects.

Trap (the reason this object exists): ibis drops a cached table through a `weakref.finalize`
that runs when the expression is garbage-collected, or at interpreter exit. If the connection was
closed first, each finalizer printed a `Connection already closed!` traceback after a run that
had succeeded. Releasing every cached table before disconnecting leaves no finalizer to fire.

The backend is a parameter: `duckdb` (embedded, the default) or `pyspark` (ibis's PySpark
backend with the pipeline's fixes, `npc_risk.spark`; docs/scaling.md). Where the two differ the
engine hides it: Spark has no temporary tables (`temp_table` caches), and `map_batches` runs a
Python function where the data are (Spark's executors) instead of in this process.

`record_batches(expr)` streams an expression's rows as Arrow batches from whichever backend the
expression runs on (publish writes every output through it): never the whole result in this
process at once.
"""

from __future__ import annotations

import itertools
import logging
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import ibis
import ibis.expr.types as ir
import pyarrow as pa

if TYPE_CHECKING:
    from npc_risk.config import RunConfig

log = logging.getLogger(__name__)

BACKENDS = ("duckdb", "pyspark")
# Rows per batch of map_batches on DuckDB: ~100 feature columns x 100k rows is tens of MB.
MAP_BATCH_ROWS = 100_000


@contextmanager
def record_batches(table: ir.Table, *, rows: int | None = None) -> Iterator[pa.RecordBatchReader]:
    """The rows of `table`, in its order, as a stream of Arrow batches of the expression's ibis
    types (the types `to_pyarrow` gives), from the backend the expression runs on (ibis's default
    DuckDB for an expression over memtables alone). One batch at a time is in this process:

    * DuckDB: its streaming result (`relation.to_arrow_reader`, batches of `rows`, default
      MAP_BATCH_ROWS); a sort is DuckDB's, spilling under the memory limit. Not ibis's
      `to_pyarrow_batches`, which calls `fetch_record_batch`, removed in DuckDB 2.0.
    * Spark: `SparkBackend.to_pyarrow_batches` (npc_risk.spark): the executors' Arrow batches,
      pulled to the driver one partition at a time. ibis's own collected the whole table first.

    A context manager: leaving the block closes the stream, read to the end or not. Trap: a
    DuckDB result left open (e.g. by an exception in the middle, whose traceback keeps the
    reader alive) blocks every later query on the connection ("connection has an open result").
    """
    rows = int(rows or MAP_BATCH_ROWS)
    con = table._find_backend(use_default=True)
    if con.name != "duckdb":
        stream = con.to_pyarrow_batches(table, chunk_size=rows)
        try:
            yield stream
        finally:
            stream.close()
        return
    from ibis.backends.duckdb.converter import DuckDBPyArrowData  # noqa: PLC0415
    from ibis.formats.pyarrow import PyArrowSchema  # noqa: PLC0415

    schema = table.schema()
    con._run_pre_execute_hooks(table)
    reader = con.con.sql(con.compile(table)).to_arrow_reader(rows)

    def converted() -> Iterator[pa.RecordBatch]:
        for batch in reader:
            yield from DuckDBPyArrowData.convert_table(pa.Table.from_batches([batch]), schema).to_batches()

    try:
        yield pa.RecordBatchReader.from_batches(PyArrowSchema.from_ibis(schema), converted())
    finally:
        reader.close()


class Engine(AbstractContextManager):
    """An open backend connection plus the tables cached on it (module docstring)."""

    def __init__(self, con: ibis.BaseBackend, backend: str, *, scratch: Path | None = None) -> None:
        self._con = con
        self.backend = backend
        self._scratch = Path(scratch) if scratch is not None else None
        self._own_scratch = False
        self._cached: list[ir.Table] = []
        self._temp: list[str] = []
        self._names = itertools.count()
        self._closed = False

    # ------------------------------------------------------------------------------- opening
    @classmethod
    def open(cls, run: RunConfig | None = None, *, spill_dir: Path | None = None) -> Engine:
        """Open the backend named by `run.engine` with its memory limit and threads.

        DuckDB: a memory limit and a spill folder let a large aggregation spill to disk instead
        of failing (engine-notes.md: a 48.5M-group aggregation spilled 2 GB at the same speed
        under a 1 GB limit); insertion order is not preserved (every output is sorted by a total
        key before it is written, so nothing depends on it).
        """
        from npc_risk.config import RunConfig  # noqa: PLC0415 (config imports nothing of ours)

        run = run or RunConfig()
        if run.engine == "duckdb":
            con = ibis.duckdb.connect()
            raw = con.con
            # Values as parameters, never pasted into the SQL text: an output path such as
            # `/data/St John's/` broke the statement (issue 10, finding 4).
            raw.execute("SET memory_limit = ?", [str(run.memory_limit)])
            raw.execute("SET preserve_insertion_order = false")
            if run.threads:
                raw.execute(f"SET threads = {int(run.threads)}")
            if spill_dir is not None:
                Path(spill_dir).mkdir(parents=True, exist_ok=True)
                raw.execute("SET temp_directory = ?", [str(spill_dir)])
            return cls(con, "duckdb", scratch=spill_dir)
        if run.engine == "pyspark":  # optional extra: pip install npc-risk[spark]; npc_risk.spark
            from npc_risk import spark  # noqa: PLC0415

            local_dir = Path(spill_dir) / "spark" if spill_dir is not None else None
            session = spark.open_session(run, local_dir=local_dir)
            return cls(spark.connect(session), "pyspark", scratch=spill_dir)
        raise ValueError(f"unknown engine {run.engine!r}")  # RunConfig has rejected it already

    # ------------------------------------------------------------------------------- tables
    @property
    def con(self) -> ibis.BaseBackend:
        """The ibis backend (for reading files and running expressions)."""
        if self._closed:
            raise RuntimeError("the engine is closed")
        return self._con

    def cache(self, table: ir.Table) -> ir.Table:
        """Materialise an intermediate that is read more than once; released at `close()`."""
        # `Table.cache()` caches on the backend the expression finds, which for an expression
        # over memtables alone is ibis's default DuckDB, not this engine: ask ours directly.
        cached = self.con._cached_table(table)
        self._cached.append(cached)
        return cached

    def temp_table(self, name: str, data: ir.Table | pa.Table) -> ir.Table:
        """A temporary table from an expression or an Arrow table, dropped at `close()`.

        Names get a serial suffix, so two calls with the same name never collide. Spark has no
        temporary tables (engine-notes.md): there the data are cached instead."""
        if self.backend == "pyspark":
            return self.cache(ibis.memtable(data) if isinstance(data, pa.Table) else data)
        unique = f"{name}_{next(self._names)}"
        table = self.con.create_table(unique, data, temp=True)
        self._temp.append(unique)
        return table

    @contextmanager
    def scope(self) -> Iterator[None]:
        """Release, on leaving the block, every table cached inside it (e.g. the feature
        intermediates of one as-of date, once its person table is written to Parquet)."""
        start = len(self._cached)
        try:
            yield
        finally:
            for table in reversed(self._cached[start:]):
                table.release()
            del self._cached[start:]

    def release(self, table: ir.Table) -> None:
        """Drop a cached table now (a large intermediate no later step reads)."""
        for i, cached in enumerate(self._cached):
            if cached is table:
                del self._cached[i]
                table.release()
                return
        raise ValueError("release() takes a table returned by this engine's cache()")  # a bug

    def map_batches(self, table: ir.Table, func: Callable[[pa.RecordBatch], pa.RecordBatch],
                    schema: pa.Schema) -> ir.Table:
        """`func` (Arrow batch in, Arrow batch of `schema` out, row-wise: e.g. the risk model)
        applied to `table` a batch at a time, where the data are; the result is a table on this
        engine, cached. Never the whole table in one process's memory: DuckDB streams batches
        into a Parquet file in the scratch folder, Spark runs `func` on its executors."""
        if self.backend == "pyspark":
            return self.cache(self.con.map_batches(table, func, schema))
        import pyarrow.parquet as pq  # noqa: PLC0415

        if self._scratch is None:  # opened without a work folder (tests): an owner-only one
            self._scratch = Path(tempfile.mkdtemp(prefix="npc-risk-engine-"))
            self._own_scratch = True
        self._scratch.mkdir(parents=True, exist_ok=True)
        path = self._scratch / f"mapped-{next(self._names)}.parquet"
        with pq.ParquetWriter(path, schema, compression="snappy") as writer:
            for batch in self._duckdb_batches(table):
                if batch.num_rows:
                    writer.write_batch(func(batch))
        return self.cache(self.con.read_parquet(str(path)))

    def _duckdb_batches(self, table: ir.Table) -> Iterator[pa.RecordBatch]:
        """Arrow batches of `table` streamed from DuckDB. Not ibis's `to_pyarrow_batches`: ibis
        12 calls `fetch_record_batch` on the connection, which DuckDB 2.0 removed."""
        self.con._run_pre_execute_hooks(table)
        relation = self.con.con.sql(self.con.compile(table))
        yield from relation.to_arrow_reader(MAP_BATCH_ROWS)

    def to_arrow(self, table: ir.Expr) -> pa.Table:
        """Run an expression on this engine and return the result in memory (aggregates, or the
        frames the model reads)."""
        return self.con.to_pyarrow(table)

    def count(self, table: ir.Table) -> int:
        """Number of rows of a table (counts go to logs and the manifest; never values)."""
        return int(self.con.to_pyarrow(table.count()).as_py())

    # ------------------------------------------------------------------------------- closing
    def close(self) -> None:
        """Release every cached and temporary table, then disconnect. Safe to call twice."""
        if self._closed:
            return
        try:
            for table in reversed(self._cached):
                table.release()
            for name in reversed(self._temp):
                self._con.drop_table(name, force=True)
        finally:
            self._cached.clear()
            self._temp.clear()
            self._closed = True
            self._con.disconnect()
            if self._own_scratch:
                shutil.rmtree(self._scratch, ignore_errors=True)

    def __exit__(self, *exc_info) -> None:
        self.close()
