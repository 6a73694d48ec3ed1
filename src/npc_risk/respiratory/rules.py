"""The respiratory thresholds, read once from `npc_risk/data/respiratory/thresholds.csv`.

Every number the registers, care gaps, episodes and priority rules use lives in that file (one
row per rule, with its source and tag); this module only reads and types it. A rule named in
code but missing from the file is a packaging bug (KeyError names it).
"""

from __future__ import annotations

import csv
import functools
import io
from dataclasses import dataclass
from datetime import date

from npc_risk.errors import ConfigError
from npc_risk.manifest import read_packaged

FOLDER, FILE = "respiratory", "thresholds.csv"


@dataclass(frozen=True)
class Thresholds:
    values: dict[str, float]

    def __getitem__(self, rule: str) -> float:
        return self.values[rule]

    def days(self, rule: str) -> int:
        return int(self.values[rule])

    def date(self, rule: str) -> date:
        v = int(self.values[rule])
        return date(v // 10000, v // 100 % 100, v % 100)


def packaged_values(file: str, key: str, value: str, convert, wanted: str) -> dict:
    """{row[key]: convert(row[value])} from a packaged respiratory CSV; a row that does not convert
    is a ConfigError naming the file, the row and `wanted` (what the value must be)."""
    values = {}
    for row in csv.DictReader(io.StringIO(read_packaged(FOLDER, file))):
        try:
            values[row[key].strip()] = convert(row[value])
        except (KeyError, AttributeError, TypeError, ValueError):
            raise ConfigError(f"{FOLDER}/{file}: {key} {row.get(key)!r} needs {wanted}") from None
    return values


@functools.cache
def thresholds() -> Thresholds:
    """The packaged thresholds (hash-checked by the data manifest)."""
    return Thresholds(packaged_values(FILE, "rule", "value", float, "a numeric value"))
