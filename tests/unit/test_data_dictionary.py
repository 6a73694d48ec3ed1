"""The analysts' data dictionary is generated from the pandera models and must not drift.

`schemas/data_dictionary.md` is committed so analysts can read it without installing anything;
this test fails when it differs from what the models now say.
"""

from __future__ import annotations

import difflib
from pathlib import Path

from npc_risk.schemas.dictionary import render_dictionary
from npc_risk.schemas.tables import TABLES

COMMITTED = Path(__file__).resolve().parents[2] / "schemas" / "data_dictionary.md"


def test_committed_dictionary_is_up_to_date():
    committed = COMMITTED.read_text(encoding="utf-8")
    rendered = render_dictionary()
    if committed != rendered:
        diff = "".join(difflib.unified_diff(
            committed.splitlines(keepends=True), rendered.splitlines(keepends=True),
            fromfile="schemas/data_dictionary.md (committed)", tofile="render_dictionary()", n=1,
        ))
        raise AssertionError(
            "schemas/data_dictionary.md is stale: run `make dictionary` and commit the result.\n"
            + diff[:4000]
        )


def test_dictionary_covers_every_table_and_column():
    rendered = render_dictionary()
    for spec in TABLES:
        assert f"## `{spec.name}` (" in rendered
        for column in spec.model.to_schema().columns:
            assert f"| `{column}` |" in rendered, (spec.name, column)


def test_every_column_has_a_description():
    """Schemas document themselves: no column without a description."""
    for spec in TABLES:
        for name, column in spec.model.to_schema().columns.items():
            assert column.description, f"{spec.name}.{name} has no description"
