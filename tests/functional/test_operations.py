"""What an unattended nightly job relies on (issue 10): one run at a time per output folder, no
leftovers of failed runs, and the findings of the bad-delivery catalogue, each pinned by a test
named after it. Tests marked `slow` run a whole pipeline.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from npc_risk.cli import app
from npc_risk.errors import LockError
from npc_risk.runlock import LOCK_NAME, remove_leftovers, run_lock

ROOT = Path(__file__).resolve().parents[2]
EXTRACT = ROOT / "sample_data" / "extract"
AS_OF = "2026-03-31"


def _run(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def _one_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    return lines[0]


def _extract_copy(folder: Path, *, replace: dict[str, str] | None = None) -> Path:
    """The sample extract as symlinks, with some tables replaced by the given CSV text."""
    folder.mkdir(parents=True)
    replace = replace or {}
    for path in sorted(EXTRACT.glob("*.parquet")):
        if path.stem not in replace:
            (folder / path.name).symlink_to(path)
    for name, text in replace.items():
        (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    return folder


def _leftovers(out: Path) -> list[str]:
    return sorted(p.name for p in out.iterdir() if p.name.startswith((".work-", ".staging-")))


# ------------------------------------------------------------------------------------ run lock
def test_second_run_over_the_same_output_exits_10_naming_the_holder(tmp_path: Path):
    out = tmp_path / "out"
    with run_lock(out):  # held from this process: flock conflicts per open file, not per process
        result = _run("run", "--input", str(EXTRACT), "--output", str(out), "--as-of", AS_OF)
    assert result.exit_code == LockError.exit_code == 10
    line = _one_line(result.output)
    assert line.startswith("npc-risk: locked:")
    assert f"pid {os.getpid()}" in line and "started 20" in line
    assert not (out / AS_OF).exists()


def test_lock_is_released_after_the_block_and_the_file_emptied(tmp_path: Path):
    with run_lock(tmp_path) as path:
        assert f"pid={os.getpid()}" in path.read_text()
        with pytest.raises(LockError), run_lock(tmp_path):
            pass
    assert path.read_text() == ""
    with run_lock(tmp_path):  # free again
        pass


def test_lock_of_a_killed_run_is_taken_over(tmp_path: Path, caplog):
    """kill -9 releases the holder's flock; the next run takes the lock over and says so."""
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\nfrom npc_risk.runlock import run_lock\n"
         "with run_lock(sys.argv[1]):\n    print('held', flush=True)\n    time.sleep(120)\n",
         str(tmp_path)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(LockError, match=f"pid {holder.pid}, started "), run_lock(tmp_path):
            pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        holder.stdout.close()
    assert f"pid={holder.pid}" in (tmp_path / LOCK_NAME).read_text()  # not released cleanly
    with caplog.at_level(logging.WARNING, logger="npc_risk.runlock"), run_lock(tmp_path) as path:
        assert f"pid={os.getpid()}" in path.read_text()
    assert f"pid {holder.pid}" in caplog.text and "taking over" in caplog.text


# ------------------------------------------------------------------------------------ leftovers
def test_new_run_removes_stale_work_and_staging_folders(tmp_path: Path):
    out = tmp_path / "out"
    for name in (".work-2026-03-30", ".work-2026-03-31-4242", ".staging-2026-03-30-4242"):
        (out / name / "ingest").mkdir(parents=True)
        (out / name / "ingest" / "patients.parquet").write_bytes(b"staged rows")
    (out / "2026-03-30").mkdir()  # a published run is kept
    result = _run("run", "--input", str(tmp_path / "absent"), "--output", str(out),
                  "--as-of", AS_OF, "--quiet")
    assert result.exit_code == 3  # fails on the missing extract, after the clean-up
    assert _leftovers(out) == []
    assert (out / "2026-03-30").is_dir()


def test_remove_leftovers_keeps_everything_else(tmp_path: Path):
    (tmp_path / ".work-x").mkdir()
    (tmp_path / ".staging-x").mkdir()
    (tmp_path / ".work-file").write_text("a file, not a work folder")
    (tmp_path / "2026-03-31.previous").mkdir()
    assert remove_leftovers(tmp_path) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == [".work-file", "2026-03-31.previous"]


def test_failed_run_removes_its_own_work_folder(tmp_path: Path):
    """opt_outs is ingested last: every other table is staged (patient-level rows in the work
    folder) when its missing column stops the run."""
    extract = _extract_copy(tmp_path / "extract", replace={"opt_outs": "patient_id\nabc\n"})
    out = tmp_path / "out"
    result = _run("run", "--input", str(extract), "--output", str(out), "--as-of", AS_OF,
                  "--quiet")
    assert result.exit_code == 4, result.output
    assert "opt_out_type" in _one_line(result.output)
    assert _leftovers(out) == []
    assert (out / LOCK_NAME).read_text() == ""  # released
