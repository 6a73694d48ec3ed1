"""The outcome: any emergency admission in the 12 months after the index date.

clinical-definitions.md §5 [D]: >= 1 hospital provider spell with admission method in
{21, 22, 23, 24, 25, 2A, 2D, 28} and admission date in (start, start + days]. Which spells are
emergency admissions is `admissions.is_emergency_admission` (the one definition, also used by
the utilisation features); the code set is data (`data/risk/emergency_admission_methods.csv`).

Traps, each pinned by a spec test:
* The window is open at the start: an admission ON the index date belongs to the feature window
  (features use data dated <= T), so counting it here would be leakage.
* 2B (emergency transfer) would double-count one illness; 2C is a birth. Both are excluded. Legacy
  28 is included although it may hide transfers and births (the data dictionary says so).
* People with no spell are absent from the APCS table. Pass `population` to get a 0 for them;
  without it only patients with some spell are returned.
* A death in the window without an admission is label 0 (competing outcome, not modelled).
* Leakage guard: `training_windows(as_of)` builds the temporal split and every training checks
  its window with `check_training_window` (`model.train_model` calls it), so a label window that
  starts before its features' as-of date raises ModelError instead of training on the future.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

import ibis

from npc_risk.admissions import is_emergency_admission
from npc_risk.errors import ModelError


def label_window(start: date, days: int = 365) -> tuple[date, date]:
    """(exclusive start, inclusive end) of the label window."""
    if days <= 0:
        raise ValueError(f"label window must be at least one day, got {days}")
    return start, start + timedelta(days=days)


def check_windows(*, features_as_of: date, label_start: date) -> None:
    """Refuse a label window that begins before the features' as-of date (leakage).

    The pipeline trains on features as of T - 365 d with labels in (T - 365 d, T], and evaluates
    on features as of T with labels after T (when those are known). Either way the label window
    must start exactly at, or after, the date the features were computed for.
    """
    if label_start < features_as_of:
        raise ModelError(
            f"label window starts {label_start} but features are as of {features_as_of}: the "
            "label would overlap the feature look-back; start the label window at the as-of date"
        )


@dataclass(frozen=True)
class LabelWindow:
    """The label window (start, end]: an admission on `start` is a feature, one on `end` a label.

    Written as "(start, end]" (its `str`), the form the model card records.
    """

    start: date
    end: date

    def __str__(self) -> str:
        return f"({self.start}, {self.end}]"


def training_windows(as_of: date, days: int = 365) -> dict[str, date | LabelWindow]:
    """The temporal split on the extract's history before `as_of` (clinical-definitions §6.3).

    Train: features as of T - 2 x days, labels in (T - 2 x days, T - days]; evaluate: features as
    of T - days, labels in (T - days, T] (a later, unseen window). Keys as in the model card:
    train_features_as_of, train_label_window, eval_features_as_of, eval_label_window.
    """
    step = timedelta(days=days)
    train_at, eval_at = as_of - 2 * step, as_of - step
    window = {"train_features_as_of": train_at, "train_label_window": LabelWindow(train_at, eval_at),
              "eval_features_as_of": eval_at, "eval_label_window": LabelWindow(eval_at, as_of)}
    check_training_window(window)
    return window


_WRITTEN = re.compile(r"\((\d{4}-\d{2}-\d{2}), (\d{4}-\d{2}-\d{2})\]")


def _label_start(value) -> date:
    if isinstance(value, LabelWindow):
        return value.start
    if isinstance(value, tuple) and len(value) == 2:
        return _as_date(value[0])
    written = _WRITTEN.fullmatch(str(value).strip())
    if written is None:
        raise ModelError(f"label window {value!r} is not (start, end] with ISO dates")
    return date.fromisoformat(written.group(1))


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def check_training_window(window: Mapping) -> None:
    """`check_windows` on the training and the evaluation pair of a training window.

    `window` has train_features_as_of / train_label_window and eval_features_as_of /
    eval_label_window (as built by `training_windows`; a label window may also be given as its
    "(start, end]" text or a (start, end) pair). A missing pair is a ModelError: a training
    whose windows are unknown cannot be shown not to leak.
    """
    for part in ("train", "eval"):
        keys = (f"{part}_features_as_of", f"{part}_label_window")
        missing = [k for k in keys if k not in window]
        if missing:
            raise ModelError(f"training window lacks {', '.join(missing)}; build it with "
                             "risk.labels.training_windows(as_of) so the leakage check can run")
        check_windows(features_as_of=_as_date(window[keys[0]]), label_start=_label_start(window[keys[1]]))


def emergency_admission_label(
    apcs: ibis.Table,
    *,
    start: date,
    days: int = 365,
    population: ibis.Table | None = None,
    methods: tuple[str, ...] | None = None,
) -> ibis.Table:
    """ibis expression (patient_id string, label int8 0/1), one row per person.

    apcs: the staged `apcs` table (spell level; admission_method upper case, as staged).
    population: optional table with `patient_id`; when given the result has exactly its people,
        with 0 for those without a qualifying spell.
    methods: override the packaged code set (tests and sensitivity analyses).
    """
    lo, hi = label_window(start, days)
    qualifying = apcs.filter(
        is_emergency_admission(apcs.admission_method, methods),
        apcs.admission_date > ibis.literal(lo),
        apcs.admission_date <= ibis.literal(hi),
    )
    admitted = qualifying.select("patient_id").distinct().mutate(_hit=ibis.literal(1, "int8"))
    people = (population if population is not None else apcs).select("patient_id").distinct()
    joined = people.left_join(admitted, "patient_id")
    return joined.select(
        patient_id=joined.patient_id,
        label=joined._hit.fill_null(0).cast("int8"),
    )
