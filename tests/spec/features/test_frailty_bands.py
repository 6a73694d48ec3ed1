"""Spec: the eFI and HFRS bands (clinical-definitions.md §1.2, §2.1), defined once in
`npc_risk.frailty` and used by the features, the data pack, the calibration report, the
generator and the model's encoding.

Rules:
* eFI category from the integer deficit count: fit 0-4, mild 5-8, moderate 9-12, severe 13-36
  (never from the float score: 4/36 = 0.111 and 5/36 = 0.139 sit either side of the 0.12 edge).
  "Moderate or severe" = >= 9 deficits.
* HFRS category from the score in integer tenths: low < 5.0, intermediate 5.0-15.0 inclusive,
  high > 15.0 (so 15.0 is intermediate and 15.1 high).
"""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd

from npc_risk.frailty import EFI_CATEGORIES, HFRS_CATEGORIES, efi_at_least, efi_category, hfrs_category
from npc_risk.risk.design import ORDINAL_LEVELS

#  deficits  category   moderate_or_severe
EFI = """
0    fit        0
4    fit        0
5    mild       0
8    mild       0
9    moderate   1
12   moderate   1
13   severe     1
36   severe     1
"""

#  score  tenths  category
HFRS = """
0.0    0    low
4.9    49   low
5.0    50   intermediate
15.0   150  intermediate
15.1   151  high
173.2  1732 high
"""


def _rows(text: str) -> list[list[str]]:
    return [line.split() for line in text.strip().splitlines()]


def _on_engine(engine, values: list[int], rule) -> list:
    """The rule as an ibis expression over a column of `values`, run on `engine`."""
    t = ibis.memtable(pd.DataFrame({"v": values}), schema={"v": "int64"})
    return engine.to_arrow(t.select(out=rule(t.v)))["out"].to_pylist()


def test_efi_bands_for_columns_arrays_and_counts(engine):
    rows = _rows(EFI)
    deficits, expected = [int(r[0]) for r in rows], [r[1] for r in rows]
    assert _on_engine(engine, deficits, efi_category) == expected
    assert list(efi_category(np.array(deficits))) == expected
    assert [efi_category(n) for n in deficits] == expected
    frail = [bool(int(r[2])) for r in rows]
    assert _on_engine(engine, deficits, lambda v: efi_at_least(v, "moderate")) == frail
    assert list(efi_at_least(np.array(deficits), "moderate")) == frail


def test_hfrs_bands_in_tenths(engine):
    rows = _rows(HFRS)
    tenths, expected = [int(r[1]) for r in rows], [r[2] for r in rows]
    assert [round(float(r[0]) * 10) for r in rows] == tenths
    assert _on_engine(engine, tenths, hfrs_category) == expected
    assert list(hfrs_category(np.array(tenths))) == expected
    assert [hfrs_category(t) for t in tenths] == expected


def test_the_model_encodes_the_same_bands_in_order():
    assert ORDINAL_LEVELS["efi_category"] == EFI_CATEGORIES == ("fit", "mild", "moderate", "severe")
    assert ORDINAL_LEVELS["hfrs_category"] == HFRS_CATEGORIES == ("low", "intermediate", "high")
