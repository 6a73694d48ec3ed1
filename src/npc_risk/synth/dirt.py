"""Deliberate dirt: a small, seeded share of bad rows that ingest must quarantine.

`dirt_rate` is the share of rows per table (default 0.2 %). Kinds: exact duplicate rows
(including duplicated spell/attendance/appointment ids), dates after the as-of date, events for
unknown patient ids, discharge before admission, death before birth, invalid NHS numbers (bad
check digit or 9 digits), malformed SNOMED codes (letters, too short). Messy ICD-10 forms are
normal SUS variation, not dirt (icd.py). Every injection is counted for the summary.
"""

from __future__ import annotations

import numpy as np

from npc_risk.synth.frames import NULL_DAY, take


def _pick(rng, n_rows: int, rate: float) -> np.ndarray:
    k = int(rng.binomial(n_rows, rate)) if n_rows else 0
    return np.sort(rng.choice(n_rows, size=k, replace=False)) if k else np.zeros(0, dtype=np.int64)


def dirty_events(rng, frame: dict, *, table: str, rate: float, as_of: int, unknown_patient: int,
                 date_cols: tuple[str, ...], counts: dict) -> dict:
    """Append duplicates and corrupt copies of a few rows of an event table."""
    n = len(frame["patient"])
    third = rate / 3
    dup = _pick(rng, n, third)
    late = take(frame, _pick(rng, n, third))
    for col in date_cols[:1]:
        late[col] = np.full(len(late[col]), as_of) + rng.integers(1, 400, len(late[col]))
    unknown = take(frame, _pick(rng, n, third))
    unknown["patient"] = np.full(len(unknown["patient"]), unknown_patient)
    counts[f"{table}: duplicate rows"] = len(dup)
    counts[f"{table}: dated after as-of"] = len(late["patient"])
    counts[f"{table}: unknown patient_id"] = len(unknown["patient"])
    parts = [frame, take(frame, dup), late, unknown]
    keys = frame.keys()
    return {k: np.concatenate([p[k] for p in parts]) for k in keys}


def discharge_before_admission(rng, frame: dict, rate: float, counts: dict) -> None:
    idx = _pick(rng, len(frame["patient"]), rate / 3)
    idx = idx[frame["discharge"][idx] != NULL_DAY]
    frame["discharge"][idx] = frame["admission"][idx] - rng.integers(1, 30, len(idx))
    counts["apcs: discharge before admission"] = len(idx)


def malformed_snomed(rng, codes: np.ndarray, vocab, rate: float, counts: dict) -> None:
    bad = [vocab.id("12A4567"), vocab.id("1234"), vocab.id("0123456"), vocab.id("C10..")]
    idx = _pick(rng, len(codes), rate / 3)
    codes[idx] = np.array(bad)[rng.integers(0, len(bad), len(idx))]
    counts["clinical_events: malformed SNOMED code"] = len(idx)


def bad_nhs_numbers(rng, numbers: list, rate: float, counts: dict) -> None:
    """Flip the check digit or drop a digit of a few NHS numbers (list of str/None, in place)."""
    idx = _pick(rng, len(numbers), rate)
    done = 0
    for i in idx:  # a few hundred at most: dirt is rare by definition
        if numbers[i] is None:
            continue
        s = numbers[i]
        numbers[i] = s[:9] if done % 2 else s[:9] + str((int(s[9]) + 1 + int(i) % 8) % 10)
        done += 1
    counts["patients: invalid NHS number"] = done


def death_before_birth(rng, dob: np.ndarray, death: np.ndarray, rate: float, counts: dict) -> None:
    idx = _pick(rng, len(dob), rate / 4)
    death[idx] = dob[idx] - rng.integers(30, 3000, len(idx))
    counts["patients: death before birth"] = len(idx)
