"""Person rows of a scored population (the cohort step's input), a toy neighbourhood, and the
cohort and planning steps run over them on an engine.

`person(patient_id, **values)` is one row: unspecified columns take `DEFAULTS`, a 70-year-old
woman in practice A1, PCN P1 ("PCN One") / LCP L1, IMD decile 5, no LTCs, no frailty, HFRS 0,
no use of services, no exclusion flags, risk 0.5; the NHS number defaults to "999" + the id.

`scored_population(engine, rows)` puts the rows on the engine's connection (a temporary table),
so every expression the cohort and planning steps build on it runs on that engine.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import ibis
import pyarrow as pa

from npc_risk.cohort import CohortConfig, CohortResult, select_cohort
from npc_risk.engine import Engine
from npc_risk.planning.statistics import neighbourhood_statistics, publishable_neighbourhoods

DEFAULTS = dict(
    nhs_number=None, practice_code="A1", pcn_code="P1", pcn_name="PCN One", lcp_name="L1",
    age=70, sex="female", ethnicity_group="White", imd_decile=5, ltc_count=0, ltc_conditions="", efi_deficits=0,
    efi_score=0.0, efi_category="fit", hfrs_score=0.0, hfrs_category="low",
    emergency_admissions_12m=0, emergency_bed_days_12m=0, elective_admissions_12m=0,
    ae_attendances_12m=0, outpatient_attendances_12m=0, outpatient_dnas_12m=0,
    gp_appointments_12m=0, social_care_packages_active=0, emergency_admissions_24m=0,
    ae_attendances_24m=0, outpatient_attendances_24m=0, gp_appointments_24m=0, palliative_care=False,
    care_home=False, type1_optout=False, risk_score=0.5, drivers="",
    planning_optout=None,  # the run adds it (planning.statistics.planning_optout); none opted out
)


def person(patient_id: str, **values) -> dict:
    row = {"patient_id": patient_id, **DEFAULTS, **values}
    row["nhs_number"] = row["nhs_number"] or f"999{patient_id}"
    return row


def toy_neighbourhood() -> list[dict]:
    """40 people p00..p39, risk i/100 (p39 highest). The two highest-risk people (p39, p38) are
    NOT eligible (no LTCs, age 40): they still form the top 5 %."""
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
    return rows


# Arrow types of the columns of DEFAULTS whose values may all be missing in a small test table
# (from_pylist would type them `null`): as the feature and risk steps type them.
_TYPES = {name: {bool: pa.bool_(), int: pa.int64(), float: pa.float64(), str: pa.string()}[type(v)]
          for name, v in DEFAULTS.items() if v is not None} | {"nhs_number": pa.string(),
                                                                "patient_id": pa.string(),
                                                                "planning_optout": pa.string()}


def scored_table(rows: Sequence[dict]) -> pa.Table:
    """The rows as an Arrow table; a column with no value at all gets its usual type."""
    table = pa.Table.from_pylist(list(rows))
    for i, field in enumerate(table.schema):
        if pa.types.is_null(field.type) and field.name in _TYPES:
            table = table.set_column(i, field.name, table.column(i).cast(_TYPES[field.name]))
    return table


def scored_population(engine: Engine, rows: Sequence[dict] | pa.Table) -> ibis.Table:
    """A scored population on `engine` (a temporary table, dropped when the engine closes)."""
    data = rows if isinstance(rows, pa.Table) else scored_table(rows)
    return engine.temp_table("population", data)


def run_cohort(engine: Engine, rows: Sequence[dict], config: CohortConfig | None = None,
               previous: Sequence[dict] | None = None,
               optouts: Collection[str] = ("type1_optout",)) -> tuple[dict, dict]:
    """select_cohort on `engine`: ({patient_id: patient row}, {neighbourhood: report row})."""
    result = cohort_result(engine, rows, config, previous, optouts)
    patients = {r["patient_id"]: r for r in engine.to_arrow(result.patients).to_pylist()}
    report = {r["neighbourhood"]: r for r in engine.to_arrow(result.report).to_pylist()}
    return patients, report


def cohort_result(engine: Engine, rows: Sequence[dict] | pa.Table, config: CohortConfig | None = None,
                  previous: Sequence[dict] | None = None,
                  optouts: Collection[str] = ("type1_optout",)) -> CohortResult:
    """select_cohort over the rows on `engine` (with the previous run's cohort rows, if any)."""
    before = None if previous is None else engine.temp_table("previous", pa.Table.from_pylist(list(previous)))
    return select_cohort(scored_population(engine, rows), config=config or CohortConfig(),
                         optouts=optouts, previous_patients=before)


def planning_rows(engine: Engine, rows: Sequence[dict] | pa.Table, config: CohortConfig | None = None,
                  planning_optouts: Collection[str] | None = None) -> tuple[list[dict], list[dict]]:
    """The neighbourhood statistics of the rows on `engine`: (raw rows, published rows), each
    in the published row order (neighbourhoods, then LCPs, then the city)."""
    result = cohort_result(engine, rows, config)
    options = {} if planning_optouts is None else {"optouts": planning_optouts}
    stats = neighbourhood_statistics(result.patients, result.report, **options)
    return engine.to_arrow(stats).to_pylist(), engine.to_arrow(publishable_neighbourhoods(stats)).to_pylist()
