"""The five steps of a run, each a plain function over the engine's tables (no CLI, no clock).

`run.nightly_run` calls them in order. Each returns what it built and `counts`: the numbers it
logs and records in the manifest (counts only, never values).

| step | in | out |
|---|---|---|
| `ingest` | extract folder | accepted tables, per-table reports, quarantine folder |
| `features` | accepted tables | person table (Parquet in the work folder), evidence, unmatched |
| `score` | person table, model | risk score per person |
| `select` | scored people | ranked people, cohort, neighbourhood report, planning statistics |
| `publish` (publish.publish_run) | all of the above | `OUTPUT/<as-of>/`, atomically |
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from npc_risk import files
from npc_risk.codelists import CodelistSet
from npc_risk.config import PipelineConfig
from npc_risk.definition import feature_set, population
from npc_risk.engine import Engine
from npc_risk.errors import InputFileError
from npc_risk.ingest import IngestResult, assert_contract, ingest_extract
from npc_risk.risk import TrainedModel, explain_people, score_people

log = logging.getLogger(__name__)


# ----------------------------------------------------------------------------------- ingest
def ingest(engine: Engine, *, input_dir: Path, as_of: date, work_dir: Path) -> IngestResult:
    """Validate and stage the extract, then assert the pandera contract on every accepted table
    (ingest's rules are derived from the contract; this guards the derivation).

    A table with no accepted rows (a header-only opt-outs file in a month nobody opted out, or
    every row quarantined) has nothing to check, and is not checked: pandera's ibis backend
    reports `not_nullable` on an empty table (issue 10, finding 1). The run goes on with the
    empty table, except for patients: with no accepted patient there is nobody to score, so
    that is an InputFileError (exit 3) with the counts and the reasons.
    """
    result = ingest_extract(engine, Path(input_dir), as_of=as_of, work_dir=work_dir)
    reports = {r.table: r for r in result.reports}
    people = reports["patients"]
    if people.accepted == 0:
        reasons = ", ".join(f"{reason}: {n:,}" for reason, n in sorted(people.reasons.items()))
        raise InputFileError(
            f"{result.input_files['patients']}: no patient rows accepted ({people.rows_read:,} "
            f"read{'; quarantined ' + reasons if reasons else ''}); a run needs at least one "
            "valid patient. Run `npc-risk validate` on the extract for the quarantined rows"
        )
    checked = {name: reports[name].accepted for name in result.input_files if reports[name].accepted > 0}
    assert_contract(result.tables, checked, engine=engine)
    return result


def ingest_counts(result: IngestResult) -> dict[str, int]:
    return {"rows_read": sum(r.rows_read for r in result.reports),
            "quarantined": sum(r.quarantined for r in result.reports)}


# --------------------------------------------------------------------------------- features
@dataclass
class Features:
    """The feature step's outputs for one as-of date, read back from the work folder."""

    as_of: date
    person: ir.Table
    evidence: ir.Table | None
    unmatched: list[dict]
    counts: dict[str, int] = field(default_factory=dict)


def features(
    engine: Engine, tables: dict[str, ir.Table], *, as_of: date, codelists: CodelistSet,
    config: PipelineConfig, work_dir: Path, with_evidence: bool = True,
) -> Features:
    """Derive the pipeline's feature sets as of `as_of` and write them once to the work folder.

    The first feature set gives one row per person of the population; each further set adds its
    columns on patient_id. The engine's cached intermediates are released once the files exist.
    """
    folder = files.private_dir(Path(work_dir) / f"features-{as_of.isoformat()}")
    with engine.scope():
        people = population(config.pipeline.population)
        sets = [feature_set(name)(engine, tables, as_of=as_of, codelists=codelists,
                                  config=config.features, population=people)
                for name in config.pipeline.feature_sets]
        person = sets[0].person
        for extra in sets[1:]:
            person = person.left_join(extra.person, "patient_id").drop("patient_id_right")
        # work-folder files: snappy (faster to write and read than the published outputs' zstd)
        person_path = files.write_parquet(person, folder / "person.parquet", compression="snappy")
        evidence_path = None
        if with_evidence:
            evidence = ibis.union(*(s.evidence for s in sets))
            evidence_path = files.write_parquet(evidence, folder / "evidence.parquet",
                                             compression="snappy")
        unmatched = [row for s in sets for row in engine.to_arrow(s.unmatched).to_pylist()]
    person = files.open_parquet(engine, person_path)
    evidence = files.open_parquet(engine, evidence_path) if evidence_path else None
    counts = {"population": engine.count(person)}
    if evidence is not None:
        counts["evidence_rows"] = engine.count(evidence)
    return Features(as_of, person, evidence, unmatched, counts)


# ------------------------------------------------------------------------------------ score
def score(engine: Engine, person: ir.Table, *, config: PipelineConfig,
          model: TrainedModel | None) -> ir.Table:
    """Risk score per person (patient_id, risk_score) as a table on the engine.

    The model (scikit-learn) is applied a batch of people at a time where the data are
    (`Engine.map_batches`: Spark's executors, or batches streamed from DuckDB), never to the
    whole feature table in one process; every score depends on its own row only."""
    def scored(batch: pa.RecordBatch) -> pa.RecordBatch:
        scores = score_people(batch.to_pandas(), config=config.risk, model=model)
        return pa.record_batch([batch.column("patient_id").cast(pa.string()),
                                pa.array(scores.to_numpy(dtype="float64"), pa.float64())],
                               schema=SCORES)

    return engine.map_batches(person, scored, SCORES)


# The score step's table (one row per person).
SCORES = pa.schema([("patient_id", pa.string()), ("risk_score", pa.float64())])


def drivers(engine: Engine, person: ir.Table, patient_ids: ir.Table, *, config: PipelineConfig,
            model: TrainedModel | None) -> ir.Table:
    """Plain-words drivers ("; "-joined) for the given people (the selected cohort), as a
    table (patient_id, drivers) on the engine."""
    chosen = person.semi_join(patient_ids, "patient_id").order_by("patient_id")
    frame = engine.to_arrow(chosen).to_pandas()
    explained = explain_people(frame, config=config.risk, model=model)
    words = [c for c in explained.columns if c.startswith("driver_") and not c.endswith("_group")]
    words.sort(key=lambda name: int(name.rsplit("_", 1)[1]))  # driver_2 before driver_10
    text = explained[words].apply(lambda col: col.fillna(""))
    joined = text.iloc[:, 0].str.cat(text.iloc[:, 1:], sep="; ") if len(words) > 1 else text.iloc[:, 0]
    joined = joined.str.replace(r"(; )+$", "", regex=True).str.replace(r"^(; )+", "", regex=True)
    arrow = pa.table({"patient_id": pa.array(frame["patient_id"].to_numpy(), pa.string()),
                      "drivers": pa.array(joined.to_numpy(), pa.string())})
    return engine.temp_table("drivers", arrow)
