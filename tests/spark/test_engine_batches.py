"""`Engine.map_batches`: a row-wise Python function (the risk model) applied where the data are.

The score step never pulls the feature table into one process: DuckDB streams Arrow batches into
a Parquet file in the engine's scratch folder, Spark runs the function on its executors
(`mapInArrow`). Either way every row comes back once, with the function's value, whatever the
batch boundaries. Runs on every engine in NPC_RISK_TEST_ENGINES.
"""

from __future__ import annotations

import ibis
import pyarrow as pa
import pyarrow.compute as pc

import npc_risk.engine

SCORES = pa.schema([("patient_id", pa.string()), ("risk_score", pa.float64())])


def _doubled(batch: pa.RecordBatch) -> pa.RecordBatch:
    """risk_score = 2 x value / 1000, a row-wise rule."""
    value = pc.divide(pc.multiply(batch.column("value").cast(pa.float64()), 2.0), 1000.0)
    return pa.record_batch([batch.column("patient_id"), value], schema=SCORES)


def test_every_row_is_scored_once_across_batches(engine, monkeypatch):
    """250 people in batches of 100 (three batches on DuckDB): each person once, score 2 x value."""
    monkeypatch.setattr(npc_risk.engine, "MAP_BATCH_ROWS", 100)
    people = ibis.memtable(pa.table({"patient_id": [f"p{i:03d}" for i in range(250)],
                                     "value": pa.array(range(250), pa.int64())}))
    scored = engine.map_batches(people, _doubled, SCORES)
    result = engine.to_arrow(scored.order_by("patient_id"))
    assert result.schema == SCORES
    assert result.column("patient_id").to_pylist() == [f"p{i:03d}" for i in range(250)]
    assert result.column("risk_score").to_pylist() == [2 * i / 1000 for i in range(250)]


def test_an_empty_table_gives_an_empty_result(engine):
    people = ibis.memtable(pa.table({"patient_id": pa.array([], pa.string()),
                                     "value": pa.array([], pa.int64())}))
    assert engine.count(engine.map_batches(people, _doubled, SCORES)) == 0
