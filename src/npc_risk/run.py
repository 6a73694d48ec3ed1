"""The nightly run, top to bottom: ingest -> features -> score -> select -> publish.

    result = nightly_run(input_dir=..., output_dir=..., as_of=date(2026, 3, 31), config=config)

The run holds the output folder's lock (npc_risk.runlock: a second run exits at once) and first
removes the work and staging folders of runs that stopped. One engine is opened for the run and
closed at its end (npc_risk.engine); everything the run writes before publishing goes to a
private work folder `OUTPUT/.work-<as-of>-<pid>/`, removed when the run ends, failed or not.
The manifest is built once and written inside the atomic publish: its `steps` (counts) are
identical on a rerun of the same inputs, its `timings` (wall-clock seconds of the steps before
publishing) are not, and are kept apart for that reason.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import ibis.expr.types as ir
import pyarrow as pa

from npc_risk import __version__, files, progress, steps
from npc_risk.codelists import CodelistSet, default_folder, load_codelists
from npc_risk.cohort import CohortResult, select_cohort
from npc_risk.config import PipelineConfig
from npc_risk.definition import selection_candidates
from npc_risk.engine import Engine
from npc_risk.hashing import file_sha256, input_sha256
from npc_risk.ingest import IngestResult
from npc_risk.planning.statistics import neighbourhood_statistics, planning_optout, publishable_neighbourhoods
from npc_risk.publish import previous_run, prune_runs, publish_run
from npc_risk.respiratory import outputs as respiratory_outputs
from npc_risk.risk import TrainedModel, load_model, save_model
from npc_risk.runlock import crash_point, remove_leftovers, run_lock
from npc_risk.training import train_on_history

log = logging.getLogger(__name__)

STEPS = ("ingest", "features", "score", "select", "publish")


@dataclass
class RunResult:
    output: Path
    neighbourhoods: pa.Table  # the published (suppressed) planning table, for the summary
    manifest: dict


@dataclass
class StepLog:
    """Counts (deterministic) and seconds (wall clock) per step; one log line per step."""

    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    shown: progress.Steps | None = None  # the terminal's progress bars (npc_risk.progress)

    def record(self, name: str, started: float, counts: dict[str, int]) -> None:
        self.counts[name] = dict(counts)
        self.seconds[name] = round(time.perf_counter() - started, 3)
        shown = ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in counts.items())
        log.info("step %d/%d %s: %s, %.1f s", STEPS.index(name) + 1, len(STEPS), name, shown,
                 self.seconds[name])
        if self.shown is not None:
            self.shown.done(name)


def nightly_run(
    *, input_dir: Path, output_dir: Path, as_of: date, config: PipelineConfig,
    model_path: Path | None = None, keep: int | None = None,
) -> RunResult:
    """Ingest, derive features, score, select and publish into OUTPUT/<as-of>/ (a link to
    OUTPUT/runs/<as-of>.<n>/; OUTPUT/latest follows), then keep the `keep` newest runs
    (default `[run] keep`; 0 keeps all: publish.prune_runs).

    With `[risk] method = "model"` the model comes from `model_path` when given; otherwise it is
    trained on the extract's own history (training.train_on_history) and published with its
    card under `model/`.
    """
    output_dir = Path(output_dir)
    # One run at a time per output folder (runlock); under the lock, every work or staging
    # folder found belongs to a run that stopped, and is removed.
    with run_lock(output_dir):
        remove_leftovers(output_dir)
        result = _locked_run(input_dir=input_dir, output_dir=output_dir, as_of=as_of,
                             config=config, model_path=model_path)
        prune_runs(output_dir, config.run.keep if keep is None else keep)
        return result


def _locked_run(
    *, input_dir: Path, output_dir: Path, as_of: date, config: PipelineConfig,
    model_path: Path | None,
) -> RunResult:
    """nightly_run's body, under the output folder's lock."""
    # User inputs that can fail are checked before any heavy work: the model file, the lists.
    loaded = load_model(Path(model_path)) if model_path and config.risk.method == "model" else None
    codelists = load_codelists(config.features.codelists)
    # The pid makes the name unique per run; the lock already keeps two runs apart, so this
    # only matters if the lock is bypassed (e.g. two hosts on a file system without flock).
    work = files.private_dir(output_dir / f".work-{as_of.isoformat()}-{os.getpid()}")
    try:
        return _steps(input_dir=input_dir, output_dir=output_dir, as_of=as_of, config=config,
                      model_path=model_path, loaded=loaded, codelists=codelists, work=work)
    finally:
        # success or failure: the work folder holds patient-level staged files
        shutil.rmtree(work, ignore_errors=True)


def _steps(
    *, input_dir: Path, output_dir: Path, as_of: date, config: PipelineConfig,
    model_path: Path | None, loaded: TrainedModel | None, codelists: CodelistSet, work: Path,
) -> RunResult:
    """The five steps on one engine (closed before the caller removes the work folder)."""
    record = StepLog()
    with progress.steps(STEPS) as record.shown, Engine.open(config.run, spill_dir=work / "spill") as engine:
        started = time.perf_counter()
        ingested = steps.ingest(engine, input_dir=input_dir, as_of=as_of, work_dir=work)
        record.record("ingest", started, steps.ingest_counts(ingested))
        crash_point("ingested")

        started = time.perf_counter()
        current = steps.features(engine, ingested.tables, as_of=as_of, codelists=codelists,
                                 config=config, work_dir=work)
        record.record("features", started, current.counts)
        crash_point("features")

        started = time.perf_counter()
        model, model_files = _model(engine, ingested, as_of=as_of, codelists=codelists,
                                    config=config, model_path=model_path, loaded=loaded, work=work)
        crash_point("trained")
        scores = steps.score(engine, current.person, config=config, model=model)
        record.record("score", started, {"scored": engine.count(scores)})

        started = time.perf_counter()
        selection = _select(engine, ingested, current, scores, config=config, model=model,
                            output_dir=output_dir, as_of=as_of)
        record.record("select", started, selection.counts)
        crash_point("selected")

        started = time.perf_counter()
        manifest = _manifest(config=config, as_of=as_of, ingested=ingested, codelists=codelists,
                             unmatched=current.unmatched, model_files=model_files, record=record)
        final = publish_run(
            output_root=output_dir, as_of=as_of, patients=selection.patients,
            cohort=selection.cohort, neighbourhoods=selection.neighbourhoods,
            evidence=current.evidence, quarantine_dir=ingested.quarantine_dir, manifest=manifest,
            extra_files={f"model/{p.name}": p for p in model_files},
            include=config.pipeline.outputs,
            before_manifest=_before_manifest(config, _respiratory(engine, current, selection, config, as_of,
                                                                  input_dir)),
        )
        record.record("publish", started,
                      {"files": sum(1 for p in final.rglob("*") if p.is_file())})
        neighbourhoods = engine.to_arrow(selection.neighbourhoods)
    return RunResult(final, neighbourhoods, manifest)


def _respiratory(engine: Engine, current: steps.Features, selection: Selection, config: PipelineConfig,
                 as_of: date, input_dir: Path) -> respiratory_outputs.Prepared | None:
    """The respiratory outputs (care gaps, gap rates, MDT list; with the cyp_asthma set also the
    children's lists, rates and method card, scored against `truth/` beside the extract when a
    synthetic city has one) when the pipeline derives the respiratory feature set
    (npc_risk.respiratory.outputs)."""
    if "respiratory" not in config.pipeline.feature_sets:
        return None
    return respiratory_outputs.prepare(engine, person=current.person, patients=selection.patients,
                                       cohort=selection.cohort, as_of=as_of, config=config,
                                       truth_dir=Path(input_dir).parent / "truth")


def _before_manifest(config: PipelineConfig, respiratory: respiratory_outputs.Prepared | None):
    """What publish_run writes after the tables: the respiratory outputs, then the packs."""
    packs = _packs(config) if config.packs.enabled else None
    if respiratory is None:
        return packs

    def write(staging: Path, manifest: dict) -> dict[str, dict]:
        written = respiratory.write(staging, manifest)
        return written | (packs(staging, manifest) if packs else {})
    return write


def _packs(config: PipelineConfig):
    """`[packs] enabled`: the data packs written into the staging folder, published with the rest."""
    def write(staging: Path, manifest: dict) -> dict[str, dict]:
        from npc_risk.packs.build import build_packs  # noqa: PLC0415 (matplotlib: only when asked)

        result = build_packs(staging, staging / "packs", pdf=config.packs.pdf,
                             contact=config.packs.contact or None, manifest=manifest)
        rows = {"pack_data.parquet": result.figures, "pack_data.csv": result.figures}
        return {f"packs/{p.name}": {"sha256": file_sha256(p), "rows": rows.get(p.name, 0), "bytes": p.stat().st_size}
                for p in sorted(result.output.iterdir()) if p.is_file()}
    return write


@dataclass
class Selection:
    """The select step's outputs: every person ranked, the cohort with its drivers, the
    suppressed planning table, and the counts."""

    patients: ir.Table
    cohort: ir.Table
    neighbourhoods: ir.Table
    counts: dict[str, int]


def _select(engine: Engine, ingested: IngestResult, current: steps.Features, scores: ir.Table,
            *, config: PipelineConfig, model: TrainedModel | None, output_dir: Path,
            as_of: date) -> Selection:
    """Eligibility, exclusions and ranking (cohort.select_cohort, materialised once); drivers
    for the selected people; the planning statistics, suppressed once."""
    numbers = ingested.tables["patients"].select("patient_id", "nhs_number")
    scored = current.person.left_join(numbers, "patient_id").drop("patient_id_right")
    scored = scored.left_join(scores, "patient_id").drop("patient_id_right")
    previous = previous_run(output_dir, as_of)
    if previous is not None:
        previous = engine.temp_table("previous_cohort", previous)
    selected: CohortResult = select_cohort(
        scored, config=config.cohort, optouts=config.outputs.case_finding.applied,
        previous_patients=previous, materialise=engine.cache,
        candidates=selection_candidates(config.pipeline.selection))
    words = steps.drivers(engine, current.person, selected.cohort.select("patient_id"),
                          config=config, model=model)
    stats = engine.cache(neighbourhood_statistics(
        selected.patients, selected.report, optouts=config.outputs.planning.applied))
    ranked = selected.patients.mutate(
        planning_optout=planning_optout(selected.patients, config.outputs.planning.applied))
    counts = {"eligible": engine.count(ranked.filter(ranked.eligible)),
              "selected": engine.count(selected.cohort)}
    return Selection(
        patients=_with_drivers(ranked, words),
        cohort=_with_drivers(selected.cohort, words),
        neighbourhoods=engine.temp_table("neighbourhoods", publishable_neighbourhoods(stats)),
        counts=counts,
    )


def _with_drivers(table: ir.Table, words: ir.Table) -> ir.Table:
    """Add the cohort's plain-words drivers (null for everyone not selected)."""
    joined = table.left_join(words, "patient_id")
    return joined.select(*table.columns, drivers=joined.drivers)


def _model(engine: Engine, ingested: IngestResult, *, as_of: date, codelists: CodelistSet,
           config: PipelineConfig, model_path: Path | None, loaded: TrainedModel | None,
           work: Path) -> tuple[TrainedModel | None, list[Path]]:
    """The model (loaded, or trained on history) and the files to publish with it."""
    if config.risk.method != "model":  # rules, cyp_points: a points score, no model
        return None, []
    if model_path is not None:
        stem = Path(model_path).with_suffix("")
        cards = (stem.with_suffix(".card.json"), stem.with_suffix(".card.md"))
        return loaded, [Path(model_path)] + [p for p in cards if p.exists()]
    model = train_on_history(engine, ingested.tables, as_of=as_of, codelists=codelists,
                             config=config, work_dir=work)
    path = save_model(model, files.private_dir(work / "model") / "risk_model.skops")
    return model, sorted(path.parent.iterdir())


def _manifest(*, config: PipelineConfig, as_of: date, ingested: IngestResult,
              codelists: CodelistSet, unmatched: list[dict], model_files: list[Path],
              record: StepLog) -> dict:
    """The run's manifest (publish adds `outputs` and `provenance`); schemas/outputs.py
    declares every key."""
    inputs = {}
    for report in ingested.reports:
        path = ingested.input_files.get(report.table)
        inputs[report.table] = {
            "file": path.name if path else None,
            "sha256": input_sha256(path) if path else None,
            **{k: v for k, v in report.as_dict().items() if k not in ("table", "file")},
        }
    lists_manifest = Path(codelists.folder) / "manifest.toml"
    return {
        "package_version": __version__,
        "as_of": as_of.isoformat(),
        "config": config.as_dict(),
        "config_hash": config.digest(),
        "inputs": inputs,
        "codelists": {"folder": str(codelists.folder),
                      "packaged": Path(codelists.folder).resolve() == default_folder().resolve(),
                      "manifest_sha256": file_sha256(lists_manifest)
                      if lists_manifest.exists() else None,
                      "lists": {cl.name: {"version": cl.version, "sha256": cl.sha256}
                                for cl in sorted(codelists.lists.values(), key=lambda c: c.name)}},
        "unmatched_codes": unmatched,
        "model_files": {p.name: file_sha256(p) for p in model_files},
        "steps": record.counts,
        "timings": record.seconds,
    }
