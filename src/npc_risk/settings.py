"""Shared checks for the `from_mapping` of each pipeline-config section (features, risk, cohort).

Each raises a ConfigError of one line: `[section] key = value: what is allowed; how to fix`.
"""

from __future__ import annotations

from typing import Any

from npc_risk.errors import ConfigError


def reject_unknown(section: str, keys, allowed, hint: str = "") -> None:
    """Raise for any key not in `allowed` (the section dataclass's field names)."""
    unknown = sorted(set(keys) - set(allowed))
    if unknown:
        raise ConfigError(f"[{section}] unknown key(s) {unknown}; allowed keys are "
                          f"{sorted(allowed)}{hint}; fix the spelling or remove the key")


def coerce(section: str, key: str, value: Any, default: Any) -> Any:
    """`value` as the type of the key's default (TOML gives ints for whole-number floats)."""
    def fail(expected: str) -> ConfigError:
        return ConfigError(f"[{section}] {key} = {value!r}: expected {expected}")

    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise fail("true or false")
        return value
    if isinstance(default, tuple):
        if not isinstance(value, list | tuple):
            raise fail("a list")
        return tuple(value)
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise fail(f"a whole number, e.g. {default}")
        return value
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise fail(f"a number, e.g. {default}")
        return float(value)
    if not isinstance(value, str):
        raise fail(f"a string, e.g. {default!r}")
    return value


def check_choice(section: str, key: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"[{section}] {key} = {value!r}: allowed values are {list(allowed)}; "
                          f"set {key} = {allowed[0]!r} for the default")


def check_range(section: str, key: str, value: Any, lo: float, hi: float, example: str | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
        hint = f"; set e.g. {key} = {example}" if example else ""
        raise ConfigError(f"[{section}] {key} = {value!r}: allowed range is {lo}-{hi}{hint}")
