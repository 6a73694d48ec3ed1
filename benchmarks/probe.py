"""Run one `npc-risk` command in this process and record each step's time and peak RSS.

`python -m benchmarks.probe OUT.json -- <npc-risk arguments>`: the command runs as the CLI runs
it; a logging handler on the `npc_risk` logger marks the end of each step at the lines the
command already writes (`run`: "step i/n <name>: ..."; `train`: "phase <name>: ..." from
training.py, and "training on the history ..." once ingest is done). At each mark the process's
peak RSS since the previous mark is read from /proc/self/status (VmHWM) and then reset by
writing 5 to /proc/self/clear_refs (Linux), so every step gets its own peak, not the process's.
Only step names, seconds and bytes are recorded: never a log message's values.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from pathlib import Path

MARKS = (
    (re.compile(r"^step \d+/\d+ (\w+):"), None),
    (re.compile(r"^phase ([\w -]+):"), None),
    (re.compile(r"^training on the history"), "ingest"),
)


def _peak_gb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024 / 1024
    return float("nan")


def _reset_peak() -> None:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:  # not Linux, or not permitted: peaks are then cumulative
        pass


class StepMarks(logging.Handler):
    """Seconds and peak RSS (GB) between consecutive step lines."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.started = self.last = time.perf_counter()
        self.steps: list[dict] = []
        _reset_peak()

    def emit(self, record: logging.LogRecord) -> None:
        text = str(record.msg)
        for pattern, fixed in MARKS:
            found = pattern.match(text % record.args if record.args else text)
            if found:
                now = time.perf_counter()
                name = fixed or found.group(1)
                self.steps.append({"step": name, "seconds": round(now - self.last, 3),
                                   "peak_rss_gb": round(_peak_gb(), 3)})
                self.last = now
                _reset_peak()
                return

    def finish(self) -> list[dict]:
        now = time.perf_counter()
        self.steps.append({"step": "rest", "seconds": round(now - self.last, 3),
                           "peak_rss_gb": round(_peak_gb(), 3)})
        return self.steps


def main(out: str, argv: list[str]) -> int:
    from npc_risk import cli  # noqa: PLC0415 (imported after the handler's clock starts)

    marks = StepMarks()
    logging.getLogger("npc_risk").addHandler(marks)
    code = 0
    try:
        cli.app(argv, standalone_mode=False)
    except SystemExit as exc:  # typer exits with the command's code
        code = int(exc.code or 0)
    steps = marks.finish()
    Path(out).write_text(json.dumps({"seconds": round(time.perf_counter() - marks.started, 3),
                                     "steps": steps}, indent=2))
    return code


if __name__ == "__main__":
    split = sys.argv.index("--")
    sys.exit(main(sys.argv[1], sys.argv[split + 1:]))
