"""`npc-risk run --pipeline pipelines/west_leics_respiratory.toml` end to end on the sample city.

The committed pipeline trains a model of the respiratory outcome; here the same pipeline runs with
`[risk] method = "rules"` (everything else unchanged), so the test checks what the respiratory
feature set publishes without paying for a training: the MDT list, the care gaps and their rates.
"""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from npc_risk.schemas.outputs import CARE_GAP_RATES, CARE_GAPS, RESPIRATORY_MDT
from tests.builders.sample_run import AS_OF, ROOT, run_sample_city

PIPELINE = ROOT / "pipelines" / "west_leics_respiratory.toml"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Path:
    text = PIPELINE.read_text()
    rules, n = re.subn(r'(?m)^method = "model"', 'method = "rules"', text)
    assert n == 1, "the respiratory pipeline's [risk] method line moved; update this test"
    folder = tmp_path_factory.mktemp("respiratory")
    config = folder / "west_leics_respiratory_rules.toml"
    config.write_text(rules)
    return run_sample_city(folder / "out", config)


def test_the_respiratory_outputs_are_published_with_their_declared_columns(published: Path):
    for output in (CARE_GAPS, CARE_GAP_RATES, RESPIRATORY_MDT):
        table = pq.read_table(published / output.path)
        assert table.column_names == list(output.names), output.name


def test_patient_level_respiratory_files_are_owner_only(published: Path):
    for output in (CARE_GAPS, RESPIRATORY_MDT):
        mode = stat.S_IMODE((published / output.path).stat().st_mode)
        assert mode & 0o077 == 0, f"{output.path} is readable by others ({oct(mode)})"


def test_the_mdt_list_holds_register_members_ranked_within_each_locality(published: Path):
    mdt = pq.read_table(published / RESPIRATORY_MDT.path).to_pylist()
    assert mdt, "the sample city's registers select nobody"
    assert all(row["resp_pathway"] in {"asthma", "copd", "asthma+copd"} for row in mdt)
    by_locality: dict[str, list[int]] = {}
    for row in mdt:
        by_locality.setdefault(row["neighbourhood"], []).append(row["neighbourhood_rank"])
    for ranks in by_locality.values():
        assert ranks == list(range(1, len(ranks) + 1))  # 1, 2, 3 ... in the published order


def test_the_mdt_list_carries_each_persons_open_gaps_in_words(published: Path):
    mdt = pq.read_table(published / RESPIRATORY_MDT.path)
    gaps = pq.read_table(published / CARE_GAPS.path)
    # every selected person's open gaps are the rows of care_gaps.parquet, in words on the list
    counted = pc.value_counts(gaps["patient_id"]).to_pylist()
    open_gaps = {item["values"]: item["counts"] for item in counted}
    for row in mdt.to_pylist():
        assert row["open_care_gaps"] == open_gaps.get(row["patient_id"], 0)
        assert len([g for g in row["care_gaps"].split("; ") if g]) == row["open_care_gaps"]


def test_each_care_gap_reads_as_plain_words_with_its_evidence(published: Path):
    gaps = pq.read_table(published / CARE_GAPS.path).to_pylist()
    assert gaps
    for row in gaps:
        assert row["pathway"] in {"asthma", "copd", "asthma+copd"}
        assert ":" not in row["detail"] and "_" not in row["detail"], row["gap"]  # not "<column>: <value>"
        if row["last_seen"] is not None:
            assert row["last_seen"].isoformat() <= AS_OF
    assert {row["gap"] for row in gaps} >= {"no_flu", "no_action_plan"}  # common gaps in any city


def test_published_gap_rates_pass_the_disclosure_rule(published: Path):
    rates = pq.read_table(published / CARE_GAP_RATES.path).to_pylist()
    assert {row["level"] for row in rates} == {"practice", "neighbourhood", "city"}
    for row in rates:
        for count in (row["members"], row["with_gap"]):
            assert count is None or count == 0 or (count >= 8 and count % 5 == 0), row["area"]
        if row["members"] is None or row["with_gap"] is None:
            assert row["suppressed"]
