"""One plain function per command. Every input (config, as-of date, paths) is passed in;
nothing here reads the clock, the environment or global state.

| command | function | what it does |
|---|---|---|
| `run` | `run_pipeline` (-> run.nightly_run) | the nightly run |
| `validate` | `validate_extract` | ingest only: quarantine and a per-table report |
| `train` | `train_command` | fit the model on the extract's history, save it with its card |
| `codelists list/check/import/build` | `codelists_*` | the code lists and their manifest |
| `generate`, `calibrate` | `generate`, `calibrate` | the synthetic city |
| `dictionary` | `write_dictionary` | the data dictionary |
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from npc_risk import files, steps
from npc_risk.codelists import check_codelists, list_codelists, load_codelists
from npc_risk.config import PipelineConfig, load_config  # noqa: F401 (re-exported for the CLI)
from npc_risk.engine import Engine
from npc_risk.errors import CodelistError, InputFileError, ModelError
from npc_risk.ingest import TableReport
from npc_risk.risk import save_model
from npc_risk.run import RunResult, nightly_run
from npc_risk.schemas.dictionary import render_dictionary
from npc_risk.training import train_on_history

log = logging.getLogger(__name__)


@dataclass
class ValidateResult:
    reports: list[TableReport]
    quarantine_dir: Path
    report_path: Path


def validate_extract(
    *, input_dir: Path, output_dir: Path, as_of: date, config: PipelineConfig | None = None,
) -> ValidateResult:
    """Check an extract against the data contract; write quarantine files and a JSON report.

    The engine settings come from `config` (`--pipeline`; the defaults without one)."""
    config = config or PipelineConfig()
    work = files.private_dir(Path(output_dir) / "validation")
    with Engine.open(config.run, spill_dir=work / "spill") as engine:
        result = steps.ingest(engine, input_dir=input_dir, as_of=as_of, work_dir=work)
    report = {"as_of": as_of.isoformat(), "input": str(input_dir),
              "tables": [r.as_dict() for r in result.reports]}
    path = files.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n", work / "report.json")
    shutil.rmtree(work / "spill", ignore_errors=True)
    return ValidateResult(result.reports, result.quarantine_dir, path)


def write_dictionary(output: Path) -> Path:
    """Regenerate the data dictionary from the pandera models."""
    return files.write_text(render_dictionary(), Path(output))


# ------------------------------------------------------------------------------------ the run
def run_pipeline(
    *, input_dir: Path, output_dir: Path, as_of: date, config: PipelineConfig,
    model_path: Path | None = None, keep: int | None = None,
) -> RunResult:
    """The nightly job (run.nightly_run): ingest, features, score, select, publish, prune."""
    return nightly_run(input_dir=input_dir, output_dir=output_dir, as_of=as_of, config=config,
                       model_path=model_path, keep=keep)


# ---------------------------------------------------------------------------------- training
def train_command(
    *, input_dir: Path, as_of: date, model_out: Path, config: PipelineConfig, work_dir: Path,
) -> dict:
    """Train the emergency-admission model on the extract's history and save it (skops) with
    its model card; returns the card."""
    if config.risk.method != "model":
        raise ModelError('[risk] method = "rules" needs no training; set method = "model" to train')
    work = files.private_dir(Path(work_dir) / f".train-{as_of.isoformat()}")
    codelists = load_codelists(config.features.codelists)
    with Engine.open(config.run, spill_dir=work / "spill") as engine:
        ingested = steps.ingest(engine, input_dir=input_dir, as_of=as_of, work_dir=work)
        model = train_on_history(engine, ingested.tables, as_of=as_of, codelists=codelists,
                                 config=config, work_dir=work)
    save_model(model, Path(model_out))
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


def codelists_build(*, downloads: Path, output: Path, allow_missing: bool = False):
    """Build a code-list folder from a folder of public list downloads, checked like
    `codelists check` (codelists.build.build_codelists); returns its BuildResult."""
    from npc_risk.codelists.build import build_codelists  # noqa: PLC0415

    return build_codelists(Path(downloads), Path(output), allow_missing=allow_missing)


# -------------------------------------------------------------------------- operations
def status(output: Path):
    """What an output folder holds (npc_risk.status.folder_status)."""
    from npc_risk.status import folder_status  # noqa: PLC0415

    return folder_status(Path(output))


def check_fresh(folder, *, now, max_age_hours: float) -> None:
    """Raise StaleError (exit 11) when no run was published within `max_age_hours` of `now`."""
    from npc_risk.errors import StaleError  # noqa: PLC0415
    from npc_risk.status import stale  # noqa: PLC0415

    reason = stale(folder, now=now, max_age_hours=max_age_hours)
    if reason:
        raise StaleError(reason)


# -------------------------------------------------------------------------- data packs
def pack(*, run: Path, output: Path, neighbourhoods: tuple[str, ...] = (), pdf: bool = True,
         contact: str | None = None, workers: int | None = None):
    """Neighbourhood data packs from a published run (npc_risk.packs.build); returns PackResult."""
    from npc_risk.packs.build import build_packs  # noqa: PLC0415 (matplotlib: only this command)

    return build_packs(Path(run), Path(output), neighbourhoods=neighbourhoods, pdf=pdf, contact=contact,
                       workers=workers)


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
