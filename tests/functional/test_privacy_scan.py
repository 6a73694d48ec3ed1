"""Privacy proven (issue 10): the pipeline run on the dirty sample extract at debug level, with
JSON log lines, prints no identifier and no date of birth of anyone in the input, on any stream;
and every patient-level output is owner-only.

The sample extract is dirty on purpose (the generator's dirt: invalid NHS numbers, unknown
patient ids, deaths before birth, malformed codes), so the quarantine paths log too. Each command
runs in a real process, as cron runs it.
"""

from __future__ import annotations

import json
import re
import stat
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

ROOT = Path(__file__).resolve().parents[2]
EXTRACT = ROOT / "sample_data" / "extract"
AS_OF = "2026-03-31"


def _identifiers() -> set[str]:
    patients = pq.read_table(EXTRACT / "patients.parquet",
                             columns=["patient_id", "nhs_number", "date_of_birth"]).to_pandas()
    values = set(patients.patient_id.dropna()) | set(patients.nhs_number.dropna())
    values |= {str(d) for d in patients.date_of_birth.dropna()}  # ISO dates, as a log would print them
    values.discard("")
    return values


# Words of a text: ISO dates whole, then runs of letters and digits (an id or an NHS number is
# one such run wherever it is printed). A set lookup per word: one regex alternation of 15,000
# values took minutes over the pack pages.
WORDS = re.compile(r"\d{4}-\d{2}-\d{2}|[A-Za-z0-9]+")


def _leaks(text: str, identifiers: set[str]) -> bool:
    return any(word in identifiers for word in WORDS.findall(text))


@pytest.fixture(scope="module")
def debug_run(tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    tmp = tmp_path_factory.mktemp("privacy")
    config = tmp / "rules.toml"
    config.write_text('[risk]\nmethod = "rules"\n\n[packs]\nenabled = true\npdf = false\n', encoding="utf-8")
    out = tmp / "out"
    done = subprocess.run(
        [sys.executable, "-m", "npc_risk", "run", "--input", str(EXTRACT), "--output", str(out), "--as-of", AS_OF,
         "--pipeline", str(config), "--verbose", "--log-format", "json"],
        capture_output=True, text=True, check=False, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    return done, out


def test_a_debug_run_logs_no_identifier_or_date_of_birth(debug_run):
    done, out = debug_run
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    assert lines and {e["level"] for e in lines} >= {"INFO"}
    assert all(set(e) >= {"time", "level", "logger", "message"} for e in lines)
    found = _identifiers()
    assert _leaks("logged P298764b1c51022c", found) and _leaks("dob=1968-05-01;", found)  # the scan finds them
    for name, text in (("stdout", done.stdout), ("stderr", done.stderr)):
        assert not _leaks(text, found), f"{name} holds an identifier or a date of birth from the input"
    texts = [p for p in out.rglob("*") if p.suffix in (".log", ".txt", ".md", ".json", ".html", ".csv")]
    assert any(p.name == "manifest.json" for p in texts) and any(p.suffix == ".html" for p in texts)
    for path in texts:
        assert not _leaks(path.read_text(encoding="utf-8", errors="replace"), found), path.name


def test_patient_level_outputs_are_owner_only(debug_run):
    _, out = debug_run
    run = out / AS_OF
    patient_level = [run / "patients.parquet", run / "evidence.parquet", *run.glob("cohort/**/*"),
                     *run.glob("quarantine/**/*")]
    assert len(patient_level) > 5
    for path in [run, *patient_level]:
        mode = stat.S_IMODE(path.stat().st_mode)
        expected = 0o700 if path.is_dir() else 0o600
        assert mode == expected, f"{path.relative_to(out)}: {oct(mode)}"
