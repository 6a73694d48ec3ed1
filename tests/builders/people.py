"""Person rows of a scored population (the cohort step's input), and a toy neighbourhood.

`person(patient_id, **values)` is one row: unspecified columns take `DEFAULTS`, a 70-year-old
woman in practice A1, PCN P1 ("PCN One") / LCP L1, IMD decile 5, no LTCs, no frailty, HFRS 0,
no use of services, no exclusion flags, risk 0.5; the NHS number defaults to "999" + the id.
"""

from __future__ import annotations

import ibis

DEFAULTS = dict(
    nhs_number=None, practice_code="A1", pcn_code="P1", pcn_name="PCN One", lcp_name="L1",
    age=70, sex="female", imd_decile=5, ltc_count=0, ltc_conditions="", efi_deficits=0,
    efi_score=0.0, efi_category="fit", hfrs_score=0.0, hfrs_category="low",
    emergency_admissions_12m=0, emergency_bed_days_12m=0, elective_admissions_12m=0,
    ae_attendances_12m=0, outpatient_attendances_12m=0, outpatient_dnas_12m=0,
    gp_appointments_12m=0, social_care_packages_active=0, emergency_admissions_24m=0,
    ae_attendances_24m=0, outpatient_attendances_24m=0, gp_appointments_24m=0, palliative_care=False,
    care_home=False, type1_optout=False, risk_score=0.5, drivers="",
)


def person(patient_id: str, **values) -> dict:
    row = {"patient_id": patient_id, **DEFAULTS, **values}
    row["nhs_number"] = row["nhs_number"] or f"999{patient_id}"
    return row


def toy_neighbourhood():
    """40 people p00..p39, risk i/100 (p39 highest). The two highest-risk people (p39, p38) are
    NOT eligible (no LTCs, age 40): they still form the top 5 %."""
    import pyarrow as pa

    rows = []
    for i in range(40):
        rows.append(person(
            f"p{i:02d}",
            age=40 if i >= 38 else 70,
            risk_score=i / 100,
            ltc_count=3 if i % 2 == 0 and i < 38 else 0,  # 19 with 3+ LTCs
            efi_deficits=9 if i < 10 else 0,  # 10 of 38 people aged 65+ are moderately frail
            emergency_bed_days_12m=30 if i >= 38 else 1,  # 60 of 98 -> 61.2 %
            outpatient_attendances_12m=2,  # 4 of 80 -> 5.0 % (numerator 4 is suppressed)
            social_care_packages_active=5 if i >= 38 else (1 if i < 10 else 0),  # 10 of 20
            gp_appointments_12m=15 if i >= 38 else 5,  # top: 15 per person; all: 220/40 = 5.5
            emergency_admissions_12m=1 if i < 12 else 0,  # 12 per 40 -> 300 per 1,000
        ))
    return ibis.memtable(pa.Table.from_pylist(rows))
