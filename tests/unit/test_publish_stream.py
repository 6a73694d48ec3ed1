"""Unit: publishing streams each output, a row group at a time, with the bytes of a whole-table write.

The rule (publish.py, files.write_batches; issue 13: no step pulls a whole table into one
process): an output's sorted rows arrive from the engine as Arrow batches of any size; they are
checked against schemas/outputs.py batch by batch and cut into row groups of exactly
files.ROW_GROUP_ROWS rows (pyarrow's own default for `pq.write_table`), so that the file is
byte-identical to writing the whole table at once and memory holds one row group at a time.
Here the row groups are made small (monkeypatched) so that a table of a few hundred rows spans
several batches and several row groups.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import ibis
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import npc_risk.engine
from npc_risk import files, publish
from npc_risk.cohort import CohortConfig, select_cohort
from npc_risk.planning.statistics import neighbourhood_statistics, publishable_neighbourhoods
from npc_risk.schemas.outputs import COHORT, PATIENTS, Column, Output
from tests.builders.people import person, scored_table

AS_OF = date(2026, 3, 31)
SCORES = Output("scores", "scores.parquet", "internal", "a test output",
                (Column("patient_id", pa.string(), False, "id"), Column("score", pa.float64(), True, "score")),
                sort_key=("patient_id",))


def stream(table: pa.Table, batch_rows: int) -> pa.RecordBatchReader:
    return pa.RecordBatchReader.from_batches(table.schema, table.to_batches(max_chunksize=batch_rows))


def scores(n: int) -> pa.Table:
    """n people p0000.. with a score; every tenth score missing (nulls cross batch boundaries)."""
    return pa.table({"patient_id": [f"p{i:04d}" for i in range(n)],
                     "score": [None if i % 10 == 3 else i / 7 for i in range(n)]})


def row_groups(path: Path) -> list[int]:
    meta = pq.read_metadata(path)
    return [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]


def test_a_stream_of_250_rows_in_batches_of_37_gives_the_bytes_of_one_whole_table_write(tmp_path, monkeypatch):
    """Row groups of 100: 100, 100, 50 rows whatever the batches (37 rows each), and the same
    bytes as pq.write_table of the whole table with the same row-group size; rows, order, types
    and the footer metadata as given."""
    monkeypatch.setattr(files, "ROW_GROUP_ROWS", 100)
    table = scores(250)
    streamed = files.write_parquet(stream(table, 37), tmp_path / "streamed.parquet", metadata={"npc_risk.output": "x"})
    whole = tmp_path / "whole.parquet"
    pq.write_table(table.replace_schema_metadata({"npc_risk.output": "x"}), whole, row_group_size=100,
                   compression="zstd")
    assert row_groups(streamed) == [100, 100, 50]
    assert streamed.read_bytes() == whole.read_bytes()
    back = pq.read_table(streamed)
    assert back.schema.remove_metadata() == table.schema
    assert back.to_pylist() == table.to_pylist()
    assert back.schema.metadata[b"npc_risk.output"] == b"x"


def test_the_default_row_group_is_pq_write_tables_so_the_published_bytes_do_not_move(tmp_path):
    """ROW_GROUP_ROWS + 1 rows (one int column) streamed in batches of 100,000: row groups of
    1,048,576 and 1 rows, byte-identical to pq.write_table with its defaults."""
    assert files.ROW_GROUP_ROWS == 1024 * 1024
    table = pa.table({"n": pa.array(range(files.ROW_GROUP_ROWS + 1), pa.int64())})
    streamed = files.write_parquet(stream(table, 100_000), tmp_path / "streamed.parquet")
    whole = tmp_path / "whole.parquet"
    pq.write_table(table, whole, compression="zstd")
    assert row_groups(streamed) == [files.ROW_GROUP_ROWS, 1]
    assert streamed.read_bytes() == whole.read_bytes()


def test_an_empty_stream_writes_what_pq_write_table_writes_for_no_rows(tmp_path):
    table = scores(0)
    streamed = files.write_parquet(stream(table, 10), tmp_path / "streamed.parquet")
    whole = tmp_path / "whole.parquet"
    pq.write_table(table, whole, compression="zstd")
    assert streamed.read_bytes() == whole.read_bytes()


def test_a_type_mismatch_in_a_later_batch_raises_the_type_error_naming_the_column(tmp_path):
    """Two good batches, then one whose score is an int64: TypeError naming table and column
    (a bug, not a user error), raised while the file is being written; no file, no temporary
    file left."""
    good = scores(20).to_batches(max_chunksize=10)
    bad = pa.record_batch([pa.array(["p9999"]), pa.array([1], pa.int64())], names=["patient_id", "score"])
    batches = pa.RecordBatchReader.from_batches(good[0].schema, iter([*good, bad]))
    checked = pa.RecordBatchReader.from_batches(batches.schema, publish._checked(batches, SCORES))
    with pytest.raises(TypeError, match=r"scores\.score is int64 but schemas/outputs\.py declares double"):
        files.write_parquet(checked, tmp_path / "scores.parquet")
    assert list(tmp_path.iterdir()) == []


def test_publish_writes_each_output_from_batches_of_7_rows_in_row_groups_of_50(tmp_path, monkeypatch):
    """240 people in 3 PCNs streamed from DuckDB 7 rows at a time: patients.parquet holds all 240
    in patient_id order in row groups of 50, 50, 50, 50, 40 with the declared types; each cohort
    partition (10 % of 80 people, cut from the same stream, its rows spread over two batches)
    holds its neighbourhood's 8 rows in rank order; the manifest counts the rows."""
    monkeypatch.setattr(files, "ROW_GROUP_ROWS", 50)
    monkeypatch.setattr(npc_risk.engine, "MAP_BATCH_ROWS", 7)
    people = [person(f"p{i:03d}", pcn_code=f"P{i % 3}", ltc_count=3, risk_score=((i * 37) % 100) / 100)
              for i in range(240)]
    result = select_cohort(ibis.memtable(scored_table(people)), config=CohortConfig(cohort_fraction=0.1))
    stats = neighbourhood_statistics(result.patients, result.report)
    final = publish.publish_run(
        output_root=tmp_path / "out", as_of=AS_OF, patients=result.patients,
        cohort=result.cohort.mutate(drivers=ibis.literal("3 long-term conditions")),
        neighbourhoods=publishable_neighbourhoods(stats), evidence=_no_evidence(), quarantine_dir=None,
        manifest={})
    patients = final / PATIENTS.path
    assert row_groups(patients) == [50, 50, 50, 50, 40]
    table = pq.read_table(patients)
    assert table["patient_id"].to_pylist() == [f"p{i:03d}" for i in range(240)]
    assert [(f.name, f.type) for f in table.schema] == [(c.name, c.type) for c in PATIENTS.columns]
    parts = sorted((final / "cohort").iterdir())
    assert [p.name for p in parts] == ["neighbourhood=P0", "neighbourhood=P1", "neighbourhood=P2"]
    for part in parts:
        cohort = pq.read_table(part / "part-0.parquet")
        assert cohort.num_rows == 8
        assert cohort["neighbourhood_rank"].to_pylist() == list(range(1, 9))
        assert [(f.name, f.type) for f in cohort.schema] == [(c.name, c.type) for c in COHORT.file_columns]
    manifest = (final / "manifest.json").read_text()
    assert '"rows": 240' in manifest and '"rows": 8' in manifest


def _no_evidence() -> ibis.Table:
    from npc_risk.schemas.outputs import EVIDENCE

    return ibis.memtable(pa.schema([(c.name, c.type) for c in EVIDENCE.columns]).empty_table())
