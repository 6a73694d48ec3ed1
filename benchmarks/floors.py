"""The two floors the nightly run is compared with, each measured in its own child process.

`python -m benchmarks.floors scan|copy EXTRACT RESULT.json [PIPELINE]`

* scan floor: DuckDB decodes every value of every extract file (`max(hash(col))` over every
  column; `count(col)` would be answered from metadata without reading the values);
* copy floor: DuckDB reads every value of every extract file and writes it once as Parquet
  (snappy, as ingest writes its staged tables): the least any pipeline that validates and stages
  its input must do.

Both open the engine from the pipeline's `[run]` settings (memory limit, threads, spill folder),
as the nightly run does, and both run once untimed first so all sides read a warm page cache.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from npc_risk import files
from npc_risk.config import load_config
from npc_risk.engine import Engine


def _inputs(extract: Path) -> list[Path]:
    return sorted(files.extract_files(extract).values())


def scan(con, inputs: list[Path], _out: Path) -> None:
    for path in inputs:
        cols = con.sql(f"SELECT * FROM read_parquet('{path}') LIMIT 0").columns
        aggs = ", ".join(f'max(hash("{c}"))' for c in cols)
        con.sql(f"SELECT {aggs} FROM read_parquet('{path}')").fetchall()


def copy(con, inputs: list[Path], out: Path) -> None:
    for path in inputs:
        con.execute(f"COPY (SELECT * FROM read_parquet('{path}')) TO '{out / path.name}' "
                    "(FORMAT parquet, COMPRESSION snappy)")


def main(kind: str, extract: str, result: str, pipeline: str | None = None) -> None:
    work = Path(tempfile.mkdtemp(prefix=f"npc-floor-{kind}-"))
    config = load_config(Path(pipeline) if pipeline else None)
    inputs = _inputs(Path(extract))
    measure = {"scan": scan, "copy": copy}[kind]
    try:
        with Engine.open(config.run, spill_dir=work / "spill") as engine:
            con = engine.con.con  # the raw DuckDB connection under ibis
            measure(con, inputs, work)  # warm-up: page cache and DuckDB's file metadata
            started = time.perf_counter()
            measure(con, inputs, work)
            seconds = time.perf_counter() - started
        written = sum(p.stat().st_size for p in work.glob("*.parquet"))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    Path(result).write_text(json.dumps({"seconds": round(seconds, 3), "bytes_written": written,
                                        "bytes_read": sum(p.stat().st_size for p in inputs)}))


if __name__ == "__main__":
    main(*sys.argv[1:])
