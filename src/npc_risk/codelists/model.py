"""Data classes for code lists, the condition catalogue and value rules (all plain data).

A `Codelist` is one CSV file (`code,term`) plus its manifest entry. A `Condition` is one row of a
catalogue preset: which lists define it and the rule that turns matching events into a flag.
Code-to-condition is many-to-many: a list may serve several conditions (e.g. the care-home list
drives both the eFI "requirement for care" deficit and the `care_home` flag) and a condition may
use GP (SNOMED CT), hospital (ICD-10) and medication (dm+d) lists at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from npc_risk.errors import CodelistError
from npc_risk.manifest import Problem  # noqa: F401 (re-exported: check_codelists returns them)

KINDS = ("ltc", "efi_deficit", "flag", "part")
MATCH_RULES = ("exact", "prefix")
VALUE_AGGREGATES = ("any", "best_of_last_2")


@dataclass(frozen=True)
class Codelist:
    """One code list: `name` is the file stem, e.g. `ltc-heart-failure.snomedct`."""

    name: str
    concept: str
    system: str  # snomedct | icd10 | dmd
    source: str
    version: str
    match: str  # exact | prefix (prefix only meaningful for icd10)
    sha256: str
    codes: tuple[tuple[str, str], ...]  # (code, term)

    @property
    def file(self) -> str:
        return f"{self.name}.csv"


@dataclass(frozen=True)
class Condition:
    """One catalogue row (see `data/codelists/catalogues/README.md` for the column meanings).

    Rule, evaluated as of T (clinical-definitions.md §0: "ever" = on or before T, "last N days" =
    (T - N days, T]):
      dx = any `dx_lists` record ever, or in the last `dx_window_days` days; with
           `dx_window_basis == "first"` the *first-ever* record must fall in the window (CMS cancer).
      rx = at least `rx_min_count` issues from `rx_lists` in the last `rx_window_days` days.
      value = any row of the value rules for this key satisfied (numeric_value on or before T).
      flag = (dx AND rx) if combine == "and" else (dx OR rx OR value);
      then, if `cancel_lists` is set, the flag holds only when its latest qualifying record is not
      older than the latest cancelling record ("latest record wins"; a tie keeps the flag);
      if `unless_lists` is set, it does not hold when any record of them exists on or before T;
      finally age at T must be >= `age_floor`.
      `any_of`: keys of `part` rows of the same catalogue; the condition also holds when any of
      them does. A part is a rule with no output column of its own, e.g. CMS painful condition
      = >= 4 analgesic Rx, OR (>= 4 antiepileptic Rx AND no epilepsy Dx ever) as a part.
    """

    key: str
    label: str
    kind: str
    dx_lists: tuple[str, ...] = ()
    dx_window_days: int | None = None
    dx_window_basis: str = "any"
    rx_lists: tuple[str, ...] = ()
    rx_window_days: int = 365
    rx_min_count: int = 1
    combine: str = "or"
    cancel_lists: tuple[str, ...] = ()
    age_floor: int = 0
    unless_lists: tuple[str, ...] = ()
    any_of: tuple[str, ...] = ()
    notes: str = ""


@dataclass(frozen=True)
class ValueRule:
    """A numeric-value rule row (clinical-definitions.md §1.5): all given bounds must hold.

    `catalogue` and `key` name the condition it serves (a key alone is ambiguous: CKD is an LTC
    in two presets, with a lab rule in one of them, and an eFI deficit). `aggregate`: `any` = any
    value on or before T that holds (eFI);
    `best_of_last_2` = the higher of the person's last two values holds (CMS CKD, §3.1); at most
    one rule row per condition may use it.
    """

    catalogue: str
    key: str
    list_name: str
    sex: str | None = None
    gt: float | None = None
    ge: float | None = None
    lt: float | None = None
    le: float | None = None
    aggregate: str = "any"
    description: str = ""


@dataclass(frozen=True)
class CodelistSet:
    """Every list, every catalogue preset and the value rules loaded from one folder."""

    folder: str
    lists: dict[str, Codelist]
    catalogues: dict[str, tuple[Condition, ...]] = field(default_factory=dict)
    value_rules: tuple[ValueRule, ...] = ()
    #: dm+d code -> active ingredient (codelists/maps.py); empty when the folder has no map
    ingredients: dict[str, str] = field(default_factory=dict)

    def catalogue(self, preset: str) -> tuple[Condition, ...]:
        if preset not in self.catalogues:
            raise CodelistError(
                f"catalogue preset {preset!r} not found in {self.folder}/catalogues "
                f"(have: {', '.join(sorted(self.catalogues))}); pick one of those in [features] preset"
            )
        return self.catalogues[preset]
