"""Generative: the engine's ICD-10 normaliser agrees with the pure-Python reference.

hypothesis draws messy tokens (random strings over the characters SUS and GP data actually use,
and near-codes built from a letter, digits, dots, padding, fillers, marks, flags, case changes and
blanks); `normalise_icd10_expr` run on DuckDB must return exactly `normalise_icd10`'s answer for
every one. Each example is a batch of tokens in one memtable, so the engine runs once per example.
The reference's own outputs are canonical: they match the canonical pattern and normalise to
themselves.
"""

from __future__ import annotations

import re

import ibis
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from npc_risk.codes.icd10 import normalise_icd10, normalise_icd10_expr

CANONICAL = re.compile(r"^[A-Z][0-9]{2}([0-9][0-9]?)?$")
MESSY = "IJEFGMNRXZDAxdaij0123456789.-+*† "


random_text = st.text(alphabet=MESSY, max_size=9)
near_code = st.builds(
    lambda letter, digits, fourth, fifth, dot, tail, lower, pad: (
        f"{pad}{letter}{digits}{dot}{fourth}{fifth}{tail}{pad}".lower() if lower
        else f"{pad}{letter}{digits}{dot}{fourth}{fifth}{tail}{pad}"
    ),
    letter=st.sampled_from("IJEFXZDA"),
    digits=st.text("0123456789", min_size=1, max_size=3),
    fourth=st.sampled_from(["", "X", "0", "1", "9", "D", "A"]),
    fifth=st.sampled_from(["", "0", "5", "-", "X"]),
    dot=st.sampled_from(["", ".", " ", ".."]),
    tail=st.sampled_from(["", "-", "+", "*", "†", "D", "A", "-D", "-A", "+D", "*A", "--", "X"]),
    lower=st.booleans(),
    pad=st.sampled_from(["", " ", "  "]),
)
tokens = st.lists(st.one_of(random_text, near_code, st.none()), min_size=1, max_size=60)


@settings(max_examples=60, deadline=None)
@given(tokens)
def test_engine_agrees_with_reference(module_engine, batch):
    table = ibis.memtable(pa.table({"raw": pa.array(batch, pa.string())}))
    got = module_engine.to_arrow(table.select(code=normalise_icd10_expr(table.raw)))["code"].to_pylist()
    assert got == [normalise_icd10(raw) for raw in batch]


@settings(max_examples=200, deadline=None)
@given(st.one_of(random_text, near_code))
def test_reference_output_is_canonical_and_idempotent(raw):
    code = normalise_icd10(raw)
    if code is not None:
        assert CANONICAL.match(code), code
        assert normalise_icd10(code) == code
