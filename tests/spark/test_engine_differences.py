"""Where Spark and DuckDB differ, the engine gives one answer (issue 13; the probe in
engine-notes.md found each of these silently wrong or failing on Spark before the fix).

Runs on every engine in NPC_RISK_TEST_ENGINES (`make test-spark`: duckdb and pyspark).
"""

from __future__ import annotations

import ibis
import pyarrow as pa
import pytest

from npc_risk.ingest import _BLANKS


@pytest.mark.parametrize(("raw", "trimmed"), [
    ("female", "female"),            # Spark's TRIM(' \t\n\r\v\f') ate the letters v and f
    (" \t female\x0b\x0c\r\n", "female"),
    ("vf", "vf"),
    ("\x0b\x0c", ""),
    ("a b", "a b"),                   # inner blanks stay
])
def test_blanks_are_trimmed_and_the_letters_v_and_f_kept(engine, raw, trimmed):
    value = ibis.memtable(pa.table({"x": [raw]})).x.re_replace(_BLANKS, "")
    assert engine.to_arrow(value.name("x").as_table()).column("x").to_pylist() == [trimmed]


def test_memtable_nulls_stay_null(engine):
    """Through pandas 3, Spark got the text "NaN" for a null string and lost nullable ints."""
    table = ibis.memtable(pa.table({"s": pa.array(["a", None], pa.string()),
                                    "n": pa.array([1, None], pa.int64())}))
    result = engine.to_arrow(table.order_by(table.n.isnull()))
    assert result.column("s").to_pylist() == ["a", None]
    assert result.column("n").to_pylist() == [1, None]


def test_an_expression_over_a_memtable_can_be_cached(engine):
    table = ibis.memtable(pa.table({"k": ["a", "b", "b"]}))
    cached = engine.cache(table.group_by("k").aggregate(n=table.count()))
    assert engine.to_arrow(cached.order_by("k")).to_pylist() == [{"k": "a", "n": 1}, {"k": "b", "n": 2}]


def test_a_temporary_table_from_arrow(engine):
    """Spark has no temporary tables: the engine caches instead."""
    table = engine.temp_table("scores", pa.table({"patient_id": ["p1", "p2"], "risk_score": [0.5, None]}))
    assert engine.to_arrow(table.order_by("patient_id")).column("risk_score").to_pylist() == [0.5, None]


def test_ranks_come_back_as_int64(engine):
    """Spark types rank() INTEGER, DuckDB BIGINT: collected, both are int64 (0-based in ibis)."""
    table = ibis.memtable(pa.table({"g": ["x", "x", "y"], "v": [3.0, 1.0, 2.0]}))
    ranked = table.mutate(r=ibis.rank().over(group_by="g", order_by=ibis.desc("v")))
    result = engine.to_arrow(ranked.order_by("v"))
    assert result.schema.field("r").type == pa.int64()
    assert result.column("r").to_pylist() == [1, 0, 0]


def test_secondary_diagnoses_split_on_blanks_not_on_the_letters_v_and_f(engine):
    """Raw \\v \\f characters in the separator pattern made Spark split "i10 f051" on the f."""
    from npc_risk.codes.icd10 import SEPARATORS

    table = ibis.memtable(pa.table({"x": ["i10 f051\x0bJ44\x0cK21\u00a0v01;N18"]}))
    result = engine.to_arrow(table.x.re_split(SEPARATORS).name("x").as_table())
    assert result.column("x").to_pylist() == [["i10", "f051", "J44", "K21", "v01", "N18"]]
