"""Unit: the output declarations (schemas/outputs.py) are well formed and are the one source of
the column lists that cohort.py, datapack.py and publish.py use."""

from __future__ import annotations

import pyarrow as pa

from npc_risk import cohort
from npc_risk.features.utilisation import HISTORY_COLUMNS, UTILISATION_COLUMNS
from npc_risk.planning import statistics as datapack
from npc_risk.schemas.outputs import (
    COHORT,
    MANIFEST,
    NEIGHBOURHOODS,
    OUTPUT_CLASSES,
    OUTPUTS,
    PATIENTS,
)


def test_each_output_is_well_formed():
    """Unique names, a known output class, and a sort key made of declared columns."""
    assert len({spec.name for spec in OUTPUTS}) == len(OUTPUTS)
    for spec in OUTPUTS:
        assert len(set(spec.names)) == len(spec.names), spec.name
        assert spec.output_class in OUTPUT_CLASSES, spec.name
        assert spec.sort_key and set(spec.sort_key) <= set(spec.names), spec.name
        assert spec.partition is None or spec.partition in spec.names
        for column in spec.columns:
            assert isinstance(column.type, pa.DataType), (spec.name, column.name)
    assert len({key.name for key in MANIFEST}) == len(MANIFEST)
    assert {key.written_by for key in MANIFEST} == {"run", "publish"}


def test_sort_keys_are_total():
    """Each key ends in something unique per row (patient_id; rank within a neighbourhood;
    the neighbourhood key within a level; every evidence column)."""
    assert PATIENTS.sort_key == ("patient_id",)
    assert COHORT.sort_key == ("neighbourhood", "neighbourhood_rank")
    assert NEIGHBOURHOODS.sort_key == ("level", "neighbourhood")
    evidence = next(spec for spec in OUTPUTS if spec.name == "evidence")
    assert evidence.sort_key == evidence.names


def test_domain_column_lists_come_from_the_declarations():
    assert cohort.COHORT_COLUMNS == COHORT.names
    assert datapack.PUBLISHED_COLUMNS == NEIGHBOURHOODS.names
    assert NEIGHBOURHOODS.column("level").order == datapack.LEVELS


def test_every_utilisation_count_is_published_in_feature_order():
    """The features compute these counts; patients.parquet publishes each, in the same order."""
    published = [c for c in PATIENTS.names if c in (*UTILISATION_COLUMNS, *HISTORY_COLUMNS)]
    assert published == [*UTILISATION_COLUMNS, *HISTORY_COLUMNS]


def test_no_identifiers_beyond_the_case_finding_list():
    """The NHS number is published only in the case-finding list; per-condition flags are not
    published (they vary with the code-list catalogue)."""
    for spec in OUTPUTS:
        if spec is not COHORT:
            assert "nhs_number" not in spec.names, spec.name
        assert not any(c.startswith("ltc_") and c not in ("ltc_count", "ltc_conditions")
                       for c in spec.names), spec.name
