"""Spec: the Hospital Frailty Risk Score (clinical-definitions.md §2.1-§2.2).

Each 3-character ICD-10 category of the 109 scores its points once, from spells admitted in
[T-730d, T]; the bands are low < 5, intermediate 5-15 inclusive, high > 15, summed in integer
tenths. T is 2026-03-31 throughout.
"""

import pytest

from tests.builders.features import derive, diagnosis


def test_hfrs_window_includes_day_730_not_731(engine, codelists):
    """Spells admitted in [T-730d, T] count: an F00 exactly 730 days before T scores 7.1;
    the same 731 days before scores nothing."""
    diags = [diagnosis("in", 730, "F000"), diagnosis("out", 731, "F000")]
    _, p = derive(engine, codelists, ["in", "out"], apcs_diagnoses=diags)
    assert list(p.hfrs_score) == [7.1, 0.0]
    assert list(p.hfrs_category) == ["intermediate", "low"]


def test_hfrs_category_counted_once_and_worked_example(engine, codelists):
    """§2.2 worked check: F00 on three spells + W19 once = 7.1 + 3.2 = 10.3 (intermediate)."""
    diags = [diagnosis("p", 10, "F000"), diagnosis("p", 200, "F001"), diagnosis("p", 400, "F00"),
             diagnosis("p", 30, "W19")]
    _, p = derive(engine, codelists, ["p"], apcs_diagnoses=diags)
    assert p.loc["p", "hfrs_score"] == 10.3 and p.loc["p", "hfrs_category"] == "intermediate"


HFRS_EDGES = [
    # codes (one spell each)                 score  category
    (["R41", "R26"],                         5.3,   "intermediate"),
    (["F05", "R50", "R50"],                  3.3,   "low"),
    (["G81", "N17", "K52"],                  6.5,   "intermediate"),
    (["F00", "G30", "F05", "R41"],           17.0,  "high"),
    (["F00", "G81", "R31", "R50", "D64"],    15.0,  "intermediate"),  # 7.1+4.4+3.0+0.1+0.4
    (["F00", "G81", "R31", "K52", "Z91"],    15.3,  "high"),          # 7.1+4.4+3.0+0.3+0.5
    (["R31", "Z75"],                         5.0,   "intermediate"),  # exactly 5.0
    (["R31", "H54"],                         4.9,   "low"),
]


@pytest.fixture(scope="module")
def hfrs_edges(module_engine, codelists):
    """One patient per row of HFRS_EDGES (`e<row>`), code i on a spell 5 + i days before T;
    derived once."""
    ids = [f"e{i}" for i in range(len(HFRS_EDGES))]
    diags = [diagnosis(pid, 5 + i, c)
             for pid, (codes, _, _) in zip(ids, HFRS_EDGES, strict=True) for i, c in enumerate(codes)]
    _, person = derive(module_engine, codelists, ids, apcs_diagnoses=diags)
    return person


@pytest.mark.parametrize("codes, score, category", HFRS_EDGES)
def test_hfrs_category_edges_in_tenths(hfrs_edges, codes, score, category):
    """low < 5, intermediate 5-15 inclusive, high > 15, summed in integer tenths (§2.1)."""
    p = hfrs_edges.loc[f"e{HFRS_EDGES.index((codes, score, category))}"]
    assert p["hfrs_score"] == score and p["hfrs_category"] == category
