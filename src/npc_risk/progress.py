"""Rich progress for a person at a terminal: one line per step of the run, a spinner and the
elapsed time on the step in progress, a tick and its seconds once done.

Shown only when stderr is a terminal and the logs are text at info level or lower (`enabled`):
never in cron or CI logs (not a terminal), with `--quiet` or with `--log-format json`, so
unattended runs get exactly the plain one-line-per-step log lines. The CLI's logging set-up
decides (npc_risk.logs.configure), so no command needs an option of its own. While the bars are
shown, log lines are printed above them (the root handlers write through rich's console).

    with progress.steps(("ingest", "features", ...)) as shown:
        ...
        shown.done("ingest")  # ticks ingest, starts features
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from npc_risk.logs import JsonLines


def enabled() -> bool:
    """Progress is shown: stderr is a terminal, and the root logger writes text at info level."""
    root = logging.getLogger()
    if not sys.stderr.isatty() or root.level > logging.INFO:
        return False
    return not any(isinstance(h.formatter, JsonLines) for h in root.handlers)


class Steps:
    """The run's steps as rich tasks (or nothing at all when `progress` is None)."""

    def __init__(self, names: Sequence[str], progress: Progress | None):
        self.names = list(names)
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}
        self._start(0)

    def _start(self, index: int) -> None:
        if self.progress is not None and index < len(self.names):
            name = self.names[index]
            label = f"step {index + 1}/{len(self.names)} {name}"
            self.tasks[name] = self.progress.add_task(label, total=None)

    def done(self, name: str) -> None:
        """Tick step `name` and start the next one."""
        if self.progress is None or name not in self.tasks:
            return
        self.progress.update(self.tasks[name], total=1, completed=1)
        self._start(self.names.index(name) + 1)


@contextmanager
def steps(names: Sequence[str], *, console: Console | None = None) -> Iterator[Steps]:
    """A Steps for the block: bars on stderr when `enabled()` (or on `console`, for tests)."""
    if console is None and not enabled():
        yield Steps(names, None)
        return
    console = console or Console(stderr=True)
    columns = (SpinnerColumn(finished_text="[green]✓"), TextColumn("{task.description}"),
               TimeElapsedColumn())
    handlers = [h for h in logging.getLogger().handlers if isinstance(h, logging.StreamHandler)]
    with Progress(*columns, console=console, redirect_stderr=True) as progress:
        # Log lines go through rich's console (printed above the bars), not over them.
        streams = [h.stream for h in handlers]
        for handler in handlers:
            handler.setStream(sys.stderr)
        try:
            yield Steps(names, progress)
        finally:
            for handler, stream in zip(handlers, streams, strict=True):
                handler.setStream(stream)
