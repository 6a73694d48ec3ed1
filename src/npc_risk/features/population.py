"""The population on the as-of date T (docs/architecture.md, clinical-definitions.md §7.3).

Registered on T: start_date <= T and (end_date null or end_date > T). Several registrations on T
(overlaps happen in GP extracts, nhs-data-conventions.md §3.1): keep the latest start_date, then
the lowest practice_code as a stable tie-break. Alive on T: date_of_death null or > T.
Age is whole years at T (`as_of.age_at`; birthday on T counts: born 1960-03-31 is 66 on 2026-03-31).

Trap: registration *after* an event does not hide the event — GP records travel with the patient,
so event look-ups below join on patient only, never on the registration period.
"""

from __future__ import annotations

from datetime import date

import ibis

from npc_risk.features.as_of import age_at


def population(tables: dict[str, ibis.Table], as_of: date) -> ibis.Table:
    """One row per person registered and alive on `as_of`, with practice, PCN/LCP, IMD, age."""
    t = ibis.date(as_of)
    reg = tables["practice_registrations"]
    # end_date is the last day of registration, so a registration ending on T still counts
    # (as ehrQL's registered-on-date). Several at once: latest start, then the longest-running
    # (open-ended first), then practice code (nhs-data-conventions.md §3.1).
    reg = reg.filter((reg.start_date <= t) & (reg.end_date.isnull() | (reg.end_date >= t)))
    rn = ibis.row_number().over(group_by=reg.patient_id,
                                order_by=[ibis.desc(reg.start_date),
                                          ibis.desc(reg.end_date.fill_null(date.max)),
                                          reg.practice_code])
    reg = reg.mutate(_rn=rn).filter(ibis._._rn == 0).select("patient_id", "practice_code")
    pat = tables["patients"]
    pat = pat.filter(pat.date_of_death.isnull() | (pat.date_of_death > t))
    pop = reg.join(pat, "patient_id").select(
        "patient_id", "practice_code", "sex", "ethnicity_group", "lsoa_code",
        age=age_at(pat.date_of_birth, as_of),
    )
    prac = tables["practices"].select("practice_code", "pcn_code", "pcn_name", "lcp_name")
    pop = pop.left_join(prac, "practice_code").drop("practice_code_right")
    imd = tables["lsoa_deprivation"].select("lsoa_code", "imd_decile")
    pop = pop.left_join(imd, "lsoa_code").drop("lsoa_code_right")
    return pop.select("patient_id", "practice_code", "pcn_code", "pcn_name", "lcp_name", "age",
                      "sex", "ethnicity_group", "lsoa_code", "imd_decile")
