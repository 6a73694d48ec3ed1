"""The `npc-risk` command line: typer options, logging set-up, and user errors -> exit codes.

No logic lives here: each command parses its options and calls one function in pipeline.py.
A user error (npc_risk.errors.NpcRiskError) prints one line and exits with its class's code;
anything else is a bug and keeps its traceback (without local variables, which could hold
patient data).
"""

from __future__ import annotations

import functools
import logging
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from npc_risk import __version__, pipeline, report
from npc_risk.errors import NpcRiskError

app = typer.Typer(
    name="npc-risk",
    help="Population risk stratification for neighbourhood proactive care (nightly batch).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
stdout = Console()
stderr = Console(stderr=True)

AsOf = Annotated[datetime, typer.Option("--as-of", formats=["%Y-%m-%d"], help="The as-of date (YYYY-MM-DD): every look-back ends here; nothing after it is used.")]
Input = Annotated[Path, typer.Option("--input", "-i", help="Extract folder: one <table>.parquet or <table>.csv per table.")]
Output = Annotated[Path, typer.Option("--output", "-o", help="Output folder.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Only warnings and errors on stderr (for cron).")]


def _logging(quiet: bool) -> None:
    logging.basicConfig(
        level=logging.WARNING if quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
        force=True,
    )


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
    quiet: Quiet = False,
) -> None:
    """Check an extract against the data contract and print a per-table report.

    Bad rows go to OUTPUT/validation/quarantine/<table>.parquet with a reason column; the report
    is also written to OUTPUT/validation/report.json.
    """
    _logging(quiet)
    result = pipeline.validate_extract(input_dir=input_dir, output_dir=output, as_of=_date(as_of))
    stdout.print(report.ingest_table(result.reports))
    stdout.print(report.quarantine_table(result.reports))
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
def version() -> None:
    """Print the package version."""
    stdout.print(__version__)


def main() -> None:  # pragma: no cover - console-script entry point
    app()
