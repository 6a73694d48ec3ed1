"""The generator's parameter tables, read from `npc_risk/data/synth/*.csv`.

Clinical content (codes, prevalences, rates) is data, not Python literals (house-style.md §2): each
CSV carries a `basis` column citing the reference section behind every magnitude. This module only
reads them into numpy-friendly structures; it holds no numbers of its own.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

PACKAGE = "npc_risk"
FOLDER = "data/synth"


def read_table(name: str) -> list[dict[str, str]]:
    """Rows of one packaged CSV as dicts of strings (file order kept: it defines the draws)."""
    text = resources.files(PACKAGE).joinpath(f"{FOLDER}/{name}").read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def column(rows: list[dict[str, str]], key: str, dtype=float) -> np.ndarray:
    return np.array([dtype(r[key]) if r[key] != "" else np.nan for r in rows],
                    dtype=object if dtype is str else dtype)


@dataclass(frozen=True)
class Params:
    rates: dict[str, float]
    concepts: list[dict[str, str]]
    concept_codes: list[dict[str, str]]
    medications: list[dict[str, str]]
    observations: list[dict[str, str]]
    noise_codes: list[dict[str, str]]
    flag_codes: list[dict[str, str]]
    age_structure: list[dict[str, str]]
    imd_deciles: list[dict[str, str]]
    emergency_base: list[dict[str, str]]
    age_activity: list[dict[str, str]]
    admission_methods: list[dict[str, str]]
    generic_diagnoses: list[dict[str, str]]
    hfrs_secondary: list[dict[str, str]]
    social_care_services: list[dict[str, str]]
    ethnicity: list[dict[str, str]]
    pcns: list[dict[str, str]]
    practices: list[dict[str, str]]
    respiratory: list[dict[str, str]]
    respiratory_codes: list[dict[str, str]]
    ecds_diagnoses: list[dict[str, str]]

    def rate(self, key: str) -> float:
        return self.rates[key]

    def resp_text(self, key: str) -> str:
        """A value of respiratory.csv as written (weights lists, concept lists)."""
        for row in self.respiratory:
            if row["key"] == key:
                return row["value"]
        raise KeyError(key)

    def resp(self, key: str) -> float:
        """A number from respiratory.csv (the respiratory care model's parameters)."""
        return float(self.resp_text(key))


@lru_cache(maxsize=1)
def load_params() -> Params:
    """All parameter tables (cached: they are packaged, read-only data)."""
    rates = {r["key"]: float(r["value"]) for r in read_table("rates.csv")}
    names = [f for f in Params.__dataclass_fields__ if f != "rates"]
    return Params(rates=rates, **{n: read_table(f"{n}.csv") for n in names})


def band_lookup(rows: list[dict[str, str]], age: np.ndarray, key: str) -> np.ndarray:
    """Value of `key` for the age band (age_lo..age_hi inclusive) holding each age."""
    lo = column(rows, "age_lo", int)
    values = column(rows, key)
    idx = np.searchsorted(lo, np.clip(age, 0, None), side="right") - 1
    return values[np.clip(idx, 0, len(lo) - 1)]


def categorical(rng: np.random.Generator, weights: np.ndarray, size: int) -> np.ndarray:
    """Indices drawn with probability proportional to `weights` (one shared distribution)."""
    cum = np.cumsum(np.asarray(weights, dtype=float))
    return np.searchsorted(cum / cum[-1], rng.random(size), side="right").clip(0, len(cum) - 1)


def categorical_rows(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """One index per row of a (rows, k) weight matrix, each row its own distribution."""
    cum = np.cumsum(weights, axis=1)
    total = cum[:, -1:]
    u = rng.random((weights.shape[0], 1)) * total
    return (cum < u).sum(axis=1).clip(0, weights.shape[1] - 1)
