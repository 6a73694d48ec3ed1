"""Pipeline configuration: a TOML file in `pipelines/`, one section per concern.

    config = load_config(Path("pipelines/leeds_npc.toml"))   # or load_config(None): the defaults

| section | dataclass | what it holds |
|---|---|---|
| `[pipeline]` | DefinitionConfig | population, feature sets, outcome, selection, outputs |
| `[run]` | RunConfig | engine, memory limit, threads |
| `[features]` | FeatureConfig | LTC preset, code-list folder, eFI and HFRS settings |
| `[risk]` | RiskConfig | score method and model settings |
| `[cohort]` | CohortConfig | neighbourhood, fraction, denominator, eligibility, clinical exclusions |
| `[outputs.case_finding]`, `[outputs.planning]` | CaseFindingRules, PlanningRules | opt-outs per output class |

Every value is checked by one mechanism (`fields.Section`): a bad one is a ConfigError (exit 5)
of one line naming the section, the key, the kind of value expected and the allowed range.
Older spellings are translated by one table, `ALIASES`; giving an old and a new spelling of one
rule with different values is a ConfigError. This package imports no domain module.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from npc_risk.config.fields import reject_unknown
from npc_risk.config.sections import (
    CALIBRATIONS,
    DEFAULT_MEMORY_LIMIT,
    DENOMINATORS,
    ENGINES,
    ESTIMATORS,
    NEIGHBOURHOODS,
    OPT_OUTS,
    RISK_METHODS,
    CaseFindingRules,
    CohortConfig,
    DefinitionConfig,
    FeatureConfig,
    OptOutRules,
    OutputsConfig,
    PacksConfig,
    PlanningRules,
    RiskConfig,
    RunConfig,
)
from npc_risk.errors import ConfigError
from npc_risk.hashing import text_sha256

__all__ = [
    "ALIASES", "CALIBRATIONS", "DEFAULT_MEMORY_LIMIT", "DENOMINATORS", "ENGINES", "ESTIMATORS",
    "NEIGHBOURHOODS", "OPT_OUTS", "RISK_METHODS", "CaseFindingRules", "CohortConfig",
    "DefinitionConfig", "FeatureConfig", "OptOutRules", "OutputsConfig", "PacksConfig", "PipelineConfig",
    "PlanningRules", "RiskConfig", "RunConfig", "load_config",
]

# Older spellings -> the one spelling today, as (section path, key). `*` moves every key of a
# sub-table up into its parent section.
ALIASES: dict[tuple[str, str], tuple[str, str]] = {
    ("cohort.eligibility", "*"): ("cohort", "*"),
    ("cohort.exclusions", "palliative_care"): ("cohort", "exclude_palliative_care"),
    ("cohort.exclusions", "care_home"): ("cohort", "exclude_care_home"),
    ("cohort.exclusions", "type1_optout"): ("outputs.case_finding", "apply_type1_optout"),
    ("cohort.exclusions", "ndo_optout"): ("outputs.case_finding", "apply_ndo_optout"),
    ("cohort", "exclude_type1_optout"): ("outputs.case_finding", "apply_type1_optout"),
    ("cohort", "exclude_ndo_optout"): ("outputs.case_finding", "apply_ndo_optout"),
    # was validated under [features] and read by nothing; the cohort's unit is [cohort]'s
    ("features", "neighbourhood"): ("cohort", "neighbourhood"),
}
SECTIONS: dict[str, type] = {
    "pipeline": DefinitionConfig, "run": RunConfig, "features": FeatureConfig, "risk": RiskConfig,
    "cohort": CohortConfig, "outputs.case_finding": CaseFindingRules,
    "outputs.planning": PlanningRules, "packs": PacksConfig,
}
TOP_LEVEL = ("name", "description", "pipeline", "run", "features", "risk", "cohort", "outputs", "packs")


@dataclass(frozen=True)
class PipelineConfig:
    """A whole pipeline definition: its name, and one value per section."""

    name: str = "default"
    description: str = ""
    pipeline: DefinitionConfig = field(default_factory=DefinitionConfig)
    run: RunConfig = field(default_factory=RunConfig)
    features: FeatureConfig = field(default_factory=FeatureConfig)
    risk: RiskConfig = field(default_factory=RiskConfig)
    cohort: CohortConfig = field(default_factory=CohortConfig)
    outputs: OutputsConfig = field(default_factory=OutputsConfig)
    packs: PacksConfig = field(default_factory=PacksConfig)
    source: str | None = None  # the file it was read from

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description,
                **{s: getattr(self, s).to_dict() for s in
                   ("pipeline", "run", "features", "risk", "cohort", "outputs", "packs")},
                "source": self.source}

    def digest(self) -> str:
        """sha256 of the effective configuration (recorded in the manifest and Parquet metadata)."""
        text = json.dumps({k: v for k, v in self.as_dict().items() if k != "source"}, sort_keys=True)
        return text_sha256(text)


def override_run(config: PipelineConfig, **values: Any) -> PipelineConfig:
    """`config` with `[run]` keys replaced by command-line options (`--engine`,
    `--spark-master`); None leaves a key as the file has it. Checked like the file's values."""
    given = {k: v for k, v in values.items() if v is not None}
    if not given:
        return config
    return dataclasses.replace(config, run=RunConfig(**(config.run.to_dict() | given)))


def load_config(path: Path | None) -> PipelineConfig:
    """Read a pipeline TOML file; None gives the built-in defaults."""
    if path is None:
        return PipelineConfig()
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: pipeline config not found; pass --pipeline pipelines/<name>.toml") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}); fix the line it names") from None
    try:
        return config_from_mapping(raw, default_name=path.stem, source=str(path))
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def config_from_mapping(raw: Mapping[str, Any], *, default_name: str = "default",
                        source: str | None = None) -> PipelineConfig:
    """Build a PipelineConfig from parsed TOML (aliases translated, every value checked)."""
    reject_unknown("top level", raw, TOP_LEVEL, hint=" (sections are [pipeline], [run], "
                   "[features], [risk], [cohort], [outputs.case_finding], [outputs.planning], [packs])")
    for key in ("name", "description"):
        if key in raw and not isinstance(raw[key], str):
            raise ConfigError(f"{key} = {raw[key]!r}: expected text; quote it")
    tables = _sections(raw)
    built = {name: cls.from_mapping(tables.get(name, {})) for name, cls in SECTIONS.items()}
    outputs = OutputsConfig(case_finding=built.pop("outputs.case_finding"),
                            planning=built.pop("outputs.planning"))
    return PipelineConfig(name=raw.get("name", default_name), description=raw.get("description", ""),
                          source=source, outputs=outputs, **built)


def _sections(raw: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Flatten the TOML into section path -> {key: value}, translating `ALIASES`."""
    flat: dict[str, dict[str, Any]] = {}
    for name in ("pipeline", "run", "features", "risk", "cohort", "outputs", "packs"):
        _walk(name, raw.get(name, {}), flat)
    outputs = flat.pop("outputs", {})
    for key, value in outputs.items():
        if f"outputs.{key}" in SECTIONS:
            raise ConfigError(f"[outputs] {key} = {value!r}: expected a table [outputs.{key}]; "
                              f"write its keys under a [outputs.{key}] heading")
    reject_unknown("outputs", outputs, (), hint=" (the output classes are sub-tables: "
                   "[outputs.case_finding], [outputs.planning])")
    given: dict[tuple[str, str], tuple[Any, str]] = {}
    aliased = {section for section, _ in ALIASES if section not in SECTIONS}
    for section in list(flat):
        for key in list(flat[section]):
            target = ALIASES.get((section, key)) or ALIASES.get((section, "*"))
            if target is None:
                continue
            value = flat[section].pop(key)
            new_section, new_key = target[0], key if target[1] == "*" else target[1]
            old = f"[{section}] {key}"
            _put(flat, given, new_section, new_key, value, old)
        if not flat[section] and section in aliased and section not in SECTIONS:
            del flat[section]  # an old sub-table, fully translated
    for section in flat:
        if section not in SECTIONS:
            raise ConfigError(f"[{section}]: unknown section; the sections are "
                              + ", ".join(f"[{s}]" for s in SECTIONS))
    return flat


def _walk(path: str, value: Any, flat: dict[str, dict[str, Any]]) -> None:
    if not isinstance(value, Mapping):
        section, _, key = path.rpartition(".")
        raise ConfigError(f"{key} = {value!r}: expected a table [{path}]" if not section else
                          f"[{section}] {key} = {value!r}: expected a table [{path}]")
    keys = flat.setdefault(path, {})
    for key, item in value.items():
        if isinstance(item, Mapping):
            _walk(f"{path}.{key}", item, flat)
        else:
            keys[key] = item


def _put(flat, given, section: str, key: str, value: Any, old: str) -> None:
    """Set a translated key; an old and a new spelling with different values is an error."""
    keys = flat.setdefault(section, {})
    if key in keys and keys[key] != value:
        earlier = given.get((section, key), (None, f"[{section}] {key}"))[1]
        raise ConfigError(f"{old} = {_toml(value)} contradicts {earlier} = {_toml(keys[key])}; "
                          f"set the rule once, as [{section}] {key}")
    keys[key] = value
    given.setdefault((section, key), (value, old))


def _toml(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else repr(value)
