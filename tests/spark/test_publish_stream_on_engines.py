"""Publishing streams from the engine, and publishes the same files on every engine (issue 13).

`engine.record_batches` hands publish an expression's rows as Arrow batches in the expression's
order, never the whole result in one process: DuckDB streams its result; Spark serialises each
partition's Arrow batches on the executors and the driver pulls one partition at a time
(`SparkBackend.to_pyarrow_batches`). Publish cuts the stream into row groups of
files.ROW_GROUP_ROWS rows, so a run on Spark writes the bytes DuckDB writes.

Ingest on Spark writes each quarantine table as a folder of part files; publish turns each into
the one file DuckDB's run publishes: same name, schema and rows (sorted).

The first two tests run on every engine in NPC_RISK_TEST_ENGINES; the quarantine test runs
DuckDB and Spark side by side when NPC_RISK_TEST_ENGINES names pyspark (`make test-spark`) and
is skipped otherwise, saying why.
"""

from __future__ import annotations

import contextlib
from datetime import date
from pathlib import Path

import ibis
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import npc_risk.engine
from npc_risk import files, publish
from npc_risk.cohort import CohortConfig, select_cohort
from npc_risk.engine import Engine, record_batches
from npc_risk.ingest import ingest_extract
from npc_risk.planning.statistics import neighbourhood_statistics, publishable_neighbourhoods
from npc_risk.schemas.outputs import EVIDENCE
from tests.builders.extract import AS_OF, dirty_row, write_extract
from tests.builders.people import person, scored_table
from tests.conftest import _missing
from tests.spark.compare import selected_engines


@contextlib.contextmanager
def _spread_over_partitions(engine: Engine, partitions: int):
    """On Spark: sorts shuffled into `partitions` partitions, not coalesced by adaptive
    execution (small data would otherwise be one partition); nothing on DuckDB."""
    if engine.backend != "pyspark":
        yield
        return
    conf = engine.con._session.conf
    keys = {"spark.sql.shuffle.partitions": str(partitions),
            "spark.sql.adaptive.coalescePartitions.enabled": "false"}
    before = {key: conf.get(key) for key in keys}
    for key, value in keys.items():
        conf.set(key, value)
    try:
        yield
    finally:
        for key, value in before.items():
            conf.set(key, value)


def test_the_stream_comes_in_the_expressions_order_and_types_across_batches_and_partitions(engine):
    """2,500 rows stored in reverse order, sorted by key and ranked: every row once, in key
    order, the rank as int64 (Spark's INTEGER rank cast like to_pyarrow casts it), in more than
    one batch (batches of 1,000 rows; on Spark the sort spans 4 partitions)."""
    keys = [f"k{i:04d}" for i in reversed(range(2500))]
    stored = engine.temp_table("keys", pa.table({"key": keys}))
    ranked = stored.mutate(position=ibis.row_number().over(order_by="key")).order_by("key")
    with _spread_over_partitions(engine, 4), record_batches(ranked, rows=1000) as stream:
        batches = list(stream)
    assert len(batches) > 1
    table = pa.Table.from_batches(batches)
    assert table.schema == pa.schema([("key", pa.string()), ("position", pa.int64())])
    assert table["key"].to_pylist() == sorted(keys)
    assert table["position"].to_pylist() == list(range(2500))


def _publish(root: Path, patients: ibis.Table) -> Path:
    result = select_cohort(patients, config=CohortConfig(cohort_fraction=0.1))
    stats = neighbourhood_statistics(result.patients, result.report)
    evidence = ibis.memtable(pa.schema([(c.name, c.type) for c in EVIDENCE.columns]).empty_table())
    return publish.publish_run(
        output_root=root, as_of=date(2026, 3, 31), patients=result.patients,
        cohort=result.cohort.mutate(drivers=ibis.literal("3 long-term conditions")),
        neighbourhoods=publishable_neighbourhoods(stats), evidence=evidence, quarantine_dir=None,
        manifest={})


def test_publish_on_the_engine_writes_the_bytes_of_duckdb_in_memory(engine, tmp_path, monkeypatch):
    """240 people in 3 PCNs, their table on the engine, published from batches of 7 rows in row
    groups of 50: patients.parquet and the three cohort partitions are byte for byte the files
    the same people give published from memory by ibis's default DuckDB."""
    monkeypatch.setattr(files, "ROW_GROUP_ROWS", 50)
    monkeypatch.setattr(npc_risk.engine, "MAP_BATCH_ROWS", 7)
    people = scored_table([person(f"p{i:03d}", pcn_code=f"P{i % 3}", ltc_count=3,
                                  risk_score=((i * 37) % 100) / 100) for i in range(240)])
    with _spread_over_partitions(engine, 3):
        on_engine = _publish(tmp_path / "engine", engine.temp_table("people", people))
    reference = _publish(tmp_path / "memory", ibis.memtable(people))
    names = ["patients.parquet", *(f"cohort/neighbourhood=P{i}/part-0.parquet" for i in range(3))]
    for name in names:
        assert (on_engine / name).read_bytes() == (reference / name).read_bytes(), name
    meta = pq.read_metadata(on_engine / "patients.parquet")
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [50, 50, 50, 50, 40]


# ------------------------------------------------------------------------------ quarantine
BAD_EXTRACT = {  # each bad row is quarantined with its reason; nulls in raw values included
    "patients": [dirty_row("patients", date_of_birth="1950-13-01"),
                 dirty_row("patients", patient_id="P3", nhs_number="1234567890", sex="")],
    "apcs": [dirty_row("apcs", discharge_date="2025-01-01"),
             dirty_row("apcs", spell_id="S3", admission_date="not a date", secondary_diagnoses="")],
    "clinical_events": [dirty_row("clinical_events", patient_id="P404"),
                        dirty_row("clinical_events", date="2027-01-01")],
}
SMITH_JONES = "B00002,Smith, Jones and Partners,U00001,North PCN,North LCP\n"  # 6 fields, not 5


@pytest.mark.skipif("pyspark" not in selected_engines(),
                    reason="the Spark leg runs with NPC_RISK_TEST_ENGINES=duckdb,pyspark (make test-spark)")
@pytest.mark.skipif(bool(_missing("pyspark")), reason=_missing("pyspark") or "")
def test_spark_publishes_the_quarantine_files_duckdb_publishes(tmp_path, spark_session):
    """A small extract with bad rows in three tables and a malformed CSV line, ingested on DuckDB
    and on Spark: the published quarantine/ holds the same file names (one file per table, no
    part-file folders), schemas (without Spark's footer metadata) and rows in the same order: the
    same bytes."""
    from npc_risk.config import RunConfig
    from npc_risk.spark import connect

    extract = write_extract(tmp_path / "extract", add=BAD_EXTRACT)
    with open(extract / "practices.csv", "a", encoding="utf-8") as handle:
        handle.write(SMITH_JONES)
    published = {}
    engines = {"duckdb": lambda: Engine.open(RunConfig()),
               "pyspark": lambda: Engine(connect(spark_session, owns_session=False), "pyspark")}
    for name, opened in engines.items():
        with opened() as engine:
            result = ingest_extract(engine, extract, as_of=AS_OF, work_dir=tmp_path / name / "work")
        target = tmp_path / name / "quarantine"
        publish._copy_quarantine(result.quarantine_dir, target)
        published[name] = target
    spark_written = sorted(p.name for p in (tmp_path / "pyspark" / "work" / "quarantine").iterdir())
    assert any((tmp_path / "pyspark" / "work" / "quarantine" / n).is_dir() for n in spark_written)
    duck = sorted(p.relative_to(published["duckdb"]).as_posix() for p in published["duckdb"].rglob("*"))
    spark = sorted(p.relative_to(published["pyspark"]).as_posix() for p in published["pyspark"].rglob("*"))
    assert spark == duck
    assert "practices.malformed_lines.parquet" in duck and "patients.parquet" in duck
    for name in duck:
        a, b = pq.read_table(published["duckdb"] / name), pq.read_table(published["pyspark"] / name)
        assert b.schema.equals(a.schema, check_metadata=True), name
        assert b.to_pylist() == a.to_pylist(), name
        assert (published["pyspark"] / name).read_bytes() == (published["duckdb"] / name).read_bytes(), name
    rows = {name: pq.read_metadata(published["duckdb"] / name).num_rows for name in duck}
    assert rows["patients.parquet"] == 2 and rows["apcs.parquet"] == 2
    assert rows["clinical_events.parquet"] == 2 and rows["practices.malformed_lines.parquet"] == 1
