"""Which packaged code lists make each respiratory concept, and the code -> concept maps.

One concept may read several lists (the asthma register's diagnoses are AST_COD, split in the
package into `resp-asthma` and `resp-asthma-exacerbation`); one code may serve several concepts
(an ICS/LABA inhaler is ICS-containing and LABA-containing). The maps are small memtables joined
to the events once; each (code, concept) pair appears once, so counts never double.

MRC grades come from the third column of `resp-mrc.snomedct.csv` (`mrc_grade`: the MRC-equivalent
grade 1-5, mMRC g read as MRC g + 1, 5a/5b as 5); the score code has no grade there and its grade
is the event's numeric value (1-5, anything else ignored).
"""

from __future__ import annotations

import csv
from pathlib import Path

import ibis
import pyarrow as pa

from npc_risk.codelists import CodelistSet
from npc_risk.errors import CodelistError

# GP events (SNOMED CT): concept -> lists
EVENT_CONCEPTS: dict[str, tuple[str, ...]] = {
    "asthma_dx": ("resp-asthma.snomedct", "resp-asthma-exacerbation.snomedct"),
    "asthma_exacerbation": ("resp-asthma-exacerbation.snomedct",),
    "asthma_resolved": ("resp-asthma-resolved.snomedct",),
    "copd_dx": ("resp-copd.snomedct", "resp-aecopd.snomedct"),
    "aecopd": ("resp-aecopd.snomedct",),
    "copd_resolved": ("resp-copd-resolved.snomedct",),
    "asthma_review": ("resp-asthma-review.snomedct",),
    "copd_review": ("resp-copd-review.snomedct",),
    "mrc": ("resp-mrc.snomedct",),
    "fev1fvc": ("resp-spirometry-fev1fvc.snomedct",),
    "fev1_predicted": ("resp-fev1-predicted.snomedct",),
    "pr_any": ("resp-pr-offered.snomedct", "resp-pr-declined.snomedct", "resp-pr-unsuitable.snomedct",
               "resp-pr-attended.snomedct"),
    "smoking_current": ("resp-smoking-current.snomedct",),
    "smoking_ex": ("resp-smoking-ex.snomedct",),
    "smoking_never": ("resp-smoking-never.snomedct",),
    "cessation": ("resp-smoking-cessation.snomedct",),
    "flu": ("resp-flu-vaccination.snomedct",),
    "action_plan": ("resp-action-plan.snomedct",),
    "inhaler_technique": ("resp-inhaler-technique.snomedct",),
    "asthma_admission_gp": ("resp-emergency-asthma-admission.snomedct",),
    "wheeze": ("resp-wheeze.snomedct",),
}

# Prescriptions (dm+d): concept -> lists
MEDICINE_CONCEPTS: dict[str, tuple[str, ...]] = {
    "saba": ("resp-saba.dmd",),
    "ics_containing": ("resp-ics.dmd", "resp-ics-laba.dmd", "resp-mart.dmd", "resp-triple.dmd"),
    "laba_only": ("resp-laba.dmd",),
    "laba_containing": ("resp-laba.dmd", "resp-ics-laba.dmd", "resp-lama-laba.dmd", "resp-triple.dmd"),
    "lama_containing": ("resp-lama.dmd", "resp-lama-laba.dmd", "resp-triple.dmd"),
    "triple": ("resp-triple.dmd",),
    "ocs": ("resp-oral-prednisolone.dmd",),
    "antibiotic": ("resp-antibiotics.dmd",),
    # ASTTRT_COD stand-in: any inhaled respiratory treatment (not oral steroids or antibiotics)
    "asthma_treatment": ("resp-saba.dmd", "resp-ics.dmd", "resp-ics-laba.dmd", "resp-mart.dmd", "resp-laba.dmd",
                         "resp-lama.dmd", "resp-lama-laba.dmd", "resp-triple.dmd"),
}

# Hospital primary diagnoses (ICD-10 three-character categories): concept -> lists
DIAGNOSIS_CONCEPTS: dict[str, tuple[str, ...]] = {
    "respiratory": ("resp-respiratory-any.icd10",),
    "asthma": ("resp-asthma.icd10",),
    "copd": ("resp-copd.icd10",),
}

# A&E diagnoses (ECDS EC_DIAGNOSIS, SNOMED CT): concept -> lists
ECDS_CONCEPTS: dict[str, tuple[str, ...]] = {
    "respiratory": ("resp-ecds-diagnosis.snomedct",),
    "asthma": ("resp-ecds-asthma.snomedct",),
}

MRC_LIST = "resp-mrc.snomedct"


def _codes(codelists: CodelistSet, name: str) -> list[str]:
    try:
        return sorted(code for code, _ in codelists.lists[name].codes)
    except KeyError:
        raise CodelistError(f"{codelists.folder}: code list {name} is missing; the respiratory pipeline "
                            "needs the packaged resp-* lists (npc-risk codelists check)") from None


def _pairs(codelists: CodelistSet, concepts: dict[str, tuple[str, ...]]) -> list[tuple[str, str]]:
    return sorted({(code, concept) for concept, names in concepts.items()
                   for name in names for code in _codes(codelists, name)})


def mrc_grades(codelists: CodelistSet) -> dict[str, int | None]:
    """{MRC code: MRC-equivalent grade, or None for the score code}, from the list's third column."""
    path = Path(codelists.folder) / f"{MRC_LIST}.csv"
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows or "mrc_grade" not in rows[0]:
        raise CodelistError(f"{path}: needs a third column mrc_grade (1-5, empty for the score code)")
    return {r["code"].strip(): int(r["mrc_grade"]) if r["mrc_grade"].strip() else None for r in rows}


def event_map(codelists: CodelistSet) -> ibis.Table:
    """(code, concept, grade) for the GP-event concepts; grade only on MRC rows."""
    pairs = _pairs(codelists, EVENT_CONCEPTS)
    grades = mrc_grades(codelists)
    return ibis.memtable(pa.table({
        "code": pa.array([c for c, _ in pairs], pa.string()),
        "concept": pa.array([k for _, k in pairs], pa.string()),
        "grade": pa.array([grades.get(c) if k == "mrc" else None for c, k in pairs], pa.int64()),
    }))


def medicine_map(codelists: CodelistSet) -> ibis.Table:
    """(code, concept) for the prescription concepts."""
    pairs = _pairs(codelists, MEDICINE_CONCEPTS)
    return ibis.memtable(pa.table({"code": pa.array([c for c, _ in pairs], pa.string()),
                                   "concept": pa.array([k for _, k in pairs], pa.string())}))


def diagnosis_map(codelists: CodelistSet) -> ibis.Table:
    """(code3, concept) for hospital primary diagnoses (the lists hold three-character categories)."""
    pairs = _pairs(codelists, DIAGNOSIS_CONCEPTS)
    return ibis.memtable(pa.table({"code3": pa.array([c[:3] for c, _ in pairs], pa.string()),
                                   "concept": pa.array([k for _, k in pairs], pa.string())})).distinct()


def ecds_map(codelists: CodelistSet) -> ibis.Table:
    """(code, concept) for A&E diagnoses (ECDS SNOMED CT concept ids, matched exactly)."""
    pairs = _pairs(codelists, ECDS_CONCEPTS)
    return ibis.memtable(pa.table({"code": pa.array([c for c, _ in pairs], pa.string()),
                                   "concept": pa.array([k for _, k in pairs], pa.string())}))


def all_lists() -> tuple[str, ...]:
    """Every list the respiratory feature set reads."""
    return tuple(sorted({n for m in (EVENT_CONCEPTS, MEDICINE_CONCEPTS, DIAGNOSIS_CONCEPTS, ECDS_CONCEPTS)
                         for names in m.values() for n in names}))
