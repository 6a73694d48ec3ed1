"""Spec: respiratory and asthma A&E attendances (respiratory-and-packs.md §5.3 "A&E attendance in
12 m", §6; docs/respiratory.md). An attendance counts by its ECDS diagnosis (ec.diagnosis_code,
SNOMED CT): respiratory = resp-ecds-diagnosis, asthma = resp-ecds-asthma. T is 2026-03-31; days
are days before T; "last 12 months" = (T - 365 d, T] and "24 months" = (T - 730 d, T], so day 364
is in and 365 out, day 729 in and 730 out. No diagnosis, or no diagnosis_code column, counts 0.
"""

from npc_risk.respiratory import respiratory_features
from npc_risk.respiratory.cyp import factor_words
from tests.builders.extract import AS_OF, clean_rows, run_ingest, write_extract
from tests.builders.features import event, issues
from tests.builders.respiratory import (
    ACTION_PLAN,
    AE_ASTHMA,
    AE_ASTHMA_ATTACK,
    AE_BRONCHIOLITIS,
    AE_HEAD_INJURY,
    AE_PNEUMONIA,
    ASTHMA,
    ASTHMA_REVIEW,
    ICS,
    SABA,
    asthma_patient,
    attendance,
    cyp,
    respiratory,
    spell,
)

AE_COLUMNS = ["resp_ae_attendances_12m", "resp_ae_attendances_24m", "asthma_ae_attendances_12m"]


def test_respiratory_and_asthma_ae_attendances_in_12_and_24_months(engine, codelists):
    cases = {  # id: (attendances as (days before T, ECDS code), [resp 12m, resp 24m, asthma 12m])
        "none": ([], [0, 0, 0]),
        "asthma_today": ([(0, AE_ASTHMA)], [1, 1, 1]),
        "asthma_364": ([(364, AE_ASTHMA_ATTACK)], [1, 1, 1]),
        "asthma_365": ([(365, AE_ASTHMA)], [0, 1, 0]),
        "asthma_366": ([(366, AE_ASTHMA)], [0, 1, 0]),
        "pneumonia_729": ([(729, AE_PNEUMONIA)], [0, 1, 0]),
        "pneumonia_730": ([(730, AE_PNEUMONIA)], [0, 0, 0]),
        "pneumonia_731": ([(731, AE_PNEUMONIA)], [0, 0, 0]),
        "injury": ([(10, AE_HEAD_INJURY)], [0, 0, 0]),  # all-cause A&E is not respiratory
        "no_diagnosis": ([(10, None)], [0, 0, 0]),
        "three": ([(5, AE_BRONCHIOLITIS), (5, AE_ASTHMA), (400, AE_PNEUMONIA)], [2, 3, 1]),
        "after_t": ([(-1, AE_ASTHMA)], [0, 0, 0]),  # arrival after T is not known at T
    }
    ids = list(cases)
    ec = [attendance(i, d, code) for i, (visits, _) in cases.items() for d, code in visits]
    p = respiratory(engine, codelists, ids, ec=ec)
    assert p[AE_COLUMNS].values.tolist() == [c[1] for c in cases.values()]


def test_an_extract_without_diagnosis_code_counts_no_respiratory_ae(engine, codelists):
    """The optional column left out: every attendance reads as no diagnosis, so 0 (not a stop)."""
    ec = [{k: v for k, v in attendance("p", 10, AE_ASTHMA).items() if k != "diagnosis_code"}]
    p = respiratory(engine, codelists, ["p"], ec=ec)
    assert p.loc["p", AE_COLUMNS].tolist() == [0, 0, 0]


def test_ingested_extract_without_the_column_counts_zero(engine, codelists, tmp_path):
    """End to end from a CSV extract whose ec file has no diagnosis_code column: ingest accepts the
    attendance with a null diagnosis and the respiratory A&E counts are 0."""
    folder = write_extract(tmp_path / "extract", drop_columns={"ec": ["diagnosis_code"]})
    result = run_ingest(engine, folder, tmp_path / "work")
    patient = clean_rows("ec")[0]["patient_id"]
    person = engine.to_arrow(respiratory_features(engine, result.tables, as_of=AS_OF,
                                                  codelists=codelists).person).to_pylist()
    row = next(r for r in person if r["patient_id"] == patient)
    assert [row[c] for c in AE_COLUMNS] == [0, 0, 0]


def test_the_high_risk_search_counts_an_asthma_ae_attendance(engine, codelists):
    """§5.3: 'A&E attendance in 12 m' is a factor for an asthma register member - an asthma ECDS
    diagnosis, not any attendance. The patients are otherwise controlled (3 ICS, 1 SABA, a plan)."""
    ids = ["ae_asthma", "ae_asthma_365", "ae_injury", "ae_pneumonia"]
    visits = {"ae_asthma": (100, AE_ASTHMA), "ae_asthma_365": (365, AE_ASTHMA), "ae_injury": (100, AE_HEAD_INJURY),
              "ae_pneumonia": (100, AE_PNEUMONIA)}
    ev = [event(i, 900, ASTHMA) for i in ids] + [event(i, 30, ACTION_PLAN) for i in ids]
    rx = [r for i in ids for r in issues(i, ICS, [20, 100, 200]) + issues(i, SABA, [20])]
    ec = [attendance(i, *visits[i]) for i in ids]
    p = respiratory(engine, codelists, ids, clinical_events=ev, medications=rx, ec=ec)
    # factor count, then tier (1 factor = tier 3, none = tier 4)
    assert p["asthma_risk_factors"].tolist() == [1, 0, 0, 0]
    assert p["resp_rules_tier"].tolist() == [3, 4, 4, 4]


def test_cyp_prior_attack_counts_asthma_ae_merged_with_its_admission(engine, codelists):
    """Children: an asthma A&E attendance is an attack (§5.2 'previous asthma attack': asthma A&E
    or admission); the attendance the day before its admission is the same attack (days <= 14
    apart merge); one 15 days before is another. Other A&E diagnoses are not attacks."""
    ids = ["ae_only", "ae_then_admitted", "ae_15_days_before", "ae_365", "ae_bronchiolitis"]
    ev, rx = [], []
    for i in ids:
        e, r = asthma_patient(i, dx=1000, rx=20)
        ev += e + [event(i, 30, ASTHMA_REVIEW), event(i, 30, ACTION_PLAN)]
        rx += r + issues(i, ICS, [80, 140, 200])
    ec = [attendance("ae_only", 50, AE_ASTHMA), attendance("ae_then_admitted", 51, AE_ASTHMA),
          attendance("ae_15_days_before", 65, AE_ASTHMA_ATTACK), attendance("ae_365", 365, AE_ASTHMA),
          attendance("ae_bronchiolitis", 50, AE_BRONCHIOLITIS)]
    apcs, diag = zip(*[spell("ae_then_admitted", 50, 47, "J459"), spell("ae_15_days_before", 50, 47, "J459")],
                     strict=True)
    p = cyp(engine, codelists, ids, clinical_events=ev, medications=rx, ec=ec, apcs=list(apcs),
            apcs_diagnoses=list(diag))
    assert p["cyp_attacks_12m"].tolist() == [1, 1, 2, 0, 0]
    assert p["cyp_factor_attacks"].tolist() == [True, True, True, False, False]
    assert str(p.loc["ae_only", "cyp_attack_last"])[:10] == "2026-02-09"  # 50 days before T
    words = factor_words(p.loc["ae_only"].to_dict())
    assert words[0][0] == "attack_one" and words[0][2].startswith("1 asthma attack in 12 months")
