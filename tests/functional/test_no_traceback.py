"""Every command that succeeds prints no traceback, in a real process to its very exit.

Regression: ibis drops a cached table through a finalizer that runs when the interpreter exits;
when the connection had been closed first, each one printed `Connection already closed!` with a
traceback after a run that exited 0. The engine (npc_risk.engine) now releases every table it
cached before it disconnects. Only a separate process shows what happens at exit, so each
command runs as `python -m npc_risk`, once, on a small generated city.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
AS_OF = "2026-03-31"

pytestmark = pytest.mark.slow


def npc_risk(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "npc_risk", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=600, check=False)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, subprocess.CompletedProcess]:
    """Each command once, in the order a new user would try them."""
    tmp = tmp_path_factory.mktemp("commands")
    city, out, model = tmp / "city", tmp / "out", tmp / "model" / "risk.skops"
    done = {}
    done["generate"] = npc_risk("generate", "--patients", "600", "--seed", "11", "--as-of", AS_OF,
                                "--output", str(city))
    extract = str(city / "extract")
    done["calibrate"] = npc_risk("calibrate", "--input", str(city))
    done["validate"] = npc_risk("validate", "--input", extract, "--as-of", AS_OF,
                                "--output", str(out))
    done["run without --model"] = npc_risk("run", "--input", extract, "--as-of", AS_OF,
                                           "--output", str(out / "trained"))
    done["train"] = npc_risk("train", "--input", extract, "--as-of", AS_OF, "--model-out",
                             str(model), "--work-dir", str(tmp / "work"))
    done["run --model"] = npc_risk("run", "--input", extract, "--as-of", AS_OF, "--output",
                                   str(out / "scored"), "--model", str(model))
    done["run, rules pipeline"] = npc_risk("run", "--input", extract, "--as-of", AS_OF,
                                           "--output", str(out / "rules"), "--pipeline",
                                           str(ROOT / "pipelines" / "leicestershire_int.toml"))
    return done


COMMANDS = ("generate", "calibrate", "validate", "run without --model", "train", "run --model",
            "run, rules pipeline")


@pytest.mark.parametrize("command", COMMANDS)
def test_a_successful_command_exits_0_with_no_traceback(runs, command):
    result = runs[command]
    assert result.returncode == 0, result.stderr[-2000:]
    for text in (result.stdout, result.stderr):
        assert "Traceback" not in text
        assert "Exception ignored" not in text
        assert "already closed" not in text
