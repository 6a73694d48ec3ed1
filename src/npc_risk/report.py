"""Human-readable renderings of run reports (counts only, never patient values)."""

from __future__ import annotations

from collections.abc import Iterable

from rich.table import Table

from npc_risk.ingest import TableReport


def ingest_table(reports: Iterable[TableReport]) -> Table:
    """Per table: file, rows read, accepted, quarantined."""
    table = Table(title="Ingest: rows per table", title_justify="left")
    for name, justify in (("table", "left"), ("file", "left"), ("read", "right"),
                          ("accepted", "right"), ("quarantined", "right")):
        table.add_column(name, justify=justify, no_wrap=True)
    for report in reports:
        if report.file is None:
            table.add_row(report.table, "(absent, optional)", "0", "0", "0")
        else:
            table.add_row(report.table, report.file, f"{report.rows_read:,}",
                          f"{report.accepted:,}", f"{report.quarantined:,}")
    return table


def quarantine_table(reports: Iterable[TableReport]) -> Table:
    """Per table and reason: rows quarantined, plus data-quality notes (e.g. dropped tokens)."""
    table = Table(title="Ingest: quarantine reasons and notes", title_justify="left")
    table.add_column("table", no_wrap=True)
    table.add_column("reason")
    table.add_column("rows", justify="right", no_wrap=True)
    for report in reports:
        for reason, n in sorted(report.reasons.items()):
            table.add_row(report.table, reason, f"{n:,}")
        for note, n in sorted(report.notes.items()):
            table.add_row(report.table, f"note: {note}", f"{n:,}")
    return table
