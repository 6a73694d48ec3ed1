"""One run at a time per output folder: `OUTPUT/.npc-risk.lock`, and the leftovers of runs that
stopped.

    with run_lock(output_dir):
        remove_leftovers(output_dir)
        ...  # the run

How: an exclusive `fcntl.flock` on the open lock file, taken without waiting. The holder writes
its pid and start time into the file, so a second run can say who holds it (LockError, one
line, exit 10). The kernel releases a flock when its holder's process ends, however it ends
(`kill -9` included), so a lock left by a killed run is free again: the next run takes it over
and says so (the file still names the dead holder, as a clean release empties it). The file is
never deleted: deleting a lock file while another process waits to open it lets two runs hold
"the" lock on two different files.

Trap: flock locks belong to an open file description, not a process, so a second `open()` in
the same process conflicts too (the CLI test holds the lock from the test process itself). On
NFS, flock is emulated with byte-range locks on Linux >= 2.6.12; keep the output folder on a
local file system anyway (publish relies on an atomic rename).

Leftovers (`remove_leftovers`): `.work-*` folders (patient-level staged files) and `.staging-*`
folders of earlier runs, `.link-*` temporary symlinks and `runs/.pruning-*` folders of a publish
or a prune that was stopped, and date links that name no folder any more. Called under the lock,
so none of them can belong to a live run.

`crash_point(name)` is a test-only hook: when the environment variable NPC_RISK_TEST_KILL_AT
equals `name`, the process kills itself with SIGKILL there (tests/functional/test_crash_matrix.py
kills real runs at each point). One guarded line per point; unset, it does nothing.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from npc_risk.errors import LockError, OutputError

LOCK_NAME = ".npc-risk.lock"
LEFTOVER_PREFIXES = (".work-", ".staging-")
KILL_AT = "NPC_RISK_TEST_KILL_AT"  # test-only (module docstring)
# the points, in the order a run reaches them (run.py, publish.py)
CRASH_POINTS = ("ingested", "features", "trained", "selected", "written", "renamed", "linked", "latest")
log = logging.getLogger(__name__)


def _holder(text: str) -> str:
    """'pid 123, started 2026-03-31T02:30:00+00:00' from the lock file's text (or 'unknown')."""
    fields = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    if not fields:
        return "holder unknown"
    return f"pid {fields.get('pid', '?')}, started {fields.get('started', '?')}"


@contextmanager
def run_lock(output_dir: Path) -> Iterator[Path]:
    """Hold the output folder's run lock for the block (module docstring); yields the lock path.

    Raises LockError at once if another run holds it, OutputError if the output folder or the
    lock file cannot be created.
    """
    output_dir = Path(output_dir)
    path = output_dir / LOCK_NAME
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise OutputError(
            f"{output_dir}: cannot create the output folder or its lock file ({exc.strerror}); "
            "check --output names a writable folder (not a file)"
        ) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(os.pread(fd, 4096, 0).decode("utf-8", "replace"))
            raise LockError(
                f"{output_dir}: another npc-risk run is using this output folder ({holder}); "
                f"wait for it to finish, or stop it. The lock is {path}"
            ) from None
        left = os.pread(fd, 4096, 0).decode("utf-8", "replace")
        if left.strip():
            log.warning("run lock: taking over the lock of a run that stopped without releasing "
                        "it (%s)", _holder(left))
        started = datetime.now(UTC).isoformat(timespec="seconds")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid={os.getpid()}\nstarted={started}\n".encode(), 0)
        os.fsync(fd)
        try:
            yield path
        finally:
            os.ftruncate(fd, 0)  # an empty file: released cleanly (see module docstring)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def lock_state(output_dir: Path) -> str:
    """"free", "held (pid N, started T)" or "no lock file", without waiting and without taking
    the lock for longer than the probe (`npc-risk status`)."""
    path = Path(output_dir) / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return "no lock file"
    except OSError as exc:
        return f"unreadable ({exc.strerror})"
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return f"held ({_holder(os.pread(fd, 4096, 0).decode('utf-8', 'replace'))})"
        fcntl.flock(fd, fcntl.LOCK_UN)
        return "free"
    finally:
        os.close(fd)


def leftovers(output_dir: Path) -> list[str]:
    """Names (relative to `output_dir`) of the leftovers of stopped runs (module docstring);
    the next run removes them."""
    output_dir = Path(output_dir)
    return [p.relative_to(output_dir).as_posix() for p in _leftover_paths(output_dir)]


def crash_point(name: str) -> None:
    """Test-only: SIGKILL this process here when NPC_RISK_TEST_KILL_AT is `name` (docstring)."""
    if os.environ.get(KILL_AT) == name:
        os.kill(os.getpid(), signal.SIGKILL)


def remove_leftovers(output_dir: Path) -> int:
    """Remove the leftovers of stopped runs in `output_dir` (module docstring); returns how
    many. Call it under `run_lock` only (then no live run owns any of them)."""
    found = _leftover_paths(Path(output_dir))
    for path in found:
        if path.is_symlink():
            path.unlink()
        else:
            shutil.rmtree(path, ignore_errors=True)
    if found:
        log.warning("removed %d work, staging or link leftover(s) of an earlier run that stopped",
                    len(found))
    return len(found)


def _leftover_paths(output_dir: Path) -> list[Path]:
    if not output_dir.is_dir():
        return []
    runs = output_dir / "runs"
    pruning = sorted(runs.glob(".pruning-*")) if runs.is_dir() else []
    found = []
    for child in sorted(output_dir.iterdir()) + pruning:
        if child.is_symlink():
            if child.name.startswith(".link-") or (_is_date(child.name) and not child.exists()):
                found.append(child)
        elif child.is_dir() and child.name.startswith((*LEFTOVER_PREFIXES, ".pruning-")):
            found.append(child)
    return found


def _is_date(name: str) -> bool:
    try:
        datetime.strptime(name, "%Y-%m-%d")
    except ValueError:
        return False
    return True
