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

The backend is a parameter: `duckdb` (embedded, the default) today; the Spark issue adds
`pyspark` through this same object.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
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


class Engine(AbstractContextManager):
    """An open backend connection plus the tables cached on it (module docstring)."""

    def __init__(self, con: ibis.BaseBackend, backend: str) -> None:
        self._con = con
        self.backend = backend
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
            return cls(con, "duckdb")
        if run.engine == "pyspark":  # optional extra: pip install npc-risk[spark]
            from pyspark.sql import SparkSession  # noqa: PLC0415

            session = SparkSession.builder.master("local[*]").appName("npc_risk").getOrCreate()
            return cls(ibis.pyspark.connect(session), "pyspark")
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

        Names get a serial suffix, so two calls with the same name never collide."""
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

    def __exit__(self, *exc_info) -> None:
        self.close()
