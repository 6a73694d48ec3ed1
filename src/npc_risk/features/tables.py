"""The staged-table columns this package reads (from the data contract), and a helper that turns
small pandas frames into typed ibis tables (for tests, benchmarks and examples).

Absent optional tables become empty tables with the same columns, as ingest promises, so feature
code never branches on presence.
"""

from __future__ import annotations

from collections.abc import Mapping

import ibis
import pyarrow as pa

from npc_risk.schemas.tables import staged_schemas

# The staged tables' columns come from the data contract (the pandera models), not a copy.
STAGED_SCHEMAS: dict[str, dict[str, str]] = staged_schemas()


_ARROW = {"string": pa.string(), "date": pa.date32(), "float64": pa.float64(), "int64": pa.int64()}


def staged_arrow(name: str, columns: dict[str, list]) -> pa.Table:
    """An Arrow table with the staged columns of `name` (types as staged; absent columns null)."""
    schema = STAGED_SCHEMAS[name]
    return pa.table({c: pa.array(columns.get(c, [None] * _len(columns)), type=_ARROW[t])
                     for c, t in schema.items()})


def _len(columns: dict[str, list]) -> int:
    return max((len(v) for v in columns.values()), default=0)


def empty_table(name: str) -> ibis.Table:
    """An empty ibis table with the staged columns of `name`."""
    return ibis.memtable(staged_arrow(name, {}))


def complete_tables(tables: Mapping[str, ibis.Table]) -> dict[str, ibis.Table]:
    """`tables` plus an empty table for every staged table it lacks."""
    out = dict(tables)
    for name in STAGED_SCHEMAS:
        if name not in out:
            out[name] = empty_table(name)
    return out


def rows_memtable(rows: list[tuple], schema: dict[str, str]) -> ibis.Table:
    """A memtable from Python tuples via pyarrow (no pandas type inference)."""
    cols = list(zip(*rows, strict=True)) if rows else [[] for _ in schema]
    arrays = {}
    for (name, typ), values in zip(schema.items(), cols, strict=True):
        typ_pa = {"boolean": pa.bool_(), **_ARROW}[typ]
        arrays[name] = pa.array(list(values), type=typ_pa)
    return ibis.memtable(pa.table(arrays))
