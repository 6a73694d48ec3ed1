"""Benchmark: feature derivation vs a plain DuckDB scan of the same Parquet files.

`bench_features(extract_dir)` expects `<table>.parquet` files named after the staged tables
(docs/architecture.md; apcs_diagnoses included), e.g. ingest's `<work_dir>/ingest/`. It reports
seconds and ratios, never patient values. Targets (issue): features <= 2x scan time; peak RSS
< 4 GB at 1M people. Absolute times vary up to 2x on shared machines (engine-notes.md): quote
ratios from one run.

How the two sides are measured, so the ratio means something:
* both run on one engine (`npc_risk.engine.Engine`: same memory limit, threads, spill folder);
* the scan decodes every value of every column (`max(hash(col))`): `count(col)` is answered
  from Parquet metadata/validity without reading the values and understates a scan 3-6x;
* the scan is run once untimed first, so both sides read from a warm OS page cache;
* features = `derive_features` (which materialises its cached intermediates) + person and
  evidence written to Parquet + unmatched fetched: everything the pipeline step does
  (steps.features_as_of). Evidence is written, not counted: a count lets the engine skip work;
* peak RSS is read before the HFRS comparisons, which pull codes into pandas.
"""

from __future__ import annotations

import resource
import tempfile
import time
import warnings
from datetime import date
from pathlib import Path

from npc_risk.codelists import load_codelists, load_hfrs_weights
from npc_risk.config import FeatureConfig, RunConfig
from npc_risk.engine import Engine
from npc_risk.features import derive_features
from npc_risk.features.hfrs import hfrs_categories, hfrs_per_person
from npc_risk.features.tables import STAGED_SCHEMAS


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _files(extract_dir: Path) -> dict[str, Path]:
    return {n: extract_dir / f"{n}.parquet" for n in STAGED_SCHEMAS if (extract_dir / f"{n}.parquet").exists()}


def scan_seconds(raw, paths) -> float:
    """Seconds to read and decode every value of every column of every file once."""
    t0 = time.perf_counter()
    for path in (paths.values() if isinstance(paths, dict) else paths):
        cols = raw.sql(f"SELECT * FROM read_parquet('{path}') LIMIT 0").columns
        aggs = ", ".join(f'max(hash("{c}"))' for c in cols)
        raw.sql(f"SELECT {aggs} FROM read_parquet('{path}')").fetchall()
    return time.perf_counter() - t0


def bench_features(extract_dir: Path, as_of: date | None = None, *, run: RunConfig | None = None) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="npc-bench-"))
    with Engine.open(run, spill_dir=tmp / "spill") as engine:
        return _bench(engine, Path(extract_dir), as_of or date(2026, 3, 31), tmp)


def _bench(engine: Engine, extract_dir: Path, as_of: date, tmp: Path) -> dict:
    files = _files(extract_dir)
    ib = engine.con
    # 1. scan only (warm-up run first, then the timed run)
    scan_seconds(ib.con, files)
    scan_s = scan_seconds(ib.con, files)
    # 2. features: person + evidence + unmatched, fully materialised
    tables = {}
    for n, p in files.items():
        t = ib.read_parquet(p, table_name=n)
        tables[n] = t.cast({c: typ for c, typ in STAGED_SCHEMAS[n].items() if c in t.columns})
    cs = load_codelists()
    t0 = time.perf_counter()
    r = derive_features(engine, tables, as_of=as_of, codelists=cs, config=FeatureConfig())
    t1 = time.perf_counter()
    r.person.to_parquet(tmp / "person.parquet")
    t2 = time.perf_counter()
    r.evidence.to_parquet(tmp / "evidence.parquet")
    t3 = time.perf_counter()
    r.unmatched.to_pyarrow()
    features_s = time.perf_counter() - t0
    people = ib.read_parquet(tmp / "person.parquet").count().to_pyarrow().as_py()
    evidence_rows = ib.read_parquet(tmp / "evidence.parquet").count().to_pyarrow().as_py()
    out = {"people": people, "evidence_rows": evidence_rows, "scan_s": round(scan_s, 3),
           "features_s": round(features_s, 3), "derive_s": round(t1 - t0, 3),
           "person_s": round(t2 - t1, 3), "evidence_s": round(t3 - t2, 3),
           "unmatched_s": round(features_s - (t3 - t0), 3),
           "features_to_scan": round(features_s / scan_s, 2),
           "peak_rss_mb": round(_peak_rss_mb(), 1)}
    con = ib.con
    # 3. HFRS alone: ours vs comorbidipy vs plain pandas, same window-restricted codes
    if "apcs_diagnoses" in files:
        diag = con.sql(f"SELECT patient_id, icd10_code FROM read_parquet('{files['apcs_diagnoses']}') "
                       f"WHERE admission_date BETWEEN DATE '{as_of}' - INTERVAL 730 DAY AND DATE '{as_of}'"
                       ).to_arrow_table().to_pandas()
        t0 = time.perf_counter()
        hfrs_per_person(hfrs_categories(tables["apcs_diagnoses"], load_hfrs_weights(), as_of)).to_pyarrow()
        ours = time.perf_counter() - t0
        weights = {k: v / 10 for k, v in load_hfrs_weights().items()}
        t0 = time.perf_counter()
        d = diag.assign(cat=diag.icd10_code.str[:3]).drop_duplicates(["patient_id", "cat"])
        d.assign(points=d.cat.map(weights).fillna(0)).groupby("patient_id").points.sum()
        pandas_s = time.perf_counter() - t0
        out.update(hfrs_ibis_s=round(ours, 3), hfrs_pandas_s=round(pandas_s, 3),
                   hfrs_pandas_to_ibis=round(pandas_s / ours, 2))
        try:
            import pandas.core.common  # noqa: PLC0415 (the comorbidipy shim, only here)
            import pandas.errors  # noqa: PLC0415
            pandas.core.common.SettingWithCopyWarning = getattr(
                pandas.errors, "SettingWithCopyWarning", type("SettingWithCopyWarning", (Warning,), {}))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                from comorbidipy import hfrs  # noqa: PLC0415 (optional reference)
                t0 = time.perf_counter()
                hfrs(diag.rename(columns={"icd10_code": "code"}), id="patient_id", code="code")
            cm = time.perf_counter() - t0
            out.update(hfrs_comorbidipy_s=round(cm, 3), hfrs_comorbidipy_to_ibis=round(cm / ours, 2))
        except ImportError:  # comorbidipy is a dev dependency
            out["hfrs_comorbidipy_s"] = None
    return out


if __name__ == "__main__":  # python -m benchmarks.features <staged-dir>
    import json
    import sys

    print(json.dumps(bench_features(Path(sys.argv[1])), indent=2))
