"""`FeatureConfig`: the `[features]` section of the pipeline TOML.

Every field has a default; `from_mapping` rejects unknown keys and bad values with a
`ConfigError` naming the key and the allowed values (errors for cron: house-style §8).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

from npc_risk import settings
from npc_risk.errors import ConfigError


@dataclass(frozen=True)
class FeatureConfig:
    """Feature settings.

    preset: LTC catalogue preset (`cambridge` = CMS-style, `qof` = QOF registers; §3.2).
    codelists: folder overriding the packaged code lists (None = packaged default).
    neighbourhood: `pcn` or `lcp`, the level the cohort ranks within (carried for downstream).
    efi_min_age: age from which eFI is validated (65; clinical-definitions.md §1.3).
    efi_below_min_age: `flag` = score everyone and add `efi_in_age_range`; `null` = leave
        efi_score/efi_category null below the minimum age (deficit flags are kept either way).
    hfrs_window_days: look-back for HFRS, inclusive of both ends ([T - 730 d, T], §2.1).
    polypharmacy_min: distinct medicines in (T - 365 d, T] for eFI deficit 26 (§1.3).
    """

    preset: str = "cambridge"
    codelists: Path | None = None
    neighbourhood: str = "pcn"
    efi_min_age: int = 65
    efi_below_min_age: str = "flag"
    hfrs_window_days: int = 730
    polypharmacy_min: int = 5

    @classmethod
    def from_mapping(cls, d: dict | None) -> FeatureConfig:
        d = dict(d or {})
        settings.reject_unknown("features", d, {f.name for f in fields(cls)})
        if "codelists" in d and d["codelists"] is not None:
            d["codelists"] = Path(d["codelists"])
        for key in ("efi_min_age", "hfrs_window_days", "polypharmacy_min"):
            if key in d and (not isinstance(d[key], int) or isinstance(d[key], bool) or d[key] < 0):
                raise ConfigError(f"[features] {key} must be a non-negative integer, got {d[key]!r}")
        choices = {"neighbourhood": ("pcn", "lcp"), "efi_below_min_age": ("flag", "null")}
        for key, allowed in choices.items():
            if key in d and d[key] not in allowed:
                raise ConfigError(f"[features] {key} must be one of {', '.join(allowed)}, got {d[key]!r}")
        if "preset" in d and (not isinstance(d["preset"], str) or not d["preset"]):
            raise ConfigError("[features] preset must be a catalogue name such as 'cambridge' or 'qof'")
        return cls(**d)
