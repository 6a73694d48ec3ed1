"""The steps of the nightly run, as plain functions over ibis tables (no CLI, no clock).

`pipeline.run_pipeline` strings them together; each step returns its outputs and the counts
it logs and records in the manifest (counts only, never values).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa

from npc_risk import io
from npc_risk.codelists import CodelistSet
from npc_risk.config import PipelineConfig
from npc_risk.features import FeatureResult, derive_features
from npc_risk.risk import (
    TrainedModel,
    emergency_admission_label,
    explain_people,
    score_people,
    train_model,
)

log = logging.getLogger(__name__)

YEAR = timedelta(days=365)


@dataclass
class Features:
    """The feature step's materialised outputs for one as-of date."""

    as_of: date
    person: ir.Table  # read back from Parquet: computed once, read many times
    evidence: ir.Table
    unmatched: list[dict]
    ltc_columns: tuple[str, ...]
    efi_columns: tuple[str, ...]


def features_as_of(
    con: ibis.BaseBackend, tables: dict[str, ir.Table], *, as_of: date, codelists: CodelistSet,
    config: PipelineConfig, work_dir: Path, with_evidence: bool = True,
) -> Features:
    """Derive features as of `as_of` and write them once to the work folder."""
    result: FeatureResult = derive_features(tables, as_of=as_of, codelists=codelists, config=config.features)
    folder = io.private_dir(Path(work_dir) / f"features-{as_of.isoformat()}")
    # work-folder files: snappy (faster to write and read than the published outputs' zstd)
    person = io.open_parquet(con, io.write_parquet(result.person, folder / "person.parquet",
                                                   compression="snappy"))
    if with_evidence:
        evidence = io.open_parquet(con, io.write_parquet(result.evidence, folder / "evidence.parquet",
                                                         compression="snappy"))
    else:
        evidence = result.evidence
    unmatched = result.unmatched.to_pyarrow().to_pylist()
    return Features(as_of, person, evidence, unmatched, result.ltc_columns, result.efi_columns)


def labelled_frame(features: Features, apcs: ir.Table) -> tuple[pd.DataFrame, pd.Series]:
    """The feature frame as of T with its outcome: an emergency admission in (T, T + 365 d]."""
    labels = emergency_admission_label(apcs, start=features.as_of)
    person = features.person
    joined = person.left_join(labels, person.patient_id == labels.patient_id).select(
        person, label=labels.label.fill_null(0).cast("int8")
    ).order_by("patient_id")
    frame = joined.to_pyarrow().to_pandas()
    return frame.drop(columns=["label"]), frame["label"]


def train_on_history(
    con: ibis.BaseBackend, tables: dict[str, ir.Table], *, as_of: date, codelists: CodelistSet,
    config: PipelineConfig, work_dir: Path,
) -> TrainedModel:
    """Temporal split on the extract's own history (clinical-definitions.md §6.3).

    Train: features as of T - 730 d, labels in (T - 730 d, T - 365 d].
    Evaluate: features as of T - 365 d, labels in (T - 365 d, T] (a later, unseen window).
    Every feature reads only data dated on or before its own as-of date, so no label window
    leaks into the features that predict it.
    """
    train_at, eval_at = as_of - 2 * YEAR, as_of - YEAR
    train = features_as_of(con, tables, as_of=train_at, codelists=codelists, config=config,
                           work_dir=work_dir, with_evidence=False)
    evaluate = features_as_of(con, tables, as_of=eval_at, codelists=codelists, config=config,
                              work_dir=work_dir, with_evidence=False)
    train_x, train_y = labelled_frame(train, tables["apcs"])
    eval_x, eval_y = labelled_frame(evaluate, tables["apcs"])
    window = {
        "train_features_as_of": train_at, "train_label_window": f"({train_at}, {eval_at}]",
        "eval_features_as_of": eval_at, "eval_label_window": f"({eval_at}, {as_of}]",
    }
    log.info("train: %s people (base rate %.3f), evaluate: %s people (base rate %.3f)",
             f"{len(train_x):,}", float(train_y.mean()), f"{len(eval_x):,}", float(eval_y.mean()))
    return train_model(train_x, train_y, eval_x, eval_y, config=config.risk, training_window=window)


def score(person: ir.Table, *, config: PipelineConfig, model: TrainedModel | None) -> pa.Table:
    """Risk score per person (patient_id, risk_score), ordered by patient_id."""
    frame = person.order_by("patient_id").to_pyarrow().to_pandas()
    scores = score_people(frame, config=config.risk, model=model)
    return pa.table({"patient_id": frame["patient_id"].to_numpy(),
                     "risk_score": scores.to_numpy(dtype="float64")})


def drivers(person: ir.Table, patient_ids: ir.Table, *, config: PipelineConfig,
            model: TrainedModel | None) -> pa.Table:
    """Plain-words drivers ("; "-joined) for the given people (the selected cohort)."""
    chosen = person.semi_join(patient_ids, "patient_id").order_by("patient_id")
    frame = chosen.to_pyarrow().to_pandas()
    explained = explain_people(frame, config=config.risk, model=model)
    words = [c for c in explained.columns if c.startswith("driver_") and not c.endswith("_group")]
    words.sort(key=lambda name: int(name.rsplit("_", 1)[1]))  # driver_2 before driver_10
    text = explained[words].apply(lambda col: col.fillna(""))
    joined = text.iloc[:, 0].str.cat(text.iloc[:, 1:], sep="; ") if len(words) > 1 else text.iloc[:, 0]
    joined = joined.str.replace(r"(; )+$", "", regex=True).str.replace(r"^(; )+", "", regex=True)
    return pa.table({"patient_id": pa.array(frame["patient_id"].to_numpy(), pa.string()),
                     "drivers": pa.array(joined.to_numpy(), pa.string())})
