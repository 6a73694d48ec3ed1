"""The respiratory pipeline's published files, written inside the run's atomic publish
(publish_run's `before_manifest` hook): care_gaps.parquet (internal), care_gap_rates.parquet
(planning, suppressed) and respiratory_mdt.parquet (case-finding). Declared in schemas/outputs.py.

`prepare` computes the three Arrow tables on the engine before publishing (the care gaps of the
whole register, the rates, the MDT list of the selected people); `Prepared.write(staging,
manifest)` writes them and returns their manifest entries.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import ibis.expr.types as ir
import pyarrow as pa

from npc_risk import __version__, files
from npc_risk.engine import Engine
from npc_risk.hashing import file_sha256
from npc_risk.respiratory.features import PERSON_COLUMNS
from npc_risk.respiratory.gaps import care_gaps, gap_rate_counts, gap_rates, mdt_list
from npc_risk.schemas.outputs import CARE_GAP_RATES, CARE_GAPS, RESPIRATORY_MDT, Output

log = logging.getLogger(__name__)


def _declared(arrow: pa.Table, spec: Output) -> pa.Table:
    """The declared columns, types and sort (a mismatch is a bug: TypeError)."""
    arrow = arrow.select(list(spec.names))
    for column in spec.columns:
        if arrow.schema.field(column.name).type != column.type:
            raise TypeError(f"{spec.name}.{column.name} is {arrow.schema.field(column.name).type} but "
                            f"schemas/outputs.py declares {column.type}")
    keys = [(k, "ascending") for k in spec.sort_key]
    if any(spec.column(k).order for k in spec.sort_key):
        return arrow  # already in the declared order (gap_rates sorts by the level order)
    return arrow.sort_by(keys)


@dataclass
class Prepared:
    tables: dict[str, tuple[Output, pa.Table]]
    texts: dict[str, str] = field(default_factory=dict)  # small text files (the CYP method card)

    def write(self, staging: Path, manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
        out = {}
        for name, text in self.texts.items():
            path = files.write_text(text, Path(staging) / name)
            out[name] = {"sha256": file_sha256(path), "rows": 0, "bytes": path.stat().st_size}
        for spec, arrow in self.tables.values():
            meta = {"npc_risk.as_of": str(manifest.get("as_of")), "npc_risk.version": __version__,
                    "npc_risk.config_hash": str(manifest.get("config_hash")),
                    "npc_risk.output": spec.path, "npc_risk.output_class": spec.output_class}
            path = files.write_parquet(arrow, Path(staging) / spec.path, metadata=meta)
            out[spec.path] = {"sha256": file_sha256(path), "rows": arrow.num_rows, "bytes": path.stat().st_size}
        return out


def prepare(engine: Engine, *, person: ir.Table, patients: ir.Table, cohort: ir.Table, as_of: date,
            config=None, truth_dir: Path | None = None) -> Prepared:
    """The three tables (module docstring); counts only are logged. With the `cyp_asthma` feature
    set in `config` also the children's lists, rates and method card (respiratory.cyp_outputs;
    `truth_dir`: the synthetic city's truth folder, when there is one)."""
    resp = person.select(*PERSON_COLUMNS)
    gaps = engine.to_arrow(care_gaps(resp, as_of))
    counts = engine.to_arrow(gap_rate_counts(patients)).to_pandas()
    chosen = engine.to_arrow(cohort).to_pandas()
    ids = set(chosen["patient_id"])
    people = engine.to_arrow(resp.semi_join(cohort.select("patient_id"), "patient_id")).to_pandas()
    gap_frame = gaps.to_pandas()
    mdt = mdt_list(chosen, people, gap_frame[gap_frame["patient_id"].isin(ids)])
    log.info("respiratory: %s open care gaps, %s people on the MDT lists", f"{gaps.num_rows:,}", f"{mdt.num_rows:,}")
    prepared = Prepared({
        "care_gaps": (CARE_GAPS, _declared(gaps, CARE_GAPS)),
        "care_gap_rates": (CARE_GAP_RATES, _declared(gap_rates(counts), CARE_GAP_RATES)),
        "respiratory_mdt": (RESPIRATORY_MDT, _declared(mdt, RESPIRATORY_MDT)),
    })
    if config is not None and "cyp_asthma" in config.pipeline.feature_sets:
        from npc_risk.respiratory import cyp_outputs  # noqa: PLC0415 (only the children's pipeline)

        cyp = cyp_outputs.prepare(engine, patients=patients, config=config, as_of=as_of, truth_dir=truth_dir)
        prepared.tables |= {name: (spec, _declared(arrow, spec)) for name, (spec, arrow) in cyp.tables.items()}
        prepared.texts = dict(zip((cyp_outputs.CARD_JSON, cyp_outputs.CARD_MD), cyp_outputs.card_text(cyp.card),
                                  strict=True))
    return prepared
