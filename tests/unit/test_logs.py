"""Log lines for cron and for log shippers (npc_risk.logs)."""

import json
import logging

from npc_risk import logs


def test_json_lines_hold_time_level_logger_and_message():
    record = logging.LogRecord("npc_risk.ingest", logging.INFO, __file__, 1, "ingest %s: %s rows read",
                               ("patients", "5,000"), None)
    record.created = 1774924200.0  # 2026-03-31 02:30:00 UTC
    event = json.loads(logs.JsonLines().format(record))
    assert event == {"time": "2026-03-31T02:30:00.000+00:00", "level": "INFO", "logger": "npc_risk.ingest",
                     "message": "ingest patients: 5,000 rows read"}


def test_levels_follow_quiet_and_verbose():
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        logs.configure(quiet=True)
        assert root.level == logging.WARNING
        logs.configure(verbose=True, log_format="json")
        assert root.level == logging.DEBUG and isinstance(root.handlers[0].formatter, logs.JsonLines)
        logs.configure()
        assert root.level == logging.INFO and not isinstance(root.handlers[0].formatter, logs.JsonLines)
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
