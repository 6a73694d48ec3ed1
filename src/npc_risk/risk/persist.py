"""Save and load a trained model with skops (never pickle or joblib), with its model card beside it.

Files: `<name>.skops` (the estimator + feature spec + config as plain data),
`<name>.card.json` and `<name>.card.md` (the card; aggregates only, suppressed).

Loading is the trust boundary. skops refuses to build any type it does not trust; we never pass
`trusted=True`. Instead `load_model` lists the types the file needs
(`skops.io.get_untrusted_types`), and accepts the file only when every one of them is in
`TRUSTED_TYPES` - the short list our own estimators need beyond skops' defaults, computed by
saving every supported estimator x calibration combination (`tests/unit/test_risk_persist.py`
recomputes it, so a scikit-learn upgrade that adds a type fails a test, not the 2 a.m. run).
Anything else - another library's object, a function, a pickle - raises `ModelError`.

Traps: a `.pkl`/joblib file is refused before any byte is unpickled (skops reads a zip archive
with a JSON schema; a pickle is not a zip). A file written by a newer format or with another
feature set loads but fails at `score` with a ModelError from the feature spec.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import zipfile
from pathlib import Path

from npc_risk import files
from npc_risk.config import RiskConfig
from npc_risk.errors import ConfigError, ModelError
from npc_risk.risk.card import render_markdown
from npc_risk.risk.design import FeatureSpec
from npc_risk.risk.model import TrainedModel

log = logging.getLogger(__name__)

FORMAT = "npc_risk.risk.model/1"

# Types our estimators need that skops does not trust by default (scikit-learn 1.9.1, skops 0.16).
TRUSTED_TYPES = frozenset({
    "numpy.dtype",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.model_selection._split.StratifiedKFold",
    "sklearn.model_selection._split.StratifiedShuffleSplit",
})


def card_paths(path: Path) -> tuple[Path, Path]:
    path = Path(path)
    stem = path.name.removesuffix(".skops")
    return path.with_name(f"{stem}.card.json"), path.with_name(f"{stem}.card.md")


def save_model(model: TrainedModel, path: Path) -> Path:
    """Write `<path>` (.skops) and the card sidecars atomically; returns the model path."""
    path = Path(path)
    if path.suffix != ".skops":
        raise ModelError(f"{path}: model files must end in .skops (skops format, never pickle)")
    payload = {
        "format": FORMAT,
        "estimator": model.estimator,
        "spec": model.spec.to_dict(),
        "config": model.config.to_dict(),
        "training_window": {k: str(v) for k, v in model.training_window.items()},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        _skops().dump(payload, tmp, compression=zipfile.ZIP_DEFLATED)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    card_json, card_md = card_paths(path)
    files.write_text(json.dumps(model.card, indent=2, sort_keys=True, allow_nan=False) + "\n", card_json)
    files.write_text(render_markdown(model.card) if model.card else "", card_md)
    log.info("saved model (%d features) and card beside it", len(model.spec.columns))
    return path


def _skops():
    """skops.io, imported on first use: importing it walks every scikit-learn module to build its
    default trusted list (about 4 s of CPU), which no command that does not save or load a model
    should pay (`--help`, `validate`, rules pipelines)."""
    import skops.io  # noqa: PLC0415

    return skops.io


# What a damaged or foreign file raises inside skops (a zip without skops' schema.json, bad JSON,
# missing members or keys). Anything else is a bug and keeps its traceback.
_UNREADABLE = (zipfile.BadZipFile, json.JSONDecodeError, KeyError, ValueError, UnicodeDecodeError)


def untrusted_types(path: Path) -> list[str]:
    """Types in a skops file outside skops' defaults; ModelError for a non-skops file."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: model file not found; train one with the train command first")
    if not zipfile.is_zipfile(path):
        raise ModelError(f"{path}: not a skops model file (pickle/joblib files are never loaded); "
                         "retrain and save with npc_risk to get a .skops file")
    try:
        return sorted(_skops().get_untrusted_types(file=path))
    except _UNREADABLE as exc:  # a zip that is not a skops archive
        raise ModelError(f"{path}: unreadable skops model file ({type(exc).__name__}); "
                         "retrain and save it again") from None


def load_model(path: Path) -> TrainedModel:
    """Load a model saved by `save_model`, refusing any type outside `TRUSTED_TYPES`."""
    path = Path(path)
    needed = untrusted_types(path)
    refused = [t for t in needed if t not in TRUSTED_TYPES]
    if refused:
        raise ModelError(
            f"{path}: refusing to load {len(refused)} type(s) not on npc_risk's trusted list "
            f"({', '.join(refused[:3])}); only load model files written by npc_risk - retrain it"
        )
    try:
        payload = _skops().load(path, trusted=needed)
    except _UNREADABLE as exc:
        raise ModelError(f"{path}: could not load the skops model ({type(exc).__name__}); "
                         "retrain it with this version of npc_risk") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ModelError(f"{path}: not an npc_risk model (format {FORMAT} expected); retrain it")
    card = {}
    card_json, _ = card_paths(path)
    if card_json.is_file():
        card = json.loads(card_json.read_text(encoding="utf-8"))
    try:
        config = RiskConfig.from_mapping(payload["config"])
        spec = FeatureSpec.from_dict(payload["spec"])
    except (ConfigError, KeyError, TypeError) as exc:
        raise ModelError(f"{path}: model settings unreadable by this npc_risk version "
                         f"({type(exc).__name__}); retrain the model") from None
    return TrainedModel(estimator=payload["estimator"], spec=spec, config=config,
                        training_window=dict(payload["training_window"]), card=card)
