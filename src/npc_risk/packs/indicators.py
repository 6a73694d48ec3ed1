"""What a data pack measures: the indicators, and the one query that counts them from a run.

A pack reads only a published run folder (`patients.parquet`, `neighbourhoods.parquet`,
`manifest.json`). Person-level rows never leave the engine: `count_strata` groups the planning
population (people whose `planning_optout` is empty, the same people as neighbourhoods.parquet's
planning figures) into strata of neighbourhood x ESP 2013 age band x sex x IMD quintile x ethnic
group, with the numerator of every indicator summed in each stratum; `count_conditions` does the
same for each long-term condition. Everything a pack shows is computed from these two small
tables (packs/figures.py).

Each indicator is defined once here (`INDICATORS`): its numerator (a column of the strata
table), its denominator (everyone, or people aged 65+), how it is expressed (a % of people, or
activity per 1,000) and whether more is worse. Long-term conditions are added per condition
found in the run (`condition_indicators`), so a QOF-register run and a Cambridge-style run each
get their own list.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import ibis
import ibis.expr.types as ir
import pandas as pd

from npc_risk import files
from npc_risk.engine import Engine
from npc_risk.frailty import EFI_CATEGORIES, HFRS_CATEGORIES, efi_at_least
from npc_risk.planning.statistics import FRAILTY_AGE, LTC_MULTIMORBID

ESP_TOP = 90  # ESP 2013 (19 bands): 0-4, 5-9, ..., 85-89, 90+ (respiratory-and-packs.md §9.3)
NOT_KNOWN = "Not known"
PYRAMID_SEXES = ("female", "male")  # the pyramid's two sides; other recorded sexes are counted elsewhere


@dataclass(frozen=True)
class Indicator:
    """One measure a pack shows for every area.

    `kind` "people": the % of the denominator with the numerator flag (Wilson limits; directly
    age-standardised to the ESP 2013 in the "need" section). `kind` "activity": events per 1,000
    people (Byar/exact limits). Both also get an indirectly age-sex standardised ratio against
    the city (ISR, 100 = as expected), which the "where to focus" ranking uses.
    """

    key: str
    label: str
    section: str  # need | use
    kind: str  # people | activity
    numerator: str  # column of the strata table
    denominator: str = "people"  # people | people_65
    worse_when_higher: bool = True

    @property
    def multiplier(self) -> int:
        return 100 if self.kind == "people" else 1000

    @property
    def unit(self) -> str:
        return "%" if self.kind == "people" else "per 1,000"


INDICATORS: tuple[Indicator, ...] = (
    Indicator("ltc3_plus", "3 or more long-term conditions", "need", "people", "ltc3_plus"),
    Indicator("frailty_moderate_severe", "Moderate or severe frailty (eFI), aged 65+", "need", "people",
              "frail_65", denominator="people_65"),
    Indicator("hfrs_intermediate_high", "Hospital frailty risk intermediate or high (HFRS 5+)", "need",
              "people", "hfrs_5_plus"),
    # each eFI category among people aged 65+ (fit is the rest) and each HFRS band above low
    *(Indicator(f"efi_{c}_65", f"eFI {c} frailty, aged 65+", "need", "people", f"efi_{c}_65",
                denominator="people_65") for c in EFI_CATEGORIES if c != "fit"),
    *(Indicator(f"hfrs_{c}", f"HFRS {c} risk", "need", "people", f"hfrs_{c}")
      for c in HFRS_CATEGORIES if c != "low"),
    Indicator("emergency_admissions", "Emergency admissions", "use", "activity", "emergency_admissions"),
    Indicator("emergency_bed_days", "Unplanned (emergency) bed days", "use", "activity", "emergency_bed_days"),
    Indicator("ae_attendances", "A&E attendances", "use", "activity", "ae_attendances"),
    Indicator("outpatient_attendances", "Outpatient attendances", "use", "activity", "outpatient_attendances"),
    Indicator("gp_appointments", "GP appointments", "use", "activity", "gp_appointments"),
    Indicator("social_care_packages", "Adult social care packages (active)", "use", "activity",
              "social_care_packages"),
)

# strata column -> patients.parquet column summed (activity over the last 12 months)
ACTIVITY = {
    "emergency_admissions": "emergency_admissions_12m",
    "emergency_bed_days": "emergency_bed_days_12m",
    "ae_attendances": "ae_attendances_12m",
    "outpatient_attendances": "outpatient_attendances_12m",
    "gp_appointments": "gp_appointments_12m",
    "social_care_packages": "social_care_packages_active",
}
STRATA_KEYS = ("neighbourhood", "neighbourhood_name", "lcp_name", "band", "sex", "imd_quintile", "ethnicity")


def condition_label(key: str) -> str:
    """`stroke_tia` -> "Stroke tia"... spelled out where plain words need more than a space."""
    return CONDITION_LABELS.get(key, key.replace("_", " ").capitalize())


CONDITION_LABELS = {
    "chd": "Coronary heart disease", "ckd": "Chronic kidney disease", "copd": "COPD",
    "smi": "Serious mental illness", "stroke_tia": "Stroke or TIA", "pvd": "Peripheral vascular disease",
    "anxiety_depression": "Anxiety or depression", "ibs": "Irritable bowel syndrome",
    "ibd": "Inflammatory bowel disease", "af": "Atrial fibrillation",
}


def condition_indicators(conditions: list[str]) -> tuple[Indicator, ...]:
    """One "people" indicator per long-term condition found in the run, in name order."""
    return tuple(Indicator(f"ltc_{c}", condition_label(c), "need", "people", f"ltc_{c}")
                 for c in sorted(conditions))


def band_label(lower: int) -> str:
    """ESP 2013 band label for its lower age: 0 -> "0-4", 90 -> "90+"."""
    return f"{lower}+" if lower >= ESP_TOP else f"{lower}-{lower + 4}"


def planning_population(engine: Engine, run_dir: Path) -> ir.Table:
    """The run's people counted in the planning figures, with the strata keys added."""
    p = files.open_parquet(engine, Path(run_dir) / "patients.parquet")
    p = p.filter(p.planning_optout.isnull())
    decile = p.imd_decile.cast("int64")
    return p.mutate(
        band=ibis.least((p.age // 5) * 5, ESP_TOP).cast("int64"),
        imd_quintile=ibis.ifelse(decile.isnull(), ibis.literal(NOT_KNOWN),
                                 ((decile + 1) // 2).cast("string")),
        ethnicity=ibis.coalesce(p.ethnicity_group.cast("string"), ibis.literal("Unknown")),
        lcp_name=ibis.coalesce(p.lcp_name.cast("string"), ibis.literal(NOT_KNOWN)),
    )


def count_strata(engine: Engine, people: ir.Table) -> pd.DataFrame:
    """People and every indicator's numerator per stratum (STRATA_KEYS), plus the cohort."""
    p = people
    aged_65 = p.age >= FRAILTY_AGE
    flags = {
        "people_65": aged_65.cast("int64"),
        "ltc3_plus": (p.ltc_count >= LTC_MULTIMORBID).cast("int64"),
        "frail_65": (aged_65 & efi_at_least(p.efi_deficits, "moderate")).fill_null(False).cast("int64"),
        "hfrs_5_plus": (p.hfrs_category != "low").fill_null(False).cast("int64"),
        **{f"efi_{c}_65": (aged_65 & (p.efi_category == c)).fill_null(False).cast("int64")
           for c in EFI_CATEGORIES if c != "fit"},
        **{f"hfrs_{c}": (p.hfrs_category == c).fill_null(False).cast("int64") for c in HFRS_CATEGORIES if c != "low"},
        "selected": p.in_cohort.fill_null(False).cast("int64"),
        "eligible": p.eligible.fill_null(False).cast("int64"),
        **{k: p[c].cast("int64") for k, c in ACTIVITY.items()},
    }
    grouped = p.group_by(list(STRATA_KEYS)).aggregate(
        people=p.count(), **{k: v.sum().cast("int64") for k, v in flags.items()})
    return engine.to_arrow(grouped.order_by(list(STRATA_KEYS))).to_pandas()


def count_conditions(engine: Engine, people: ir.Table) -> pd.DataFrame:
    """People with each long-term condition per neighbourhood x LCP x age band x sex."""
    p = people.filter(people.ltc_conditions != "")
    keys = ["neighbourhood", "lcp_name", "band", "sex", "condition"]
    long = p.select(*keys[:-1], condition=p.ltc_conditions.split(";").unnest())
    grouped = long.group_by(keys).aggregate(people=long.count())
    return engine.to_arrow(grouped.order_by(keys)).to_pandas()


def risk_deciles(engine: Engine, people: ir.Table) -> pd.DataFrame:
    """People per neighbourhood and risk band (0-10 %, ..., 90-100 %): the risk distribution."""
    p = people.filter(people.risk_score.notnull())
    band = ibis.least((p.risk_score * 10).floor().cast("int64"), 9)
    grouped = p.group_by(["neighbourhood", "lcp_name", band.name("risk_band")]).aggregate(people=p.count())
    return engine.to_arrow(grouped.order_by(["neighbourhood", "lcp_name", "risk_band"])).to_pandas()
