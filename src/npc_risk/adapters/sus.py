"""SUS+ APCS (spell) tables as ICB analysts see them in NCDR/UDAL, mapped onto `apcs`.

Column names from nhs-data-conventions.md §1.3 (`tbl_Data_SEM_APCS`). `Der_Diagnosis_All` holds
every diagnosis of every episode: episodes separated by `||`, codes by `,` (e.g.
`||E119 ,J849 ,K869 ||I801`), which the canonical `secondary_diagnoses` splitter already
handles (any of , ; | or spaces). The SUS spell primary (`Spell_Primary_Diagnosis`, in the
APCS_Der table) is chosen post hoc for payment, so when present it is used as the primary and
`Der_Diagnosis_All` supplies all positions; clinical logic uses every position anyway.
"""

from __future__ import annotations

from pathlib import Path

import ibis
import ibis.expr.types as ir

from npc_risk.errors import SchemaError

# canonical column <- SUS+ column
COLUMNS = {
    "spell_id": "APCS_Ident",
    "patient_id": "Der_Pseudo_NHS_Number",
    "admission_date": "Admission_Date",
    "discharge_date": "Discharge_Date",
    "admission_method": "Admission_Method",
    "secondary_diagnoses": "Der_Diagnosis_All",
}
PRIMARY = "Spell_Primary_Diagnosis"


def sus_apcs(raw: ir.Table, path: Path) -> ir.Table:
    missing = [sus for sus in COLUMNS.values() if sus not in raw.columns]
    if missing:
        raise SchemaError(
            f"{path}: SUS+ APCS column {missing[0]!r} is missing; a sus_apcs file needs "
            f"{', '.join(COLUMNS.values())} (and optionally {PRIMARY})"
        )
    all_codes = raw[COLUMNS["secondary_diagnoses"]]
    first_code = all_codes.re_replace(r"^[|,;\s]+", "").re_extract(r"^([^|,;\s]+)", 1).nullif("")
    primary = raw[PRIMARY].nullif("").coalesce(first_code) if PRIMARY in raw.columns else first_code
    return raw.select(
        **{canonical: raw[sus] for canonical, sus in COLUMNS.items()},
        primary_diagnosis=primary,
    ).mutate(admission_method=ibis._.admission_method.upper())
