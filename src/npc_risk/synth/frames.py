"""Column frames: the generator's in-memory tables before they become Arrow.

A frame is a dict of equal-length numpy arrays. Dates are int32 days since 1970-01-01 with
`NULL_DAY` for null; codes are int32 indices into a vocabulary (a list of strings) so that tens of
millions of rows never become Python objects; patients are int indices into the patient-id
vocabulary. `to_arrow` turns a frame into a typed Arrow table with `take`, which runs in C.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

NULL_DAY = np.iinfo(np.int32).min
EPOCH = dt.date(1970, 1, 1)


def day_number(date: dt.date) -> int:
    return (date - EPOCH).days


def concat(frames: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    frames = [f for f in frames if f]
    keys = frames[0].keys()
    return {k: np.concatenate([f[k] for f in frames]) for k in keys}


def take(frame: dict[str, np.ndarray], index: np.ndarray) -> dict[str, np.ndarray]:
    return {k: v[index] for k, v in frame.items()}


def sort_by(frame: dict[str, np.ndarray], *keys: str) -> dict[str, np.ndarray]:
    """Stable sort by the given int columns (first key most significant)."""
    order = np.lexsort(tuple(frame[k] for k in reversed(keys)))
    return take(frame, order)


def date_array(days: np.ndarray) -> pa.Array:
    days = np.asarray(days, dtype=np.int32)
    mask = days == NULL_DAY
    return pa.array(np.where(mask, 0, days), type=pa.int32(), mask=mask).cast(pa.date32())


def vocab_array(vocab: pa.Array | list[str], index: np.ndarray, *, null: int = -1) -> pa.Array:
    """Strings from a vocabulary by index; `null` marks missing values."""
    vocab = vocab if isinstance(vocab, pa.Array) else pa.array(vocab, type=pa.string())
    index = np.asarray(index, dtype=np.int64)
    mask = index == null
    return pc.take(vocab, pa.array(np.where(mask, 0, index), mask=mask))


def float_array(values: np.ndarray) -> pa.Array:
    values = np.asarray(values, dtype=np.float64)
    return pa.array(values, type=pa.float64(), mask=np.isnan(values))


def format_ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """`prefix` + zero-padded decimal numbers, built with integer arithmetic (no Python loop)."""
    numbers = np.asarray(numbers, dtype=np.int64)
    digits = (numbers[:, None] // (10 ** np.arange(width - 1, -1, -1, dtype=np.int64))) % 10
    chars = np.empty((len(numbers), len(prefix) + width), dtype=np.uint8)
    chars[:, : len(prefix)] = np.frombuffer(prefix.encode(), dtype=np.uint8)
    chars[:, len(prefix):] = digits + ord("0")
    return _fixed_width_strings(chars)


def hex_ids(prefix: str, values: np.ndarray, width: int) -> pa.Array:
    """`prefix` + lower-case hex of unsigned values (opaque pseudonyms)."""
    values = np.asarray(values, dtype=np.uint64)
    shifts = (4 * np.arange(width - 1, -1, -1)).astype(np.uint64)
    nibbles = ((values[:, None] >> shifts) & np.uint64(15)).astype(np.uint8)
    table = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    chars = np.empty((len(values), len(prefix) + width), dtype=np.uint8)
    chars[:, : len(prefix)] = np.frombuffer(prefix.encode(), dtype=np.uint8)
    chars[:, len(prefix):] = table[nibbles]
    return _fixed_width_strings(chars)


def _fixed_width_strings(chars: np.ndarray) -> pa.Array:
    n, width = chars.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets.tobytes()),
                                       pa.py_buffer(np.ascontiguousarray(chars).tobytes()))
