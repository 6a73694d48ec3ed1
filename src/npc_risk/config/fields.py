"""The one mechanism that validates every pipeline-config section.

A section is a frozen dataclass deriving from `Section`; each field is declared with `setting()`,
whose metadata holds what is allowed (choices, a numeric range, a text pattern) and an example.
The field's type comes from its annotation. `Section.__post_init__` checks and normalises every
field (so a section built in code is checked exactly as one read from TOML), and
`Section.from_mapping` rejects unknown keys. Every failure is a `ConfigError` of one line:

    [section] key = value: expected <kind> (<allowed>); <how to fix>

Supported annotations: bool, int, float, str, tuple[str, ...], tuple[float, ...], Path, and any
of those `| None`.
"""

from __future__ import annotations

import re
import types
import typing
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar

from npc_risk.errors import ConfigError


def setting(default: Any, *, choices: tuple[Any, ...] = (), lo: float | None = None,
            hi: float | None = None, pattern: str | None = None, kind: str | None = None,
            example: str | None = None) -> Any:
    """A config field: its default and what is allowed (stored as dataclass field metadata).

    choices: the allowed values (for a tuple field: the allowed members); lo/hi: inclusive
    range of a number; pattern: a regular expression a string must match in full, with `kind`
    saying in words what it is ("a size such as '4GB'"); example: shown in the fix.
    """
    meta = {"choices": tuple(choices), "lo": lo, "hi": hi, "pattern": pattern, "kind": kind,
            "example": example}
    if isinstance(default, (list, dict, set)):
        raise TypeError("use a tuple default: sections are frozen")
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class Section:
    """Base of every config section; `SECTION` is its TOML name (e.g. "run", "outputs.planning")."""

    SECTION: ClassVar[str] = ""

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(type(self))
        for f in fields(self):
            value = _checked(self.SECTION, f.name, getattr(self, f.name), hints[f.name], f.metadata)
            object.__setattr__(self, f.name, value)
        self.check()

    def check(self) -> None:
        """Rules that involve more than one field (override; raise ConfigError)."""

    @classmethod
    def from_mapping(cls, values: typing.Mapping[str, Any] | None) -> Section:
        """Build from a parsed TOML table; unknown keys and bad values raise ConfigError."""
        values = dict(values or {})
        reject_unknown(cls.SECTION, values, [f.name for f in fields(cls)])
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able values (tuples as lists, paths as text) for the manifest and card."""
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}


def reject_unknown(section: str, keys, allowed, hint: str = "") -> None:
    """Raise for any key not in `allowed`."""
    unknown = sorted(set(keys) - set(allowed))
    if unknown:
        raise ConfigError(f"[{section}] unknown key {unknown[0]!r}; allowed keys are "
                          f"{', '.join(sorted(allowed))}{hint}; fix the spelling or remove the key")


def defaults(cls: type[Section]) -> dict[str, Any]:
    """Field name -> default of a section class."""
    return {f.name: f.default for f in fields(cls) if f.default is not MISSING}


# ------------------------------------------------------------------------------ the checks
def _checked(section: str, key: str, value: Any, annotation: Any, meta: typing.Mapping) -> Any:
    base, optional = _unwrap(annotation)
    if value is None:
        if optional:
            return None
        raise _fail(section, key, value, _describe(base, meta), meta)
    if base is bool:
        if not isinstance(value, bool):
            raise _fail(section, key, value, "true or false", meta)
        return value
    if base is int or base is float:
        ok = isinstance(value, int) if base is int else isinstance(value, int | float)
        if isinstance(value, bool) or not ok:
            raise _fail(section, key, value, _describe(base, meta), meta)
        value = float(value) if base is float else value
        _check_range(section, key, value, base, meta)
        return value
    if base is str:
        if not isinstance(value, str):
            raise _fail(section, key, value, _describe(base, meta), meta)
        if meta.get("pattern") and not re.fullmatch(meta["pattern"], value, re.IGNORECASE):
            raise _fail(section, key, value, _describe(base, meta), meta)
        _check_choice(section, key, value, meta)
        return value
    if base is Path:
        if not isinstance(value, str | Path):
            raise _fail(section, key, value, "a folder path", meta)
        return Path(value)
    if typing.get_origin(base) is tuple:
        member = typing.get_args(base)[0]
        if not isinstance(value, list | tuple):
            raise _fail(section, key, value, f"a list of {_describe(member, {})}s", meta)
        out = []
        for item in value:
            item = _checked(section, key, item, member, {**meta, "member": True})
            out.append(item)
        return tuple(out)
    raise TypeError(f"[{section}] {key}: unsupported annotation {annotation!r}")  # a bug


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0], True
    return annotation, False


def _describe(base: Any, meta: typing.Mapping) -> str:
    if meta.get("kind"):
        return meta["kind"]
    if meta.get("choices"):
        return "one of " + ", ".join(repr(c) for c in meta["choices"])
    words = {int: "a whole number", float: "a number", str: "text", bool: "true or false",
             Path: "a folder path"}
    text = words.get(base, str(base))
    lo, hi = meta.get("lo"), meta.get("hi")
    if lo is not None and hi is not None:
        text += f" from {lo} to {hi}"
    elif lo is not None:
        text += f" of at least {lo}"
    return text


def _fail(section: str, key: str, value: Any, expected: str, meta: typing.Mapping) -> ConfigError:
    example = meta.get("example")
    fix = f"set e.g. {key} = {example}" if example else f"fix {key} or remove it for the default"
    return ConfigError(f"[{section}] {key} = {value!r}: expected {expected}; {fix}")


def _check_range(section: str, key: str, value: float, base: Any, meta: typing.Mapping) -> None:
    lo, hi = meta.get("lo"), meta.get("hi")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise _fail(section, key, value, _describe(base, meta), meta)


def _check_choice(section: str, key: str, value: Any, meta: typing.Mapping) -> None:
    choices = meta.get("choices")
    if choices and value not in choices:
        raise _fail(section, key, value, "one of " + ", ".join(repr(c) for c in choices), meta)


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Section):
        return value.to_dict()
    return value
