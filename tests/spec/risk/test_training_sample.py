"""Spec: training in bounded memory (issue 14; npc_risk.training).

Rule: a training or evaluation window of more than `[risk] training_max_people` people is fitted
on every k-th person in patient_id order, k = ceil(people / training_max_people), starting with
the first. The sample is the same on every engine and whatever the batches the engine streams.
"""

from __future__ import annotations

import pyarrow as pa
import pytest

from npc_risk import engine as engine_module
from npc_risk.training import sample_step, systematic_sample

#  people      cap         k   why
STEPS = """
   869159      1000000     1   under the cap: everyone (the 1M-person city's training window)
   1000000     1000000     1   at the cap: everyone
   1000001     1000000     2   one over: every 2nd person (500,001 kept)
   2611060     1000000     3   the 3M-person city: 870,354 kept
   5000000     1000000     5   the 5M-person city: 1,000,000 kept
   10          3           4   10 people, at most 3: rows 0, 4, 8
"""


@pytest.mark.parametrize("line", STEPS.strip().splitlines())
def test_k_is_the_smallest_step_that_keeps_at_most_the_cap(line):
    people, cap, k = (int(x) for x in line.split()[:3])
    assert sample_step(people, cap) == k
    assert -(-people // k) <= cap  # rows 0, k, 2k, ... of `people`


def _people(engine, ids: list[str]):
    table = pa.table({"patient_id": ids, "age": list(range(len(ids)))})
    return engine.temp_table("sample_people", table)


def test_every_kth_person_in_patient_id_order_is_kept(engine):
    ids = ["P07", "P02", "P10", "P01", "P05", "P09", "P03", "P08", "P06", "P04"]  # arrive unordered
    people = _people(engine, ids)
    kept = systematic_sample(people.order_by("patient_id"), 3)
    assert kept.column("patient_id").to_pylist() == ["P01", "P04", "P07", "P10"]
    assert kept.column_names == ["patient_id", "age"]


def test_the_sample_does_not_depend_on_where_the_batches_break(engine, monkeypatch):
    ids = [f"P{i:04d}" for i in range(1000)]
    expected = ids[::7]
    people = _people(engine, list(reversed(ids)))
    for rows in (1, 3, 7, 64, 1000):
        monkeypatch.setattr(engine_module, "MAP_BATCH_ROWS", rows)
        kept = systematic_sample(people.order_by("patient_id"), 7)
        assert kept.column("patient_id").to_pylist() == expected, f"batches of {rows} rows"
