"""`npc-risk run --pipeline pipelines/cyp_asthma.toml` end to end on the sample city (no training:
the `cyp_points` method): the two children's lists and their rates declared and published, the
lists owner-only and in points order, the rates suppressed, the method card's statement and its
figures against the sample city's truth/.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from npc_risk.cli import app
from npc_risk.respiratory.cyp_outputs import CARD_JSON, CARD_MD
from npc_risk.schemas.outputs import CYP_ASTHMA_AT_RISK, CYP_ASTHMA_CASE_FINDING, CYP_ASTHMA_OUTPUTS, CYP_ASTHMA_RATES
from tests.builders.sample_run import AS_OF, EXTRACT, ROOT, run_sample_city

PIPELINE = ROOT / "pipelines" / "cyp_asthma.toml"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Path:
    return run_sample_city(tmp_path_factory.mktemp("cyp") / "out", PIPELINE)


def test_the_childrens_outputs_are_published_with_their_declared_columns_and_types(published: Path):
    manifest = json.loads((published / "manifest.json").read_text())
    for output in CYP_ASTHMA_OUTPUTS:
        table = pq.read_table(published / output.path)
        assert table.column_names == list(output.names), output.name
        assert [f.type for f in table.schema] == [c.type for c in output.columns], output.name
        assert output.path in json.dumps(manifest), output.name  # hashed in the run's manifest


def test_patient_level_lists_are_owner_only(published: Path):
    for output in (CYP_ASTHMA_AT_RISK, CYP_ASTHMA_CASE_FINDING):
        mode = stat.S_IMODE((published / output.path).stat().st_mode)
        assert mode & 0o077 == 0, f"{output.path} is readable by others ({oct(mode)})"


def test_the_at_risk_list_is_in_points_order_within_each_area_as_the_run_ranked_it(published: Path):
    rows = pq.read_table(published / CYP_ASTHMA_AT_RISK.path).to_pylist()
    assert rows, "the sample city has no child at risk"
    by_area: dict[str, list[dict]] = {}
    for row in rows:
        by_area.setdefault(row["neighbourhood"], []).append(row)
    for area in by_area.values():
        assert [r["neighbourhood_rank"] for r in area] == list(range(1, len(area) + 1))
        points = [r["cyp_points"] for r in area]
        assert points == sorted(points, reverse=True)
    patients = pq.read_table(published / "patients.parquet", columns=["patient_id", "neighbourhood_rank"]).to_pylist()
    ranks = {p["patient_id"]: p["neighbourhood_rank"] for p in patients}
    assert all(ranks[r["patient_id"]] == r["neighbourhood_rank"] for r in rows)  # one ranking, the run's
    for row in rows:
        assert 0 <= row["age"] < 18 and row["cyp_factors"] >= 1 and row["cyp_points"] > 0
        assert row["factors"] and ":" not in row["factors"] and "_" not in row["factors"]
        assert len(row["factors"].split("; ")) <= row["cyp_factors"]  # relievers + no steroid read as one


def test_the_case_finding_list_holds_children_5_to_17_with_their_reasons(published: Path):
    rows = pq.read_table(published / CYP_ASTHMA_CASE_FINDING.path).to_pylist()
    assert rows, "the sample city's wheezy children are not found"
    for row in rows:
        assert 5 <= row["age"] <= 17
        assert len(row["reasons"].split("; ")) == row["rules_met"] >= 1
    at_risk = {r["patient_id"] for r in pq.read_table(published / CYP_ASTHMA_AT_RISK.path).to_pylist()}
    assert not at_risk & {r["patient_id"] for r in rows}  # diagnosed children are never "undiagnosed"


def test_the_rates_pass_the_disclosure_rule(published: Path):
    rows = pq.read_table(published / CYP_ASTHMA_RATES.path).to_pylist()
    assert {r["level"] for r in rows} == {"practice", "neighbourhood", "city"}
    assert {r["measure"] for r in rows} == {"cyp_asthma_register", "at_risk", "possibly_undiagnosed"}
    for row in rows:
        for count in (row["children"], row["with_measure"]):
            assert count is None or count == 0 or (count >= 8 and count % 5 == 0), row["area"]
        if row["children"] is None or row["with_measure"] is None:
            assert row["suppressed"] and row["per_1000"] is None


def test_the_method_card_says_no_validated_model_and_scores_the_points_against_truth(published: Path):
    text = (published / CARD_MD).read_text()
    assert "No validated prediction model of asthma attacks in children" in text
    assert "transparent points score" in text
    card = json.loads((published / CARD_JSON).read_text())
    assert card["method"] == "cyp_points" and card["selection"]["neighbourhood"] == "pcn"
    evaluation = card["evaluation"]
    assert evaluation["evaluated"], evaluation  # the sample city has truth/ beside its extract
    asthma = evaluation["outcomes"]["asthma_emergency_admission"]["all_children"]
    assert asthma["children"] > 900 and asthma["list_size"] > 0
    assert asthma["auroc"] is None or 0.0 <= asthma["auroc"] <= 1.0


def test_the_childrens_feature_set_without_the_respiratory_one_is_a_config_error(tmp_path: Path):
    text = PIPELINE.read_text().replace('["npc_core", "respiratory", "cyp_asthma"]', '["npc_core", "cyp_asthma"]')
    assert '["npc_core", "cyp_asthma"]' in text, "the pipeline's feature_sets line moved; update this test"
    config = tmp_path / "cyp_without_respiratory.toml"
    config.write_text(text)
    result = CliRunner().invoke(app, ["run", "--input", str(EXTRACT), "--output", str(tmp_path / "out"), "--as-of",
                                      AS_OF, "--pipeline", str(config)])
    assert result.exit_code == 5
    message = result.output.strip().splitlines()[-1]
    assert "feature_sets" in message and "list 'respiratory' before 'cyp_asthma'" in message
