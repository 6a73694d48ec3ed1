"""The data contract: one pandera model per canonical table, with a description on every column.

The models are the single definition of what an accepted row looks like. Ingest derives its
quarantine rules from them (types, nullability, `isin`, `str_matches`, ranges) and, after
quarantine, validates every accepted table against them: a failure there is a bug in ingest,
not a data problem. `npc-risk dictionary` renders them into the analysts' data dictionary.

Names follow ehrQL's core schema where one exists (`patients`, `practice_registrations`,
`clinical_events`, `medications`, `apcs`, `ec`, `opa`).
"""

from __future__ import annotations

import datetime as dt

import pandera.ibis as pa

# Code formats (nhs-data-conventions.md §3.3, §5): SNOMED CT and dm+d ids are digits only,
# 6-18 characters, no leading zero. ODS practice codes are one letter and five digits; PCN codes
# are U and five digits; LSOAs are E01 (or W01) and six digits.
SNOMED_CT = r"^[1-9][0-9]{5,17}$"
DMD = r"^[1-9][0-9]{5,17}$"
ODS_PRACTICE = r"^[A-Z][0-9]{5}$"
ODS_PCN = r"^U[0-9]{5}$"
LSOA = r"^[EW]01[0-9]{6}$"
ADMISSION_METHOD = r"^(1[1-3]|2[1-8A-D]|3[12]|8[1-3]|9[89])$"

OPTIONAL = {"optional_column": True}  # may be absent from a file: filled with nulls


class Patients(pa.DataFrameModel):
    """One row per person in the extract."""

    patient_id: str = pa.Field(unique=True, description="Pseudonymous person identifier; the key every other table joins on.")
    nhs_number: str = pa.Field(nullable=True, str_matches=r"^[0-9]{10}$", metadata={**OPTIONAL, "strip_spaces": True}, description="NHS number, 10 digits with a valid Modulus 11 check digit (spaces, as in 943 476 5919, are removed). Only ever written to the practice cohort lists.")
    date_of_birth: dt.date = pa.Field(description="Date of birth (GP systems give the 1st of the month).")
    sex: str = pa.Field(isin=["female", "male", "intersex", "unknown"], description="Recorded sex: female, male, intersex or unknown.")
    date_of_death: dt.date = pa.Field(nullable=True, description="Date of death, empty if alive. Must not precede the date of birth.")
    lsoa_code: str = pa.Field(nullable=True, str_matches=LSOA, metadata=OPTIONAL, description="Lower-layer super output area of residence (2011 LSOA, E01 + 6 digits); links to IMD.")
    ethnicity_group: str = pa.Field(nullable=True, isin=["White", "Mixed", "Asian", "Black", "Other", "Unknown"], metadata=OPTIONAL, description="Ethnicity, 2001 census 5-group plus Unknown.")


class PracticeRegistrations(pa.DataFrameModel):
    """Periods of registration with a GP practice (several per person over time)."""

    patient_id: str = pa.Field(description="Person identifier (must exist in patients).")
    practice_code: str = pa.Field(str_matches=ODS_PRACTICE, description="ODS code of the practice: one letter and five digits (must exist in practices).")
    start_date: dt.date = pa.Field(description="First day of registration.")
    end_date: dt.date = pa.Field(nullable=True, description="Last day of registration; empty while the registration is current. Must not precede start_date.")


class ClinicalEvents(pa.DataFrameModel):
    """Coded GP record entries: diagnoses, symptoms, observations, administrative codes."""

    patient_id: str = pa.Field(description="Person identifier (must exist in patients).")
    date: dt.date = pa.Field(description="Date the event was recorded as happening.")
    snomedct_code: str = pa.Field(str_matches=SNOMED_CT, description="SNOMED CT concept id: 6-18 digits, no leading zero.")
    numeric_value: float = pa.Field(nullable=True, metadata=OPTIONAL, description="Value of an observation (e.g. eGFR, haemoglobin), empty for non-numeric codes.")


class Medications(pa.DataFrameModel):
    """Prescription issues: one row per issue (a repeat gives one row a month)."""

    patient_id: str = pa.Field(description="Person identifier (must exist in patients).")
    date: dt.date = pa.Field(description="Issue date.")
    dmd_code: str = pa.Field(str_matches=DMD, description="dm+d product id (VMP/AMP/VTM), digits only.")


class GpAppointments(pa.DataFrameModel):
    """GP practice appointments."""

    patient_id: str = pa.Field(description="Person identifier (must exist in patients).")
    date: dt.date = pa.Field(description="Appointment date.")
    status: str = pa.Field(isin=["attended", "did_not_attend", "cancelled"], description="attended, did_not_attend or cancelled.")


class Apcs(pa.DataFrameModel):
    """Admitted patient care spells (SUS+ APCS): one row per hospital provider spell."""

    spell_id: str = pa.Field(unique=True, description="Spell identifier, unique.")
    patient_id: str = pa.Field(description="Person identifier (must exist in patients).")
    admission_date: dt.date = pa.Field(description="Admission date.")
    discharge_date: dt.date = pa.Field(nullable=True, description="Discharge date; empty while the spell is open. Must not precede admission_date.")
    admission_method: str = pa.Field(str_matches=ADMISSION_METHOD, description="SUS admission method: 11-13 elective, 21-28 and 2A-2D emergency, 31-32 maternity, 81-83 other, 98/99 unknown.")
    primary_diagnosis: str = pa.Field(nullable=True, description="Primary ICD-10 diagnosis as SUS writes it (I10X, F05.1, J44.1D ...); normalised at ingest.")
    secondary_diagnoses: str = pa.Field(nullable=True, metadata=OPTIONAL, description="Zero or more ICD-10 codes separated by any of , ; | or spaces.")


class Ec(pa.DataFrameModel):
    """Emergency care (A&E) attendances (ECDS)."""

    attendance_id: str = pa.Field(unique=True, description="Attendance identifier, unique.")
    patient_id: str = pa.Field(description="Person identifier (must exist in patients).")
    arrival_date: dt.date = pa.Field(description="Arrival date.")
    department_type: str = pa.Field(nullable=True, isin=["01", "02", "03", "04"], metadata=OPTIONAL, description="01 consultant-led 24h ED, 02 mono-specialty, 03 urgent treatment centre / MIU, 04 walk-in centre.")
    diagnosis_code: str = pa.Field(nullable=True, str_matches=SNOMED_CT, metadata=OPTIONAL, description="ECDS primary diagnosis (EC_DIAGNOSIS_01): SNOMED CT concept id from the ECDS diagnosis refset, 6-18 digits, no leading zero; empty when not recorded. An extract without the column reads as no diagnosis.")


class Opa(pa.DataFrameModel):
    """Outpatient appointments (SUS+ OPA)."""

    appointment_id: str = pa.Field(unique=True, description="Appointment identifier, unique.")
    patient_id: str = pa.Field(description="Person identifier (must exist in patients).")
    appointment_date: dt.date = pa.Field(description="Appointment date.")
    attendance_status: str = pa.Field(isin=["2", "3", "4", "5", "6", "7"], description="SUS attended-or-did-not-attend code: 5, 6 attended; 7 arrived late, not seen; 3 did not attend; 2, 4 cancelled.")


class SocialCarePackages(pa.DataFrameModel):
    """Adult social care packages (optional table)."""

    patient_id: str = pa.Field(description="Person identifier (must exist in patients).")
    start_date: dt.date = pa.Field(description="Package start date.")
    end_date: dt.date = pa.Field(nullable=True, description="Package end date; empty while active. Must not precede start_date.")
    service_type: str = pa.Field(description="Service type, e.g. home care, reablement, residential.")


class Practices(pa.DataFrameModel):
    """Reference: GP practices and the neighbourhoods they belong to."""

    practice_code: str = pa.Field(unique=True, str_matches=ODS_PRACTICE, description="ODS practice code.")
    practice_name: str = pa.Field(description="Practice name.")
    pcn_code: str = pa.Field(str_matches=ODS_PCN, description="Primary care network ODS code: U and five digits.")
    pcn_name: str = pa.Field(description="Primary care network name (the default neighbourhood).")
    lcp_name: str = pa.Field(description="Local care partnership (Leeds) or integrated neighbourhood team.")


class LsoaDeprivation(pa.DataFrameModel):
    """Reference: Index of Multiple Deprivation decile per LSOA (national deciles)."""

    lsoa_code: str = pa.Field(unique=True, str_matches=LSOA, description="2011 LSOA code.")
    imd_decile: int = pa.Field(ge=1, le=10, description="National IMD decile: 1 = most deprived 10%, 10 = least deprived.")


class OptOuts(pa.DataFrameModel):
    """Recorded opt-outs (optional table)."""

    patient_id: str = pa.Field(description="Person identifier (must exist in patients).")
    opt_out_type: str = pa.Field(isin=["type1", "ndoo"], description="type1 (GP-recorded dissent from secondary use) or ndoo (national data opt-out).")
