"""`kill -9` at each point of a nightly run (issue 10, crash safety): real child `npc-risk run`
processes on the sample city, killed with SIGKILL by the test-only hook `runlock.crash_point`
(NPC_RISK_TEST_KILL_AT=<point>; one guarded line per point in run.py and publish.py).

| point | where the run is when it dies |
|---|---|
| ingested | extract read and staged in the work folder |
| features | features written to the work folder |
| trained | the model step done (the rules score here: no model to train), before scoring |
| selected | scored, cohort selected, nothing written to the output folder |
| written | every output and the manifest in `.staging-*`, not renamed |
| renamed | staging renamed to `runs/<as-of>.<n>`, the date link not yet swapped |
| linked | the date link swapped, `latest` not yet moved |
| latest | `latest` moved, older runs not yet pruned |

Each time: the previous published run is byte-for-byte intact and readable, `latest` still
names it (except after the `latest` point, when it names the new, complete run), and the rerun
removes the leftovers and publishes Parquet byte-identical to a run that was never killed.

The default suite kills at `renamed` (the one point between the two steps of a publish); the
whole matrix runs with `make test-crash` (NPC_RISK_CRASH_MATRIX=all). The rules score keeps each
run to seconds: the points are the same with a model, whose training sits before `trained`.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from npc_risk.hashing import file_sha256
from npc_risk.runlock import CRASH_POINTS, KILL_AT, leftovers

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
EXTRACT = ROOT / "sample_data" / "extract"
PREVIOUS, AS_OF = "2026-03-30", "2026-03-31"
FULL = os.environ.get("NPC_RISK_CRASH_MATRIX") == "all"
DEFAULT_POINTS = ("renamed",)


def _run(out: Path, pipeline: Path, as_of: str, kill_at: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != KILL_AT}
    if kill_at:
        env[KILL_AT] = kill_at
    return subprocess.run(
        [sys.executable, "-m", "npc_risk", "run", "--input", str(EXTRACT), "--output", str(out),
         "--as-of", as_of, "--pipeline", str(pipeline), "--quiet"],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=1800, check=False)


def _parquet(run: Path) -> dict[str, bytes]:
    return {p.relative_to(run).as_posix(): p.read_bytes() for p in sorted(run.rglob("*.parquet"))}


def _everything(run: Path) -> dict[str, bytes]:
    return {p.relative_to(run).as_posix(): p.read_bytes() for p in sorted(run.rglob("*")) if p.is_file()}


def _assert_complete(run: Path) -> None:
    """Every file the manifest lists is there with its hash, and every Parquet file reads."""
    manifest = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    for name, entry in manifest["outputs"].items():
        assert file_sha256(run / name) == entry["sha256"], name
    for path in run.rglob("*.parquet"):
        pq.read_table(path)


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> dict:
    """An output folder holding yesterday's run (the template each kill starts from), and the
    Parquet files of today's run made without a kill (the reference)."""
    base = tmp_path_factory.mktemp("crash")
    rules = base / "rules.toml"
    rules.write_text('[risk]\nmethod = "rules"\n', encoding="utf-8")
    template = base / "template"
    first = _run(template, rules, PREVIOUS)
    assert first.returncode == 0, first.stderr[-3000:]
    reference = base / "reference"
    shutil.copytree(template, reference, symlinks=True)
    clean = _run(reference, rules, AS_OF)
    assert clean.returncode == 0, clean.stderr[-3000:]
    return {"rules": rules, "template": template, "reference": _parquet(reference / AS_OF),
            "previous": _everything(template / "runs" / f"{PREVIOUS}.1")}


@pytest.mark.parametrize("point", [
    pytest.param(p, marks=pytest.mark.skipif(not FULL and p not in DEFAULT_POINTS,
                                             reason="the whole kill -9 matrix runs with `make test-crash`"))
    for p in CRASH_POINTS])
def test_kill_9_keeps_the_previous_run_and_the_rerun_is_byte_identical(published: dict, tmp_path: Path,
                                                                       point: str):
    out = tmp_path / "out"
    shutil.copytree(published["template"], out, symlinks=True)
    killed = _run(out, published["rules"], AS_OF, kill_at=point)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]

    previous = out / "runs" / f"{PREVIOUS}.1"
    assert _everything(previous) == published["previous"]  # not a byte changed
    assert os.readlink(out / PREVIOUS) == f"runs/{PREVIOUS}.1"
    _assert_complete(out / PREVIOUS)
    later = CRASH_POINTS[CRASH_POINTS.index(point) + 1:]  # the points it never reached
    if "linked" in later:  # killed before the date link moved: today is not published
        assert not (out / AS_OF).exists()
    else:
        _assert_complete(out / AS_OF)
    if "latest" in later:
        assert os.readlink(out / "latest") == f"runs/{PREVIOUS}.1"
    else:
        assert os.readlink(out / "latest") == f"runs/{AS_OF}.1"
        _assert_complete(out / "latest")

    rerun = _run(out, published["rules"], AS_OF)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert leftovers(out) == []
    assert _parquet(out / AS_OF) == published["reference"]
    assert (out / "latest").resolve() == (out / AS_OF).resolve()
    assert _everything(previous) == published["previous"]
