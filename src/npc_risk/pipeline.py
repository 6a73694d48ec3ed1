"""One plain function per command. Every input (config, as-of date, paths) is passed in;
nothing here reads the clock, the environment or global state."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from npc_risk import io
from npc_risk.ingest import IngestResult, TableReport, assert_contract, ingest_extract
from npc_risk.schemas.dictionary import render_dictionary

log = logging.getLogger(__name__)


@dataclass
class ValidateResult:
    reports: list[TableReport]
    quarantine_dir: Path
    report_path: Path


def validate_extract(
    *, input_dir: Path, output_dir: Path, as_of: date, engine: str = "duckdb",
    memory_limit: str = "4GB",
) -> ValidateResult:
    """Check an extract against the data contract; write quarantine files and a JSON report."""
    work = io.private_dir(Path(output_dir) / "validation")
    con = io.connect(engine, memory_limit=memory_limit, temp_directory=work / "spill")
    try:
        result = _ingest(con, input_dir=input_dir, as_of=as_of, work_dir=work)
        report = {"as_of": as_of.isoformat(), "input": str(input_dir),
                  "tables": [r.as_dict() for r in result.reports]}
        path = io.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n", work / "report.json")
    finally:
        con.disconnect()
    return ValidateResult(result.reports, result.quarantine_dir, path)


def _ingest(con, *, input_dir: Path, as_of: date, work_dir: Path) -> IngestResult:
    started = time.perf_counter()
    result = ingest_extract(con, Path(input_dir), as_of=as_of, work_dir=work_dir)
    assert_contract(result.tables, set(result.input_files))
    read = sum(r.rows_read for r in result.reports)
    quarantined = sum(r.quarantined for r in result.reports)
    log.info("step ingest: %s rows read, %s quarantined, %.1f s",
             f"{read:,}", f"{quarantined:,}", time.perf_counter() - started)
    return result


def write_dictionary(output: Path) -> Path:
    """Regenerate the data dictionary from the pandera models."""
    return io.write_text(render_dictionary(), Path(output))
