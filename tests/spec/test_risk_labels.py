"""Spec: the 12-month emergency admission label (clinical-definitions.md §5).

Rule: label = 1 when the person has >= 1 spell with admission method in
{21, 22, 23, 24, 25, 2A, 2D, 28} and admission date in (T, T + 365 days]; 2B (transfer) and
2C (birth at home) never count; an admission ON T belongs to the feature window.
"""

from __future__ import annotations

from datetime import date

import ibis
import pandas as pd
import pytest

from npc_risk.errors import ModelError
from npc_risk.risk.labels import check_windows, emergency_admission_label, label_window
from npc_risk.risk.resources import emergency_admission_methods

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


def _labels(frame: pd.DataFrame, **kwargs) -> dict[str, int]:
    apcs = ibis.memtable(frame, schema={"spell_id": "string", "patient_id": "string",
                                        "admission_date": "date", "admission_method": "string"})
    out = emergency_admission_label(apcs, start=T, **kwargs).to_pyarrow().to_pandas()
    assert out["patient_id"].is_unique
    return dict(zip(out["patient_id"], out["label"].astype(int), strict=True))


def test_label_window_boundaries_and_method_codes():
    frame, expected = _spells()
    assert _labels(frame) == expected


def test_population_gets_zero_without_spells():
    frame, expected = _spells()
    population = ibis.memtable(pd.DataFrame({"patient_id": ["P02", "P05", "P99"]}),
                                schema={"patient_id": "string"})
    assert _labels(frame, population=population) == {"P02": 1, "P05": 0, "P99": 0}


def test_shorter_window():
    frame, _ = _spells()
    got = _labels(frame, days=61)  # (T, 2025-05-31]: only P02 is inside
    assert {p for p, v in got.items() if v} == {"P02"}


def test_code_set_is_the_packaged_data():
    assert set(emergency_admission_methods()) == {"21", "22", "23", "24", "25", "2A", "2D", "28"}


def test_window_helpers():
    assert label_window(T) == (T, date(2026, 3, 31))
    check_windows(features_as_of=T, label_start=T)
    with pytest.raises(ModelError, match="overlap"):
        check_windows(features_as_of=T, label_start=date(2025, 3, 30))
