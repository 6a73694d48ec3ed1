"""Frailty bands: the eFI category of a deficit count and the HFRS category of a score.

One definition of each band table, used by the features, the data pack, the calibration report,
the generator and the risk model's encoding; each function takes an ibis column (-> an ibis
expression), a numpy array or sequence (-> an array) or one number (-> a str).

eFI (clinical-definitions.md §1.2 [C]): the published edges 0.12 / 0.24 / 0.36 on the score are
compared as **integer deficit counts**, never as the float k/36 (4/36 = 0.111 and 5/36 = 0.139
sit either side of 0.12, so strict vs non-strict edges can never matter):

    fit 0-4 | mild 5-8 | moderate 9-12 | severe 13-36

"Moderate or severe frailty" (the proactive-care cohort, §7.1) is >= 9 deficits:
`efi_at_least(deficits, "moderate")`.

HFRS (§2.1 [C], the paper's wording): low < 5, intermediate 5-15 inclusive, high > 15. Scores
are compared in **integer tenths** (the points have one decimal; features/hfrs.py sums tenths),
so 5.0 and 15.0 can never drift across an edge:

    low 0-49 | intermediate 50-150 | high 151+   (tenths)

Trap: a null count falls in the last band of `ibis.cases` (severe / high), as it did before
this module existed; the feature columns are never null (counts are filled with 0), and
`efi_at_least` keeps null as null.
"""

from __future__ import annotations

import ibis
import numpy as np

EFI_DEFICITS = 36  # eFI = deficits / 36 (§1.1)
#: (category, lowest deficit count in it), ascending
EFI_BANDS: tuple[tuple[str, int], ...] = (("fit", 0), ("mild", 5), ("moderate", 9), ("severe", 13))
#: (category, lowest score in tenths in it), ascending: high is > 15.0, so from 15.1
HFRS_BANDS: tuple[tuple[str, int], ...] = (("low", 0), ("intermediate", 50), ("high", 151))

EFI_CATEGORIES = tuple(name for name, _ in EFI_BANDS)
HFRS_CATEGORIES = tuple(name for name, _ in HFRS_BANDS)
EFI_FLOOR = dict(EFI_BANDS)


def _band(value, bands: tuple[tuple[str, int], ...]):
    names = [name for name, _ in bands]
    edges = [floor for _, floor in bands[1:]]
    if isinstance(value, ibis.Value):
        return ibis.cases(*((value < edge, name) for name, edge in zip(names[:-1], edges, strict=True)),
                          else_=names[-1])
    index = np.searchsorted(edges, np.asarray(value), side="right")
    out = np.asarray(names, dtype=object)[index]
    return out if np.ndim(value) else str(out)


def efi_category(deficits):
    """fit / mild / moderate / severe from the integer number of eFI deficits (module doc)."""
    return _band(deficits, EFI_BANDS)


def efi_at_least(deficits, category: str):
    """True where the deficit count is in `category` or a frailer one (e.g. "moderate": >= 9)."""
    return deficits >= EFI_FLOOR[category]


def hfrs_category(tenths):
    """low / intermediate / high from the HFRS score in integer tenths (score x 10; module doc)."""
    return _band(tenths, HFRS_BANDS)
