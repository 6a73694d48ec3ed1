"""One plain function per command. Every input (config, as-of date, paths) is passed in;
nothing here reads the clock, the environment or global state."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from npc_risk import io
from npc_risk.ingest import IngestResult, TableReport, assert_contract, ingest_extract
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
    started = time.perf_counter()
    result = ingest_extract(con, Path(input_dir), as_of=as_of, work_dir=work_dir)
    assert_contract(result.tables, set(result.input_files))
    read = sum(r.rows_read for r in result.reports)
    quarantined = sum(r.quarantined for r in result.reports)
    log.info("step ingest: %s rows read, %s quarantined, %.1f s",
             f"{read:,}", f"{quarantined:,}", time.perf_counter() - started)
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
        codelists = load_codelists(config.features.codelists)
        current = steps.features_as_of(con, ingested.tables, as_of=as_of, codelists=codelists,
                                       config=config, work_dir=work)
        population = _count(current.person)
        timer.step("features", started, population=population,
                   evidence_rows=_count(current.evidence))

        started = time.perf_counter()
        model, model_files = _model(con, ingested.tables, as_of=as_of, codelists=codelists,
                                    config=config, model_path=model_path, work=work)
        scores = steps.score(current.person, config=config, model=model)
        timer.step("score", started, scored=len(scores))

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
        words = con.create_table("drivers", steps.drivers(
            current.person, selected.cohort.select("patient_id"), config=config, model=model
        ), temp=True)
        patients_out = _with_drivers(selected.patients, words)
        cohort_out = _with_drivers(selected.cohort, words)
        stats = neighbourhood_statistics(patients_out, selected.report)
        in_cohort = _count(cohort_out)
        timer.step("select", started, eligible=_count(patients_out.filter(patients_out.eligible)),
                   selected=in_cohort)

        started = time.perf_counter()
        manifest = _manifest(config=config, as_of=as_of, ingested=ingested, codelists=codelists,
                             unmatched=current.unmatched, model_files=model_files, timer=timer)
        final = publish_run(
            output_root=output_dir, as_of=as_of, patients=patients_out, cohort=cohort_out,
            neighbourhoods=publishable_neighbourhoods(stats), evidence=current.evidence,
            quarantine_dir=ingested.quarantine_dir, manifest=manifest,
        )
        _copy_model_files(model_files, final / "model")
        timer.step("publish", started, files=sum(1 for p in final.rglob("*") if p.is_file()))
        summary = summary_rows(publishable_neighbourhoods(stats))
    finally:
        con.disconnect()
    _finish_manifest(final / "manifest.json", timer)
    shutil.rmtree(work, ignore_errors=True)
    return RunResult(final, summary, json.loads((final / "manifest.json").read_text()))
