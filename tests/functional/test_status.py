"""`npc-risk status --output DIR [--max-age-hours N]` (issue 10): the published runs, the lock
and the leftovers of an output folder, and an exit code a monitoring check can use (11: no run
published within N hours)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

from typer.testing import CliRunner

from npc_risk.cli import app
from npc_risk.errors import EXIT_CODES
from npc_risk.runlock import run_lock
from npc_risk.status import folder_status, stale

PUBLISHED = {"2026-03-30": datetime(2026, 3, 31, 2, 40, tzinfo=UTC),
             "2026-03-31": datetime(2026, 4, 1, 2, 35, tzinfo=UTC)}


def _output(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    for day, when in PUBLISHED.items():
        run = out / day
        run.mkdir(parents=True)
        manifest = {"steps": {"ingest": {"quarantined": 17, "rows_read": 900},
                              "features": {"population": 4416}, "select": {"selected": 111}},
                    "timings": {"ingest": 10.25, "features": 5.0}}
        (run / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
        os.utime(run / "manifest.json", (when.timestamp(), when.timestamp()))
    broken = out / "2026-03-29"
    broken.mkdir()
    (broken / "manifest.json").write_text("{not json", encoding="utf-8")
    (out / ".work-123").mkdir()  # left by a stopped run
    (out / "packs").mkdir()  # not a run folder
    return out


def test_status_lists_runs_newest_first_with_their_counts(tmp_path: Path):
    status = folder_status(_output(tmp_path))
    assert [(r.as_of, r.outcome) for r in status.runs] == [
        ("2026-03-31", "published"), ("2026-03-30", "published"), ("2026-03-29", "unreadable manifest")]
    newest = status.runs[0]
    assert (newest.seconds, newest.population, newest.selected, newest.quarantined) == (15.2, 4416, 111, 17)
    assert newest.published_at == PUBLISHED["2026-03-31"]
    assert status.leftovers == [".work-123"]
    assert status.lock == "no lock file"


def test_status_says_who_holds_the_lock(tmp_path: Path):
    out = _output(tmp_path)
    with run_lock(out):
        held = folder_status(out).lock
    assert held.startswith(f"held (pid {os.getpid()}, started ")
    assert folder_status(out).lock == "free"


def test_stale_when_the_newest_run_is_older_than_the_limit(tmp_path: Path):
    status = folder_status(_output(tmp_path))
    #                      newest published 2026-04-01 02:35 UTC
    assert stale(status, now=datetime(2026, 4, 1, 20, 0, tzinfo=UTC), max_age_hours=26) is None
    reason = stale(status, now=datetime(2026, 4, 2, 5, 35, tzinfo=UTC), max_age_hours=26)
    assert reason.endswith("(as of 2026-03-31) is 27.0 hours old, more than 26; check the nightly job's log "
                           "and exit code")


def test_cli_exit_codes_for_a_monitoring_check(tmp_path: Path):
    out = _output(tmp_path)
    shown = CliRunner().invoke(app, ["status", "--output", str(out)])
    assert shown.exit_code == 0 and "2026-03-31" in shown.output and ".work-123" in shown.output
    fresh = CliRunner().invoke(app, ["status", "--output", str(out), "--max-age-hours", "1000000"])
    assert fresh.exit_code == 0
    empty = CliRunner().invoke(app, ["status", "--output", str(tmp_path / "none"), "--max-age-hours", "24"])
    assert empty.exit_code == EXIT_CODES["StaleError"] == 11
    assert "no published run" in empty.output and "Traceback" not in empty.output
