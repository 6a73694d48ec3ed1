"""`make bench` / `make bench-scale`: the nightly run and `train` against floors measured in the
same run, each in a child process with its own peak RSS.

For a city of N people (generated once with `npc-risk generate`, cached under .bench/city-<N>):
1. scan floor: DuckDB decodes every value of every extract file (benchmarks/floors.py);
2. copy floor: DuckDB reads every value of every extract file and writes it once as Parquet;
3. `npc-risk train`: its phases (ingest, features at T-730 and T-365, labels, fit, card) with
   the seconds and peak RSS of each (benchmarks/probe.py), and its whole peak RSS (os.wait4);
4. `npc-risk run --model` with the model from 3: each step's seconds and peak RSS;
5. (`make bench` only) the data packs of that run, and the model against the generator's oracle.

`make bench` does this for 1M people; `make bench-scale` for 100k, 1M, 3M and 5M (spill on: the
pipeline's `[run] memory_limit` and a spill folder, as every run) and plots seconds and peak RSS
against people into docs/bench-scale.png.

The machine is shared (2 cores, several workers): identical runs vary by up to 2x in wall time,
so the figures to compare are the ratios to the floors measured in the same run.

Environment: BENCH_PATIENTS (default 1000000), BENCH_SCALE (default 100000,1000000,3000000,
5000000), BENCH_SEED (1), BENCH_AS_OF (2026-03-31), BENCH_RETRAIN (1; 0 reuses a cached model),
BENCH_PACKS (1; 0 skips the packs).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / ".bench"
SEED = int(os.environ.get("BENCH_SEED", "1"))
AS_OF = os.environ.get("BENCH_AS_OF", "2026-03-31")
PIPELINE = str(ROOT / "pipelines" / "leeds_npc.toml")
CLI = [sys.executable, "-m", "npc_risk"]
NOISE = ("wall times are noisy: the machine is shared (2 cores, other workers running), identical "
         "runs vary up to 2x; compare the ratios to the floors measured in this same run")


def child(argv: list[str], log: Path | None = None) -> tuple[float, float]:
    """Run a command; return (seconds, peak RSS in GB) of that child alone (os.wait4)."""
    started = time.perf_counter()
    with open(log or os.devnull, "w") as err:
        process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"benchmark step failed: {' '.join(argv)}" + (f" (stderr in {log})" if log else ""))
    return seconds, usage.ru_maxrss / 1024 / 1024


NEEDS = (("truth/persons.parquet", "knowable_respiratory_probability"),)


def city(people: int, *, needs: tuple[tuple[str, str], ...] = NEEDS) -> tuple[Path, dict | None]:
    """The cached city of `people` (generated the first time: its seconds and peak RSS); `needs`:
    (file, column) pairs the caller reads (a city from an older generator without them is made anew)."""
    folder = BENCH / f"city-{people}"
    if all((folder / f).exists() and c in pq.read_schema(folder / f).names for f, c in needs):
        return folder, None
    shutil.rmtree(folder, ignore_errors=True)  # absent, half-written or from an older generator (no respiratory care)
    seconds, rss = child([*CLI, "generate", "--patients", str(people), "--seed", str(SEED),
                          "--as-of", AS_OF, "--output", str(folder), "--quiet"])
    return folder, {"seconds": round(seconds, 1), "peak_rss_gb": round(rss, 2)}


def floor(kind: str, extract: Path) -> dict:
    result = BENCH / f"floor-{kind}.json"
    _, rss = child([sys.executable, "-m", "benchmarks.floors", kind, str(extract), str(result), PIPELINE])
    return {**json.loads(result.read_text()), "peak_rss_gb": round(rss, 2)}


def probed(name: str, args: list[str]) -> dict:
    """`npc-risk <args>` under benchmarks.probe: seconds, peak RSS, and per step."""
    result = BENCH / f"probe-{name}.json"
    seconds, rss = child([sys.executable, "-m", "benchmarks.probe", str(result), "--", *args],
                         log=BENCH / f"probe-{name}.log")
    probe = json.loads(result.read_text())
    # The probe resets the kernel's RSS high-water mark at each step (clear_refs), and the child's
    # ru_maxrss is read from that same mark at exit: the whole command's peak is the largest step's.
    peak = max([rss, *(s["peak_rss_gb"] for s in probe["steps"])])
    return {**probe, "wall_seconds": round(seconds, 3), "peak_rss_gb": round(peak, 2)}


def measure(people: int, *, retrain: bool = True, packs: bool = False, oracle: bool = False,
            model_from: int | None = None) -> dict:
    folder, generated = city(people)
    extract = folder / "extract"
    out = {"people": people, "generated": generated, "measured_at": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
           "model_from": model_from,
           "extract_mb": round(sum(p.stat().st_size for p in extract.glob("*.parquet")) / 1e6, 1),
           "extract_rows": sum(pq.read_metadata(p).num_rows for p in extract.glob("*.parquet"))}
    out["scan"] = floor("scan", extract)
    out["copy"] = floor("copy", extract)
    model = BENCH / f"model-{model_from or people}" / "risk_model.skops"
    if model_from:  # the nightly run only, with the model trained on a smaller city
        if not model.exists():
            raise SystemExit(f"{model}: train at {model_from:,} people first (BENCH_SCALE including it)")
    elif retrain or not model.exists():
        shutil.rmtree(model.parent, ignore_errors=True)
        work = BENCH / f"train-work-{people}"
        out["train"] = probed(f"train-{people}", ["train", "--input", str(extract), "--as-of", AS_OF,
                                                  "--model-out", str(model), "--pipeline", PIPELINE,
                                                  "--work-dir", str(work)])
        shutil.rmtree(work, ignore_errors=True)
    run_out = BENCH / f"out-{people}"
    shutil.rmtree(run_out, ignore_errors=True)
    out["run"] = probed(f"run-{people}", ["run", "--input", str(extract), "--output", str(run_out),
                                          "--as-of", AS_OF, "--pipeline", PIPELINE, "--model", str(model)])
    if packs:
        pack_dir = BENCH / "packs"
        shutil.rmtree(pack_dir, ignore_errors=True)
        seconds, rss = child([*CLI, "pack", "--run", str(run_out / AS_OF), "--output", str(pack_dir), "--quiet"])
        out["packs"] = {"seconds": round(seconds, 1), "peak_rss_gb": round(rss, 2)}
    if oracle:
        out["oracle"] = _oracle(folder, run_out / AS_OF / "patients.parquet")
    return out


def _oracle(folder: Path, patients: Path) -> dict:
    import numpy as np  # noqa: PLC0415

    from npc_risk.risk import oracle_comparison  # noqa: PLC0415

    people = pq.read_table(patients, columns=["patient_id", "risk_score"])
    truth = pq.read_table(folder / "truth" / "persons.parquet",
                          columns=["patient_id", "true_probability", "knowable_probability",
                                   "emergency_admissions"])
    joined = people.to_pandas().merge(truth.to_pandas(), on="patient_id", how="inner")
    outcome = (joined["emergency_admissions"].to_numpy() > 0).astype(np.int8)
    return oracle_comparison(joined["risk_score"].to_numpy(), joined["true_probability"].to_numpy(),
                             outcome, knowable_probability=joined["knowable_probability"].to_numpy())


def machine() -> str:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    return (f"{os.cpu_count()} cores, {memory:.0f} GB RAM, {platform.system()} {platform.machine()}, "
            f"Python {platform.python_version()}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")


def rows(m: dict) -> list[tuple[str, str]]:
    scan, copy = m["scan"]["seconds"], m["copy"]["seconds"]
    lines = [("extract", f"{m['extract_rows']:,} rows, {m['extract_mb']:,.0f} MB Parquet")]
    if m["generated"]:
        lines.append(("generate city (first time only)",
                      f"{m['generated']['seconds']:.1f} s, peak RSS {m['generated']['peak_rss_gb']:.2f} GB"))
    lines += [("scan floor: DuckDB decodes every value", f"{scan:.2f} s, peak RSS {m['scan']['peak_rss_gb']:.2f} GB"),
              ("copy floor: DuckDB reads every value, writes Parquet once",
               f"{copy:.2f} s = {copy / scan:.1f}x scan, peak RSS {m['copy']['peak_rss_gb']:.2f} GB")]
    run = m["run"]
    lines.append(("nightly run --model", f"{run['wall_seconds']:.1f} s = {run['wall_seconds'] / copy:.1f}x copy floor "
                  f"= {run['wall_seconds'] / scan:.1f}x scan floor, peak RSS {run['peak_rss_gb']:.2f} GB"))
    lines += [(f"  {s['step']}", f"{s['seconds']:.1f} s ({s['seconds'] / run['wall_seconds']:.0%} of the run, "
               f"{s['seconds'] / copy:.1f}x copy floor), peak RSS {s['peak_rss_gb']:.2f} GB") for s in run["steps"]]
    if "train" in m:
        train = m["train"]
        lines.append(("train", f"{train['wall_seconds']:.1f} s = {train['wall_seconds'] / run['wall_seconds']:.2f}x "
                      f"the run, peak RSS {train['peak_rss_gb']:.2f} GB"))
        lines += [(f"  {s['step']}", f"{s['seconds']:.1f} s ({s['seconds'] / train['wall_seconds']:.0%}), "
                   f"peak RSS {s['peak_rss_gb']:.2f} GB") for s in train["steps"]]
    if "packs" in m:
        packs = m["packs"]
        lines.append(("data packs of that run", f"{packs['seconds']:.1f} s = "
                      f"{packs['seconds'] / run['wall_seconds']:.2f}x the run, peak RSS {packs['peak_rss_gb']:.2f} GB"))
    if "oracle" in m:
        lines.append(("model vs oracle", m["oracle"]["note"]))
    return lines


def show(title: str, lines: list[tuple[str, str]]) -> None:
    width = max(len(name) for name, _ in lines)
    print(title)
    for name, value in lines:
        print(f"{name.ljust(width)}  {value}")


def main() -> None:
    people = int(os.environ.get("BENCH_PATIENTS", "1000000"))
    m = measure(people, retrain=os.environ.get("BENCH_RETRAIN", "1") == "1",
                packs=os.environ.get("BENCH_PACKS", "1") == "1", oracle=True)
    m["machine"] = machine()
    show(f"npc_risk benchmark: {people:,} people, as of {AS_OF}; {m['machine']}", rows(m))
    print(f"note: {NOISE}")
    (BENCH / "last.json").write_text(json.dumps(m, indent=2, default=str))


def scale() -> None:
    sizes = [int(n) for n in os.environ.get("BENCH_SCALE", "100000,1000000,3000000,5000000").split(",")]
    # BENCH_TRAIN_UPTO: train only up to this size; larger cities run with that size's model.
    upto = int(os.environ.get("BENCH_TRAIN_UPTO", str(max(sizes))))
    trained = max((n for n in sizes if n <= upto), default=upto)
    results = [r for r in _previous_scale() if r["people"] not in sizes]
    for people in sizes:
        m = measure(people, model_from=trained if people > upto else None)
        results.append(m)
        results.sort(key=lambda r: r["people"])
        show(f"\n{people:,} people", rows(m))
        (BENCH / "scale.json").write_text(json.dumps({"machine": machine(), "results": results}, indent=2, default=str))
    print(f"\n{'people':>10} {'scan s':>7} {'copy s':>7} {'run s':>7} {'run/copy':>8} {'run GB':>7} "
          f"{'train s':>8} {'train GB':>8}")
    for m in results:
        train = (f"{m['train']['wall_seconds']:>8.1f} {m['train']['peak_rss_gb']:>8.2f}" if "train" in m
                 else f"{'-':>8} {'-':>8}  (model of {m.get('model_from', 0):,})")
        print(f"{m['people']:>10,} {m['scan']['seconds']:>7.1f} {m['copy']['seconds']:>7.1f} "
              f"{m['run']['wall_seconds']:>7.1f} {m['run']['wall_seconds'] / m['copy']['seconds']:>8.1f} "
              f"{m['run']['peak_rss_gb']:>7.2f} {train}  {m.get('measured_at', '')}")
    print(f"note: {NOISE}")
    plot(results, ROOT / "docs" / "bench-scale.png")


def _previous_scale() -> list[dict]:
    """BENCH_KEEP=1: the sizes of the last scale.json not measured again in this run are kept (the
    table and the plot say which run measured which size)."""
    last = BENCH / "scale.json"
    if os.environ.get("BENCH_KEEP") != "1" or not last.exists():
        return []
    return json.loads(last.read_text())["results"]


def plot(results: list[dict], path: Path) -> None:
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    people = [m["people"] / 1e6 for m in results]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for key, label in (("run", "nightly run"), ("train", "train")):
        have = [m for m in results if key in m]
        left.plot([m["people"] / 1e6 for m in have], [m[key]["wall_seconds"] for m in have], "o-", label=label)
        right.plot([m["people"] / 1e6 for m in have], [m[key]["peak_rss_gb"] for m in have], "o-", label=label)
    left.plot(people, [m["copy"]["seconds"] for m in results], "o--", label="copy floor")
    left.plot(people, [m["scan"]["seconds"] for m in results], "o:", label="scan floor")
    left.set(xlabel="people (millions)", ylabel="seconds (shared machine: noisy)", title="time")
    right.set(xlabel="people (millions)", ylabel="peak RSS (GB)", title="peak memory")
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.legend()
        ax.set_xlim(left=0)
        ax.set_ylim(bottom=0)
    fig.suptitle(f"npc_risk on {machine()}", fontsize=9)
    fig.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(fig)


if __name__ == "__main__":
    scale() if sys.argv[1:] == ["scale"] else main()
