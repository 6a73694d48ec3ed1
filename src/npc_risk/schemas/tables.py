"""How ingest treats each canonical table: required or optional, its unique key, the rules that
link it to other tables, and which dates may not fall after the as-of date.

Column types, nullability and value checks live in the pandera models (contract.py); this module
holds only what a column-level model cannot say.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pandera.ibis as pa

from npc_risk.codes.nhs_number import nhs_number_valid_expr
from npc_risk.schemas import contract as c


@dataclass(frozen=True)
class OrderRule:
    """`earlier` must not be after `later` (when both are present)."""

    earlier: str
    later: str
    reason: str


@dataclass(frozen=True)
class Reference:
    """`column` must exist in `table.target_column` (among accepted rows)."""

    column: str
    table: str
    target_column: str
    reason: str


@dataclass(frozen=True)
class ExtraRule:
    """A value rule a column-level pandera check cannot express (an ibis expression)."""

    column: str
    is_valid: Callable
    reason: str


@dataclass(frozen=True)
class TableSpec:
    name: str
    model: type[pa.DataFrameModel]
    required: bool
    kind: str  # "reference", "gp", "hospital", "social care", "governance"
    key: str | None = None
    not_after_as_of: tuple[str, ...] = ()
    order_rules: tuple[OrderRule, ...] = ()
    references: tuple[Reference, ...] = field(default=())
    extra_rules: tuple[ExtraRule, ...] = ()


_PATIENT = Reference("patient_id", "patients", "patient_id", "unknown patient_id")

# Processing order matters: a table is validated after every table it references.
TABLES: tuple[TableSpec, ...] = (
    TableSpec("practices", c.Practices, True, "reference", key="practice_code"),
    TableSpec("lsoa_deprivation", c.LsoaDeprivation, True, "reference", key="lsoa_code"),
    TableSpec(
        "patients", c.Patients, True, "gp", key="patient_id",
        extra_rules=(ExtraRule("nhs_number", nhs_number_valid_expr, "invalid NHS number"),),
        not_after_as_of=("date_of_birth", "date_of_death"),
        order_rules=(OrderRule("date_of_birth", "date_of_death", "date of death before birth"),),
    ),
    TableSpec(
        "practice_registrations", c.PracticeRegistrations, True, "gp",
        not_after_as_of=("start_date",),
        order_rules=(OrderRule("start_date", "end_date", "registration ends before it starts"),),
        references=(_PATIENT, Reference("practice_code", "practices", "practice_code", "unknown practice_code")),
    ),
    TableSpec("clinical_events", c.ClinicalEvents, True, "gp", not_after_as_of=("date",), references=(_PATIENT,)),
    TableSpec("medications", c.Medications, True, "gp", not_after_as_of=("date",), references=(_PATIENT,)),
    TableSpec("gp_appointments", c.GpAppointments, True, "gp", not_after_as_of=("date",), references=(_PATIENT,)),
    TableSpec(
        "apcs", c.Apcs, True, "hospital", key="spell_id",
        not_after_as_of=("admission_date", "discharge_date"),
        order_rules=(OrderRule("admission_date", "discharge_date", "discharge before admission"),),
        references=(_PATIENT,),
    ),
    TableSpec("ec", c.Ec, True, "hospital", key="attendance_id", not_after_as_of=("arrival_date",),
              references=(_PATIENT,)),
    TableSpec("opa", c.Opa, True, "hospital", key="appointment_id", not_after_as_of=("appointment_date",),
              references=(_PATIENT,)),
    TableSpec(
        "social_care_packages", c.SocialCarePackages, False, "social care",
        not_after_as_of=("start_date",),
        order_rules=(OrderRule("start_date", "end_date", "package ends before it starts"),),
        references=(_PATIENT,),
    ),
    TableSpec("opt_outs", c.OptOuts, False, "governance", references=(_PATIENT,)),
)

TABLES_BY_NAME = {spec.name: spec for spec in TABLES}


# Column types as the engine sees them (pandera dtype name -> ibis type name).
ENGINE_TYPES = {"string": "string", "date": "date", "float64": "float64", "int64": "int64"}

# `apcs_diagnoses` is derived by ingest (one row per spell and diagnosis position), not read.
APCS_DIAGNOSES = {
    "spell_id": "string", "patient_id": "string", "admission_date": "date",
    "discharge_date": "date", "admission_method": "string", "position": "int64",
    "icd10_code": "string", "icd10_code3": "string",
}


def engine_type(column) -> str:
    """The ibis type of a pandera column."""
    return ENGINE_TYPES[str(column.dtype)]


def staged_schemas() -> dict[str, dict[str, str]]:
    """Every staged table's columns and ibis types: the contract's tables plus apcs_diagnoses."""
    schemas = {
        spec.name: {name: engine_type(col) for name, col in spec.model.to_schema().columns.items()}
        for spec in TABLES
    }
    schemas["apcs_diagnoses"] = dict(APCS_DIAGNOSES)
    return schemas
