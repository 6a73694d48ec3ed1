"""The analysts' data dictionary is generated from the pandera models (inputs) and the output
declarations (schemas/outputs.py) and must not drift.

`schemas/data_dictionary.md` is committed so analysts can read it without installing anything;
this test fails when it differs from what the models and declarations now say.
"""

from __future__ import annotations

import difflib
from pathlib import Path

from npc_risk.schemas.dictionary import render_dictionary
from npc_risk.schemas.outputs import MANIFEST, OUTPUTS
from npc_risk.schemas.tables import TABLES

COMMITTED = Path(__file__).resolve().parents[2] / "schemas" / "data_dictionary.md"


def test_committed_dictionary_is_up_to_date():
    """Covers inputs and outputs alike: the whole rendered text is compared."""
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
    inputs, outputs = rendered.split("\n## Outputs", 1)
    for spec in TABLES:
        assert f"### `{spec.name}` (" in inputs
        for column in spec.model.to_schema().columns:
            assert f"| `{column}` |" in inputs, (spec.name, column)
    for spec in OUTPUTS:
        section = outputs.split(f"### `{spec.path}` ({spec.output_class})", 1)[1].split("\n### ")[0]
        for column in spec.columns:
            assert f"| `{column.name}` | " in section, (spec.name, column.name)
            assert f"(`{column.type}`)" in section
    manifest = outputs.split("### `manifest.json`", 1)[1]
    for key in MANIFEST:
        assert f"| `{key.name}` |" in manifest, key.name


def test_every_column_has_a_description():
    """Schemas document themselves: no column without a description."""
    for spec in TABLES:
        for name, column in spec.model.to_schema().columns.items():
            assert column.description, f"{spec.name}.{name} has no description"
    for spec in OUTPUTS:
        for column in spec.columns:
            assert column.description, f"{spec.name}.{column.name} has no description"
    for key in MANIFEST:
        assert key.description and key.holds, f"manifest key {key.name} is not described"
