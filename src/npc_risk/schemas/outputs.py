"""The published outputs, declared once: each table's columns (name, Arrow type as published,
nullable, description), its sort key and its output class; and the keys of manifest.json.

Contract:
* publish.py writes exactly these columns in this order, sorts by `sort_key` and checks the Arrow
  types against `type`; a mismatch is a bug in our code (publish raises a plain TypeError).
* cohort.py and datapack.py take their column lists from here; `npc-risk dictionary` renders
  them into schemas/data_dictionary.md beside the inputs (a test fails when it is stale).
* `nullable` says whether a value may be missing. The Parquet fields themselves are all marked
  nullable (ibis writes them so), and changing that would change the published bytes.
* Output classes: `internal` (person level, owner-only, for the analysts), `case-finding` (the
  identifiable cohort list for the practices' care coordinators, owner-only, not suppressed),
  `planning` (aggregates, small numbers suppressed: may leave the practice).

Traps:
* Types are pinned: publish refuses a table whose Arrow type differs from its declaration, on
  every engine (emergency_bed_days_12m was a double from DuckDB's SUM until issue 13).
* Per-condition flags (`ltc_*`, `efi_*` deficits) vary with the code-list catalogue and are not
  published in patients.parquet; `ltc_conditions` names them instead.
* This module imports nothing from npc_risk, so every domain module may import it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

TEXT, INT, FLOAT, BOOL, DATE = pa.string(), pa.int64(), pa.float64(), pa.bool_(), pa.date32()
OUTPUT_CLASSES = ("internal", "planning", "case-finding")


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    nullable: bool
    description: str
    order: tuple[str, ...] = ()  # values in sort order, when the sort is not alphabetical


@dataclass(frozen=True)
class Output:
    name: str  # as in the pipeline TOML's `outputs`
    path: str  # under <output>/<as-of>/
    output_class: str
    description: str
    columns: tuple[Column, ...]
    sort_key: tuple[str, ...]  # a total order: reruns give byte-identical files
    partition: str | None = None  # Hive partition column (in the folder name, not the files)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def file_columns(self) -> tuple[Column, ...]:
        """The columns inside each Parquet file (all but the partition column)."""
        return tuple(c for c in self.columns if c.name != self.partition)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def _c(name: str, type_: pa.DataType, nullable: bool, description: str, **kw) -> Column:
    return Column(name, type_, nullable, description, **kw)


_12M = "in the 12 months up to the as-of date"
_24M = "in the 24 months up to the as-of date (includes the last 12)"
PATIENTS = Output(
    "patients", "patients.parquet", "internal",
    "One row per person registered and alive on the as-of date: features, risk score, "
    "eligibility, exclusion, rank and cohort membership. No NHS number.",
    (
        _c("patient_id", TEXT, False, "Pseudonymous person identifier, as in the extract."),
        _c("practice_code", TEXT, False, "ODS code of the practice the person is registered with on the as-of date."),
        _c("neighbourhood", TEXT, False,
           "Key of the person's neighbourhood, the unit the cohort is ranked within: PCN code, LCP name or practice "
           "code ([cohort] neighbourhood); `unmapped` if the practice has none."),
        _c("neighbourhood_name", TEXT, False,
           "Display name of the neighbourhood: PCN name, LCP name or practice code."),
        _c("lcp_name", TEXT, True,
           "Local care partnership (or integrated neighbourhood team) of the person's practice; empty if none."),
        _c("age", INT, False, "Age in whole years on the as-of date."),
        _c("sex", TEXT, False, "Recorded sex: female, male, intersex or unknown."),
        _c("ethnicity_group", TEXT, True,
           "Ethnicity, 2001 census 5-group plus Unknown, as in the extract; empty if the extract had none."),
        _c("imd_decile", INT, True,
           "National IMD decile of the LSOA of residence (1 = most deprived 10%); empty if the LSOA is unknown."),
        _c("ltc_count", INT, False,
           "Number of long-term conditions from the configured list (Cambridge-style or QOF registers)."),
        _c("ltc_conditions", TEXT, False,
           "The conditions counted in ltc_count, `;`-separated in alphabetical order (e.g. `copd;diabetes`); empty "
           "text when none."),
        _c("efi_deficits", INT, False, "Electronic Frailty Index deficits present (0-36)."),
        _c("efi_score", FLOAT, True,
           "eFI score: deficits / 36. Empty under 65 when [features] efi_below_min_age = \"null\"."),
        _c("efi_category", TEXT, True,
           "eFI category from the deficits: fit (0-4), mild (5-8), moderate (9-12), severe (13+); empty when efi_score"
           " is."),
        _c("hfrs_score", FLOAT, False,
           "Hospital Frailty Risk Score from ICD-10 diagnoses in the look-back ([features] hfrs_window_days), one "
           "decimal."),
        _c("hfrs_category", TEXT, False, "HFRS category: low (< 5), intermediate (5-15), high (> 15)."),
        _c("emergency_admissions_12m", INT, False,
           f"Emergency admissions (hospital spells, admission method 2x) {_12M}."),
        _c("emergency_bed_days_12m", INT, False,
           f"Days in hospital in those emergency spells {_12M} (open spells counted to the as-of date)."),
        _c("elective_admissions_12m", INT, False, f"Elective admissions (admission method 11-13) {_12M}."),
        _c("ae_attendances_12m", INT, False, f"A&E (emergency care) attendances, all department types, {_12M}."),
        _c("outpatient_attendances_12m", INT, False, f"Outpatient appointments attended {_12M}."),
        _c("outpatient_dnas_12m", INT, False,
           f"Outpatient appointments not attended (did not attend, or arrived late and not seen) {_12M}."),
        _c("gp_appointments_12m", INT, False, f"Attended GP appointments {_12M}."),
        _c("social_care_packages_active", INT, False, "Adult social care packages active on the as-of date."),
        _c("emergency_admissions_24m", INT, False, f"Emergency admissions {_24M}."),
        _c("ae_attendances_24m", INT, False, f"A&E attendances {_24M}."),
        _c("outpatient_attendances_24m", INT, False, f"Outpatient appointments attended {_24M}."),
        _c("gp_appointments_24m", INT, False, f"Attended GP appointments {_24M}."),
        _c("risk_score", FLOAT, True,
           "Risk of an emergency admission in the next 12 months, 0-1: a calibrated probability ([risk] method = "
           "model) or scaled points (rules); empty if the person could not be scored."),
        _c("eligible", BOOL, False,
           "Meets the eligibility rules: minimum age and at least one route (3+ LTCs, moderate or severe frailty aged "
           "65+, HFRS > 15)."),
        _c("exclusion_reason", TEXT, True,
           "Why an eligible person is not a candidate: palliative_care, care_home, type1_optout, ndo_optout or "
           "no_risk_score (the first that applies); empty otherwise."),
        _c("planning_optout", TEXT, True,
           "The opt-out that leaves the person out of the planning figures ([outputs.planning]: ndo_optout, "
           "type1_optout); empty for everyone counted in neighbourhoods.parquet and the data packs."),
        _c("neighbourhood_rank", INT, True,
           "Rank among the neighbourhood's candidates, 1 = highest risk (ties: more eFI deficits, more LTCs, then "
           "patient_id); empty unless eligible and not excluded."),
        _c("in_cohort", BOOL, False,
           "Selected for the cohort: neighbourhood_rank within the neighbourhood's cohort target."),
        _c("drivers", TEXT, True,
           "Plain-words reasons behind the score, `; `-separated, for selected people; empty for everyone else."),
    ),
    sort_key=("patient_id",),
)

COHORT = Output(
    "cohort", "cohort/neighbourhood=<key>/part-0.parquet", "case-finding",
    "The case-finding list: the selected people of each neighbourhood, one Parquet file per "
    "neighbourhood (Hive partitioning; the key is percent-encoded in the folder name).",
    (
        _c("neighbourhood", TEXT, False,
           "Neighbourhood key (PCN code, LCP name or practice code): the partition, held in the folder name, not in "
           "the file."),
        _c("nhs_number", TEXT, True,
           "NHS number (10 digits) for the practice to find the person; empty if the extract had none."),
        _c("patient_id", TEXT, False, "Pseudonymous person identifier (links to patients.parquet)."),
        _c("practice_code", TEXT, False, "ODS code of the person's practice."),
        _c("neighbourhood_rank", INT, False, "Rank within the neighbourhood, 1 = highest risk."),
        _c("risk_score", FLOAT, False,
           "Risk of an emergency admission in the next 12 months, 0-1 (see patients.parquet)."),
        _c("drivers", TEXT, False, "Plain-words reasons behind the score, `; `-separated."),
        _c("ltc_conditions", TEXT, False, "Long-term conditions, `;`-separated; empty text when none."),
        _c("efi_category", TEXT, True, "eFI frailty category: fit, mild, moderate or severe."),
    ),
    sort_key=("neighbourhood", "neighbourhood_rank"),
    partition="neighbourhood",
)

_SUPPRESSED = " Rounded; empty if 1-7 or withheld."
_CHANGE = " Empty without a previous run, or for an LCP that cuts through a neighbourhood."
_RATE = " One decimal, from unrounded values; empty if its numerator or denominator is not published."
_PLANNING = " (planning population)"
NEIGHBOURHOODS = Output(
    "neighbourhoods", "neighbourhoods.parquet", "planning",
    "Counts and rates per neighbourhood, then per local care partnership (LCP), then for the "
    "whole population (`level`). Counts: 0 stays 0, 1-7 empty (suppressed), 8 and above rounded "
    "to the nearest 5; cells that could be recovered by subtraction are also empty (differencing "
    "guard). LCP and city totals are computed from unrounded data, so they are not the sums of "
    "the published cells. The planning figures leave out the opt-outs [outputs.planning] applies.",
    (
        _c("level", TEXT, False,
           "Row type: neighbourhood, lcp or city (sorted in that order).", order=("neighbourhood", "lcp", "city")),
        _c("neighbourhood", TEXT, False,
           "Key: the neighbourhood key (PCN code, LCP name or practice code), the LCP name, or `all` for the city."),
        _c("neighbourhood_name", TEXT, False,
           "Display name: PCN name, LCP name, practice code, or `All neighbourhoods`."),
        _c("population", INT, True, "People registered and alive on the as-of date, opt-outs included." + _SUPPRESSED),
        _c("denominator", INT, True,
           "People the cohort target is a fraction of: everyone, or those aged 18+ ([cohort] denominator)."
           + _SUPPRESSED),
        _c("cohort_target", INT, True,
           "Cohort size aimed for: [cohort] cohort_fraction of the denominator, rounded half up; LCP and city: the sum"
           " over their neighbourhoods." + _SUPPRESSED + " Empty for an LCP that cuts through a neighbourhood."),
        _c("eligible", INT, True, "People eligible (minimum age and at least one route)." + _SUPPRESSED),
        _c("eligible_ltc", INT, True,
           "Eligible people meeting the long-term conditions route (routes overlap)." + _SUPPRESSED),
        _c("eligible_frailty", INT, True,
           "Eligible people meeting the frailty route (eFI moderate or severe, aged 65+)." + _SUPPRESSED),
        _c("eligible_hfrs", INT, True, "Eligible people meeting the HFRS route (HFRS > 15)." + _SUPPRESSED),
        _c("excluded", INT, True,
           "Eligible people excluded, for any reason (the excluded_* columns add up to it)." + _SUPPRESSED),
        _c("excluded_palliative_care", INT, True,
           "Excluded: on a palliative care / end-of-life register." + _SUPPRESSED),
        _c("excluded_care_home", INT, True,
           "Excluded: care-home resident (served by Enhanced Health in Care Homes)." + _SUPPRESSED),
        _c("excluded_type1_optout", INT, True,
           "Excluded: type 1 opt-out, when [outputs.case_finding] applies it." + _SUPPRESSED),
        _c("excluded_ndo_optout", INT, True,
           "Excluded: national data opt-out, when [outputs.case_finding] applies it (off by default)." + _SUPPRESSED),
        _c("excluded_no_risk_score", INT, True, "Excluded: no risk score, so cannot be ranked." + _SUPPRESSED),
        _c("selected", INT, True, "People in the cohort (the case-finding list)." + _SUPPRESSED),
        _c("entered", INT, True, "Selected now but not in the previous run's cohort." + _SUPPRESSED + _CHANGE),
        _c("left", INT, True, "In the previous run's cohort but not selected now." + _SUPPRESSED + _CHANGE),
        _c("stayed", INT, True, "In both the previous and this run's cohort." + _SUPPRESSED + _CHANGE),
        _c("previous_selected", INT, True,
           "Size of the previous run's cohort (stayed + left)." + _SUPPRESSED + _CHANGE),
        _c("planning_population", INT, True,
           "People counted in the planning figures: population minus the planning opt-outs." + _SUPPRESSED),
        _c("ndo_excluded", INT, True,
           "People left out of the planning figures for a national data opt-out." + _SUPPRESSED),
        _c("type1_excluded", INT, True,
           "People left out of the planning figures for a type 1 opt-out (when applied)." + _SUPPRESSED),
        _c("top_n", INT, True,
           "Size of the top group: the 5% of the planning population at highest risk, rounded half up." + _SUPPRESSED),
        _c("emergency_admissions", INT, True, f"Emergency admissions {_12M}{_PLANNING}." + _SUPPRESSED),
        _c("ltc3_plus", INT, True, f"People with 3 or more long-term conditions{_PLANNING}." + _SUPPRESSED),
        _c("aged_65_plus", INT, True, f"People aged 65+{_PLANNING}." + _SUPPRESSED),
        _c("frail_65_plus", INT, True,
           f"People aged 65+ with moderate or severe frailty (eFI 9+ deficits){_PLANNING}." + _SUPPRESSED),
        _c("emergency_bed_days", INT, True, f"Emergency bed days {_12M}{_PLANNING}." + _SUPPRESSED),
        _c("outpatient_attendances", INT, True, f"Outpatient attendances {_12M}{_PLANNING}." + _SUPPRESSED),
        _c("social_care_packages", INT, True,
           f"Adult social care packages active on the as-of date{_PLANNING}." + _SUPPRESSED),
        _c("gp_appointments", INT, True, f"Attended GP appointments {_12M}{_PLANNING}." + _SUPPRESSED),
        _c("top_emergency_bed_days", INT, True, "Emergency bed days of the top group." + _SUPPRESSED),
        _c("top_outpatient_attendances", INT, True, "Outpatient attendances of the top group." + _SUPPRESSED),
        _c("top_social_care_packages", INT, True, "Active social care packages of the top group." + _SUPPRESSED),
        _c("top_gp_appointments", INT, True, "Attended GP appointments of the top group." + _SUPPRESSED),
        _c("pct_selected_of_denominator", FLOAT, True, "Cohort as % of the denominator." + _RATE),
        _c("emergency_admissions_per_1000", FLOAT, True, "Emergency admissions per 1,000 planning population." + _RATE),
        _c("pct_ltc3_plus", FLOAT, True, "% of the planning population with 3+ long-term conditions." + _RATE),
        _c("pct_65_plus_moderate_severe_frailty", FLOAT, True,
           "% of people aged 65+ with moderate or severe frailty." + _RATE),
        _c("gp_appointments_per_person", FLOAT, True,
           "Attended GP appointments per person in the last 12 months." + _RATE),
        _c("gp_appointments_per_person_top", FLOAT, True,
           "Attended GP appointments per person in the top group." + _RATE),
        _c("pct_emergency_bed_days_top", FLOAT, True, "% of emergency bed days used by the top group." + _RATE),
        _c("pct_outpatient_attendances_top", FLOAT, True, "% of outpatient attendances by the top group." + _RATE),
        _c("pct_social_care_packages_top", FLOAT, True,
           "% of active social care packages held by the top group." + _RATE),
    ),
    sort_key=("level", "neighbourhood"),
)

EVIDENCE = Output(
    "evidence", "evidence.parquet", "internal",
    "The audit trail: each code that made a condition, frailty deficit or flag hold for a "
    "person, with the first and last date it was recorded.",
    (
        _c("patient_id", TEXT, False, "Pseudonymous person identifier."),
        _c("feature", TEXT, False,
           "What the code counted towards: an ltc_* condition, an efi_* deficit, a flag (e.g. care_home), or "
           "hfrs_<ICD-10 group>."),
        _c("code", TEXT, False, "The code: SNOMED CT, dm+d or ICD-10 (the 3-character group for HFRS)."),
        _c("first_date", DATE, False, "First date the code was recorded, in the look-back."),
        _c("last_date", DATE, False, "Last date the code was recorded, up to the as-of date."),
        _c("source", TEXT, False, "Source table: clinical_events, medications or apcs."),
    ),
    sort_key=("patient_id", "feature", "code", "first_date", "last_date", "source"),
)

OUTPUTS: tuple[Output, ...] = (PATIENTS, COHORT, NEIGHBOURHOODS, EVIDENCE)

# The respiratory pipeline's outputs (npc_risk.respiratory; written when [pipeline] feature_sets
# holds "respiratory"), beside the usual ones.
def _list_person(area: str, whose: str) -> tuple[Column, ...]:
    """The leading columns of a case-finding list: area key, NHS number, patient_id, practice."""
    return (
        _c("neighbourhood", TEXT, False, area),
        _c("nhs_number", TEXT, True, "NHS number (10 digits); empty if the extract had none."),
        _c("patient_id", TEXT, False, "Pseudonymous person identifier."),
        _c("practice_code", TEXT, False, f"ODS code of the {whose} practice."),
    )


def _rate_areas(area: str, area_name: str) -> tuple[Column, ...]:
    """The leading columns of a practice -> neighbourhood -> city rate table (disclosure.area_rates)."""
    return (
        _c("level", TEXT, False, "practice, neighbourhood or city.", order=("practice", "neighbourhood", "city")),
        _c("area", TEXT, False, area),
        _c("area_name", TEXT, False, area_name),
    )


_ROW_SUPPRESSED = _c("suppressed", BOOL, False, "True when a count of the row is withheld by the disclosure rule.")

CARE_GAPS = Output(
    "care_gaps", "care_gaps.parquet", "internal",
    "Respiratory care gaps: one row per register member and open gap (docs/respiratory.md), with its "
    "evidence in plain words.",
    (
        _c("patient_id", TEXT, False, "Pseudonymous person identifier (links to patients.parquet)."),
        _c("pathway", TEXT, False, "asthma, copd, or asthma+copd (a gap of both registers, e.g. no flu vaccination)."),
        _c("gap", TEXT, False,
           "The gap's key: asthma_no_review, copd_no_review, no_mrc, pr_not_offered, no_flu, smoker_no_offer, "
           "no_action_plan, no_inhaler_technique, saba_overuse, saba_without_ics, laba_without_ics, ics_underuse, "
           "ocs_courses, post_attack_no_review or copd_no_spirometry."),
        _c("detail", TEXT, False,
           "The gap in plain words with its evidence, e.g. `13 reliever inhalers in 12 months and no inhaled "
           "steroid`, `no COPD review since 2024-11-02`."),
        _c("last_seen", DATE, True,
           "Last date the missing process (or the counted item) was recorded on or before the as-of date; empty "
           "if never."),
        _c("count", INT, True, "The count behind the gap (issues, courses, attacks), where there is one."),
    ),
    sort_key=("patient_id", "pathway", "gap"),
)

CARE_GAP_RATES = Output(
    "care_gap_rates", "care_gap_rates.parquet", "planning",
    "Respiratory care-gap rates per practice, neighbourhood and the city: register members (planning "
    "population) and how many have each gap. Counts pass the disclosure rule of neighbourhoods.parquet "
    "(1-7 and complements withheld, the rest rounded to 5); rates come from unrounded counts.",
    (
        *_rate_areas("Practice code, neighbourhood key, or `all` for the city.",
                     "Practice code, neighbourhood name, or `all`."),
        _c("pathway", TEXT, False, "asthma or copd: the register the rate is out of."),
        _c("gap", TEXT, False, "The gap's key (as care_gaps.parquet)."),
        _c("label", TEXT, False, "The gap in plain words."),
        _c("members", INT, True, "Register members in the area." + _SUPPRESSED),
        _c("with_gap", INT, True, "Members with the gap." + _SUPPRESSED),
        _c("pct_with_gap", FLOAT, True, "% of members with the gap." + _RATE),
        _ROW_SUPPRESSED,
    ),
    sort_key=("level", "area", "pathway", "gap"),
)

RESPIRATORY_MDT = Output(
    "respiratory_mdt", "respiratory_mdt.parquet", "case-finding",
    "The respiratory MDT list: the selected register members of each locality, highest risk first, with the "
    "score, its drivers, the rules tier and the open care gaps in plain words.",
    (
        *_list_person("Locality key (PCN code or LCP name, `[cohort] neighbourhood`).", "person's"),
        _c("neighbourhood_rank", INT, False, "Rank within the locality, 1 = highest risk."),
        _c("risk_score", FLOAT, False,
           "Risk of a respiratory emergency admission in the next 12 months, 0-1 (model), or the rules rank."),
        _c("drivers", TEXT, False, "Plain-words reasons behind the score, `; `-separated."),
        _c("resp_pathway", TEXT, True, "asthma, copd or asthma+copd."),
        _c("resp_rules_tier", INT, True,
           "Transparent rules tier: 1 = COPD priority group 1 or 3+ asthma risk factors ... 4 = none."),
        _c("copd_priority_group", INT, True, "COPD priority group 1-3, 4 = none; empty if not on the COPD register."),
        _c("asthma_risk_factors", INT, True,
           "Asthma high-risk factors (0-8; an asthma A&E attendance is one); empty if not on the asthma register."),
        _c("open_care_gaps", INT, False, "Number of open care gaps."),
        _c("care_gaps", TEXT, False, "The open care gaps in plain words, `; `-separated; empty text when none."),
    ),
    sort_key=("neighbourhood", "neighbourhood_rank"),
)

# The children's asthma pipeline's outputs (npc_risk.respiratory.cyp_outputs; written when
# [pipeline] feature_sets holds "cyp_asthma"), beside the respiratory ones.
CYP_ASTHMA_AT_RISK = Output(
    "cyp_asthma_at_risk", "cyp_asthma_at_risk.parquet", "case-finding",
    "Children's asthma list 1, at risk of an asthma attack: every child on the CYP asthma register with a "
    "high-risk factor, ranked within the area by the transparent points score (docs/respiratory.md), with the "
    "factors in plain words. Type 1 opt-outs and the [cohort] exclusions are left out.",
    (
        *_list_person("Area key (PCN code, LCP name or practice code, `[cohort] neighbourhood`).", "child's"),
        _c("age", INT, False, "Age in whole years on the as-of date (0-17)."),
        _c("neighbourhood_rank", INT, False,
           "Rank within the area: points descending, then the run's tie-break (eFI deficits, LTC count, "
           "patient_id), 1 = first."),
        _c("in_cohort", BOOL, False,
           "True for the top `[cohort] cohort_fraction` of the area's list: follow up first."),
        _c("cyp_points", INT, False, "Points score (data/respiratory/cyp_points.csv): a rank, not a probability."),
        _c("cyp_factors", INT, False, "Number of high-risk factors (1-7)."),
        _c("cyp_attacks_12m", INT, False,
           "Asthma attacks " + _12M + ": emergency asthma admissions, A&E attendances with an asthma ECDS "
           "diagnosis, GP-coded emergency admissions and exacerbation codes, days <= 14 apart merged."),
        _c("factors", TEXT, False,
           "The factors in plain words, heaviest first, `; `-separated, e.g. `2 oral steroid courses in 12 "
           "months`, `6 reliever inhalers and no inhaled steroid in 12 months`, `no asthma review since 2025-01-14`."),
    ),
    sort_key=("neighbourhood", "neighbourhood_rank"),
)

CYP_ASTHMA_CASE_FINDING = Output(
    "cyp_asthma_case_finding", "cyp_asthma_case_finding.parquet", "case-finding",
    "Children's asthma list 2, possibly undiagnosed: children aged 5-17 with no unresolved asthma diagnosis who "
    "meet the ASTCF00 case-finding rules (docs/respiratory.md), with the reasons in plain words. Type 1 opt-outs "
    "are left out.",
    (
        *_list_person("Area key (as cyp_asthma_at_risk.parquet).", "child's"),
        _c("age", INT, False, "Age in whole years on the as-of date (5-17)."),
        _c("case_finding_rank", INT, False, "Rank within the area: rules met descending, then patient_id; 1 = first."),
        _c("rules_met", INT, False, "Number of case-finding rules met (1-5)."),
        _c("reasons", TEXT, False,
           "The rules met in plain words, `; `-separated, e.g. `wheeze coded 2025-11-02`, `3 reliever inhalers "
           "in 12 months`."),
    ),
    sort_key=("neighbourhood", "case_finding_rank"),
)

CYP_ASTHMA_RATES = Output(
    "cyp_asthma_rates", "cyp_asthma_rates.parquet", "planning",
    "Children's asthma per practice, area and the city: children under 18 (planning population), and how many "
    "are on the CYP asthma register, at risk (list 1) and possibly undiagnosed (list 2). Counts pass the "
    "disclosure rule of neighbourhoods.parquet (1-7 and complements withheld, the rest rounded to 5); rates come "
    "from unrounded counts.",
    (
        *_rate_areas("Practice code, area key, or `all` for the city.", "Practice code, area name, or `all`."),
        _c("measure", TEXT, False, "cyp_asthma_register, at_risk or possibly_undiagnosed."),
        _c("label", TEXT, False, "The measure in plain words."),
        _c("children", INT, True, "Children under 18 in the area." + _SUPPRESSED),
        _c("with_measure", INT, True, "Children counted by the measure." + _SUPPRESSED),
        _c("per_1000", FLOAT, True, "Per 1,000 children." + _RATE),
        _ROW_SUPPRESSED,
    ),
    sort_key=("level", "area", "measure"),
)
CYP_ASTHMA_OUTPUTS: tuple[Output, ...] = (CYP_ASTHMA_AT_RISK, CYP_ASTHMA_CASE_FINDING, CYP_ASTHMA_RATES)

RESPIRATORY_OUTPUTS: tuple[Output, ...] = (CARE_GAPS, CARE_GAP_RATES, RESPIRATORY_MDT, *CYP_ASTHMA_OUTPUTS)


_WITHHELD = " Empty where withheld (a count behind it is 1-7 or could be worked out by subtraction)."
PACK_DATA = Output(
    "pack_data", "pack_data.parquet", "planning",
    "Every figure of the neighbourhood data packs (`npc-risk pack`, written beside the pages with a CSV twin): "
    "one row per area, indicator, breakdown and statistic. Counts pass the same disclosure rule as "
    "neighbourhoods.parquet; values are computed from the unrounded counts.",
    (
        _c("level", TEXT, False, "Area type: neighbourhood, lcp or city.", order=("neighbourhood", "lcp", "city")),
        _c("area", TEXT, False, "Area key: neighbourhood key, LCP name, or `all` for the city."),
        _c("area_name", TEXT, False, "Display name of the area."),
        _c("section", TEXT, False, "Pack section: population, need, use, cohort or fairness."),
        _c("indicator", TEXT, False,
           "What is measured, e.g. ltc3_plus, ltc_copd, emergency_admissions, population_imd, cohort_mix."),
        _c("label", TEXT, False, "The indicator in plain words, as the pack shows it."),
        _c("breakdown", TEXT, False,
           "`all`, or `<dimension>:<group>` (age_sex `<band>|<sex>`, imd, ethnicity, sex, age, risk)."),
        _c("statistic", TEXT, False,
           "crude (% with Wilson limits, or per 1,000 with exact/Byar limits), dsr (% age-standardised to the ESP "
           "2013, Dobson limits, none under 10 events), isr (ratio to expected at the city's age-sex rates, 100 = "
           "as expected) or share (% of the area's total in this group)."),
        _c("unit", TEXT, False, "%, per 1,000, or ratio (100 = city)."),
        _c("value", FLOAT, True, "The figure." + _WITHHELD),
        _c("lower", FLOAT, True, "Lower 95 % confidence limit." + _WITHHELD),
        _c("upper", FLOAT, True, "Upper 95 % confidence limit." + _WITHHELD),
        _c("lower_998", FLOAT, True, "Lower 99.8 % limit (isr rows)." + _WITHHELD),
        _c("upper_998", FLOAT, True, "Upper 99.8 % limit (isr rows)." + _WITHHELD),
        _c("numerator", FLOAT, True, "The count behind the value (people or events): 0, or rounded to 5." + _WITHHELD),
        _c("denominator", FLOAT, True, "People the value is out of: 0, or rounded to 5." + _WITHHELD),
        _c("expected", FLOAT, True, "isr rows: events expected at the city's age-sex rates, one decimal." + _WITHHELD),
        _c("excess", FLOAT, True, "isr rows: observed minus expected, one decimal." + _WITHHELD),
        _c("comparator", FLOAT, True, "What the value is compared with: the city's value, or 100 for an isr."),
        _c("significance", TEXT, True,
           "higher / lower (the 95 % interval excludes the comparator), similar, not compared (withheld), city "
           "(the city itself), or empty for shares."),
        _c("suppressed", BOOL, False, "True when the value is withheld by the disclosure rule."),
        _c("outlier", TEXT, True, "isr rows: higher / lower / similar at 99.8 % (outside the funnel's outer limits)."),
    ),
    sort_key=("level", "area", "section", "indicator", "breakdown", "statistic"),
)


@dataclass(frozen=True)
class ManifestKey:
    name: str
    holds: str  # the JSON shape
    written_by: str  # "run" (the caller's dict) or "publish"
    description: str


MANIFEST: tuple[ManifestKey, ...] = (
    ManifestKey("package_version", "text", "run", "npc_risk version that made the run."),
    ManifestKey("as_of", "date text (YYYY-MM-DD)", "run", "The as-of date: every look-back ends here."),
    ManifestKey("config", "object", "run", "The pipeline configuration as applied, every default filled in."),
    ManifestKey("config_hash", "text (sha256)", "run", "Hash of the configuration; also in every Parquet footer."),
    ManifestKey("inputs", "{table: {file, sha256, rows_read, accepted, quarantined, reasons, notes}}", "run",
                "Each input file, its hash and its row counts (quarantine reasons counted)."),
    ManifestKey("codelists", "{folder, packaged, manifest_sha256, lists: {list: {version, sha256}}}", "run",
                "The code-list folder used (packaged: true for the starter lists, not for real data), the "
                "hash of its manifest, and each list's release and hash."),
    ManifestKey("unmatched_codes", "[{source, coding_system, events, unmatched_codes, unmatched_events}]", "run",
                "Per source, how many codes and events matched no code list."),
    ManifestKey("model_files", "{file name: sha256}", "run",
                "The risk model and its card published under model/ (empty for the rules score)."),
    ManifestKey("steps", "{step: {count: integer}}", "run",
                "Counts in and out of each step; identical on a rerun of the same inputs."),
    ManifestKey("timings", "{step: seconds}", "run",
                "Wall-clock seconds per step; differ between reruns, so kept apart from steps."),
    ManifestKey("provenance", "{as_of, version, config_hash}", "publish",
                "What is stamped into every Parquet footer (npc_risk.* keys)."),
    ManifestKey("outputs", "{path: {sha256, rows, bytes}}", "publish",
                "Every published file but the manifest, with its hash, rows and size."),
)
