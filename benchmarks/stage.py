"""Write an extract's accepted (staged) tables to a folder, for benchmarking the feature step
on its own: `python -m benchmarks.stage EXTRACT AS_OF OUT` then bench_features(OUT)."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

from npc_risk import files
from npc_risk.engine import Engine
from npc_risk.ingest import ingest_extract


def main(extract: str, as_of: str, out: str) -> None:
    target = files.private_dir(Path(out))
    with Engine.open(spill_dir=target / "spill") as engine:
        result = ingest_extract(engine, Path(extract), as_of=date.fromisoformat(as_of),
                                work_dir=target / "work")
        for name, table in result.tables.items():
            files.write_parquet(table, target / f"{name}.parquet")


def bench(staged: str, as_of: str) -> None:
    from benchmarks.features import bench_features  # noqa: PLC0415

    result = bench_features(Path(staged), date.fromisoformat(as_of))
    (Path(staged) / "bench_features.json").write_text(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    if sys.argv[1] == "bench":
        bench(*sys.argv[2:])
    else:
        main(*sys.argv[1:])
