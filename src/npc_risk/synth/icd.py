"""ICD-10 strings as SUS writes them, including the messy forms ingest must normalise.

Codes in the data tables are in SUS form (`I10X`, `J440`, `S7200`). Each occurrence is written
mostly in that form, sometimes dotted (`J44.0`, `I10`), lower case, with a `-` filler (`J440-`) or a
dagger flag (`J440D`), as nhs-data-conventions.md §2.1-2.2 asks a generator to do. These are normal
variation, not dirt. Secondary diagnoses are joined with any of `, ; | space`.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# share of occurrences per written form: SUS, dotted, lower case, '-' filler, dagger 'D' [D]
FORM_SHARES = np.array([0.86, 0.06, 0.03, 0.03, 0.02])
SEPARATORS = [",", ", ", ";", "|", " "]
SEPARATOR_SHARES = np.array([0.5, 0.2, 0.1, 0.1, 0.1])


def forms(code: str) -> list[str]:
    """The five written forms of one SUS-form code (codes already marked keep their form)."""
    if any(ch in code for ch in ".+*-"):
        return [code] * 5
    dotted = code[:3] if code.endswith("X") and len(code) == 4 else f"{code[:3]}.{code[3:]}"
    return [code, dotted, code.lower(), code + "-" if len(code) == 4 else code,
            code + "D" if len(code) == 4 else code]


class IcdVocab:
    def __init__(self) -> None:
        self.codes: list[str] = []
        self._index: dict[str, int] = {}

    def ids(self, codes) -> np.ndarray:
        out = []
        for c in codes:
            if c not in self._index:
                self._index[c] = len(self.codes)
                self.codes.append(c)
            out.append(self._index[c])
        return np.array(out, dtype=np.int64)

    def written(self) -> pa.Array:
        return pa.array([f for c in self.codes for f in forms(c)], type=pa.string())


def write_codes(rng, vocab: IcdVocab, written: pa.Array, code_ids: np.ndarray) -> pa.Array:
    form = np.searchsorted(np.cumsum(FORM_SHARES), rng.random(len(code_ids)) * FORM_SHARES.sum())
    return pc.take(written, pa.array(code_ids * 5 + np.minimum(form, 4)))


def join_lists(rng, written: pa.Array, owner: np.ndarray, code_ids: np.ndarray, n_rows: int) -> pa.Array:
    """One string per row: its codes (owner = row index, sorted) joined with a random separator."""
    order = np.argsort(owner, kind="stable")
    owner, code_ids = owner[order], code_ids[order]
    values = write_codes(rng, None, written, code_ids)
    counts = np.bincount(owner, minlength=n_rows)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    lists = pa.ListArray.from_arrays(pa.array(offsets), values)
    sep_idx = np.searchsorted(np.cumsum(SEPARATOR_SHARES), rng.random(n_rows) * SEPARATOR_SHARES.sum())
    seps = pc.take(pa.array(SEPARATORS), pa.array(np.minimum(sep_idx, len(SEPARATORS) - 1)))
    joined = pc.binary_join(lists, seps)
    return pc.if_else(pa.array(counts == 0), pa.scalar(None, pa.string()), joined)
