"""Each class of user error gives its own exit code and one line naming the problem and the fix,
before any heavy work starts."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from npc_risk.cli import app

ROOT = Path(__file__).resolve().parents[2]
EXTRACT = ROOT / "sample_data" / "extract"


def _run(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def _one_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    return lines[0]


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ("[run\n", "not valid TOML"),
        ("[nonsense]\nx = 1\n", "[top level] unknown key 'nonsense'"),
        ("[cohort]\ncohort_fraction = 0.5\n", "cohort_fraction"),
        ("[risk]\nmethod = \"crystal_ball\"\n", "method"),
        ("[run]\nengine = \"oracle\"\n", "engine"),
    ],
)
def test_bad_pipeline_config_exits_5(tmp_path: Path, toml: str, expected: str):
    config = tmp_path / "bad.toml"
    config.write_text(toml)
    result = _run("run", "--input", str(EXTRACT), "--output", str(tmp_path / "out"),
                  "--as-of", "2026-03-31", "--pipeline", str(config))
    assert result.exit_code == 5
    line = _one_line(result.output)
    assert line.startswith("npc-risk: config error:") and expected in line
    assert str(config) in line


def test_missing_pipeline_config_exits_5(tmp_path: Path):
    result = _run("run", "--input", str(EXTRACT), "--output", str(tmp_path), "--as-of",
                  "2026-03-31", "--pipeline", str(tmp_path / "absent.toml"))
    assert result.exit_code == 5
    assert "pipeline config not found" in _one_line(result.output)


def test_missing_extract_exits_3(tmp_path: Path):
    result = _run("run", "--input", str(tmp_path / "nowhere"), "--output", str(tmp_path),
                  "--as-of", "2026-03-31")
    assert result.exit_code == 3
    assert "extract folder not found" in _one_line(result.output)


def test_model_that_is_not_a_skops_file_exits_7(tmp_path: Path):
    fake = tmp_path / "model.skops"
    fake.write_bytes(b"\x80\x04not a skops zip file")
    result = _run("run", "--input", str(EXTRACT), "--output", str(tmp_path / "out"),
                  "--as-of", "2026-03-31", "--model", str(fake))
    assert result.exit_code == 7
    assert str(fake) in _one_line(result.output)


def test_pickle_model_is_refused_by_name(tmp_path: Path):
    fake = tmp_path / "model.pkl"
    fake.write_bytes(b"\x80\x04")
    result = _run("run", "--input", str(EXTRACT), "--output", str(tmp_path / "out"),
                  "--as-of", "2026-03-31", "--model", str(fake))
    assert result.exit_code == 7


def test_bad_as_of_is_a_usage_error(tmp_path: Path):
    result = _run("run", "--input", str(EXTRACT), "--output", str(tmp_path), "--as-of", "31/03/2026")
    assert result.exit_code == 2


def test_codelists_check_passes_on_the_packaged_lists():
    result = _run("codelists", "check")
    assert result.exit_code == 0
    assert "code lists OK" in result.output
