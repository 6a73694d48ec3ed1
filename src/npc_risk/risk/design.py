"""From a feature frame (one row per person) to the numeric matrix the model sees.

Contract: `FeatureSpec.fit(frame, exclude=...)` chooses columns by dtype and name on the training
frame and remembers category levels and reference values; `spec.matrix(frame)` turns any later
frame into the same float64 matrix, column for column. New `ltc_*` / `efi_*` columns flow in
automatically at the next training; at scoring, a column the model was trained on but that is
missing raises `ModelError` (retrain), extra columns are ignored and counted in the log.

What is never a feature: identifiers, geography, free text, the opt-out flag
(`NEVER_FEATURES` below), dates, anything named like an outcome (`label*`, `outcome*`,
`truth*`, `*_next_*`), and `config.exclude_features`.

Encoding:
* numeric (int/float) columns as they are; missing values stay NaN (gradient boosting routes
  them; the logistic pipeline imputes the training median);
* boolean columns as 0/1 (also object columns holding only True/False/None, which is how a
  nullable Arrow boolean reaches pandas);
* `efi_category` and `hfrs_category` as ordinal ranks (fit < mild < moderate < severe;
  low < intermediate < high) - their order carries the meaning;
* other text columns (sex, ethnicity_group) one-hot over the training levels; an unseen level at
  scoring time becomes all zeros (counted in the log).

Trap: `efi_score`, `efi_deficits` and `efi_category` share the `efi_` prefix with the deficit
booleans; selection is by dtype, not prefix, so they are each encoded correctly.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from npc_risk.errors import ModelError
from npc_risk.frailty import EFI_CATEGORIES, HFRS_CATEGORIES

# Identifiers, geography, free text and the opt-out flags are never predictors. Held as a constant
# (not config) because using any of them would be a bug, not a modelling choice.
NEVER_FEATURES = frozenset({
    "patient_id", "nhs_number", "practice_code", "practice_name", "pcn_code", "pcn_name",
    # ndo_optout was spelled "ndo" here, so the national data opt-out reached the model as a predictor
    "lcp_name", "lsoa_code", "ltc_conditions", "type1_optout", "ndo_optout", "date_of_birth",
    "date_of_death", "neighbourhood", "label",
})

log = logging.getLogger(__name__)

ORDINAL_LEVELS: dict[str, tuple[str, ...]] = {
    "efi_category": EFI_CATEGORIES,
    "hfrs_category": HFRS_CATEGORIES,
}
_OUTCOME_LIKE = re.compile(r"^(label|outcome|truth|target)|_next_")


def is_outcome_like(name: str) -> bool:
    """True for column names that look like outcomes and must never be features."""
    return bool(_OUTCOME_LIKE.search(name))


@dataclass(frozen=True)
class FeatureSpec:
    """The columns a model was trained on, how each is encoded, and its reference value.

    `columns` are the matrix columns in order; `source` maps each to its frame column (one-hot
    columns share a source); `reference` is the per-matrix-column value used as "typical person"
    by the driver method (training median for numbers, 0 for booleans, the most common level).
    """

    numeric: tuple[str, ...]
    boolean: tuple[str, ...]
    ordinal: tuple[str, ...]
    onehot: tuple[tuple[str, tuple[str, ...]], ...]
    reference: tuple[float, ...] = field(default=())

    @property
    def columns(self) -> tuple[str, ...]:
        one = tuple(f"{col}={level}" for col, levels in self.onehot for level in levels)
        return self.numeric + self.boolean + self.ordinal + one

    @property
    def source(self) -> tuple[str, ...]:
        one = tuple(col for col, levels in self.onehot for _ in levels)
        return self.numeric + self.boolean + self.ordinal + one

    @property
    def inputs(self) -> tuple[str, ...]:
        """Frame columns the model needs."""
        return self.numeric + self.boolean + self.ordinal + tuple(c for c, _ in self.onehot)

    @classmethod
    def fit(cls, frame: pd.DataFrame, *, exclude: tuple[str, ...] = ()) -> FeatureSpec:
        return cls.fit_matrix(frame, exclude=exclude)[0]

    @classmethod
    def fit_matrix(cls, frame: pd.DataFrame, *, exclude: tuple[str, ...] = ()) -> tuple[FeatureSpec, np.ndarray]:
        """`fit`, and the training frame's matrix it computed the reference values from (the
        design matrix is built once per training, not once here and again for the estimator)."""
        numeric, boolean, ordinal, onehot = [], [], [], []
        skipped = 0
        for name in frame.columns:
            dtype = frame[name].dtype
            if name in NEVER_FEATURES or name in exclude or is_outcome_like(name):
                skipped += 1
            elif name in ORDINAL_LEVELS:
                ordinal.append(name)
            elif pd.api.types.is_bool_dtype(dtype) or (
                    pd.api.types.is_object_dtype(dtype)
                    and pd.api.types.infer_dtype(frame[name], skipna=True) == "boolean"):
                boolean.append(name)  # object: a nullable flag arrived from Arrow as True/False/None
            elif pd.api.types.is_numeric_dtype(dtype):
                if frame[name].notna().any():
                    numeric.append(name)
                else:  # never observed in training (e.g. FEV1 in a city without spirometry): no signal,
                    skipped += 1  # and an all-missing column breaks the gradient-boosting binning
            elif pd.api.types.infer_dtype(frame[name], skipna=True) in ("date", "datetime", "datetime64"):
                skipped += 1  # a date column (object dtype from Arrow): never a feature, never one-hot
            elif pd.api.types.is_string_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype):
                levels = frame[name].dropna().astype(str).unique()
                onehot.append((name, tuple(sorted(levels))))
            else:  # dates and anything else: no meaningful numeric encoding
                skipped += 1
        spec = cls(tuple(numeric), tuple(boolean), tuple(ordinal), tuple(onehot))
        if not spec.columns:
            raise ModelError("no usable feature columns in the training frame; check the feature step")
        x = spec.matrix(frame)
        ref = np.zeros(x.shape[1])
        for j in range(len(spec.numeric)):  # median of observed values; 0 if none observed
            col = x[:, j][~np.isnan(x[:, j])]
            ref[j] = float(np.median(col)) if col.size else 0.0
        for j in range(len(spec.numeric) + len(spec.boolean), x.shape[1]):
            col = x[:, j]
            col = col[~np.isnan(col)]
            if spec.source[j] in ORDINAL_LEVELS:
                ref[j] = float(np.bincount(col.astype(int)).argmax()) if col.size else 0.0
        for col, _levels in spec.onehot:  # the most common level is the reference
            idx = [k for k, s in enumerate(spec.columns) if spec.source[k] == col]
            if idx:
                ref[idx[int(np.argmax(x[:, idx].sum(axis=0)))]] = 1.0
        log.info("feature spec: %d matrix columns from %d frame columns (%d excluded)",
                 len(spec.columns), len(spec.inputs), skipped)
        return cls(spec.numeric, spec.boolean, spec.ordinal, spec.onehot, tuple(ref.tolist())), x

    def matrix(self, frame: pd.DataFrame) -> np.ndarray:
        """float64 matrix (n people x len(columns)); NaN where a value is missing.

        Filled column by column into one preallocated array: a list of column arrays stacked at
        the end held the matrix twice at the peak (1M people x 101 columns: 0.8 GB more). It stays
        float64: scikit-learn's gradient boosting converts any other dtype to a float64 copy of
        its own, so float32 here would add that copy at the final fit instead of saving one, and
        scoring a trained model on rounded values could move a person across a split threshold.
        """
        missing = [c for c in self.inputs if c not in frame.columns]
        if missing:
            raise ModelError(
                f"feature frame lacks {len(missing)} column(s) the model was trained on "
                f"(e.g. {missing[:5]}); retrain the model on the current feature set"
            )
        extra = len(set(frame.columns) - set(self.inputs))
        if extra:
            log.debug("feature frame has %d column(s) the model does not use", extra)
        out = np.empty((len(frame), len(self.columns)), dtype="float64")
        j = 0
        for c in self.numeric + self.boolean:
            out[:, j] = frame[c].to_numpy(dtype="float64", na_value=np.nan)
            j += 1
        for c in self.ordinal:
            levels = ORDINAL_LEVELS[c]
            values = frame[c].astype("string").str.strip().str.lower()
            codes = values.map(dict(zip(levels, range(len(levels)), strict=True)))
            unknown = int((codes.isna() & values.notna()).sum())
            if unknown:
                log.warning("%s: %d value(s) outside %s treated as missing", c, unknown, list(levels))
            out[:, j] = codes.astype("float64").to_numpy(na_value=np.nan)
            j += 1
        for c, levels in self.onehot:
            values = frame[c].astype("string").to_numpy(dtype=object, na_value=None)
            unseen = int(pd.notna(values).sum()) - sum(int((values == lv).sum()) for lv in levels)
            if unseen:
                log.info("%s: %d value(s) not seen in training encoded as all zeros", c, unseen)
            for lv in levels:
                out[:, j] = values == lv
                j += 1
        return out

    def to_dict(self) -> dict:
        """Plain data (lists, strings, floats) for skops and the model card."""
        return {
            "numeric": list(self.numeric), "boolean": list(self.boolean),
            "ordinal": list(self.ordinal),
            "onehot": [[c, list(levels)] for c, levels in self.onehot],
            "reference": list(self.reference),
        }

    @classmethod
    def from_dict(cls, d: dict) -> FeatureSpec:
        return cls(
            tuple(d["numeric"]), tuple(d["boolean"]), tuple(d["ordinal"]),
            tuple((c, tuple(levels)) for c, levels in d["onehot"]), tuple(d["reference"]),
        )
