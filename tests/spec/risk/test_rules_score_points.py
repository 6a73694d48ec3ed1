"""Spec: the transparent rules score (`data/risk/rules_points.csv`).

Rule: points for prior emergency admissions (0 / 1 / 2 / 3+ -> 0 / 3 / 5 / 7), long-term
condition count (0-1 / 2-3 / 4-5 / 6+ -> 0 / 1 / 2 / 3), eFI category (fit / mild / moderate /
severe -> 0-3), HFRS category (low / intermediate / high -> 0-2) and age (0-64 / 65-74 / 75-84 /
85+ -> 0-3); score = total / 18.
"""

from __future__ import annotations

import pandas as pd
import pytest

from npc_risk.errors import ConfigError, ModelError
from npc_risk.risk.drivers import explain_rules
from npc_risk.risk.resources import points_table
from npc_risk.risk.rules import max_points, rules_points, rules_score

#  id  em  ltc  efi       hfrs          age  expected points (em ltc efi hfrs age) total
PEOPLE = """
A   0   0    fit       low           30   0 0 0 0 0  0
B   1   2    mild      low           64   3 1 1 0 0  5
C   2   4    moderate  intermediate  65   5 2 2 1 1  11
D   3   6    severe    high          85   7 3 3 2 3  18
E   7   9    Severe    High          104  7 3 3 2 3  18
F   0   1    unknown   low           74   0 0 0 0 1  1
"""


def _people() -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    rows = [r.split() for r in PEOPLE.strip().splitlines()]
    frame = pd.DataFrame({
        "emergency_admissions_12m": [int(r[1]) for r in rows],
        "ltc_count": [int(r[2]) for r in rows],
        "efi_category": pd.array([r[3] for r in rows], dtype="string"),
        "efi_score": [0.05, 0.17, 0.28, 0.39, 0.5, 0.0],
        "hfrs_category": pd.array([r[4] for r in rows], dtype="string"),
        "hfrs_score": [0.0, 1.0, 6.5, 16.0, 20.0, 0.0],
        "age": [int(r[5]) for r in rows],
    }, index=[r[0] for r in rows])
    points = pd.DataFrame([[int(v) for v in r[6:11]] for r in rows], index=frame.index,
                          columns=["emergency_admissions_12m", "ltc_count", "efi_category",
                                   "hfrs_category", "age"])
    return frame, points, pd.Series([int(r[11]) for r in rows], index=frame.index)


def test_points_per_feature():
    frame, points, _ = _people()
    pd.testing.assert_frame_equal(rules_points(frame), points, check_dtype=False)


def test_score_is_total_over_maximum():
    frame, _, total = _people()
    assert max_points() == 18
    got = rules_score(frame)
    pd.testing.assert_series_equal(got, (total / 18).rename("risk_score"), check_dtype=False)
    assert got.between(0, 1).all()


def test_rules_drivers_are_the_largest_point_contributions():
    frame, _, _ = _people()
    why = explain_rules(frame)
    assert why.loc["A", "driver_1"] is pd.NA  # no points, no drivers
    assert list(why.loc["C", ["driver_1", "driver_2", "driver_3"]]) == [
        "2 emergency admissions in the last 12 months", "moderate frailty (eFI 0.28)",
        "4 long-term conditions"]  # frailty and LTCs tie on 2 points: template order breaks it
    assert why.loc["B", "driver_1"] == "1 emergency admission in the last 12 months"
    assert why.loc["F", "driver_1"] == "aged 74"


def test_missing_column_is_a_model_error():
    frame, _, _ = _people()
    with pytest.raises(ModelError, match="age"):
        rules_score(frame.drop(columns="age"))


def test_overlapping_bands_are_rejected(tmp_path):
    path = tmp_path / "points.csv"
    path.write_text("feature,min,max,category,points\nage,0,70,,0\nage,65,,,1\n")
    with pytest.raises(ConfigError, match="overlap"):
        points_table(path)
