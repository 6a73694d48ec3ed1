"""One plain function per command. Every input (config, as-of date, paths) is passed in;
nothing here reads the clock, the environment or global state."""

from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import ibis
import ibis.expr.types as ir

from npc_risk import __version__, io, steps
from npc_risk.codelists import CodelistSet, check_codelists, list_codelists, load_codelists
from npc_risk.cohort import COHORT_COLUMNS, neighbourhood_report, select_cohort
from npc_risk.config import PipelineConfig, load_config  # noqa: F401 (re-exported for the CLI)
from npc_risk.datapack import neighbourhood_statistics, publishable_neighbourhoods
from npc_risk.errors import CodelistError, InputFileError, ModelError
from npc_risk.ingest import IngestResult, TableReport, assert_contract, ingest_extract
from npc_risk.publish import previous_run, publish_run, summary_rows
from npc_risk.risk import load_model, save_model
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
    """Ingest, then assert the pandera contract on every accepted table."""
    result = ingest_extract(con, Path(input_dir), as_of=as_of, work_dir=work_dir)
    assert_contract(result.tables, set(result.input_files))
    return result


def write_dictionary(output: Path) -> Path:
    """Regenerate the data dictionary from the pandera models."""
    return io.write_text(render_dictionary(), Path(output))


# ------------------------------------------------------------------------------------ the run
@dataclass
class RunResult:
    output: Path
    summary: list[dict[str, str]]
    manifest: dict


class _Timer:
    """Step timings and counts for the manifest (and one log line per step)."""

    def __init__(self, total: int) -> None:
        self.total, self.done, self.steps = total, 0, {}

    def step(self, name: str, started: float, **counts: int) -> None:
        self.done += 1
        seconds = round(time.perf_counter() - started, 3)
        self.steps[name] = {"seconds": seconds, **counts}
        shown = ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in counts.items())
        log.info("step %d/%d %s: %s, %.1f s", self.done, self.total, name, shown, seconds)


def run_pipeline(
    *, input_dir: Path, output_dir: Path, as_of: date, config: PipelineConfig,
    model_path: Path | None = None,
) -> RunResult:
    """The nightly job: ingest, features, score, select, publish into OUTPUT/<as-of>/.

    With `[risk] method = "model"` the model comes from `model_path` when given; otherwise it is
    trained on the extract's own history (temporal split, see steps.train_on_history) and saved
    with its model card beside the run's outputs.
    """
    output_dir = Path(output_dir)
    # User inputs that can fail are checked before any heavy work: the model file, the lists.
    preloaded = load_model(Path(model_path)) if model_path and config.risk.method == "model" else None
    codelists = load_codelists(config.features.codelists)
    work = io.private_dir(output_dir / f".work-{as_of.isoformat()}")
    run = config.run
    con = io.connect(run.engine, memory_limit=run.memory_limit, threads=run.threads,
                     temp_directory=work / "spill")
    timer = _Timer(total=5)
    try:
        started = time.perf_counter()
        ingested = _ingest(con, input_dir=input_dir, as_of=as_of, work_dir=work)
        timer.step("ingest", started, rows_read=sum(r.rows_read for r in ingested.reports),
                   quarantined=sum(r.quarantined for r in ingested.reports))

        started = time.perf_counter()
        current = steps.features_as_of(con, ingested.tables, as_of=as_of, codelists=codelists,
                                       config=config, work_dir=work)
        population = _count(current.person)
        timer.step("features", started, population=population,
                   evidence_rows=_count(current.evidence))

        started = time.perf_counter()
        model, model_files = _model(con, ingested.tables, as_of=as_of, codelists=codelists,
                                    config=config, model_path=model_path, preloaded=preloaded,
                                    work=work)
        scores = steps.score(current.person, config=config, model=model)
        timer.step("score", started, scored=scores.num_rows)

        started = time.perf_counter()
        patients = ingested.tables["patients"]
        scored = current.person.left_join(
            patients.select("patient_id", "nhs_number"), "patient_id"
        ).drop("patient_id_right").left_join(ibis.memtable(scores), "patient_id").drop(
            "patient_id_right"
        ).mutate(drivers=ibis.null("string"))
        previous = previous_run(output_dir, as_of)
        if previous is not None:
            previous = con.create_table("previous_cohort", previous.to_pyarrow(), temp=True)
        selected = select_cohort(scored, config=config.cohort, previous_patients=previous)
        # Materialise once: the ranking windows feed the report, the statistics and the files.
        ranked = con.create_table("ranked_patients", selected.patients, temp=True)
        cohort_rows = ranked.filter(ranked.in_cohort)
        words = con.create_table("drivers", steps.drivers(
            current.person, cohort_rows.select("patient_id"), config=config, model=model
        ), temp=True)
        patients_out = _with_drivers(ranked, words)
        cohort_out = _with_drivers(cohort_rows.select(*COHORT_COLUMNS), words)
        report = neighbourhood_report(ranked, previous_patients=previous)
        stats = con.create_table("neighbourhood_stats", neighbourhood_statistics(
            ranked, report, optouts=config.outputs.planning.applied), temp=True)
        timer.step("select", started, eligible=_count(ranked.filter(ranked.eligible)),
                   selected=_count(cohort_rows))

        started = time.perf_counter()
        manifest = _manifest(config=config, as_of=as_of, ingested=ingested, codelists=codelists,
                             unmatched=current.unmatched, model_files=model_files, timer=timer)
        final = publish_run(
            output_root=output_dir, as_of=as_of, patients=patients_out, cohort=cohort_out,
            neighbourhoods=publishable_neighbourhoods(stats), evidence=current.evidence,
            quarantine_dir=ingested.quarantine_dir, manifest=manifest,
            extra_files={f"model/{p.name}": p for p in model_files},
        )
        timer.step("publish", started, files=sum(1 for p in final.rglob("*") if p.is_file()))
        summary = summary_rows(stats)
    finally:
        con.disconnect()
    _finish_manifest(final / "manifest.json", timer)
    shutil.rmtree(work, ignore_errors=True)
    return RunResult(final, summary, json.loads((final / "manifest.json").read_text()))


def _count(table: ir.Table) -> int:
    return int(table.count().to_pyarrow().as_py())


def _with_drivers(table: ir.Table, words: ir.Table) -> ir.Table:
    """Replace the placeholder `drivers` column with the explained words (cohort only)."""
    columns = table.columns
    joined = table.drop("drivers").left_join(words, "patient_id")
    return joined.select(*[joined[c] for c in columns if c != "drivers"],
                         drivers=joined.drivers).select(*columns)


def _model(con, tables, *, as_of, codelists, config, model_path, preloaded, work):
    """The trained model (loaded, or trained on history) and the files to publish with it."""
    if config.risk.method == "rules":
        return None, []
    if model_path is not None:
        model = preloaded
        stem = Path(model_path).with_suffix("")
        files = [Path(model_path)] + [p for p in (stem.with_suffix(".card.json"),
                                                  stem.with_suffix(".card.md")) if p.exists()]
        return model, files
    model = steps.train_on_history(con, tables, as_of=as_of, codelists=codelists,
                                   config=config, work_dir=work)
    path = save_model(model, io.private_dir(work / "model") / "risk_model.skops")
    return model, sorted(path.parent.iterdir())


def _manifest(*, config, as_of, ingested, codelists, unmatched, model_files, timer) -> dict:
    inputs = {}
    for report in ingested.reports:
        path = ingested.input_files.get(report.table)
        inputs[report.table] = {
            "file": path.name if path else None,
            "sha256": io.file_sha256(path) if path else None,
            **{k: v for k, v in report.as_dict().items() if k not in ("table", "file")},
        }
    cards = {p.name: io.file_sha256(p) for p in model_files}
    return {
        "package_version": __version__,
        "as_of": as_of.isoformat(),
        "config": config.as_dict(),
        "config_hash": config.digest(),
        "inputs": inputs,
        "codelists": {"folder": str(codelists.folder), "manifest_sha256": _manifest_hash(codelists)},
        "unmatched_codes": unmatched,
        "model_files": cards,
        "steps": timer.steps,
    }


def _manifest_hash(codelists: CodelistSet) -> str | None:
    path = Path(codelists.folder) / "manifest.toml"
    return io.file_sha256(path) if path.exists() else None


def _finish_manifest(path: Path, timer: _Timer) -> None:
    """Add the publish step's own timing (known only after publishing) to the manifest."""
    manifest = json.loads(path.read_text())
    manifest["steps"] = timer.steps
    io.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", path)


# ---------------------------------------------------------------------------------- training
def train_command(
    *, input_dir: Path, as_of: date, model_out: Path, config: PipelineConfig, work_dir: Path,
) -> dict:
    """Train the emergency-admission model on the extract's history and save it (skops) with
    its model card; returns the card."""
    if config.risk.method != "model":
        raise ModelError('[risk] method = "rules" needs no training; set method = "model" to train')
    work = io.private_dir(Path(work_dir) / f".train-{as_of.isoformat()}")
    con = io.connect(config.run.engine, memory_limit=config.run.memory_limit,
                     threads=config.run.threads, temp_directory=work / "spill")
    try:
        ingested = _ingest(con, input_dir=input_dir, as_of=as_of, work_dir=work)
        codelists = load_codelists(config.features.codelists)
        model = steps.train_on_history(con, ingested.tables, as_of=as_of, codelists=codelists,
                                       config=config, work_dir=work)
        save_model(model, Path(model_out))
    finally:
        con.disconnect()
    shutil.rmtree(work, ignore_errors=True)
    return model.card


# ------------------------------------------------------------------------------- code lists
def codelists_list(folder: Path | None) -> list[dict]:
    return list_codelists(folder)


def codelists_check(folder: Path | None) -> int:
    """Verify every list; raise CodelistError naming the first problem and the count."""
    problems = check_codelists(folder)
    if problems:
        raise CodelistError(f"{problems[0]} ({len(problems)} problem(s) in all; run "
                            "`npc-risk codelists check` after fixing each)")
    return len(list_codelists(folder))


def codelists_import(*, source: Path, folder: Path, name: str, concept: str, fmt: str,
                     cluster_id: str | None, system: str, source_name: str,
                     version: str | None = None) -> Path:
    """Import a downloaded code list into a code-list folder (with its manifest entry);
    `version` is recorded in the manifest ("unversioned" when not given)."""
    from npc_risk.codelists import import_opencodelists, import_pcd_refset  # noqa: PLC0415

    if fmt == "pcd":
        if not cluster_id:
            raise CodelistError(f"{source}: a PCD refset file holds many clusters; pass --cluster-id")
        return import_pcd_refset(Path(source), Path(folder), cluster_id=cluster_id, name=name,
                                 concept=concept, version=version)
    if fmt == "opencodelists":
        return import_opencodelists(Path(source), Path(folder), name=name, concept=concept,
                                    system=system, source=source_name, version=version)
    raise CodelistError(f"--format {fmt!r}: use pcd or opencodelists")


# -------------------------------------------------------------------------- synthetic city
def generate(*, patients: int, seed: int, as_of: date, output: Path, dirt_rate: float):
    """Write a synthetic city (extract + truth); see npc_risk.synth."""
    from npc_risk.synth.city import generate_city  # noqa: PLC0415 (heavy; only this command)

    return generate_city(patients=patients, seed=seed, as_of=as_of, output=Path(output),
                         dirt_rate=dirt_rate)


def calibrate(city_dir: Path) -> list[dict]:
    """Measured magnitudes of a generated city beside the reference targets."""
    from npc_risk.synth.calibration import calibration_report  # noqa: PLC0415

    city_dir = Path(city_dir)
    extract, truth = city_dir / "extract", city_dir / "truth"
    if not extract.is_dir() or not truth.is_dir():
        raise InputFileError(f"{city_dir}: expected extract/ and truth/ folders made by "
                             "`npc-risk generate`; pass --input with such a folder")
    return calibration_report(extract, truth)
