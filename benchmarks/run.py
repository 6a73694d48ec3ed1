"""`make bench`: the nightly run on the 1M-person city, as ratios to DuckDB's scan of its inputs.

1. Build the city once (`npc-risk generate`, cached under .bench/city-<n>; its own time and peak
   RSS are reported the first time).
2. Baseline, measured in this run: DuckDB reads every column of every input file (nothing else).
3. The feature step alone (benchmarks/features.py over the staged tables), in a child process.
4. The whole nightly run (`npc-risk run`), in a child process; step timings from its manifest.
   Then the data packs of that run (`npc-risk pack`), as a ratio to the run.
5. The model against the oracle (truth/persons.parquet) on the same people.

Times vary up to 2x on shared 2-core machines (engine-notes.md), so only ratios measured in the
same run are quoted. Peak RSS is each child's own (os.wait4), not this driver's.

Environment: BENCH_PATIENTS (default 1000000), BENCH_SEED (1), BENCH_AS_OF (2026-03-31),
BENCH_RETRAIN (1; 0 reuses the cached model and times only the nightly run).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pyarrow.parquet as pq

from benchmarks import features as features_bench
from npc_risk.risk import oracle_comparison

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / ".bench"
PATIENTS = int(os.environ.get("BENCH_PATIENTS", "1000000"))
SEED = int(os.environ.get("BENCH_SEED", "1"))
AS_OF = os.environ.get("BENCH_AS_OF", "2026-03-31")
CLI = [sys.executable, "-m", "npc_risk"]


def child(argv: list[str]) -> tuple[float, float]:
    """Run a command; return (seconds, peak RSS in GB) of that child alone."""
    started = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"benchmark step failed: {' '.join(argv)}")
    return seconds, usage.ru_maxrss / 1024 / 1024


def scan_seconds(folder: Path) -> float:
    """DuckDB reading and decoding every value of every Parquet file in `folder` (best of 3;
    the same measure as the feature benchmark's baseline)."""
    con = duckdb.connect()
    con.execute("SET threads = 2")
    files = sorted(folder.glob("*.parquet"))
    return min(features_bench.scan_seconds(con, files) for _ in range(3))


def main() -> None:
    city = BENCH / f"city-{PATIENTS}"
    rows: list[tuple[str, str]] = []
    persons = city / "truth" / "persons.parquet"
    # rebuild a city cached by an older generator (the truth table lacks a column this run reads)
    if not persons.exists() or "knowable_probability" not in pq.read_schema(persons).names:
        shutil.rmtree(city, ignore_errors=True)
        shutil.rmtree(BENCH / f"staged-{PATIENTS}", ignore_errors=True)
        seconds, rss = child([*CLI, "generate", "--patients", str(PATIENTS), "--seed", str(SEED),
                              "--as-of", AS_OF, "--output", str(city), "--quiet"])
        rows.append(("generate city (first time only)", f"{seconds:.1f} s, peak RSS {rss:.2f} GB"))
    extract = city / "extract"
    size = sum(p.stat().st_size for p in extract.glob("*.parquet")) / 1e6
    scan = scan_seconds(extract)
    rows.append((f"baseline: DuckDB scan of the extract ({size:,.0f} MB Parquet)", f"{scan:.2f} s"))

    # Training is a separate (e.g. monthly) job; the nightly run scores with the saved model.
    pipeline_file = str(ROOT / "pipelines" / "leeds_npc.toml")
    model = BENCH / f"model-{PATIENTS}" / "risk_model.skops"
    if os.environ.get("BENCH_RETRAIN", "1") == "1" or not model.exists():
        shutil.rmtree(model.parent, ignore_errors=True)
        seconds, rss = child([*CLI, "train", "--input", str(extract), "--as-of", AS_OF, "--model-out",
                              str(model), "--pipeline", pipeline_file, "--work-dir", str(BENCH), "--quiet"])
        rows.append(("train (features at T-730 and T-365, fit, calibrate, card)",
                     f"{seconds:.1f} s = {seconds / scan:.1f}x scan, peak RSS {rss:.2f} GB"))
    else:
        rows.append(("train", "skipped: BENCH_RETRAIN=0 and a trained model is cached"))
    out = BENCH / "out"
    shutil.rmtree(out, ignore_errors=True)
    seconds, rss = child([*CLI, "run", "--input", str(extract), "--output", str(out),
                          "--as-of", AS_OF, "--pipeline", pipeline_file, "--model", str(model),
                          "--quiet"])
    manifest = json.loads((out / AS_OF / "manifest.json").read_text())
    rows.append(("nightly run with the trained model",
                 f"{seconds:.1f} s = {seconds / scan:.1f}x scan, peak RSS {rss:.2f} GB"))
    for name, step in manifest["steps"].items():
        rows.append((f"  step {name}", f"{step['seconds']:.1f} s = {step['seconds'] / scan:.1f}x scan"))

    # The data packs of that run (issue 12), as a ratio to the run: counting, figures, pages, PDFs.
    packs = BENCH / "packs"
    shutil.rmtree(packs, ignore_errors=True)
    pack_seconds, rss = child([*CLI, "pack", "--run", str(out / AS_OF), "--output", str(packs), "--quiet"])
    rows.append(("data packs (all neighbourhoods, LCPs, city; with PDFs)",
                 f"{pack_seconds:.1f} s = {pack_seconds / seconds:.2f}x the nightly run, peak RSS {rss:.2f} GB"))

    staged = BENCH / f"staged-{PATIENTS}"
    if not (staged / "apcs_diagnoses.parquet").exists():
        child([sys.executable, "-m", "benchmarks.stage", str(extract), AS_OF, str(staged)])
    seconds, rss = child([sys.executable, "-m", "benchmarks.stage", "bench", str(staged), AS_OF])
    result = json.loads((staged / "bench_features.json").read_text())
    rows.append(("feature step alone (child process)", f"peak RSS {rss:.2f} GB"))
    for key, value in result.items():
        rows.append((f"  {key}", str(value)))

    people = pq.read_table(out / AS_OF / "patients.parquet", columns=["patient_id", "risk_score"])
    truth = pq.read_table(city / "truth" / "persons.parquet",
                          columns=["patient_id", "true_probability", "knowable_probability",
                                   "emergency_admissions"])
    joined = people.to_pandas().merge(truth.to_pandas(), on="patient_id", how="inner")
    outcome = (joined["emergency_admissions"].to_numpy() > 0).astype(np.int8)
    comparison = oracle_comparison(joined["risk_score"].to_numpy(),
                                   joined["true_probability"].to_numpy(), outcome,
                                   knowable_probability=joined["knowable_probability"].to_numpy())
    rows.append(("model vs oracle", comparison["note"]))

    width = max(len(name) for name, _ in rows)
    print(f"npc_risk benchmark: {PATIENTS:,} people, as of {date.fromisoformat(AS_OF)}")
    for name, value in rows:
        print(f"{name.ljust(width)}  {value}")
    (BENCH / "last.json").write_text(json.dumps({"rows": rows, "oracle": comparison}, indent=2, default=str))


if __name__ == "__main__":
    main()
