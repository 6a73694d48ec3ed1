"""The nightly run on a real standalone Spark cluster on loopback publishes what DuckDB publishes.

A master and two workers (one core, 1 GB each) are started on 127.0.0.1 from the PySpark
distribution's own `spark-class` (the pip package has no start-master/start-worker scripts;
engine-notes.md); the sample city is run through them (`--spark-master spark://127.0.0.1:<port>`)
and by DuckDB, and every published file must agree (floats to 1e-9). Every process the test
started is stopped in a `finally`, pass or fail.

`make test-cluster` runs it (NPC_RISK_SPARK_CLUSTER=1); skipped otherwise, saying why.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from contextlib import closing
from pathlib import Path

import pytest

from tests.conftest import _missing
from tests.spark.compare import AS_OF, CITY, LEEDS, differences, model_args, run_cli

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.environ.get("NPC_RISK_SPARK_CLUSTER") != "1",
                       reason="the loopback cluster runs with NPC_RISK_SPARK_CLUSTER=1 (make test-cluster)"),
    pytest.mark.skipif(bool(_missing("pyspark")), reason=_missing("pyspark") or ""),
]
WORKERS = 2
STARTUP_SECONDS = 180  # a 2-core machine shared with other work starts a JVM slowly


def _free_port() -> int:
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent


def _start(args: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen:
    """`spark-class <args>` in its own process group (spark-class execs java: the pid is the JVM)."""
    with log.open("w") as handle:  # the child keeps its own copy of the descriptor
        return subprocess.Popen([str(_spark_home() / "bin" / "spark-class"), *args], stdout=handle,
                                stderr=subprocess.STDOUT, env=env, start_new_session=True)


def _wait_for(log: Path, text: str, count: int, processes: list[subprocess.Popen]) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if log.read_text(errors="replace").count(text) >= count:
            return
        assert all(p.poll() is None for p in processes), f"a Spark process stopped; see {log}"
        time.sleep(1)
    raise AssertionError(f"{text!r} x{count} not in {log} after {STARTUP_SECONDS} s")


def _stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


def test_loopback_cluster_publishes_what_duckdb_publishes(tmp_path: Path):
    port = _free_port()
    master = f"spark://127.0.0.1:{port}"
    env = {**os.environ, "SPARK_HOME": str(_spark_home()), "SPARK_LOCAL_IP": "127.0.0.1",
           "SPARK_WORKER_DIR": str(tmp_path / "work"), "SPARK_NO_DAEMONIZE": "1"}
    pipeline = tmp_path / "cluster.toml"
    pipeline.write_text(LEEDS.read_text(encoding="utf-8").replace(
        "[run]\n", f'[run]\nspark_master = "{master}"\nspark_executor_memory = "1GB"\n', 1), encoding="utf-8")
    processes: list[subprocess.Popen] = []
    try:
        master_log = tmp_path / "master.log"
        processes.append(_start(["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                                 "--port", str(port), "--webui-port", str(_free_port())], master_log, env))
        _wait_for(master_log, "I have been elected leader", 1, processes)
        for i in range(WORKERS):
            processes.append(_start(["org.apache.spark.deploy.worker.Worker", master, "--host", "127.0.0.1",
                                     "--cores", "1", "--memory", "1g", "--webui-port", str(_free_port())],
                                    tmp_path / f"worker-{i}.log", env))
        _wait_for(master_log, "Registering worker", WORKERS, processes)

        published = {}
        for engine in ("duckdb", "pyspark"):
            out = tmp_path / f"out-{engine}"
            done = run_cli("run", "--input", str(CITY), *model_args(), "--output", str(out), "--as-of", AS_OF,
                           "--pipeline", str(pipeline), "--engine", engine, "--quiet")
            assert done.returncode == 0, done.stderr[-3000:]
            published[engine] = out / AS_OF
        assert differences(published["duckdb"], published["pyspark"]) == []
        assert "Registered app npc_risk" in master_log.read_text(errors="replace"), "the run did not use the cluster"
    finally:
        _stop(processes)
        shutil.rmtree(tmp_path / "work", ignore_errors=True)
    assert all(p.poll() is not None for p in processes)
