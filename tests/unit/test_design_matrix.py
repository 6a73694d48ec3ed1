"""Unit: the design matrix is built once, in one preallocated float64 array, with the encoding
the model card promises (risk/design.py). Four people; the expected matrix is written out."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from npc_risk.errors import ModelError
from npc_risk.risk.design import FeatureSpec

FRAME = pd.DataFrame({
    "patient_id": ["p1", "p2", "p3", "p4"],           # never a feature
    "age": [70, 45, None, 88],                        # numeric, missing stays NaN
    "ltc_copd": [True, False, None, True],            # nullable flag (object from Arrow): 0/1
    "efi_category": ["fit", "severe", None, "Mild"],  # ordinal rank, case and blanks ignored
    "sex": ["female", "male", "female", None],        # one-hot over the training levels
})

# columns: age, ltc_copd, efi_category (fit 0 < mild 1 < moderate 2 < severe 3), sex=female, sex=male
EXPECTED = np.array([
    [70.0, 1.0, 0.0, 1.0, 0.0],
    [45.0, 0.0, 3.0, 0.0, 1.0],
    [np.nan, np.nan, np.nan, 1.0, 0.0],
    [88.0, 1.0, 1.0, 0.0, 0.0],
])


def test_fit_returns_the_matrix_it_fitted_on_and_matrix_rebuilds_it_exactly():
    spec, x = FeatureSpec.fit_matrix(FRAME)
    assert spec.columns == ("age", "ltc_copd", "efi_category", "sex=female", "sex=male")
    np.testing.assert_array_equal(x, EXPECTED)
    again = spec.matrix(FRAME)
    np.testing.assert_array_equal(again, x)
    assert x.dtype == again.dtype == np.float64
    assert x.flags.c_contiguous and again.flags.c_contiguous
    assert FeatureSpec.fit(FRAME) == spec  # fit is fit_matrix without the matrix


def test_reference_values_come_from_that_matrix():
    """Median of the observed ages, 0 for a flag, the most common ordinal rank and sex level."""
    spec, _ = FeatureSpec.fit_matrix(FRAME)
    assert spec.reference == (70.0, 0.0, 0.0, 1.0, 0.0)


def test_a_frame_with_no_usable_feature_columns_is_refused():
    with pytest.raises(ModelError, match="no usable feature columns"):
        FeatureSpec.fit_matrix(FRAME[["patient_id"]])
