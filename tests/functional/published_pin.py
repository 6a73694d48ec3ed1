"""The published Parquet of the sample city, pinned byte for byte (issue 14).

`npc-risk run --model <the pinned model>` on `sample_data/extract` must publish Parquet files
whose sha256 equal `pinned/published_sha256.json`: an optimisation of ingest, features, scoring,
selection or publishing cannot change a published byte without this test failing. Model
training is the one thing left out: the run scores with a model trained once and committed
(`pinned/risk_model.skops`, as the monthly `npc-risk train` job would save it), so a change to
training does not move the pin, and a change to everything after it does.

Regenerate, after a deliberate output change or a new `sample_data/` (one command; it retrains
the pinned model on the sample city, runs the pipeline and rewrites the hashes):

    uv run --frozen --no-sync python -m tests.functional.published_pin
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import tempfile
from datetime import date
from pathlib import Path

from npc_risk.config import load_config
from npc_risk.pipeline import train_command
from npc_risk.run import nightly_run

ROOT = Path(__file__).resolve().parents[2]
EXTRACT = ROOT / "sample_data" / "extract"
PIPELINE = ROOT / "pipelines" / "leeds_npc.toml"
AS_OF = date(2026, 3, 31)
PINNED = Path(__file__).resolve().parent / "pinned"
MODEL = PINNED / "risk_model.skops"
HASHES = PINNED / "published_sha256.json"
REGENERATE = "uv run --frozen --no-sync python -m tests.functional.published_pin"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def extract_hashes() -> dict[str, str]:
    """sha256 of every file of the sample extract (tells "sample_data changed" from "outputs
    changed" when the pin fails)."""
    return {p.name: sha256(p) for p in sorted(EXTRACT.iterdir()) if p.is_file()}


def publish(out: Path) -> dict[str, str]:
    """Run the nightly pipeline with the pinned model into `out`; sha256 of every published
    Parquet file (the manifest holds timings, so it is not pinned)."""
    nightly_run(input_dir=EXTRACT, output_dir=out, as_of=AS_OF, config=load_config(PIPELINE),
                model_path=MODEL)
    run = out / AS_OF.isoformat()
    return {str(p.relative_to(run)): sha256(p) for p in sorted(run.rglob("*.parquet"))}


def regenerate() -> None:
    work = Path(tempfile.mkdtemp(prefix="npc-pin-"))
    try:
        PINNED.mkdir(exist_ok=True)
        for old in PINNED.glob("risk_model.*"):
            old.unlink()
        train_command(input_dir=EXTRACT, as_of=AS_OF, model_out=MODEL, config=load_config(PIPELINE),
                      work_dir=work / "train")
        for card in PINNED.glob("risk_model.card.*"):  # the card is not needed to score
            card.unlink()
        published = publish(work / "out")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    HASHES.write_text(json.dumps({"regenerate_with": REGENERATE, "model_sha256": sha256(MODEL),
                                  "extract_sha256": extract_hashes(), "published_sha256": published},
                                 indent=2, sort_keys=True) + "\n")
    print(f"{len(published)} published Parquet files pinned in {HASHES.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    regenerate()
