"""Test helper: `npc-risk run` in-process on the committed sample city (sample_data/extract) at the
sample's as-of date, asserting it succeeds; returns the dated output folder."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from npc_risk.cli import app

ROOT = Path(__file__).resolve().parents[2]
EXTRACT = ROOT / "sample_data" / "extract"
AS_OF = "2026-03-31"


def run_sample_city(out: Path, pipeline: Path) -> Path:
    """Run `pipeline` on the sample city into `out`; the run's folder (`out/AS_OF`)."""
    result = CliRunner().invoke(app, ["run", "--input", str(EXTRACT), "--output", str(out), "--as-of", AS_OF,
                                      "--pipeline", str(pipeline), "--quiet"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return out / AS_OF
