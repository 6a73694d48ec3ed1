"""A pack's "registered population and its change": the change since the latest earlier run in
the same output folder, from the two runs' published (rounded, suppressed) populations."""

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from npc_risk.packs.build import _previous_planning
from npc_risk.packs.pages import _change


def _run(root: Path, day: str, population: int | None) -> Path:
    folder = root / day
    folder.mkdir(parents=True)
    pq.write_table(pa.table({"level": ["city"], "neighbourhood": ["all"],
                             "population": pa.array([population], pa.int64())}), folder / "neighbourhoods.parquet")
    return folder


def test_the_change_is_against_the_latest_earlier_run(tmp_path: Path):
    _run(tmp_path, "2025-09-30", 4300)
    _run(tmp_path, "2025-12-31", 4390)
    now = _run(tmp_path, "2026-03-31", 4415)
    _run(tmp_path, "2026-06-30", 4500)  # later: never the comparator
    (tmp_path / "2026-01-15.previous").mkdir()  # not a run folder
    day, previous = _previous_planning(now, "2026-03-31")
    assert day == "2025-12-31" and previous.population.tolist() == [4390]
    assert _change(4415, 4390) == "+25"


def test_no_change_is_shown_without_an_earlier_run_or_a_withheld_population(tmp_path: Path):
    now = _run(tmp_path, "2026-03-31", 4415)
    assert _previous_planning(now, "2026-03-31") == (None, None)
    assert _change(4415, None) is None and _change(None, 4390) is None
    assert _change(4415, float("nan")) is None
    assert _change(4415, 4415) == "no change" and _change(4410, 4415) == "-5"
