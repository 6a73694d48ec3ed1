"""`npc-risk run` end to end on the committed sample city (sample_data/, about 5,000 people).

The nightly run is executed once per module (it trains a model on the extract's history, so it
takes a while); each test then checks one promise of the run's contract.
"""

from __future__ import annotations

import hashlib
import json
import stat
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from npc_risk.cli import app
from npc_risk.schemas.outputs import COHORT, MANIFEST, OUTPUTS

ROOT = Path(__file__).resolve().parents[2]
EXTRACT = ROOT / "sample_data" / "extract"
AS_OF = "2026-03-31"
LEEDS = ROOT / "pipelines" / "leeds_npc.toml"
PATIENT_FILES = ("patients.parquet", "evidence.parquet")

pytestmark = pytest.mark.slow


def _run(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def _hashes(folder: Path) -> dict[str, str]:
    """sha256 of every Parquet file in a published run (the manifest holds timings, so not it)."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*.parquet"))
    }


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run")
    result = _run("run", "--input", str(EXTRACT), "--output", str(out), "--as-of", AS_OF,
                  "--pipeline", str(LEEDS), "--quiet")
    assert result.exit_code == 0, result.output
    return out / AS_OF


def test_run_publishes_every_output(published: Path):
    for name in ("patients.parquet", "neighbourhoods.parquet", "evidence.parquet",
                 "manifest.json", "cohort", "quarantine", "model"):
        assert (published / name).exists(), name
    assert not list(published.parent.glob(".staging-*")), "staging folder left behind"
    assert not list(published.parent.glob(".work-*")), "work folder left behind"


def test_patients_file_has_the_contracted_columns(published: Path):
    columns = set(pq.read_schema(published / "patients.parquet").names)
    expected = {
        "patient_id", "practice_code", "neighbourhood", "age", "sex", "imd_decile", "ltc_count",
        "ltc_conditions", "efi_deficits", "efi_score", "efi_category", "hfrs_score",
        "hfrs_category", "emergency_admissions_12m", "emergency_bed_days_12m",
        "ae_attendances_12m", "outpatient_attendances_12m", "gp_appointments_12m", "risk_score",
        "eligible", "exclusion_reason", "neighbourhood_rank", "in_cohort", "drivers",
    }
    assert expected <= columns, expected - columns


def test_cohort_is_the_configured_fraction_of_each_neighbourhood(published: Path):
    """2.5 % of each PCN's registered population (half up), or every candidate if fewer."""
    patients = pq.read_table(published / "patients.parquet").to_pandas()
    for _, people in patients.groupby("neighbourhood"):
        target = (len(people) * 25_000 + 500_000) // 1_000_000
        candidates = int((people["eligible"] & people["exclusion_reason"].isna()).sum())
        assert int(people["in_cohort"].sum()) == min(target, candidates)
    cohort = patients[patients["in_cohort"]]
    assert cohort["eligible"].all() and cohort["exclusion_reason"].isna().all()
    assert (cohort["drivers"].str.len() > 0).all(), "every selected person has plain-words drivers"


def test_ranks_follow_risk_within_each_neighbourhood(published: Path):
    patients = pq.read_table(published / "patients.parquet").to_pandas()
    ranked = patients.dropna(subset=["neighbourhood_rank"]).sort_values(["neighbourhood", "neighbourhood_rank"])
    for _, people in ranked.groupby("neighbourhood"):
        assert people["neighbourhood_rank"].tolist() == list(range(1, len(people) + 1))
        assert people["risk_score"].is_monotonic_decreasing


def test_patient_level_files_are_owner_only(published: Path):
    for name in PATIENT_FILES:
        assert stat.S_IMODE((published / name).stat().st_mode) == 0o600, name
    for part in (published / "cohort").rglob("*.parquet"):
        assert stat.S_IMODE(part.stat().st_mode) == 0o600
    assert stat.S_IMODE(published.stat().st_mode) == 0o700


def test_manifest_records_provenance(published: Path):
    manifest = json.loads((published / "manifest.json").read_text())
    assert manifest["as_of"] == AS_OF
    # counts and seconds of the steps before publishing (the manifest is written inside the
    # publish step); what publishing wrote is under `outputs`
    assert set(manifest["steps"]) == set(manifest["timings"]) == {"ingest", "features", "score",
                                                                  "select"}
    assert manifest["outputs"]["patients.parquet"]["rows"] == manifest["steps"]["features"]["population"]
    inputs = manifest["inputs"]
    assert len(inputs["patients"]["sha256"]) == 64
    for table in inputs.values():
        assert table["rows_read"] == table["accepted"] + table["quarantined"]
    assert len(manifest["config_hash"]) == 64
    assert manifest["codelists"]["manifest_sha256"]
    assert manifest["codelists"]["packaged"] is True  # the starter lists: said, so nobody mistakes them
    assert all(len(v["sha256"]) == 64 and v["version"] for v in manifest["codelists"]["lists"].values())
    assert any(name.endswith(".card.json") for name in manifest["model_files"])


def test_the_model_card_reports_the_required_figures(published: Path):
    card = json.loads(next((published / "model").glob("*.card.json")).read_text())
    evaluation = card["evaluation"]
    text = json.dumps(evaluation)
    for figure in ("auroc", "average_precision", "brier", "calibration_by_decile"):
        assert figure in text, figure
    assert 0.6 < evaluation["auroc"] < 0.85, "outside the plausible band: check for leakage"


def test_rerun_gives_identical_outputs(published: Path, tmp_path: Path):
    again = _run("run", "--input", str(EXTRACT), "--output", str(tmp_path), "--as-of", AS_OF,
                 "--pipeline", str(LEEDS), "--quiet")
    assert again.exit_code == 0, again.output
    assert _hashes(tmp_path / AS_OF) == _hashes(published)


def test_rules_pipeline_runs_without_a_model(tmp_path: Path):
    result = _run("run", "--input", str(EXTRACT), "--output", str(tmp_path), "--as-of", AS_OF,
                  "--pipeline", str(ROOT / "pipelines" / "leicestershire_int.toml"), "--quiet")
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / AS_OF / "manifest.json").read_text())
    assert manifest["config"]["risk"]["method"] == "rules"
    assert not (tmp_path / AS_OF / "model").exists()


def test_train_then_run_with_the_saved_model(tmp_path: Path):
    """The monthly job trains and saves (skops + card); the nightly job scores with that file.
    Training here is capped at 2,000 people per window, so each window of the sample city (about
    4,400 people) is fitted on every 3rd person, and the card says so."""
    model = tmp_path / "model" / "risk.skops"
    config = tmp_path / "capped.toml"
    config.write_text("[risk]\ntraining_max_people = 2000\n", encoding="utf-8")
    trained = _run("train", "--input", str(EXTRACT), "--as-of", AS_OF, "--model-out", str(model),
                   "--pipeline", str(config), "--work-dir", str(tmp_path), "--quiet")
    assert trained.exit_code == 0, trained.output
    assert model.exists() and model.with_suffix(".card.json").exists()
    card = json.loads(model.with_suffix(".card.json").read_text())
    assert card["training_window"]["train_sample_every"] == card["training_window"]["eval_sample_every"] == "3"
    assert 1000 < card["training"]["n"] <= 2000
    assert stat.S_IMODE(model.stat().st_mode) == 0o600
    result = _run("run", "--input", str(EXTRACT), "--output", str(tmp_path / "out"), "--as-of",
                  AS_OF, "--model", str(model), "--quiet")
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "out" / AS_OF / "manifest.json").read_text())
    assert manifest["model_files"]["risk.skops"] == hashlib.sha256(model.read_bytes()).hexdigest()


def test_published_files_and_manifest_match_the_declarations(published: Path):
    """schemas/outputs.py on the sample city: every file's columns and Arrow types as declared,
    no missing values where the declaration says not nullable, and only declared manifest keys
    (counts in `steps`, seconds apart in `timings`)."""
    for spec in OUTPUTS:
        files = sorted(published.glob(spec.path.replace("<key>", "*")))
        assert files, spec.path
        columns = spec.file_columns
        for path in files:
            table = pq.read_table(path)
            assert [(f.name, f.type) for f in table.schema] == [(c.name, c.type) for c in columns]
            for column in columns:
                if not column.nullable:
                    assert table[column.name].null_count == 0, (spec.name, column.name)
        assert spec is COHORT or len(files) == 1
    manifest = json.loads((published / "manifest.json").read_text())
    assert set(manifest) <= {key.name for key in MANIFEST}, set(manifest) - {k.name for k in MANIFEST}
    assert {"steps", "provenance", "outputs"} <= set(manifest)
    for counts in manifest["steps"].values():
        assert "seconds" not in counts, "timings belong under `timings`, not `steps`"
