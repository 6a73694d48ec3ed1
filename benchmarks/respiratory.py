"""`make bench-respiratory`: both condition pipelines on a generated city, timed, and their scores
against the city's truth (issue 11).

For a city of N people (BENCH_RESP_PATIENTS, default 100,000; cached as .bench/city-<N>, the same
city `make bench-scale` uses):
1. `npc-risk calibrate`: the respiratory magnitudes beside respiratory-and-packs.md §7's targets;
2. `npc-risk run --pipeline pipelines/west_leics_respiratory.toml` (trains its own model of a
   respiratory emergency admission, then scores and selects), seconds and peak RSS;
3. `npc-risk run --pipeline pipelines/cyp_asthma.toml` (points, no training), seconds and peak RSS;
4. the respiratory model's score (published `risk_score`), the transparent rules score and the
   generator's two oracles (true and knowable respiratory probability), among the asthma/COPD
   register members as of T, against a respiratory emergency admission in the 12 months after T
   (truth/persons.parquet): AUROC, and PPV / sensitivity in the top 10 % (the MDT list's share);
5. the children's points score: the figures its own card computed (cyp_asthma_card.json).

The register flags and the rules score are derived again as of T from the extract through the
pipeline's own feature step (the published MDT list holds the selected members only).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from benchmarks.run import AS_OF, BENCH, CLI, ROOT, child, city, machine

PIPELINES = ROOT / "pipelines"
FRACTION = 0.10


def main() -> None:
    people = int(os.environ.get("BENCH_RESP_PATIENTS", "100000"))
    # the children's card reads truth's asthma admissions; respiratory A&E reads ec's diagnoses
    folder, generated = city(people, needs=(("truth/persons.parquet", "asthma_emergency_admissions"),
                                            ("extract/ec.parquet", "diagnosis_code")))
    extract = folder / "extract"
    if generated:
        print(f"generated {people:,} people: {generated['seconds']} s, peak RSS {generated['peak_rss_gb']} GB")
    print(f"npc_risk respiratory pipelines: {people:,} people, as of {AS_OF}; {machine()}")
    _calibrate(folder)
    runs = {}
    for name in ("west_leics_respiratory", "cyp_asthma"):
        out = BENCH / f"out-{name}-{people}"
        shutil.rmtree(out, ignore_errors=True)
        seconds, rss = child([*CLI, "run", "--input", str(extract), "--output", str(out), "--as-of", AS_OF,
                              "--pipeline", str(PIPELINES / f"{name}.toml"), "--quiet"],
                             log=BENCH / f"run-{name}-{people}.log")
        print(f"{name}: run {seconds:.1f} s, peak RSS {rss:.2f} GB")
        runs[name] = out / AS_OF
    _respiratory_scores(extract, folder / "truth", runs["west_leics_respiratory"])
    card = json.loads((runs["cyp_asthma"] / "cyp_asthma_card.json").read_text(encoding="utf-8"))
    print("children's points score (its card):", json.dumps(card.get("evaluation"), indent=1))


def _calibrate(folder: Path) -> None:
    log = BENCH / "calibrate.log"
    with open(log, "w") as report:
        import subprocess  # noqa: PLC0415

        subprocess.run([*CLI, "calibrate", "--input", str(folder)], stdout=report, stderr=subprocess.STDOUT,
                       check=True)
    lines = log.read_text(encoding="utf-8").splitlines()
    start = next((i for i, line in enumerate(lines) if "espiratory" in line), None)
    print("\n".join(lines[start:] if start is not None else lines[-40:]))


def _respiratory_scores(extract: Path, truth: Path, run: Path) -> None:
    from npc_risk import steps  # noqa: PLC0415
    from npc_risk.codelists import load_codelists  # noqa: PLC0415
    from npc_risk.config import load_config  # noqa: PLC0415
    from npc_risk.engine import Engine  # noqa: PLC0415
    from npc_risk.risk.metrics import headline_metrics, top_count, top_order  # noqa: PLC0415

    as_of = date.fromisoformat(AS_OF)
    config = load_config(PIPELINES / "west_leics_respiratory.toml")
    with tempfile.TemporaryDirectory() as work, Engine.open(config.run) as engine:
        ingested = steps.ingest(engine, input_dir=extract, as_of=as_of, work_dir=Path(work))
        current = steps.features(engine, ingested.tables, as_of=as_of, codelists=load_codelists(
            config.features.codelists), config=config, work_dir=Path(work), with_evidence=False)
        members = engine.to_arrow(current.person.filter(
            current.person.asthma_register | current.person.copd_register
        ).select("patient_id", "resp_rules_score")).to_pandas()
    published = pq.read_table(run / "patients.parquet", columns=["patient_id", "risk_score"]).to_pandas()
    outcome = pq.read_table(truth / "persons.parquet", columns=[
        "patient_id", "true_respiratory_probability", "knowable_respiratory_probability",
        "respiratory_emergency_admissions"]).to_pandas()
    frame = members.merge(published, on="patient_id").merge(outcome, on="patient_id")
    y = (frame["respiratory_emergency_admissions"].to_numpy() > 0).astype(np.int8)
    k = top_count(len(frame), FRACTION)
    print(f"\nregister members {len(frame):,}, events {int(y.sum())} ({y.mean():.1%}); top {FRACTION:.0%} = {k}")
    print(f"{'score':<38} {'AUROC':>6} {'PPV top 10%':>12} {'sensitivity':>12}")
    for label, column in (("respiratory model (risk_score)", "risk_score"),
                          ("rules (resp_rules_score)", "resp_rules_score"),
                          ("oracle, true probability", "true_respiratory_probability"),
                          ("oracle, knowable probability", "knowable_respiratory_probability")):
        s = frame[column].to_numpy(dtype="float64")
        top = top_order(s)[:k]
        print(f"{label:<38} {headline_metrics(s, y)['auroc']:>6.3f} {y[top].mean():>12.1%} "
              f"{y[top].sum() / max(int(y.sum()), 1):>12.1%}")


if __name__ == "__main__":
    sys.exit(main())
