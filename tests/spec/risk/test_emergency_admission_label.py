"""Spec: emergency admission and the 12-month label (clinical-definitions.md §5).

Rule: a spell is an emergency admission when its admission method is in
{21, 22, 23, 24, 25, 2A, 2D, 28} (`admissions.is_emergency_admission`, from
data/risk/emergency_admission_methods.csv; the same set for the label and the utilisation
features); 2B (transfer) and 2C (birth at home) never count although they start with 2.
label = 1 when the person has >= 1 such spell with admission date in (T, T + 365 days]; an
admission ON T belongs to the feature window.
"""

from __future__ import annotations

from datetime import date

import ibis
import pandas as pd
import pytest

from npc_risk.admissions import describe_methods, emergency_admission_methods, is_emergency_admission
from npc_risk.config import RiskConfig
from npc_risk.errors import ModelError
from npc_risk.risk.labels import (
    LabelWindow,
    check_training_window,
    check_windows,
    emergency_admission_label,
    label_window,
    training_windows,
)
from npc_risk.risk.model import train_model

T = date(2025, 3, 31)

#  patient  admission_date  method  expected  why
SPELLS = """
P01      2025-03-31      21      0   on T itself: feature window, not label
P02      2025-04-01      21      1   first day after T
P03      2026-03-31      22      1   T + 365 exactly: included
P04      2026-04-01      21      0   T + 366: after the window
P05      2025-06-01      2B      0   transfer: excluded
P06      2025-06-01      2C      0   birth at home: excluded
P07      2025-06-01      2A      1   other provider's ED
P08      2025-06-01      2D      1   other emergency
P09      2025-06-01      28      1   legacy other means: included
P10      2025-06-01      11      0   elective
P11      2025-06-01      2b      0   lower-case transfer still a transfer
P12      2025-06-01      23      1   bed bureau
P12      2025-07-01      24      1   (second spell: still one person, label 1)
P13      2025-01-01      21      0   before T: a feature, not the label
P14      2025-06-01      31      0   maternity
"""


def _spells() -> tuple[pd.DataFrame, dict[str, int]]:
    rows = [line.split(maxsplit=4) for line in SPELLS.strip().splitlines()]
    frame = pd.DataFrame({
        "spell_id": [f"S{i}" for i in range(len(rows))],
        "patient_id": [r[0] for r in rows],
        "admission_date": pd.to_datetime([r[1] for r in rows]).date,
        "admission_method": [r[2] for r in rows],
    })
    expected = {r[0]: int(r[3]) for r in rows}
    return frame, expected


def _labels(engine, frame: pd.DataFrame, **kwargs) -> dict[str, int]:
    """{patient: label} from emergency_admission_label over the spells, run on `engine`."""
    apcs = ibis.memtable(frame, schema={"spell_id": "string", "patient_id": "string",
                                        "admission_date": "date", "admission_method": "string"})
    out = engine.to_arrow(emergency_admission_label(apcs, start=T, **kwargs)).to_pandas()
    assert out["patient_id"].is_unique
    return dict(zip(out["patient_id"], out["label"].astype(int), strict=True))


def test_label_window_boundaries_and_method_codes(engine):
    frame, expected = _spells()
    assert _labels(engine, frame) == expected


def test_population_gets_zero_without_spells(engine):
    frame, expected = _spells()
    population = ibis.memtable(pd.DataFrame({"patient_id": ["P02", "P05", "P99"]}),
                                schema={"patient_id": "string"})
    assert _labels(engine, frame, population=population) == {"P02": 1, "P05": 0, "P99": 0}


def test_shorter_window(engine):
    frame, _ = _spells()
    got = _labels(engine, frame, days=61)  # (T, 2025-05-31]: only P02 is inside
    assert {p for p, v in got.items() if v} == {"P02"}


def test_code_set_is_the_packaged_data():
    assert set(emergency_admission_methods()) == {"21", "22", "23", "24", "25", "2A", "2D", "28"}
    assert describe_methods() == "21-25, 2A, 2D, 28"  # as the model card prints it


#  method  emergency  starts_with_2  why
METHODS = """
21   1  1  own emergency department
25   1  1  mental health crisis team
2A   1  1  another provider's emergency department
2B   0  1  transfer of an admitted patient: one illness, counted where it began
2C   0  1  baby born at home as intended
2D   1  1  other emergency admission
28   1  1  legacy other means
11   0  0  elective waiting list
31   0  0  maternity ante-partum
81   0  0  transfer (not emergency)
"""


def test_is_emergency_admission_one_rule_for_columns_arrays_and_codes(engine):
    """The data file and the old `startswith("2")` spelling agree on every code the file holds;
    they differ only on 2B and 2C, which the file (clinical-definitions §5.1) leaves out."""
    rows = [line.split(maxsplit=3) for line in METHODS.strip().splitlines()]
    codes, expected = [r[0] for r in rows], [bool(int(r[1])) for r in rows]
    column = ibis.memtable(pd.DataFrame({"m": codes}), schema={"m": "string"})
    got = engine.to_arrow(column.select(e=is_emergency_admission(column.m)))["e"].to_pylist()
    assert got == expected
    assert list(is_emergency_admission(codes)) == expected
    assert [is_emergency_admission(c) for c in codes] == expected
    assert all(c.startswith("2") for c in emergency_admission_methods())
    assert [r[0] for r in rows if bool(int(r[1])) != bool(int(r[2]))] == ["2B", "2C"]


def test_window_helpers():
    assert label_window(T) == (T, date(2026, 3, 31))
    check_windows(features_as_of=T, label_start=T)
    with pytest.raises(ModelError, match="overlap"):
        check_windows(features_as_of=T, label_start=date(2025, 3, 30))


def test_training_windows_and_the_leakage_guard_on_every_training():
    """The temporal split (§6.3): train on features as of T - 730 d with labels in
    (T - 730 d, T - 365 d], evaluate on features as of T - 365 d with labels in (T - 365 d, T]
    (days, not years: 2024 is a leap year, so T - 730 d is 2023-04-01).
    train_model refuses, before fitting, a window whose labels start before their features."""
    w = training_windows(T)
    assert w == {"train_features_as_of": date(2023, 4, 1),
                 "train_label_window": LabelWindow(date(2023, 4, 1), date(2024, 3, 31)),
                 "eval_features_as_of": date(2024, 3, 31),
                 "eval_label_window": LabelWindow(date(2024, 3, 31), T)}
    assert str(w["eval_label_window"]) == "(2024-03-31, 2025-03-31]"
    check_training_window({k: str(v) for k, v in w.items()})  # the model card's text form
    leaky = {**w, "eval_label_window": LabelWindow(date(2024, 3, 30), T)}
    with pytest.raises(ModelError, match="overlap"):
        check_training_window(leaky)
    with pytest.raises(ModelError, match="overlap"):
        train_model(pd.DataFrame(), [], pd.DataFrame(), [], config=RiskConfig(), training_window=leaky)
    with pytest.raises(ModelError, match="lacks train_features_as_of, train_label_window"):
        train_model(pd.DataFrame(), [], pd.DataFrame(), [], config=RiskConfig(), training_window={})
