"""The `npc-risk` command line: typer options, logging set-up, and user errors -> exit codes.

No logic lives here: each command parses its options and calls one function in pipeline.py.
A user error (npc_risk.errors.NpcRiskError) prints one line and exits with its class's code;
anything else is a bug and keeps its traceback (without local variables, which could hold
patient data).
"""

from __future__ import annotations

import enum
import functools
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from npc_risk import __version__, logs, pipeline, render
from npc_risk.config import ENGINES, override_run
from npc_risk.errors import NpcRiskError

app = typer.Typer(
    name="npc-risk",
    help="Population risk stratification for neighbourhood proactive care (nightly batch).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
# Off a terminal (cron, CI logs) rich would wrap tables at 80 columns; give them room instead.
stdout = Console(width=None if sys.stdout.isatty() else 160)
stderr = Console(stderr=True, width=None if sys.stderr.isatty() else 160)

AsOf = Annotated[datetime, typer.Option("--as-of", formats=["%Y-%m-%d"], help="The as-of date (YYYY-MM-DD): every look-back ends here; nothing after it is used.")]
Input = Annotated[Path, typer.Option("--input", "-i", help="Extract folder: one <table>.parquet or <table>.csv per table.")]
Output = Annotated[Path, typer.Option("--output", "-o", help="Output folder.")]
Pipeline = Annotated[Path | None, typer.Option("--pipeline", "-p", help="Pipeline config (TOML) in pipelines/; default: built-in defaults (as pipelines/leeds_npc.toml).")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Only warnings and errors on stderr (for cron).")]
Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Debug messages too (never patient-level values).")]
Engine = enum.Enum("Engine", {name: name for name in ENGINES}, type=str)  # --engine choices
LogFormat = Annotated[logs.LogFormat, typer.Option("--log-format", help="Log lines as text, or one JSON object per line for log shippers.")]


def _logging(quiet: bool, verbose: bool = False, log_format: logs.LogFormat = logs.LogFormat.text) -> None:
    logs.configure(quiet=quiet, verbose=verbose, log_format=log_format.value)


def _user_errors(command):
    """Turn a user error into one line on stderr and its exit code; let bugs raise."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except NpcRiskError as exc:
            stderr.print(f"npc-risk: {exc.kind}: {exc}", highlight=False, markup=False, soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None

    return wrapper


def _date(value: datetime) -> date:
    return value.date()


@app.command()
@_user_errors
def validate(
    input_dir: Input,
    as_of: AsOf,
    output: Output = Path("out"),
    pipeline_file: Pipeline = None,
    quiet: Quiet = False,
    verbose: Verbose = False,
    log_format: LogFormat = logs.LogFormat.text,
) -> None:
    """Check an extract against the data contract and print a per-table report.

    Bad rows go to OUTPUT/validation/quarantine/<table>.parquet with a reason column; the report
    is also written to OUTPUT/validation/report.json. The engine settings come from --pipeline.
    """
    _logging(quiet, verbose, log_format)
    config = pipeline.load_config(pipeline_file)
    result = pipeline.validate_extract(input_dir=input_dir, output_dir=output, as_of=_date(as_of),
                                       config=config)
    stdout.print(render.ingest_table(result.reports))
    stdout.print(render.quarantine_table(result.reports))
    stdout.print(f"quarantine: {result.quarantine_dir}  report: {result.report_path}", highlight=False)


@app.command()
@_user_errors
def dictionary(
    output: Output = Path("schemas/data_dictionary.md"),
) -> None:
    """Regenerate the data dictionary (Markdown) from the pandera models."""
    path = pipeline.write_dictionary(output)
    stdout.print(f"wrote {path}", highlight=False)


@app.command()
@_user_errors
def run(
    input_dir: Input,
    as_of: AsOf,
    output: Output = Path("out"),
    pipeline_file: Pipeline = None,
    model: Annotated[Path | None, typer.Option("--model", help="A model saved by `npc-risk train` (.skops). Default: train on the extract's history in this run.")] = None,
    keep: Annotated[int | None, typer.Option("--keep", min=0, help="After a successful run, keep the N newest runs in OUTPUT/runs/ (and the one OUTPUT/latest names), removing older ones; 0 keeps all. Default: [run] keep.")] = None,
    engine: Annotated[Engine | None, typer.Option("--engine", help="duckdb (embedded) or pyspark (the [spark] extra; docs/scaling.md). Default: [run] engine.")] = None,
    spark_master: Annotated[str | None, typer.Option("--spark-master", help="pyspark: the cluster's master URL, e.g. spark://host:7077. Default: [run] spark_master, else local[threads].")] = None,
    quiet: Quiet = False,
    verbose: Verbose = False,
    log_format: LogFormat = logs.LogFormat.text,
) -> None:
    """The nightly job: validate and ingest, derive features, score, select cohorts, publish.

    Publishes atomically: writes OUTPUT/runs/<as-of>.<n>/ (patients.parquet, cohort/,
    neighbourhoods.parquet, evidence.parquet, quarantine/, manifest.json, model/), then points
    OUTPUT/<as-of> and OUTPUT/latest at it; prints a per-neighbourhood summary with small
    numbers suppressed.
    """
    _logging(quiet, verbose, log_format)
    config = override_run(pipeline.load_config(pipeline_file), spark_master=spark_master,
                          engine=engine.value if engine else None)
    result = pipeline.run_pipeline(input_dir=input_dir, output_dir=output, as_of=_date(as_of),
                                   config=config, model_path=model, keep=keep)
    if not quiet:
        stdout.print(render.summary_table(result.neighbourhoods))
    stdout.print(f"published {result.output}", highlight=False)


@app.command()
@_user_errors
def train(
    input_dir: Input,
    as_of: AsOf,
    model_out: Annotated[Path, typer.Option("--model-out", help="Where to write the model (.skops); the model card is written beside it (.card.json, .card.md).")],
    pipeline_file: Pipeline = None,
    work_dir: Annotated[Path, typer.Option("--work-dir", help="Scratch folder for intermediate files.")] = Path("out"),
    quiet: Quiet = False,
    verbose: Verbose = False,
    log_format: LogFormat = logs.LogFormat.text,
) -> None:
    """Train the 12-month emergency-admission model with a temporal split on the extract's history.

    Features as of AS_OF - 730 days train against admissions in the following 12 months; features
    as of AS_OF - 365 days evaluate against the last 12 months (a later, unseen window).
    """
    _logging(quiet, verbose, log_format)
    config = pipeline.load_config(pipeline_file)
    card = pipeline.train_command(input_dir=input_dir, as_of=_date(as_of), model_out=model_out,
                                  config=config, work_dir=work_dir)
    stdout.print(render.card_table(card))
    stdout.print(f"wrote {model_out}", highlight=False)


@app.command()
@_user_errors
def generate(
    patients: Annotated[int, typer.Option("--patients", min=100, help="Number of people in the city.")],
    as_of: AsOf,
    output: Output,
    seed: Annotated[int, typer.Option("--seed", help="Random seed: the same seed gives the same bytes.")] = 20260331,
    dirt_rate: Annotated[float, typer.Option("--dirt-rate", min=0.0, max=0.05, help="Share of rows per table made dirty (quarantine is exercised on every run).")] = 0.002,
    quiet: Quiet = False,
    verbose: Verbose = False,
    log_format: LogFormat = logs.LogFormat.text,
) -> None:
    """Write a synthetic Leeds-like city: OUTPUT/extract/ (the data contract) and OUTPUT/truth/."""
    _logging(quiet, verbose, log_format)
    summary = pipeline.generate(patients=patients, seed=seed, as_of=_date(as_of), output=output,
                                dirt_rate=dirt_rate)
    stdout.print(render.generate_table(summary))


@app.command()
@_user_errors
def calibrate(
    input_dir: Annotated[Path, typer.Option("--input", "-i", help="A generated city folder (holding extract/ and truth/).")],
) -> None:
    """Print the generated city's magnitudes beside the NHS reference targets."""
    rows = pipeline.calibrate(input_dir)
    stdout.print(render.calibration_table(rows))


@app.command()
@_user_errors
def pack(
    run_dir: Annotated[Path, typer.Option("--run", help="A published run folder, OUT/<as-of> (reads only its outputs).")],
    output: Output,
    neighbourhood: Annotated[list[str] | None, typer.Option("--neighbourhood", help="Only this neighbourhood's pack (repeat for more); LCP and city packs are always written.")] = None,
    pdf: Annotated[bool, typer.Option("--pdf/--no-pdf", help="Also print each pack to PDF with headless Chromium.")] = True,
    contact: Annotated[str | None, typer.Option("--contact", help="Who to contact about the packs, printed in each.")] = None,
    workers: Annotated[int | None, typer.Option("--workers", min=1, max=64, help="Processes drawing the pages (default: one per core).")] = None,
    quiet: Quiet = False,
    verbose: Verbose = False,
    log_format: LogFormat = logs.LogFormat.text,
) -> None:
    """Write the neighbourhood data packs of a run: one HTML page (and PDF) per neighbourhood, per
    LCP and for the city, an index, and every figure as tidy data (pack_data.parquet / .csv)."""
    _logging(quiet, verbose, log_format)
    result = pipeline.pack(run=run_dir, output=output, neighbourhoods=tuple(neighbourhood or ()), pdf=pdf,
                           contact=contact, workers=workers)
    if not quiet:
        stdout.print(f"wrote {len(result.pages)} packs, {len(result.pdfs)} PDFs and {result.figures} figures "
                     f"to {result.output}")


@app.command()
@_user_errors
def status(
    output: Output,
    max_age_hours: Annotated[float | None, typer.Option("--max-age-hours", min=0, help="Exit 11 when no run was published within this many hours (a monitoring check).")] = None,
) -> None:
    """The output folder's published runs (as-of date, when, how long, people, selected,
    quarantined rows), its lock and any leftovers of stopped runs."""
    folder = pipeline.status(output)
    stdout.print(render.status_table(folder))
    if max_age_hours is not None:
        pipeline.check_fresh(folder, now=datetime.now(UTC), max_age_hours=max_age_hours)


codelists_app = typer.Typer(help="Show and verify the clinical code lists.", no_args_is_help=True)
app.add_typer(codelists_app, name="codelists")
Folder = Annotated[Path | None, typer.Option("--folder", help="A code-list folder (default: the packaged lists).")]


@codelists_app.command("list")
@_user_errors
def codelists_list(folder: Folder = None) -> None:
    """List the code lists: concept, coding system, match rule, number of codes, release, source."""
    stdout.print(render.codelists_table(pipeline.codelists_list(folder)))
    if folder is None:
        stdout.print("These are the packaged starter lists, not for real data: build a folder from "
                     "current NHS releases with `npc-risk codelists build` (README, 'Using current "
                     "NHS code lists').", highlight=False)


@codelists_app.command("check")
@_user_errors
def codelists_check(folder: Folder = None) -> None:
    """Verify hashes, code formats, duplicates and empty lists against the manifest."""
    n = pipeline.codelists_check(folder)
    stdout.print(f"{n} code lists OK", highlight=False)


@codelists_app.command("import")
@_user_errors
def codelists_import(
    source: Annotated[Path, typer.Argument(help="A downloaded file: an NHS PCD refset cluster CSV or an OpenCodelists CSV.")],
    folder: Annotated[Path, typer.Option("--folder", help="The code-list folder to add the list to (your own copy of the lists, named in [features] codelists).")],
    name: Annotated[str, typer.Option("--name", help="List name, e.g. ltc-heart-failure.snomedct")],
    concept: Annotated[str, typer.Option("--concept", help="The concept the codes define, e.g. heart_failure")],
    fmt: Annotated[str, typer.Option("--format", help="pcd (NHS primary care domain refset cluster) or opencodelists")] = "opencodelists",
    cluster_id: Annotated[str | None, typer.Option("--cluster-id", help="PCD only: the cluster to take, e.g. HF_COD")] = None,
    system: Annotated[str, typer.Option("--system", help="OpenCodelists only: snomedct, icd10 or dmd")] = "snomedct",
    source_name: Annotated[str, typer.Option("--source", help="Where the file came from (recorded in the manifest)")] = "OpenCodelists",
    list_version: Annotated[str | None, typer.Option("--list-version", help="Version recorded in the manifest, e.g. the release date of the download. Default: today's date (the import date).")] = None,
) -> None:
    """Import a PCD refset cluster or an OpenCodelists download as a versioned list + manifest entry."""
    path = pipeline.codelists_import(source=source, folder=folder, name=name, concept=concept,
                                     fmt=fmt, cluster_id=cluster_id, system=system,
                                     source_name=source_name,
                                     version=list_version or date.today().isoformat())
    stdout.print(f"wrote {path}", highlight=False)


@codelists_app.command("build")
@_user_errors
def codelists_build(
    downloads: Annotated[Path, typer.Option("--from", help="Folder of downloaded public lists: OpenCodelists CSV exports and/or NHS PCD refset release files.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="New code-list folder to write; name it in the pipeline TOML as \\[features] codelists.")],
    allow_missing: Annotated[bool, typer.Option("--allow-missing", help="Keep the packaged starter list for a required public list that is not downloaded (said in the manifest).")] = False,
) -> None:
    """Build a code-list folder from the NHS/OpenCodelists lists you downloaded, then check it."""
    result = pipeline.codelists_build(downloads=downloads, output=output, allow_missing=allow_missing)
    stdout.print(render.codelists_build_table(result))
    built = sum(r.status == "public" for r in result.lists)
    stdout.print(f"wrote {result.output}: {built} of {len(result.lists)} lists from public lists",
                 highlight=False)


@app.command()
def version() -> None:
    """Print the package version."""
    stdout.print(__version__)


def main() -> None:  # pragma: no cover - console-script entry point
    app()
