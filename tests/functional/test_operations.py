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


# ------------------------------------------------------- finding 1: tables with no accepted rows
SOCIAL_CARE_ALL_BAD = (
    "patient_id,start_date,end_date,service_type\n"
    "no-such-patient-1,2025-01-01,2025-02-01,home care\n"
    "no-such-patient-2,not a date,2025-02-01,home care\n"
)


def _ingest(extract: Path, work: Path):
    from datetime import date

    from npc_risk import steps
    from npc_risk.engine import Engine

    with Engine.open() as engine:
        result = steps.ingest(engine, input_dir=extract, as_of=date(2026, 3, 31), work_dir=work)
        return {r.table: (r.rows_read, r.accepted, r.quarantined) for r in result.reports}


def test_header_only_optional_table_is_ingested_not_a_contract_violation(tmp_path: Path):
    extract = _extract_copy(tmp_path / "extract",
                            replace={"opt_outs": "patient_id,opt_out_type\n"})
    assert _ingest(extract, tmp_path / "work")["opt_outs"] == (0, 0, 0)


def test_all_quarantined_optional_table_is_ingested_not_a_contract_violation(tmp_path: Path):
    extract = _extract_copy(tmp_path / "extract",
                            replace={"social_care_packages": SOCIAL_CARE_ALL_BAD})
    assert _ingest(extract, tmp_path / "work")["social_care_packages"] == (2, 0, 2)


def test_extract_with_no_accepted_patient_exits_3_with_one_line(tmp_path: Path):
    extract = _extract_copy(tmp_path / "extract", replace={
        "patients": "patient_id,nhs_number,date_of_birth,sex,date_of_death,lsoa_code\n"})
    out = tmp_path / "out"
    result = _run("run", "--input", str(extract), "--output", str(out), "--as-of", AS_OF,
                  "--quiet")
    assert result.exit_code == 3, result.output
    line = _one_line(result.output)
    assert "patients.csv: no patient rows accepted (0 read)" in line
    assert _leftovers(out) == []


@pytest.mark.slow
def test_run_with_empty_tables_into_a_path_with_an_apostrophe(tmp_path: Path):
    """Findings 1 and 4 in one run: a header-only opt-outs file and an all-quarantined social
    care table are published as empty/quarantined, and an output path with an apostrophe (once
    pasted into DuckDB's SET temp_directory) works."""
    extract = _extract_copy(tmp_path / "extract", replace={
        "opt_outs": "patient_id,opt_out_type\n", "social_care_packages": SOCIAL_CARE_ALL_BAD})
    rules = tmp_path / "rules.toml"
    rules.write_text('[risk]\nmethod = "rules"\n')
    out = tmp_path / "St John's"
    result = _run("run", "--input", str(extract), "--output", str(out), "--as-of", AS_OF,
                  "--pipeline", str(rules), "--quiet")
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    published = out / AS_OF
    assert (published / "manifest.json").is_file()
    assert (published / "quarantine" / "social_care_packages.parquet").is_file()
    assert _leftovers(out) == []


def test_engine_spill_folder_with_an_apostrophe(tmp_path: Path):
    from npc_risk.config import RunConfig
    from npc_risk.engine import Engine

    spill = tmp_path / "it's" / "spill"
    with Engine.open(RunConfig(), spill_dir=spill) as engine:
        setting = engine.con.con.execute("SELECT current_setting('temp_directory')").fetchone()[0]
    assert setting == str(spill)


# --------------------------------------------------- finding 3: output-side failures exit 8
def test_file_where_the_output_folder_should_be_exits_8(tmp_path: Path):
    out = tmp_path / "out"
    out.write_text("not a folder")
    result = _run("run", "--input", str(EXTRACT), "--output", str(out), "--as-of", AS_OF)
    assert result.exit_code == 8, result.output
    line = _one_line(result.output)
    assert line.startswith("npc-risk: output error:") and str(out) in line


def test_file_where_a_parent_of_the_output_folder_should_be_exits_8(tmp_path: Path):
    (tmp_path / "disk").write_text("not a folder")
    out = tmp_path / "disk" / "npc_risk"
    result = _run("run", "--input", str(EXTRACT), "--output", str(out), "--as-of", AS_OF)
    assert result.exit_code == 8, result.output
    assert _one_line(result.output).startswith("npc-risk: output error:")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder")
def test_read_only_output_folder_exits_8(tmp_path: Path):
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(0o555)
    try:
        result = _run("run", "--input", str(EXTRACT), "--output", str(out), "--as-of", AS_OF)
    finally:
        out.chmod(0o755)
    assert result.exit_code == 8, result.output
    assert _one_line(result.output).startswith("npc-risk: output error:")


def test_private_dir_that_cannot_be_made_is_an_output_error(tmp_path: Path, monkeypatch):
    """A read-only output folder, simulated (root may write anywhere): PermissionError on mkdir."""
    from npc_risk import files
    from npc_risk.errors import OutputError

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "mkdir", refuse)
    with pytest.raises(OutputError, match="Permission denied"):
        files.private_dir(tmp_path / ".work-2026-03-31-1")


def _empty(spec):
    import ibis
    import pyarrow as pa

    return ibis.memtable(pa.schema([(c.name, c.type) for c in spec.columns]).empty_table())


def test_publish_that_cannot_write_is_an_output_error_and_leaves_no_staging(tmp_path: Path,
                                                                           monkeypatch):
    """A full disk while the outputs are written: exit 8, staging removed, previous kept."""
    import errno
    from datetime import date

    from npc_risk import files, publish
    from npc_risk.errors import OutputError
    from npc_risk.schemas.outputs import COHORT, EVIDENCE, NEIGHBOURHOODS, PATIENTS

    previous = tmp_path / AS_OF
    previous.mkdir()
    (previous / "manifest.json").write_text("{}")

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files, "write_parquet", disk_full)
    with pytest.raises(OutputError, match="No space left on device"):
        publish.publish_run(
            output_root=tmp_path, as_of=date(2026, 3, 31), patients=_empty(PATIENTS),
            cohort=_empty(COHORT), neighbourhoods=_empty(NEIGHBOURHOODS),
            evidence=_empty(EVIDENCE), quarantine_dir=None, manifest={})
    assert _leftovers(tmp_path) == []
    assert (previous / "manifest.json").read_text() == "{}"


# ------------------------------------------------ finding 5: an extract too small to train on
def test_too_few_outcomes_to_train_is_a_model_error_saying_what_to_do():
    from datetime import date

    import numpy as np

    from npc_risk.config import RiskConfig
    from npc_risk.errors import ModelError
    from npc_risk.risk.labels import training_windows
    from npc_risk.risk.model import train_model
    from tests.builders.synthetic import synthetic_features

    train, _, _ = synthetic_features(200, seed=5)
    held, _, y_eval = synthetic_features(2000, seed=6)
    y = np.zeros(len(train), dtype="int8")
    y[:4] = 1  # four people with the outcome
    with pytest.raises(ModelError) as raised:
        train_model(train, y, held, y_eval, config=RiskConfig(),
                    training_window=training_windows(date(2025, 3, 31)))
    message = str(raised.value)
    assert message.startswith("training window: 4 of 200 people had the outcome")
    assert "--model" in message and 'method = "rules"' in message


@pytest.mark.slow
def test_tiny_extract_without_a_model_exits_7_with_one_line(tmp_path: Path):
    """A 100-person city has too few admissions to train on: one model-error line, exit 7, no
    scikit-learn traceback and no `Connection already closed` cascade, nothing published."""
    from datetime import date

    from npc_risk import pipeline

    pipeline.generate(patients=100, seed=20260331, as_of=date(2026, 3, 31),
                      output=tmp_path / "city", dirt_rate=0.002)
    out = tmp_path / "out"
    process = subprocess.run(
        [sys.executable, "-m", "npc_risk", "run", "--input", str(tmp_path / "city" / "extract"),
         "--output", str(out), "--as-of", AS_OF, "--quiet"],
        capture_output=True, text=True, cwd=ROOT, timeout=600, check=False)
    assert process.returncode == 7, process.stderr[-2000:]
    line = _one_line(process.stderr + process.stdout)
    assert line.startswith("npc-risk: model error: training window:")
    assert "--model" in line and 'method = "rules"' in line
    assert not (out / AS_OF).exists() and _leftovers(out) == []


# --------------------------------------------------- finding 6: a corrupt previous run
def _corrupt_previous_run(out: Path) -> None:
    """Yesterday's patients.parquet cut short (a disk filled while it was copied elsewhere)."""
    previous = out / "2026-03-30"
    previous.mkdir(parents=True)
    whole = (EXTRACT / "patients.parquet").read_bytes()
    (previous / "patients.parquet").write_bytes(whole[: len(whole) // 2])


def test_corrupt_previous_run_is_no_previous_run_with_a_warning(tmp_path: Path, caplog):
    from datetime import date

    from npc_risk.publish import previous_run

    _corrupt_previous_run(tmp_path)
    with caplog.at_level(logging.WARNING, logger="npc_risk.publish"):
        assert previous_run(tmp_path, date(2026, 3, 31)) is None
    assert "previous run 2026-03-30: patients.parquet cannot be read (ArrowInvalid)" in caplog.text


@pytest.mark.slow
def test_run_after_a_corrupt_previous_run_publishes(tmp_path: Path):
    out = tmp_path / "out"
    _corrupt_previous_run(out)
    rules = tmp_path / "rules.toml"
    rules.write_text('[risk]\nmethod = "rules"\n')
    result = _run("run", "--input", str(EXTRACT), "--output", str(out), "--as-of", AS_OF,
                  "--pipeline", str(rules), "--quiet")
    assert result.exit_code == 0, result.output
    assert (out / AS_OF / "manifest.json").is_file()
    assert (out / "2026-03-30" / "patients.parquet").is_file()  # left as it was


# ------------------------------- finding 9: a single-rename publish, `latest` and --keep
def _publish_empty(root: Path, day: str) -> Path:
    from datetime import date

    from npc_risk import publish
    from npc_risk.schemas.outputs import COHORT, EVIDENCE, NEIGHBOURHOODS, PATIENTS

    return publish.publish_run(
        output_root=root, as_of=date.fromisoformat(day), patients=_empty(PATIENTS),
        cohort=_empty(COHORT), neighbourhoods=_empty(NEIGHBOURHOODS), evidence=_empty(EVIDENCE),
        quarantine_dir=None, manifest={"day": day})


def _links(root: Path) -> dict[str, str]:
    return {p.name: os.readlink(p) for p in sorted(root.iterdir()) if p.is_symlink()}


def test_publish_links_the_date_to_a_run_folder_and_latest_moves_forward_only(tmp_path: Path):
    """Each publish writes runs/<as-of>.<n> and swaps one symlink per name; republishing a date
    keeps the run it replaces (a rollback target); a backfill of an earlier date leaves `latest`."""
    _publish_empty(tmp_path, "2026-03-30")
    _publish_empty(tmp_path, "2026-03-31")
    _publish_empty(tmp_path, "2026-03-30")  # a backfill
    assert _links(tmp_path) == {"2026-03-30": "runs/2026-03-30.2", "2026-03-31": "runs/2026-03-31.1",
                                "latest": "runs/2026-03-31.1"}
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == [
        "2026-03-30.1", "2026-03-30.2", "2026-03-31.1"]
    assert (tmp_path / "latest" / "manifest.json").is_file()
    _publish_empty(tmp_path, "2026-03-31")  # a rerun of the newest date moves latest to it
    assert _links(tmp_path)["latest"] == "runs/2026-03-31.2"


def test_keep_prunes_older_runs_but_never_the_one_latest_names(tmp_path: Path):
    from npc_risk.publish import prune_runs

    for day in ("2026-03-29", "2026-03-30", "2026-03-31", "2026-03-31"):
        _publish_empty(tmp_path, day)
    os.replace(_point_tmp(tmp_path, "runs/2026-03-29.1"), tmp_path / "latest")  # rolled back by hand
    assert prune_runs(tmp_path, 0) == []  # 0 keeps every run
    assert prune_runs(tmp_path, 1) == ["2026-03-30.1", "2026-03-31.1"]
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["2026-03-29.1", "2026-03-31.2"]
    assert _links(tmp_path) == {"2026-03-29": "runs/2026-03-29.1", "2026-03-31": "runs/2026-03-31.2",
                                "latest": "runs/2026-03-29.1"}  # 2026-03-30's link went with its run


def _point_tmp(root: Path, target: str) -> Path:
    tmp = root / ".link-test"
    tmp.symlink_to(target)
    return tmp


def test_a_date_folder_of_the_old_layout_becomes_run_0_when_its_date_is_republished(tmp_path: Path):
    old = tmp_path / AS_OF
    old.mkdir()
    (old / "manifest.json").write_text("{}")
    _publish_empty(tmp_path, AS_OF)
    assert _links(tmp_path) == {AS_OF: f"runs/{AS_OF}.1", "latest": f"runs/{AS_OF}.1"}
    assert (tmp_path / "runs" / f"{AS_OF}.0" / "manifest.json").read_text() == "{}"


def test_leftovers_of_a_stopped_publish_or_prune_are_removed(tmp_path: Path):
    from npc_risk.runlock import leftovers

    _publish_empty(tmp_path, AS_OF)
    (tmp_path / ".link-latest-4242").symlink_to("runs/2026-03-31.1")  # killed between the two calls
    (tmp_path / "runs" / ".pruning-2026-03-01.1").mkdir()  # killed while pruning
    (tmp_path / "2026-03-01").symlink_to("runs/2026-03-01.1")  # its link, naming nothing now
    assert leftovers(tmp_path) == [".link-latest-4242", "2026-03-01", "runs/.pruning-2026-03-01.1"]
    assert remove_leftovers(tmp_path) == 3
    assert leftovers(tmp_path) == []
    assert _links(tmp_path) == {AS_OF: f"runs/{AS_OF}.1", "latest": f"runs/{AS_OF}.1"}


def test_status_names_latest_and_each_date_s_run_folder(tmp_path: Path):
    from npc_risk.status import folder_status

    _publish_empty(tmp_path, "2026-03-30")
    _publish_empty(tmp_path, AS_OF)
    status = folder_status(tmp_path)
    assert status.latest == f"runs/{AS_OF}.1"
    assert [(r.as_of, r.folder) for r in status.runs] == [(AS_OF, f"runs/{AS_OF}.1"),
                                                          ("2026-03-30", "runs/2026-03-30.1")]
    shown = _run("status", "--output", str(tmp_path))
    assert f"latest: runs/{AS_OF}.1" in shown.output and f"runs/{AS_OF}.1 (latest)" in shown.output


# ------------------------------- finding 3: a full disk during ingest is not the input's fault
def test_disk_full_during_ingest_exits_8_naming_the_folder_not_the_input(tmp_path: Path, monkeypatch):
    """Staging an accepted table fills the disk: exit 8 naming the work folder under --output and
    the fix, not exit 3 blaming the (good) input file; the work folder is removed."""
    import errno

    import ibis.expr.types as ir

    def disk_full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(ir.Table, "to_parquet", disk_full)
    out = tmp_path / "out"
    result = _run("run", "--input", str(EXTRACT), "--output", str(out), "--as-of", AS_OF, "--quiet")
    assert result.exit_code == 8, result.output
    line = _one_line(result.output)
    assert line.startswith(f"npc-risk: output error: {out}/.work-{AS_OF}-")
    assert "no space left on the disk" in line and "(the inputs are fine)" in line and "--output" in line
    assert str(EXTRACT) not in line
    assert _leftovers(out) == []


def test_duckdb_disk_full_text_is_out_of_space_and_a_bad_file_is_not():
    import duckdb

    from npc_risk.files import out_of_space

    assert out_of_space(duckdb.IOException('Could not write file "x": No space left on device'))
    assert out_of_space(OSError(122, "Disk quota exceeded"))
    assert not out_of_space(duckdb.IOException("Could not read file: truncated Parquet footer"))


# ------------------------------------------------------- progress bars on a terminal only
class _Stream:
    def __init__(self, tty: bool):
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


@pytest.mark.parametrize(("tty", "quiet", "log_format", "shown"), [
    (True, False, "text", True),    # a person at a terminal
    (False, False, "text", False),  # cron, CI: plain log lines only
    (True, True, "text", False),    # --quiet
    (True, False, "json", False),   # --log-format json, for a log shipper
])
def test_progress_is_shown_on_a_terminal_only(monkeypatch, tty, quiet, log_format, shown):
    from npc_risk import logs, progress

    monkeypatch.setattr(sys, "stderr", _Stream(tty))
    logs.configure(quiet=quiet, log_format=log_format)
    assert progress.enabled() is shown


def test_progress_ticks_each_step_and_prints_log_lines_above_the_bars(monkeypatch):
    import io

    from rich.console import Console

    from npc_risk import progress

    # The test owns the root logger's handlers: one writing to a stream of its own (a handler an
    # earlier test left on a closed capture stream would otherwise be flushed here).
    before = io.StringIO()
    handler = logging.StreamHandler(before)
    monkeypatch.setattr(logging.getLogger(), "handlers", [handler])
    monkeypatch.setattr(logging.getLogger(), "level", logging.INFO)
    screen = io.StringIO()
    with progress.steps(["ingest", "features"], console=Console(file=screen, force_terminal=True,
                                                                width=80)) as shown:
        logging.getLogger("npc_risk.run").info("ingest: 3 tables read")
        shown.done("ingest")
        shown.done("features")
    text = screen.getvalue()
    assert "step 1/2 ingest" in text and "step 2/2 features" in text and "✓" in text
    assert "ingest: 3 tables read" in text  # printed through the console, above the bars
    assert before.getvalue() == ""  # not written under them on the handler's own stream
    assert handler.stream is before  # and the handler is given its stream back

