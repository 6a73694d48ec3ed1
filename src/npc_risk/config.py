"""Pipeline configuration: a TOML file in `pipelines/`, one section per step.

Each step owns its section's dataclass (features.FeatureConfig, risk.RiskConfig,
cohort.CohortConfig) with defaults and a `from_mapping` that rejects unknown keys and
out-of-range values with a ConfigError naming the key and the allowed values. This module
reads the file, hands each section to its owner, and owns the two sections that are not one
step's: `[run]` and `[outputs]`.

`[outputs.case_finding]` and `[outputs.planning]` (nhs-data-conventions.md §8): which opt-outs
each output class applies. Case-finding = the per-neighbourhood cohort lists (individual care);
planning = neighbourhoods.parquet (aggregates). The defaults are the rules the pipeline has
always applied:

| class        | apply_type1_optout | apply_ndo_optout | applied as |
|--------------|--------------------|------------------|------------|
| case_finding | true               | false            | a cohort exclusion reason (`excluded_type1_optout`, `excluded_ndo_optout`); people stay in the denominator |
| planning     | false              | true             | left out of the planning figures, counted as `type1_excluded`, `ndo_excluded` |

The case-finding rules are carried out by the cohort step, so they are copied into
`CohortConfig.exclude_type1_optout` / `exclude_ndo_optout`. The older spelling
`[cohort.exclusions] type1_optout` (or `[cohort] exclude_type1_optout`) still works; giving it
and `[outputs.case_finding] apply_type1_optout` with different values is a ConfigError.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from npc_risk import settings
from npc_risk.cohort import CohortConfig
from npc_risk.errors import ConfigError
from npc_risk.features import FeatureConfig
from npc_risk.risk import RiskConfig

ENGINES = ("duckdb", "pyspark")


@dataclass(frozen=True)
class RunConfig:
    """`[run]`: the engine and its resources."""

    engine: str = "duckdb"
    memory_limit: str = "2GB"
    threads: int | None = None

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> RunConfig:
        settings.reject_unknown("run", values, {f.name for f in fields(cls)})
        config = cls(**values)
        if config.engine not in ENGINES:
            raise ConfigError(f"[run] engine = {config.engine!r}: use one of {', '.join(ENGINES)}")
        if not str(config.memory_limit).upper().endswith(("MB", "GB")):
            raise ConfigError(f"[run] memory_limit = {config.memory_limit!r}: give a size such as '4GB'")
        return config


OPT_OUTS = ("type1_optout", "ndo_optout")  # person flags from the features step
OUTPUT_CLASSES = ("case_finding", "planning")


@dataclass(frozen=True)
class OptOutRules:
    """`[outputs.<class>]`: the opt-outs one output class applies."""

    apply_type1_optout: bool
    apply_ndo_optout: bool

    @property
    def applied(self) -> tuple[str, ...]:
        """The applied opt-out flags (column names), in `OPT_OUTS` order."""
        return tuple(flag for flag in OPT_OUTS if getattr(self, f"apply_{flag}"))

    @classmethod
    def from_mapping(cls, output_class: str, values: dict[str, Any],
                     default: OptOutRules) -> OptOutRules:
        section = f"outputs.{output_class}"
        settings.reject_unknown(section, values, {f.name for f in fields(cls)})
        return replace(default, **{k: settings.coerce(section, k, v, getattr(default, k))
                                   for k, v in values.items()})


CASE_FINDING_DEFAULT = OptOutRules(apply_type1_optout=True, apply_ndo_optout=False)
PLANNING_DEFAULT = OptOutRules(apply_type1_optout=False, apply_ndo_optout=True)


@dataclass(frozen=True)
class OutputsConfig:
    """`[outputs]`: per output class, the opt-out rules (module docstring)."""

    case_finding: OptOutRules = CASE_FINDING_DEFAULT
    planning: OptOutRules = PLANNING_DEFAULT

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> OutputsConfig:
        settings.reject_unknown("outputs", values, OUTPUT_CLASSES,
                                hint=" (as sub-tables: [outputs.case_finding], [outputs.planning])")
        sections = {}
        for name in OUTPUT_CLASSES:
            table = values.get(name, {})
            if not isinstance(table, dict):
                raise ConfigError(f"[outputs] {name} = {table!r}: expected a table "
                                  f"[outputs.{name}] with apply_type1_optout, apply_ndo_optout")
            sections[name] = OptOutRules.from_mapping(name, table, getattr(cls, name))
        return cls(**sections)


@dataclass(frozen=True)
class PipelineConfig:
    name: str = "default"
    description: str = ""
    run: RunConfig = field(default_factory=RunConfig)
    features: FeatureConfig = field(default_factory=FeatureConfig)
    risk: RiskConfig = field(default_factory=RiskConfig)
    cohort: CohortConfig = field(default_factory=CohortConfig)
    outputs: OutputsConfig = field(default_factory=OutputsConfig)
    source: str | None = None  # the file it was read from

    def __post_init__(self) -> None:
        for flag in OPT_OUTS:  # the cohort step carries out the case-finding rules
            wanted = getattr(self.outputs.case_finding, f"apply_{flag}")
            if getattr(self.cohort, f"exclude_{flag}") != wanted:
                raise ConfigError(
                    f"[outputs.case_finding] apply_{flag} = {str(wanted).lower()} but the cohort "
                    f"config has exclude_{flag} = {str(not wanted).lower()}; set the rule once, "
                    f"as [outputs.case_finding] apply_{flag}")

    def as_dict(self) -> dict[str, Any]:
        return _plain(asdict(self))

    def digest(self) -> str:
        """sha256 of the effective configuration (recorded in the manifest and Parquet metadata)."""
        text = json.dumps({k: v for k, v in self.as_dict().items() if k != "source"}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()


SECTIONS = {"run": RunConfig, "features": FeatureConfig, "risk": RiskConfig, "cohort": CohortConfig,
            "outputs": OutputsConfig}


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
    unknown = sorted(set(raw) - set(SECTIONS) - {"name", "description"})
    if unknown:
        raise ConfigError(
            f"{path}: unknown section or key {unknown[0]!r}; allowed: name, description, "
            + ", ".join(f"[{s}]" for s in SECTIONS)
        )
    try:
        sections = {name: cls.from_mapping(dict(raw.get(name, {}))) for name, cls in SECTIONS.items()}
        sections["cohort"], sections["outputs"] = _case_finding_rules(
            raw, sections["cohort"], sections["outputs"])
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return PipelineConfig(name=raw.get("name", path.stem), description=raw.get("description", ""),
                          source=str(path), **sections)


def _case_finding_rules(raw: dict[str, Any], cohort: CohortConfig,
                        outputs: OutputsConfig) -> tuple[CohortConfig, OutputsConfig]:
    """One value per case-finding opt-out rule, in both the cohort and the outputs config:
    `[outputs.case_finding] apply_<flag>` if given, else the older `[cohort]` spelling
    (`exclude_<flag>`, or `<flag>` under `[cohort.exclusions]`), else the default. Both given
    with different values is a ConfigError naming the new key."""
    cohort_raw = raw.get("cohort", {})
    new_raw = raw.get("outputs", {}).get("case_finding", {})
    rules = {}
    for flag in OPT_OUTS:
        old_key, new_key = f"exclude_{flag}", f"apply_{flag}"
        old = cohort_raw.get(old_key, cohort_raw.get("exclusions", {}).get(flag))
        value = getattr(outputs.case_finding, new_key)
        if new_key not in new_raw and old is not None:
            value = getattr(cohort, old_key)
        elif new_key in new_raw and old is not None and old != value:
            raise ConfigError(
                f"[outputs.case_finding] {new_key} = {str(value).lower()} contradicts "
                f"[cohort.exclusions] {flag} = {str(old).lower()}; set the rule once, as "
                f"[outputs.case_finding] {new_key}")
        rules[flag] = value
    cohort = replace(cohort, **{f"exclude_{f}": v for f, v in rules.items()})
    case_finding = replace(outputs.case_finding, **{f"apply_{f}": v for f, v in rules.items()})
    return cohort, replace(outputs, case_finding=case_finding)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value
