"""Pipeline configuration: a TOML file in `pipelines/`, one section per step.

Each step owns its section's dataclass (features.FeatureConfig, risk.RiskConfig,
cohort.CohortConfig) with defaults and a `from_mapping` that rejects unknown keys and
out-of-range values with a ConfigError naming the key and the allowed values. This module only
reads the file and hands each section to its owner.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import asdict, dataclass, field, fields
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


@dataclass(frozen=True)
class PipelineConfig:
    name: str = "default"
    description: str = ""
    run: RunConfig = field(default_factory=RunConfig)
    features: FeatureConfig = field(default_factory=FeatureConfig)
    risk: RiskConfig = field(default_factory=RiskConfig)
    cohort: CohortConfig = field(default_factory=CohortConfig)
    source: str | None = None  # the file it was read from

    def as_dict(self) -> dict[str, Any]:
        return _plain(asdict(self))

    def digest(self) -> str:
        """sha256 of the effective configuration (recorded in the manifest and Parquet metadata)."""
        text = json.dumps({k: v for k, v in self.as_dict().items() if k != "source"}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()


SECTIONS = {"run": RunConfig, "features": FeatureConfig, "risk": RiskConfig, "cohort": CohortConfig}


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
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return PipelineConfig(name=raw.get("name", path.stem), description=raw.get("description", ""),
                          source=str(path), **sections)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value
