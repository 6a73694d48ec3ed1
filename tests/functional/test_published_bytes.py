"""The published Parquet of the sample city is byte-identical to the pinned hashes (issue 14):
optimisations cannot change outputs. How the pin is made and regenerated: published_pin.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.functional.published_pin import HASHES, MODEL, REGENERATE, extract_hashes, publish, sha256

pytestmark = pytest.mark.slow


def test_published_parquet_is_byte_identical_to_the_pin(tmp_path: Path):
    pinned = json.loads(HASHES.read_text())
    assert sha256(MODEL) == pinned["model_sha256"], f"the pinned model changed; run `{REGENERATE}`"
    if extract_hashes() != pinned["extract_sha256"]:
        pytest.fail(f"sample_data/extract changed since the pin was made; run `{REGENERATE}`")
    published = publish(tmp_path / "out")
    assert set(published) == set(pinned["published_sha256"]), (
        f"the run published other files than pinned; if deliberate, run `{REGENERATE}`")
    changed = sorted(name for name, digest in published.items() if pinned["published_sha256"][name] != digest)
    assert not changed, (f"published bytes changed in {changed}; an optimisation must not change outputs. "
                         f"If the change is deliberate, run `{REGENERATE}` and say why in the commit")
