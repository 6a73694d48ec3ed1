"""`npc-risk status`: what an unattended output folder holds, for the person on call and for a
monitoring check.

Read from the folder alone (nothing is run, nothing is locked for longer than a probe): each
published run (an ISO-date folder with a manifest.json), newest first, with when it was
published (the manifest file's modification time, UTC: the manifest itself holds no wall-clock
time so that reruns are byte-identical), how long its steps took, how many people it scored and
selected and how many input rows it quarantined, and the folder under `runs/` its date link
names; which run `latest` names; the lock (free, or held by which pid since when); and the
leftovers of stopped runs. A run folder whose manifest cannot be read is listed
as such, not an error.

`stale(status, now=, max_age_hours=)` is the monitoring rule: the newest published run is older
than the limit, or there is none. `now` is passed in (the CLI reads the clock; logic never does).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from npc_risk.publish import latest_run
from npc_risk.runlock import leftovers, lock_state


@dataclass(frozen=True)
class RunSummary:
    as_of: str
    outcome: str  # published | unreadable manifest
    published_at: datetime | None = None
    seconds: float | None = None
    population: int | None = None
    selected: int | None = None
    quarantined: int | None = None
    folder: str = ""  # what the date names: `runs/<as_of>.<n>`, or the date itself (old layout)


@dataclass(frozen=True)
class FolderStatus:
    folder: Path
    runs: list[RunSummary] = field(default_factory=list)
    lock: str = "no lock file"
    leftovers: list[str] = field(default_factory=list)
    latest: str | None = None  # the run folder `latest` names (`runs/<as_of>.<n>`), if any

    @property
    def last_published(self) -> RunSummary | None:
        published = [r for r in self.runs if r.outcome == "published" and r.published_at is not None]
        return max(published, key=lambda r: r.published_at) if published else None


def folder_status(output_dir: Path) -> FolderStatus:
    """The status of `output_dir` (module docstring); an absent folder has no runs."""
    output_dir = Path(output_dir)
    if not output_dir.is_dir():
        return FolderStatus(output_dir)
    runs = []
    for child in output_dir.iterdir():
        try:
            date.fromisoformat(child.name)
        except ValueError:
            continue
        if child.is_dir() and (child / "manifest.json").is_file():
            runs.append(_summary(child))
    runs.sort(key=lambda r: r.as_of, reverse=True)
    latest = latest_run(output_dir)
    return FolderStatus(output_dir, runs, lock_state(output_dir), leftovers(output_dir),
                        latest.relative_to(output_dir).as_posix() if latest else None)


def _summary(run: Path) -> RunSummary:
    path = run / "manifest.json"
    published_at = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    folder = os.readlink(run) if run.is_symlink() else run.name
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        steps = manifest.get("steps", {})
        return RunSummary(
            as_of=run.name, outcome="published", published_at=published_at,
            seconds=round(sum(manifest.get("timings", {}).values()), 1),
            population=steps.get("features", {}).get("population"),
            selected=steps.get("select", {}).get("selected"),
            quarantined=steps.get("ingest", {}).get("quarantined"), folder=folder,
        )
    except (OSError, ValueError, AttributeError, TypeError):
        return RunSummary(as_of=run.name, outcome="unreadable manifest", published_at=published_at,
                          folder=folder)


def stale(status: FolderStatus, *, now: datetime, max_age_hours: float) -> str | None:
    """Why the folder is stale (one line, no patient data), or None when a run was published
    within `max_age_hours` of `now`."""
    last = status.last_published
    if last is None:
        return f"{status.folder}: no published run; check the nightly job's log and exit code"
    age = (now - last.published_at).total_seconds() / 3600
    if age > max_age_hours:
        return (f"{status.folder}: the last published run (as of {last.as_of}) is {age:.1f} hours old, more than "
                f"{max_age_hours:g}; check the nightly job's log and exit code")
    return None
