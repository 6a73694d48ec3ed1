"""The staged-table columns this package reads (from the data contract), and a helper that turns
small pandas frames into typed ibis tables (for tests, benchmarks and examples).

Absent optional tables become empty tables with the same columns, as ingest promises, so feature
code never branches on presence.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

import ibis
import pandas as pd
import pyarrow as pa

from npc_risk.schemas.tables import staged_schemas

# The staged tables' columns come from the data contract (the pandera models), not a copy.
STAGED_SCHEMAS: dict[str, dict[str, str]] = staged_schemas()


_ARROW = {"string": pa.string(), "date": pa.date32(), "float64": pa.float64(), "int64": pa.int64()}


def _arrow_table(name: str, columns: dict[str, list]) -> pa.Table:
    schema = STAGED_SCHEMAS[name]
    return pa.table({c: pa.array(columns.get(c, [None] * _len(columns)), type=_ARROW[t])
                     for c, t in schema.items()})


def _len(columns: dict[str, list]) -> int:
    return max((len(v) for v in columns.values()), default=0)


def empty_table(name: str) -> ibis.Table:
    """An empty ibis table with the staged columns of `name`."""
    return ibis.memtable(_arrow_table(name, {}))


def complete_tables(tables: Mapping[str, ibis.Table]) -> dict[str, ibis.Table]:
    """`tables` plus an empty table for every staged table it lacks."""
    out = dict(tables)
    for name in STAGED_SCHEMAS:
        if name not in out:
            out[name] = empty_table(name)
    return out


def _value(v, typ: str):
    if v is None or (isinstance(v, float) and v != v) or v is pd.NaT:
        return None
    if typ == "date":
        if isinstance(v, str):
            return date.fromisoformat(v)
        return v.date() if isinstance(v, (datetime, pd.Timestamp)) else v
    return v


def memtables(**frames: pd.DataFrame | list[dict]) -> dict[str, ibis.Table]:
    """Typed ibis memtables from small frames (or lists of row dicts); missing columns are null.

    Dates may be `datetime.date`, ISO strings or timestamps; they become staged `date` columns,
    so a test can write `{"date": "2025-03-31"}`. Absent tables come back empty.
    """
    out = {}
    for name, frame in frames.items():
        rows = frame.to_dict("records") if isinstance(frame, pd.DataFrame) else list(frame)
        schema = STAGED_SCHEMAS[name]
        cols = {c: [_value(r.get(c), t) for r in rows] for c, t in schema.items()}
        out[name] = ibis.memtable(_arrow_table(name, cols))
    return complete_tables(out)


def rows_memtable(rows: list[tuple], schema: dict[str, str]) -> ibis.Table:
    """A memtable from Python tuples via pyarrow (no pandas type inference)."""
    cols = list(zip(*rows, strict=True)) if rows else [[] for _ in schema]
    arrays = {}
    for (name, typ), values in zip(schema.items(), cols, strict=True):
        typ_pa = {"boolean": pa.bool_(), **_ARROW}[typ]
        arrays[name] = pa.array(list(values), type=typ_pa)
    return ibis.memtable(pa.table(arrays))
