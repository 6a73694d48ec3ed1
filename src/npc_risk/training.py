"""Training the admission model on the extract's own history (temporal split).

clinical-definitions.md §6.3:
* train: features as of T - 730 d, labels in (T - 730 d, T - 365 d];
* evaluate: features as of T - 365 d, labels in (T - 365 d, T] (a later, unseen window).

Every feature reads only data dated on or before its own as-of date, and `train_model` refuses
(risk.labels.check_training_window) any label window that starts before its features' date, so
no label leaks into its predictors.

Bounded memory: a window of more than `[risk] training_max_people` people is fitted (or
evaluated) on a systematic sample, every k-th person in patient_id order with
k = ceil(people / training_max_people), taken from the engine's sorted stream a batch at a time,
so the frames in memory never exceed the cap whatever the population (issue 14: 3.6 GB per
million people in the frames and the fit, so a 5M-person ICB would need 18 GB). patient_id is a
pseudonym, so the order carries no clinical meaning and the sample is unbiased; it is the same on
every engine (no engine hash) and on every rerun. A million people hold ~85,000 outcomes at the
synthetic base rate, far more than a 15-leaf boosted model needs. The card records k.
"""

from __future__ import annotations

import logging
import time
from datetime import date
from pathlib import Path

import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa

from npc_risk import steps
from npc_risk.codelists import CodelistSet
from npc_risk.config import PipelineConfig
from npc_risk.definition import outcome, outcome_text
from npc_risk.engine import Engine, record_batches
from npc_risk.risk import TrainedModel, train_model, training_windows

log = logging.getLogger(__name__)


def labelled_frame(engine: Engine, features: steps.Features, apcs: ir.Table, *,
                   config: PipelineConfig, every: int = 1) -> tuple[pd.DataFrame, np.ndarray]:
    """The feature frame as of T, ordered by patient_id, and its outcome in (T, T + 365 d] as a
    0/1 int8 array row for row; with `every` = k > 1, only every k-th person (module docstring).

    DuckDB does the join; the Arrow result becomes pandas with `self_destruct` (each column's
    Arrow buffers are released as pandas takes it over), so the frame is not held twice, and the
    label leaves as an int8 array instead of a column to drop (a copy of the frame).
    """
    labels = outcome(config.pipeline.outcome)(apcs, start=features.as_of)
    person = features.person
    joined = person.left_join(labels, person.patient_id == labels.patient_id).select(
        person, label=labels.label.fill_null(0).cast("int8")
    ).order_by("patient_id")
    arrow = engine.to_arrow(joined) if every == 1 else systematic_sample(joined, every)
    label = arrow.column("label").to_numpy().astype("int8")
    table = arrow.drop_columns(["label"])
    del arrow
    frame = table.to_pandas(self_destruct=True, split_blocks=True)
    del table
    return frame, label


def systematic_sample(table: ir.Table, every: int) -> pa.Table:
    """Rows 0, k, 2k, ... of an ordered expression, read from the engine a batch at a time (only
    the kept rows are held)."""
    kept, seen = [], 0
    with record_batches(table) as stream:
        for batch in stream:
            first = -seen % every  # the first row of this batch whose overall position is a multiple of k
            kept.append(batch.take(pa.array(np.arange(first, batch.num_rows, every))))
            seen += batch.num_rows
        return pa.Table.from_batches(kept, schema=stream.schema)


def sample_step(people: int, cap: int) -> int:
    """k: keep every k-th of `people` so that at most `cap` remain (1 = everyone)."""
    return max(1, -(-people // cap))


def train_on_history(
    engine: Engine, tables: dict[str, ir.Table], *, as_of: date, codelists: CodelistSet,
    config: PipelineConfig, work_dir: Path,
) -> TrainedModel:
    """Fit and evaluate the model on the two windows before `as_of` (module docstring)."""
    window = training_windows(as_of)
    train_at, eval_at = window["train_features_as_of"], window["eval_features_as_of"]
    log.info("training on the history before %s", as_of)
    frames = []
    for part, at in (("train", train_at), ("eval", eval_at)):
        started = time.perf_counter()
        found = steps.features(engine, tables, as_of=at, codelists=codelists, config=config,
                               work_dir=work_dir, with_evidence=False)
        log.info("phase features %s: %.1f s", at, time.perf_counter() - started)
        started = time.perf_counter()
        every = sample_step(engine.count(found.person), config.risk.training_max_people)
        if every > 1:
            window[f"{part}_sample_every"] = every
            log.info("%s window: 1 person in every %d, in patient_id order ([risk] training_max_people = %s)",
                     part, every, f"{config.risk.training_max_people:,}")
        frames.append(labelled_frame(engine, found, tables["apcs"], config=config, every=every))
        log.info("phase labelled frame %s: %.1f s", at, time.perf_counter() - started)
    (train_x, train_y), (eval_x, eval_y) = frames
    log.info("train: %s people (base rate %.3f), evaluate: %s people (base rate %.3f)",
             f"{len(train_x):,}", float(train_y.mean()), f"{len(eval_x):,}", float(eval_y.mean()))
    model = train_model(train_x, train_y, eval_x, eval_y, config=config.risk, training_window=window)
    text = outcome_text(config.pipeline.outcome)  # a condition pipeline's outcome, in the card's words
    if text:
        model.card["outcome"] = text
    return model
