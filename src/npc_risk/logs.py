"""Logging for the commands: one owner of the handlers, the level and the line format.

* text (default): `time LEVEL logger: message`, one line per event, on stderr;
* json (`--log-format json`, for log shippers): one JSON object per line with `time` (UTC,
  ISO 8601), `level`, `logger` and `message`;
* `--quiet`: warnings and errors only (cron); `--verbose`: debug messages too.

Messages never hold a patient-level value (tests/functional/test_privacy_scan.py runs the
pipeline at debug level and scans every stream for the extract's identifiers and dates of birth).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from enum import StrEnum


class LogFormat(StrEnum):
    """`--log-format`: text lines, or JSON lines for log shippers."""

    text = "text"
    json = "json"


FORMATS = tuple(f.value for f in LogFormat)
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonLines(logging.Formatter):
    """One JSON object per record (exceptions, which only bugs raise, as `exception` text)."""

    def format(self, record: logging.LogRecord) -> str:
        event = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname, "logger": record.name, "message": record.getMessage(),
        }
        if record.exc_info:
            event["exception"] = self.formatException(record.exc_info)
        return json.dumps(event, ensure_ascii=False)


def configure(*, quiet: bool = False, verbose: bool = False, log_format: str = "text") -> None:
    """Set the root logger for one command (replacing any earlier handlers)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    level = logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO
    logging.basicConfig(level=level, handlers=[handler], force=True)
