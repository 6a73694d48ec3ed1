"""No feature may use data from the label window (clinical-definitions.md §6.3).

The model trains on features as of T1 = T - 730 d against admissions in (T1, T1 + 365 d], and
is evaluated on features as of T2 = T - 365 d against (T2, T]. Here every row of the sample city
dated after the feature date is corrupted (codes, values, methods, statuses rewritten) and the
features as of that date must come out identical, row for row.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import ibis
import pytest

from npc_risk.config import FeatureConfig
from npc_risk.features import derive_features
from npc_risk.ingest import ingest_extract

pytestmark = pytest.mark.slow  # generates a city / reads the sample city

ROOT = Path(__file__).resolve().parents[2]
AS_OF = date(2026, 3, 31)

# (table, date column) -> replacements applied to rows dated after the feature date.
CORRUPT = {
    ("clinical_events", "date"): {"snomedct_code": "84114007", "numeric_value": 1.0},  # heart failure
    ("medications", "date"): {"dmd_code": "39720311000001101"},
    ("gp_appointments", "date"): {"status": "attended"},
    ("apcs", "admission_date"): {"admission_method": "21"},
    ("apcs_diagnoses", "admission_date"): {"icd10_code": "F00", "icd10_code3": "F00", "admission_method": "21"},
    ("ec", "arrival_date"): {"department_type": "01"},
    ("opa", "appointment_date"): {"attendance_status": "3"},
}


@pytest.fixture(scope="module")
def staged(module_engine, codelists, tmp_path_factory):
    """The sample city ingested once: (engine, tables, code lists)."""
    work = tmp_path_factory.mktemp("leakage")
    result = ingest_extract(module_engine, ROOT / "sample_data" / "extract", as_of=AS_OF, work_dir=work)
    return module_engine, result.tables, codelists


def _corrupted(tables: dict[str, ibis.Table], after: date) -> dict[str, ibis.Table]:
    out = dict(tables)
    for (name, column), replacements in CORRUPT.items():
        t = out[name]
        late = t[column] > ibis.literal(after)
        out[name] = t.mutate(**{
            col: ibis.ifelse(late, ibis.literal(value).cast(t[col].type()), t[col])
            for col, value in replacements.items()
        })
    return out


def _person(staged, feature_date, corrupt_after=None):
    engine, tables, codelists = staged
    if corrupt_after is not None:
        tables = _corrupted(tables, corrupt_after)
    result = derive_features(engine, tables, as_of=feature_date, codelists=codelists, config=FeatureConfig())
    return engine.to_arrow(result.person.order_by("patient_id"))


@pytest.mark.parametrize("years_back", [1, 2], ids=["evaluation features T-365", "training features T-730"])
def test_corrupting_the_label_window_leaves_features_unchanged(staged, years_back):
    feature_date = AS_OF - timedelta(days=365 * years_back)
    clean = _person(staged, feature_date)
    dirty = _person(staged, feature_date, corrupt_after=feature_date)
    assert clean.num_rows > 0
    assert clean.equals(dirty)


def test_the_corruption_is_visible_to_a_later_feature_date(staged):
    """Control: the same corruption does change features dated after it, so the test above
    would catch a feature that read the label window."""
    feature_date = AS_OF - timedelta(days=365)
    clean = _person(staged, AS_OF)
    dirty = _person(staged, AS_OF, corrupt_after=feature_date)
    assert not clean.equals(dirty)
