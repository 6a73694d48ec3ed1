"""Ingest: read an extract, quarantine bad rows with a reason, hand on typed accepted tables.

Contract (a test proves it for random dirty inputs): for every table,
`rows read == rows accepted + rows quarantined`. No row is silently dropped and no bad row
crashes the run. A row that breaks several rules is quarantined once, with the first reason in
this order: missing value, unparseable value, invalid value or format, invalid NHS number,
date-order rule, date after the as-of date, unknown reference (patient, practice), duplicate.

How, in one pass per table: every file is read with all columns as text; each contract column is
parsed with a try-cast; a `reason` expression (derived from the pandera model's checks, plus the
rules in schemas/tables.py) names the first rule the row breaks. The annotated rows are written
once to `<work>/ingest/<table>.parquet` (typed values, plus the raw text of quarantined rows
only), and the accepted table is that file filtered on `reason IS NULL`: no second copy.

CSV lines that cannot be split into the header's columns (an unquoted comma in a practice name,
a row cut short, a truncated last line, unbalanced quotes, not UTF-8, longer than 2 MiB) are
read and quarantined too, with the line number: `quarantine/<table>.malformed_lines.parquet`
(line, reason, text), written only when there are any, and counted in the table's report under
reasons starting `malformed line:` (files.read_raw). An integer column takes whole numbers only:
`3.5` and `1e1` are unparseable, not rounded to 4 and 10 (`3.0` is 3).

What stops the run instead (a user error naming file, column and fix): a missing required table
or column, a column named twice, a zero-byte required table, an unreadable file, an unknown table
name. A zero-byte optional table is read as an absent one, with a note in its report.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import ibis
import ibis.expr.types as ir

from npc_risk import files
from npc_risk.adapters import ADAPTERS
from npc_risk.codes.icd10 import SEPARATORS, normalise_icd10_expr
from npc_risk.engine import Engine
from npc_risk.errors import InputFileError, SchemaError
from npc_risk.schemas.tables import (
    APCS_DIAGNOSES,
    TABLES,
    TABLES_BY_NAME,
    TableSpec,
    engine_type,
    staged_schemas,
)

log = logging.getLogger(__name__)

ISO_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9:.+]*)?$"
# A whole number as digits (a sign, and `.0` as pandas writes an integer column holding nulls, are
# allowed). DuckDB's own cast rounds `3.5` to 4 and reads `1e1` as 10, `0x10` as 16 and `1_000` as
# 1000: an IMD decile of 3.5 was accepted as 4 (issue 10, finding 8).
WHOLE_NUMBER = r"^[+-]?[0-9]+(\.0*)?$"
EMPTY_FILE_NOTE = "file is empty (0 bytes): read as an absent optional table"


@dataclass
class TableReport:
    """What ingest did to one table: counts only, never values."""

    table: str
    file: str | None
    rows_read: int = 0
    accepted: int = 0
    quarantined: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    notes: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "table": self.table, "file": self.file, "rows_read": self.rows_read,
            "accepted": self.accepted, "quarantined": self.quarantined,
            "reasons": dict(sorted(self.reasons.items())), "notes": dict(sorted(self.notes.items())),
        }


@dataclass
class IngestResult:
    tables: dict[str, ibis.Table]
    reports: list[TableReport]
    quarantine_dir: Path
    input_files: dict[str, Path]


# ------------------------------------------------------------------------------ column handling
def _columns(spec: TableSpec) -> dict:
    return spec.model.to_schema().columns


def _parse(text: ir.StringValue, target: str) -> ir.Value:
    if target == "string":
        return text
    if target == "date":
        iso = ibis.ifelse(text.re_search(ISO_DATE), text.substr(0, 10), ibis.null("string"))
        return iso.try_cast("date")
    if target == "int64":
        whole = ibis.ifelse(text.re_search(WHOLE_NUMBER), text.re_replace(r"\.0*$", ""), ibis.null("string"))
        return whole.try_cast(target)
    return text.try_cast(target)


def _is_native(source: ir.Value, target: str) -> bool:
    """True when a (typed Parquet) column already has the contract's type."""
    kind = source.type()
    return (
        (target == "date" and kind.is_date())
        or (target == "float64" and (kind.is_floating() or kind.is_integer()))
        or (target == "int64" and kind.is_integer())
    )


# Leading and trailing blanks, as escapes in the pattern: ibis's `strip()` compiles to
# TRIM(' \t\n\r\v\f' FROM x), which Spark reads as the letters v and f ("female" -> "emale";
# ibis issue #11894), and raw \v \f characters in a pattern fail the same way. This is identical
# on both engines (engine-notes.md).
_BLANKS = r"^[ \t\n\r\x0B\x0C]+|[ \t\n\r\x0B\x0C]+$"


def _prepare(source: ir.Value, column) -> ir.Value:
    """A native column as it is; anything else as trimmed text, empty meaning missing."""
    target = engine_type(column)
    if _is_native(source, target):
        return source.cast(target)
    text = source.cast("string")
    # Only a value whose first or last character is a control character or a space can carry
    # blanks to strip, so the regular expression runs on those alone: on every value it was 39 %
    # of the clinical_events ingest query (DuckDB operator profile, 100k city), and ASCII() is
    # about a tenth of its CPU. A false alarm (e.g. a non-ASCII first byte on Spark) only takes
    # the exact path; no value with blanks at either end skips it.
    edge = (text.ascii_str() <= 32) | (text.right(1).ascii_str() <= 32)
    text = ibis.ifelse(edge, text.re_replace(_BLANKS, ""), text).nullif("")
    if (column.metadata or {}).get("strip_spaces"):  # e.g. NHS numbers displayed 3-3-4
        text = text.re_replace(" ", "")
    return text


def _typed(prepared: ir.Value, column) -> ir.Value:
    """The contract-typed value (null when it cannot be parsed)."""
    target = engine_type(column)
    if target == "string":
        return prepared
    value = prepared if _is_native(prepared, target) else _parse(prepared, target)
    if target == "float64":  # NaN and infinity are not measurements
        value = ibis.ifelse(value.isnan() | value.isinf(), ibis.null("float64"), value)
    return value


def _check_failed(value: ir.Value, check) -> ir.BooleanValue:
    """The ibis expression for 'this pandera check fails on this (non-null) value'."""
    stats = check.statistics
    if check.name == "isin":
        return ~value.isin(list(stats["allowed_values"]))
    if check.name == "str_matches":
        return ~value.re_search(stats["pattern"])
    if check.name == "greater_than_or_equal_to":
        return value < stats["min_value"]
    if check.name == "less_than_or_equal_to":
        return value > stats["max_value"]
    raise NotImplementedError(f"ingest has no row rule for pandera check {check.name!r}")


def _check_columns(spec: TableSpec, raw: ir.Table, path: Path) -> ir.Table:
    """Fail on a missing required column; add optional columns that are absent as nulls."""
    present = set(raw.columns)
    missing = []
    additions = {}
    for name, column in _columns(spec).items():
        if name in present:
            continue
        if (column.metadata or {}).get("optional_column"):
            additions[name] = ibis.null("string")
        else:
            missing.append(name)
    if missing:
        # The file's own header is not echoed: a file without a header row would put its first
        # data row (patient values) into the message.
        raise SchemaError(
            f"{path}: required column {missing[0]!r} is missing"
            + (f" (and {len(missing) - 1} more: {', '.join(missing[1:])})" if len(missing) > 1 else "")
            + f"; the file has {len(present)} columns but not these. Check the header row is "
            "present and named as in schemas/data_dictionary.md"
        )
    return raw.mutate(**additions) if additions else raw


def _check_duplicates(raw: files.RawTable, path: Path) -> None:
    """Fail on a column named twice: which copy holds the data is anyone's guess (the reader
    silently took the first). Checked after the required columns are found, so the header is
    known to be a header row and its names are not patient values."""
    duplicates = raw.duplicates()
    if not duplicates:
        return
    name, positions = next(iter(duplicates.items()))
    spelled = sorted({raw.header[p - 1] for p in positions})
    more = f" (and {len(duplicates) - 1} more repeated names)" if len(duplicates) > 1 else ""
    raise InputFileError(
        f"{path}: column {name!r} appears {len(positions)} times in the header (columns "
        f"{', '.join(map(str, positions))}"
        + (f", spelled {', '.join(map(repr, spelled))}; names are compared without case" if len(spelled) > 1 else "")
        + f"){more}; rename or remove the extra copies so that each column is named once"
    )


# ---------------------------------------------------------------------------------- annotation
def annotate(
    engine: Engine, spec: TableSpec, raw: ir.Table, *, as_of: date,
    accepted: Mapping[str, ir.Table],
) -> ir.Table:
    """Typed columns, plus `reason` (null for an accepted row) and `raw_<col>` text columns.

    `accepted` holds the already accepted tables this one references (patients, practices).
    """
    columns = _columns(spec)
    # Two projection layers so each cleaned text and each parsed value is computed once: rules
    # then refer to plain columns. Inlined, TRIM alone ran five times per column and cost more
    # than the rest of ingest on 24M appointment rows.
    prepared = raw.select(**{name: _prepare(raw[name], col) for name, col in columns.items()})
    # `raw_<col>` is the trimmed text, or for a native Parquet column its value as it is: that
    # is only turned into text at the end, for quarantined rows (casting every date of 24M rows
    # to text cost more than all the rules).
    staged = prepared.select(
        **{name: _typed(prepared[name], col) for name, col in columns.items()},
        **{f"raw_{name}": prepared[name] for name in columns},
    )
    # A reference (e.g. patient_id known in patients) as a left join to the distinct keys, not
    # `~x.isin(other.col)` in the projection: Spark ran that as a nested-loop existence join
    # (200k x 50k rows: 85.6 s against 1.0 s as a join; engine-notes.md). Same result on both.
    for i, ref in enumerate(spec.references):
        target = accepted[ref.table]
        keys = target.select(_ref_key=target[ref.target_column]).distinct()
        keys = keys.mutate(**{f"_known_{i}": ibis.literal(True)})
        joined = staged.left_join(keys, staged[ref.column] == keys._ref_key)
        staged = joined.select(*staged.columns, f"_known_{i}")
    typed = {name: staged[name] for name in columns}
    text = {name: staged[f"raw_{name}"] for name in columns}
    failed = {name: text[name].notnull() & typed[name].isnull()
              if engine_type(col) != "string" else None for name, col in columns.items()}

    rules: list[tuple[ir.BooleanValue, str]] = []
    for name, col in columns.items():
        if not col.nullable:
            rules.append((text[name].isnull(), f"missing {name}"))
    for name in columns:
        if failed[name] is not None:
            rules.append((failed[name], f"unparseable {name}"))
    for name, col in columns.items():
        for check in col.checks:
            rules.append((typed[name].notnull() & _check_failed(typed[name], check), f"invalid {name}"))
    for extra in spec.extra_rules:
        value = typed[extra.column]
        rules.append((value.notnull() & ~extra.is_valid(value), extra.reason))
    for rule in spec.order_rules:
        rules.append((typed[rule.later] < typed[rule.earlier], rule.reason))
    for name in spec.not_after_as_of:
        rules.append((typed[name] > ibis.literal(as_of), f"{name} after as-of date"))
    for i, ref in enumerate(spec.references):
        rules.append((typed[ref.column].notnull() & staged[f"_known_{i}"].isnull(), ref.reason))

    reason = ibis.cases(*rules, else_=ibis.null("string")) if rules else ibis.null("string")
    table = staged.select(**typed, reason=reason, **{f"raw_{n}": v for n, v in text.items()})
    if spec.key:
        repeated = staged.group_by(key=text[spec.key]).aggregate(n=staged.count())
        # a small table (the keys seen twice), computed once, as _flag_duplicates reads it twice
        repeated = engine.temp_table("repeated_keys", repeated.filter(repeated.n > 1).select("key"))
        table = _flag_duplicates(table, key=spec.key, columns=list(columns), repeated=repeated)
    # Keep the raw text only where the row is quarantined: accepted rows need their typed values
    # only, and all-null columns cost next to nothing in Parquet.
    return table.mutate(**{
        f"raw_{n}": ibis.ifelse(table.reason.isnull(), ibis.null("string"), table[f"raw_{n}"].cast("string"))
        for n in columns
    })


def _flag_duplicates(table: ir.Table, *, key: str, columns: list[str], repeated: ir.Table) -> ir.Table:
    """Exact duplicate rows: keep one, quarantine the copies. Rows sharing a key but differing
    elsewhere: quarantine all of them, as there is no telling which one is right.

    Only rows whose key appears more than once in the file (`repeated`, a small table) go
    through the window functions; partitioning every row by every column cost more than the
    rest of ingest on 8M outpatient rows.
    """
    # a left join to the (distinct) repeated keys rather than `isin` (see the references above)
    marks = repeated.select(_dup_key=repeated.key, _repeated=ibis.literal(True))
    flagged = table.left_join(marks, table[key] == marks._dup_key).select(*table.columns, "_repeated")
    unique = flagged.filter(flagged._repeated.isnull()).drop("_repeated")
    suspect = flagged.filter(flagged._repeated.notnull()).drop("_repeated")
    return unique.union(_flag_repeated(suspect, key=key, columns=columns))


def _flag_repeated(table: ir.Table, *, key: str, columns: list[str]) -> ir.Table:
    ok = table.reason.isnull()
    # Copies are numbered among rows that passed every other rule, so a valid row is never
    # called the copy of a quarantined one.
    copy_number = ibis.row_number().over(group_by=[ok, *(table[c] for c in columns)])
    table = table.mutate(
        reason=ibis.ifelse(ok & (copy_number > 0), "duplicate row", table.reason)
    )
    ok = table.reason.isnull()
    versions = ibis.ifelse(ok, 1, 0).sum().over(group_by=table[key])
    return table.mutate(
        reason=ibis.ifelse(ok & (versions > 1), f"duplicated {key} with conflicting values", table.reason)
    )


# --------------------------------------------------------------------------------------- ingest
def _resolve_files(input_dir: Path) -> dict[str, tuple[Path, Callable | None]]:
    found = files.extract_files(input_dir)
    resolved: dict[str, tuple[Path, Callable | None]] = {}
    for name, path in found.items():
        if name in TABLES_BY_NAME:
            target, adapter = name, None
        elif name in ADAPTERS:
            target, adapter = ADAPTERS[name]
        else:
            known = ", ".join([s.name for s in TABLES] + sorted(ADAPTERS))
            raise InputFileError(
                f"{path}: unknown table {name!r}; expected one of: {known}. "
                "Rename the file or move it out of the extract folder"
            )
        if target in resolved:
            raise InputFileError(
                f"{path}: table {target!r} is given twice ({resolved[target][0].name} and "
                f"{path.name}); keep one file per table"
            )
        resolved[target] = (path, adapter)
    for spec in TABLES:
        if spec.required and spec.name not in resolved:
            raise InputFileError(
                f"{Path(input_dir) / spec.name}.parquet: required table {spec.name!r} not found "
                f"in {input_dir}; add {spec.name}.parquet or {spec.name}.csv to the extract"
            )
        if spec.required and files.is_empty(resolved[spec.name][0]):
            raise InputFileError(
                f"{resolved[spec.name][0]}: required table {spec.name!r} is an empty file (0 bytes); "
                "export it again (a table with no rows still needs its header row)"
            )
    return resolved


def _empty(spec: TableSpec) -> ir.Table:
    schema = ibis.schema(staged_schemas()[spec.name])
    return ibis.memtable(schema.to_pyarrow().empty_table())


def ingest_extract(
    engine: Engine, input_dir: Path, *, as_of: date, work_dir: Path
) -> IngestResult:
    """Validate every table of an extract folder and return the accepted tables.

    Writes `<work_dir>/ingest/<table>.parquet` (annotated rows) and
    `<work_dir>/quarantine/<table>.parquet` (raw values + reason) for each table present, and
    `<work_dir>/quarantine/<table>.malformed_lines.parquet` (line, reason, text) for a CSV with
    lines that could not be split into its columns.
    """
    resolved = _resolve_files(Path(input_dir))
    ingest_dir = files.private_dir(Path(work_dir) / "ingest")
    quarantine_dir = files.private_dir(Path(work_dir) / "quarantine")
    tables: dict[str, ir.Table] = {}
    reports: list[TableReport] = []
    for spec in TABLES:
        if spec.name not in resolved:
            tables[spec.name] = _empty(spec)
            reports.append(TableReport(spec.name, None))
            continue
        path, adapter = resolved[spec.name]
        if files.is_empty(path):  # optional: a required one has failed in _resolve_files
            tables[spec.name] = _empty(spec)
            reports.append(TableReport(spec.name, path.name, notes={EMPTY_FILE_NOTE: 1}))
            log.info("ingest %s: %s is empty (0 bytes), read as an absent optional table", spec.name, path.name)
            continue
        read = files.read_raw(engine, path, name=spec.name, scratch=ingest_dir, expected=_columns(spec))
        raw = adapter(read.table, path) if adapter is not None else read.table
        raw = _check_columns(spec, raw, path)
        _check_duplicates(read, path)
        # Spark: the repeated-keys table annotate caches reads the raw file that `read.discard()`
        # deletes below; released here, once written, so no later plan of this engine (a second
        # ingest on the same session) is answered from a cache over a deleted file.
        with engine.scope():
            annotated = annotate(engine, spec, raw, as_of=as_of, accepted=tables)
            try:
                written = files.write_parquet(annotated, ingest_dir / f"{spec.name}.parquet", compression="snappy")
            except files.read_errors() as exc:  # the engine's message may quote a data line
                raise InputFileError(
                    f"{path}: cannot be read ({type(exc).__name__}); check the file is complete and "
                    "well formed (UTF-8 CSV with a header row, or valid Parquet)"
                ) from None
        stored = files.open_parquet(engine, written)
        columns = list(_columns(spec))
        tables[spec.name] = stored.filter(stored.reason.isnull()).select(*columns)
        quarantined = stored.filter(stored.reason.notnull())
        # Ordered by every column so a rerun writes byte-identical quarantine files.
        files.write_parquet(
            quarantined.select(reason=quarantined.reason,
                               **{c: quarantined[f"raw_{c}"] for c in columns}).order_by(["reason", *columns]),
            quarantine_dir / f"{spec.name}.parquet",
        )
        if read.malformed is not None:
            files.write_parquet(read.malformed.order_by("line"),
                                quarantine_dir / f"{spec.name}.malformed_lines.parquet")
        read.discard()
        reports.append(_report(spec.name, path, stored, malformed=read.malformed_counts))
    tables["apcs_diagnoses"], invalid_tokens = _apcs_diagnoses(engine, tables["apcs"], ingest_dir)
    apcs_report = next(r for r in reports if r.table == "apcs")
    apcs_report.notes["diagnosis tokens not valid ICD-10 (dropped)"] = invalid_tokens
    return IngestResult(tables, reports, quarantine_dir, {k: v[0] for k, v in resolved.items()})


class ContractViolation(AssertionError):
    """Accepted rows broke the pandera contract: a bug in ingest's rules, not a data problem."""


# The run re-checks at most about this many accepted rows of a table against its pandera model
# (assert_contract); a larger table is checked on a deterministic sample of its people.
CONTRACT_FULL_ROWS = 250_000


def assert_contract(tables: Mapping[str, ir.Table], accepted: Mapping[str, int], *,
                    engine: Engine | None = None, full_rows: int | None = CONTRACT_FULL_ROWS) -> None:
    """Validate the accepted tables against their pandera models (lazily, all checks at once).

    `accepted`: the tables to check (those with accepted rows) and how many rows each has.
    Ingest's quarantine rules are derived from these same models (`_check_failed` turns every
    pandera check into a rule, and refuses a check it does not know), so this should never
    fail; it guards the derivation. What proves the derivation is the generative test
    (tests/generative/test_ingest_property.py), which checks every accepted row of random dirty
    extracts against the full contract on every engine. At run time the guard is kept cheap:
    a table of more than `full_rows` accepted rows is checked on the rows of a deterministic
    1-in-k sample of its people (hash of patient_id, k = ceil(rows / full_rows)), materialised
    once on `engine`, so pandera's dozens of queries read that sample, not 80M rows (the full
    re-check was 13 s of a 56 s ingest at 1M people). A systematic derivation bug (a rule
    missing or wrong for some value) shows in any large sample; `full_rows=None` checks every
    row. pandera's own message carries failure-case values (patient data), so only the check
    names and counts are raised.
    """
    import pandas.errors  # noqa: PLC0415
    import pandera.errors  # noqa: PLC0415

    for spec in TABLES:
        if spec.name not in accepted:  # absent, or nothing accepted: nothing to check
            continue
        table = tables[spec.name]
        rows = accepted[spec.name]
        if full_rows is not None and rows > full_rows and "patient_id" in table.columns:
            k = -(-rows // full_rows)
            table = table.filter(table.patient_id.hash() % k == 0)
            if engine is not None:
                table = engine.temp_table(f"contract_{spec.name}", table)
        try:
            with warnings.catch_warnings():
                # pandera 0.35's ibis str_matches sets pandas' deprecated `future.infer_string`
                # option; under warnings-as-errors that surfaces as a failed check, not a warning.
                warnings.simplefilter("ignore", pandas.errors.Pandas4Warning)
                spec.model.validate(table, lazy=True)
        except pandera.errors.SchemaErrors as exc:
            cases = exc.failure_cases
            summary = cases.groupby(["column", "check"]).size().to_dict()
            raise ContractViolation(
                f"accepted {spec.name} rows break the contract: "
                + ", ".join(f"{col}/{check}: {n}" for (col, check), n in sorted(summary.items()))
            ) from None


def _report(name: str, path: Path, stored: ir.Table, *, malformed: Mapping[str, int]) -> TableReport:
    """Counts per reason; `malformed` (CSV lines that could not be split into columns) are read
    and quarantined rows like any other."""
    counts = stored.group_by("reason").aggregate(n=stored.count()).to_pyarrow().to_pylist()
    report = TableReport(name, path.name)
    report.reasons.update(malformed)
    for row in counts:
        if row["reason"] is None:
            report.accepted = row["n"]
        else:
            report.reasons[row["reason"]] = report.reasons.get(row["reason"], 0) + row["n"]
    report.quarantined = sum(report.reasons.values())
    report.rows_read = report.accepted + report.quarantined
    log.info("ingest %s: %s rows read, %s accepted, %s quarantined",
             name, f"{report.rows_read:,}", f"{report.accepted:,}", f"{report.quarantined:,}")
    return report


def _apcs_diagnoses(engine: Engine, apcs: ir.Table, ingest_dir: Path) -> tuple[ir.Table, int]:
    """One row per (spell, diagnosis position) with the canonical ICD-10 code.

    Position 0 is the primary diagnosis; secondary codes follow in the order written. Tokens that
    are not ICD-10 codes are counted and dropped (nhs-data-conventions.md §2.2 step 5): a spell
    is never lost because one of its codes is malformed.
    """
    base = ["spell_id", "patient_id", "admission_date", "discharge_date", "admission_method"]
    primary = apcs.filter(apcs.primary_diagnosis.notnull()).select(
        *base, position=ibis.literal(0, "int64"), token=apcs.primary_diagnosis
    )
    split = apcs.filter(apcs.secondary_diagnoses.notnull()).select(
        *base, tokens=apcs.secondary_diagnoses.re_replace(f"^{SEPARATORS}", "").re_split(SEPARATORS)
    ).unnest("tokens", offset="offset")
    split = split.filter(split.tokens != "")
    secondary = split.select(*base, position=(split.offset + 1).cast("int64"), token=split.tokens)
    tokens = primary.union(secondary)
    # normalised once into a cached table: the count of invalid tokens and the written rows both
    # read it (computing the split and the regular expressions twice cost ~2 s at 1M spells)
    tokens = engine.cache(tokens.mutate(icd10_code=normalise_icd10_expr(tokens.token)))
    invalid = engine.count(tokens.filter(tokens.icd10_code.isnull()))
    valid = tokens.filter(tokens.icd10_code.notnull())
    valid = valid.mutate(icd10_code3=valid.icd10_code.substr(0, 3)).select(*APCS_DIAGNOSES)
    path = files.write_parquet(valid, ingest_dir / "apcs_diagnoses.parquet", compression="snappy")
    engine.release(tokens)
    return files.open_parquet(engine, path), invalid
