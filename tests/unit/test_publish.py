"""Unit: publishing a run (declared columns and types, atomic, owner-only, deterministic) and
finding the previous run."""

from __future__ import annotations

import json
import stat
from datetime import date
from pathlib import Path

import ibis
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from npc_risk import publish as publish_module
from npc_risk.cohort import CohortConfig, select_cohort
from npc_risk.errors import NpcRiskError
from npc_risk.planning.statistics import neighbourhood_statistics, publishable_neighbourhoods
from npc_risk.publish import previous_run, publish_run
from npc_risk.schemas.outputs import COHORT, EVIDENCE, NEIGHBOURHOODS, PATIENTS, Output
from tests.builders.people import person, scored_table

AS_OF = date(2026, 3, 31)


def scored(bed_days=int) -> ibis.Table:
    """120 people; bed days are an int64, as schemas/outputs.py declares them on every engine."""
    rows = []
    for i in range(120):
        lcp = "Leeds A&B" if i % 2 else "Leeds C/D"  # names that need percent-encoding
        rows.append(person(f"p{i:03d}", lcp_name=lcp, pcn_code=f"P{i % 3}", ltc_count=3,
                           risk_score=((i * 37) % 100) / 100,
                           emergency_bed_days_12m=bed_days(i % 5)))
    return ibis.memtable(scored_table(rows))


def with_drivers(table: ibis.Table) -> ibis.Table:
    """The run adds the selected people's drivers to the cohort (run._with_drivers)."""
    if "drivers" in table.columns:
        return table
    return table.mutate(drivers=ibis.literal("3 long-term conditions"))


def evidence() -> ibis.Table:
    return ibis.memtable(pa.table({
        "patient_id": ["p001", "p000", "p001"],
        "feature": ["ltc_copd", "ltc_asthma", "ltc_asthma"],
        "code": ["13645005", "195967001", "195967001"],
        "first_date": pa.array([date(2020, 1, 1)] * 3),
        "last_date": pa.array([date(2025, 1, 1)] * 3),
        "source": ["gp", "gp", "gp"],
    }))


def quarantine(tmp_path: Path) -> Path:
    folder = tmp_path / "work" / "quarantine"
    folder.mkdir(parents=True)
    pq.write_table(pa.table({"patient_id": ["x"], "reason": ["bad date"]}), folder / "apcs.parquet")
    (folder / "notes.csv").write_text("patient_id,reason\ny,unknown practice\n", encoding="utf-8")
    return folder


def publish(root: Path, tmp_path: Path, *, as_of: date = AS_OF, level: str = "lcp",
            previous=None, fraction: float = 0.1) -> Path:
    config = CohortConfig(neighbourhood=level, cohort_fraction=fraction)
    result = select_cohort(scored(), config=config, previous_patients=previous)
    stats = neighbourhood_statistics(result.patients, result.report)
    qdir = tmp_path / "work" / "quarantine"
    return publish_run(
        output_root=root, as_of=as_of, patients=result.patients, cohort=with_drivers(result.cohort),
        neighbourhoods=publishable_neighbourhoods(stats), evidence=evidence(),
        quarantine_dir=qdir if qdir.exists() else quarantine(tmp_path),
        manifest={"config": {"cohort": config.to_dict()}, "command": "run"},
    )


def files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_layout_modes_and_manifest(tmp_path):
    root = tmp_path / "out"
    final = publish(root, tmp_path)
    assert final == root / "2026-03-31"
    # no staging left behind; the date and `latest` link the run folder (one rename to publish)
    assert sorted(p.name for p in root.iterdir()) == ["2026-03-31", "latest", "runs"]
    assert [p.name for p in (root / "runs").iterdir()] == ["2026-03-31.1"]
    assert final.resolve() == (root / "latest").resolve() == (root / "runs" / "2026-03-31.1").resolve()
    written = files(final)
    assert set(written) == {
        "patients.parquet", "neighbourhoods.parquet", "evidence.parquet", "manifest.json",
        "cohort/neighbourhood=Leeds%20A%26B/part-0.parquet",
        "cohort/neighbourhood=Leeds%20C%2FD/part-0.parquet",
        "quarantine/apcs.parquet", "quarantine/notes.csv",
    }
    for name in written:
        if name != "manifest.json":
            assert stat.S_IMODE((final / name).stat().st_mode) == 0o600, name
    assert stat.S_IMODE(final.stat().st_mode) == 0o700
    manifest = json.loads(written["manifest.json"])
    assert manifest["command"] == "run"
    assert manifest["provenance"]["as_of"] == "2026-03-31"
    assert manifest["outputs"]["patients.parquet"]["rows"] == 120
    assert manifest["outputs"]["quarantine/notes.csv"]["rows"] == 1
    assert set(manifest["outputs"]) == set(written) - {"manifest.json"}
    text = written["manifest.json"].decode()
    assert text == json.dumps(manifest, sort_keys=True, indent=2) + "\n"


def test_parquet_provenance_and_contents(tmp_path):
    final = publish(tmp_path / "out", tmp_path)
    meta = pq.read_schema(final / "patients.parquet").metadata
    assert meta[b"npc_risk.as_of"] == b"2026-03-31"
    assert meta[b"npc_risk.output_class"] == b"internal"
    assert len(meta[b"npc_risk.config_hash"]) == 64
    patients = pq.read_table(final / "patients.parquet")
    assert "nhs_number" not in patients.column_names
    assert patients["patient_id"].to_pylist() == sorted(patients["patient_id"].to_pylist())
    cohort = ds.dataset(final / "cohort", partitioning="hive").to_table()
    assert set(cohort["neighbourhood"].to_pylist()) == {"Leeds A&B", "Leeds C/D"}
    assert cohort.num_rows == 12  # 10 % of 60 in each LCP
    assert pq.read_schema(final / "neighbourhoods.parquet").metadata[
        b"npc_risk.output_class"] == b"planning"


def test_rerun_is_byte_identical(tmp_path):
    first = files(publish(tmp_path / "a", tmp_path))
    second = files(publish(tmp_path / "b", tmp_path))
    again = files(publish(tmp_path / "a", tmp_path))  # same folder, replaced in place
    assert first == second == again


def test_failure_midway_leaves_the_old_output_intact(tmp_path, monkeypatch):
    root = tmp_path / "out"
    before = files(publish(root, tmp_path))

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(publish_module, "_copy_quarantine", broken)  # after the parquet files
    with pytest.raises(RuntimeError, match="disk full"):
        publish(root, tmp_path)
    assert sorted(p.name for p in root.iterdir()) == ["2026-03-31", "latest", "runs"]  # no staging
    assert [p.name for p in (root / "runs").iterdir()] == ["2026-03-31.1"]
    assert files(root / "2026-03-31") == before


def test_previous_run_finds_the_latest_earlier_run(tmp_path):
    root = tmp_path / "out"
    assert previous_run(root, AS_OF) is None
    publish(root, tmp_path, as_of=date(2026, 2, 28))
    publish(root, tmp_path, as_of=date(2026, 1, 31), fraction=0.05)  # 6 selected, not 12
    (root / ".staging-2026-03-01-1").mkdir()
    (root / "notes").mkdir()
    assert previous_run(root, date(2026, 1, 31)) is None  # strictly earlier only
    prev = previous_run(root, AS_OF)
    assert prev.columns == ("patient_id", "neighbourhood", "in_cohort")
    assert prev.count().to_pyarrow().as_py() == 12  # only the cohort rows of 2026-02-28
    # the change report against an identical earlier run: everyone stayed
    final = publish(root, tmp_path, previous=prev)
    result = select_cohort(scored(), config=CohortConfig(neighbourhood="lcp", cohort_fraction=0.1),
                           previous_patients=previous_run(root, AS_OF))
    report = result.report.to_pyarrow().to_pylist()
    assert [(r["entered"], r["left"], r["stayed"]) for r in report] == [(0, 0, 6), (0, 0, 6)]
    assert final.is_dir()


def declared(spec: Output, columns=None) -> list[tuple[str, str]]:
    return [(c.name, str(c.type)) for c in (columns or spec.columns)]


def published(schema: pa.Schema) -> list[tuple[str, str]]:
    return [(f.name, str(f.type)) for f in schema]


def test_every_published_file_matches_its_declaration(tmp_path):
    """Columns, their order and their Arrow types are those of schemas/outputs.py, and nothing
    else is published (the input tables hold more: pcn_code, palliative_care, ...)."""
    final = publish(tmp_path / "out", tmp_path)
    for spec in (PATIENTS, NEIGHBOURHOODS, EVIDENCE):
        assert published(pq.read_schema(final / spec.path)) == declared(spec), spec.name
    parts = sorted((final / "cohort").rglob("*.parquet"))
    assert len(parts) == 2
    for part in parts:
        assert published(pq.read_schema(part)) == declared(COHORT, COHORT.file_columns)
    hive = ds.dataset(final / "cohort", partitioning="hive").schema
    assert published(hive) == declared(COHORT, (*COHORT.file_columns, COHORT.column("neighbourhood")))


def test_rows_follow_the_declared_sort_key(tmp_path):
    """neighbourhoods: level in its declared order (not alphabetical), then key; evidence: every
    column; each cohort file: rank."""
    final = publish(tmp_path / "out", tmp_path)
    order = NEIGHBOURHOODS.column("level").order
    rows = pq.read_table(final / "neighbourhoods.parquet").to_pylist()
    key = [(order.index(r["level"]), r["neighbourhood"]) for r in rows]
    assert key == sorted(key) and rows[-1]["level"] == "city"
    evidence = pq.read_table(final / "evidence.parquet").to_pylist()
    key = [tuple(row[c] for c in EVIDENCE.sort_key) for row in evidence]
    assert key == sorted(key)
    for part in (final / "cohort").rglob("*.parquet"):
        ranks = pq.read_table(part)["neighbourhood_rank"].to_pylist()
        assert ranks == sorted(ranks)


def test_a_type_that_differs_from_the_declaration_is_a_bug(tmp_path):
    """Bed days as a double while the declaration says int64: a plain TypeError naming the table
    and column (not a user error), and nothing is published."""
    config = CohortConfig(neighbourhood="lcp", cohort_fraction=0.1)
    result = select_cohort(scored(bed_days=float), config=config)
    stats = neighbourhood_statistics(result.patients, result.report)
    root = tmp_path / "out"
    with pytest.raises(TypeError, match=r"patients\.emergency_bed_days_12m is double") as caught:
        publish_run(
            output_root=root, as_of=AS_OF, patients=result.patients,
            cohort=with_drivers(result.cohort), neighbourhoods=publishable_neighbourhoods(stats),
            evidence=evidence(), quarantine_dir=None, manifest={},
        )
    assert not isinstance(caught.value, NpcRiskError)
    assert list(root.iterdir()) == []  # no staging folder, no output


def test_empty_cohort_still_publishes_an_empty_cohort_folder(tmp_path):
    result = select_cohort(scored(), config=CohortConfig(min_age=120))  # nobody eligible
    stats = neighbourhood_statistics(result.patients, result.report)
    final = publish_run(
        output_root=tmp_path / "out", as_of=AS_OF, patients=result.patients,
        cohort=with_drivers(result.cohort), neighbourhoods=publishable_neighbourhoods(stats),
        evidence=evidence(), quarantine_dir=None, manifest={},
    )
    assert list((final / "cohort").iterdir()) == []
    assert list((final / "quarantine").iterdir()) == []
    assert pq.read_table(final / "patients.parquet")["in_cohort"].to_pylist() == [False] * 120
