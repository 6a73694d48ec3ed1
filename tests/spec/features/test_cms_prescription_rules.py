"""Spec: the Cambridge Multimorbidity Score prescription rules (clinical-definitions.md §3.1).

"Rx in the last 12 m" counts distinct issue dates in (T-365d, T]; ">= 4 Rx" means at least four
such issues. Each test builds a few patients, states the rule in its docstring and puts the
expected per-patient flags beside the data. T (the as-of date) is 2026-03-31 throughout; the
drug codes are real dm+d ids from the packaged med-*.dmd lists.
"""

from tests.builders.features import days_before, derive, event, issues

SENNA = "42358311000001108"        # Senna 7.5mg tablets (med-laxatives)
SUMATRIPTAN = "322815004"          # Sumatriptan 50mg tablets (med-antimigraine)
DOVOBET = "3389411000001107"       # Calcipotriol / Betamethasone ointment (med-psoriasis-eczema)
MEBEVERINE = "42355011000001102"   # Mebeverine 135mg tablets (med-antispasmodics)
LITHIUM = "39110111000001103"      # Lithium carbonate 400mg MR tablets (med-lithium)
SERTRALINE = "39704111000001102"   # Sertraline 50mg tablets (med-antidepressants)
DIAZEPAM = "42128111000001101"     # Diazepam 2mg tablets (med-anxiolytics-hypnotics)
CO_CODAMOL = "42009811000001101"   # Co-codamol 30mg/500mg tablets (med-analgesics)

PSORIASIS = "9014002"
SCHIZOPHRENIA = "58214004"
ANXIETY = "197480006"


def run(engine, codelists, ids, **tables):
    """The person frame of `ids` (born 1950, registered since 2020) given these events."""
    _, person = derive(engine, codelists, ids, dob="1950-01-01", start="2020-01-01", **tables)
    return person


def test_constipation_needs_four_laxative_issues_in_twelve_months(engine, codelists):
    """CMS CON: >= 4 laxative Rx in (T-365d, T] and nothing else (no diagnosis arm). An issue
    365 days before T is outside; two rows on one day are one issue."""
    meds = (issues("three", SENNA, [10, 40, 70])
            + issues("four", SENNA, [10, 40, 70, 364])
            + issues("old", SENNA, [10, 40, 70, 365])
            + issues("same_day", SENNA, [10, 40, 70, 70]))
    p = run(engine, codelists, ["three", "four", "old", "same_day"], medications=meds)
    #                                three  four   old    same_day
    assert list(p.ltc_constipation) == [False, True, False, False]
    assert list(p.ltc_count) == [0, 1, 0, 0]
    assert p.loc["four", "ltc_conditions"] == "constipation"


def test_migraine_needs_four_anti_migraine_issues(engine, codelists):
    """CMS MIG: >= 4 prescription-only anti-migraine Rx in the last 12 months (Rx only)."""
    meds = issues("three", SUMATRIPTAN, [5, 60, 120]) + issues("four", SUMATRIPTAN, [5, 60, 120, 300])
    p = run(engine, codelists, ["three", "four", "none"], medications=meds)
    assert list(p.ltc_migraine) == [False, True, False]


def test_psoriasis_needs_diagnosis_and_four_treatments(engine, codelists):
    """CMS PSO: Dx ever AND >= 4 BNF 13.5 Rx in the last 12 months. A diagnosis alone, or
    treatment alone, or a diagnosis with only three issues, does not count."""
    events = [event("dx_only", 4000, PSORIASIS), event("dx_4rx", 4000, PSORIASIS), event("dx_3rx", 20, PSORIASIS)]
    meds = (issues("dx_4rx", DOVOBET, [10, 50, 100, 200]) + issues("dx_3rx", DOVOBET, [10, 50, 100])
            + issues("rx_only", DOVOBET, [10, 50, 100, 200]))
    p = run(engine, codelists, ["dx_only", "dx_4rx", "dx_3rx", "rx_only"], clinical_events=events, medications=meds)
    #                                  dx_only dx_4rx dx_3rx rx_only
    assert list(p.ltc_psoriasis_eczema) == [False, True, False, False]


def test_ibs_by_diagnosis_ever_or_four_antispasmodic_issues(engine, codelists):
    """CMS IBS: Dx ever OR >= 4 antispasmodic Rx in the last 12 months."""
    events = [event("dx_old", 5000, "10743008")]
    meds = issues("rx4", MEBEVERINE, [3, 30, 90, 180]) + issues("rx3", MEBEVERINE, [3, 30, 90])
    p = run(engine, codelists, ["dx_old", "rx4", "rx3"], clinical_events=events, medications=meds)
    assert list(p.ltc_ibs) == [True, True, False]


def test_smi_by_diagnosis_or_lithium_ever(engine, codelists):
    """CMS SCZ: Dx ever OR lithium Rx ever (§3.1): one lithium issue ten years before T counts."""
    events = [event("dx", 3000, SCHIZOPHRENIA)]
    meds = issues("lithium_old", LITHIUM, [3650]) + issues("sertraline", SERTRALINE, [5])
    p = run(engine, codelists, ["dx", "lithium_old", "sertraline", "none"], clinical_events=events, medications=meds)
    assert list(p.ltc_smi) == [True, True, False, False]


def test_anxiety_depression_by_recent_diagnosis_or_four_issues(engine, codelists):
    """CMS ANX/DEP (one condition): Dx in the last 12 months OR >= 4 antidepressant or
    anxiolytic/hypnotic Rx in the last 12 months. An old diagnosis alone does not count."""
    events = [event("dx_recent", 100, ANXIETY), event("dx_old", 400, ANXIETY)]
    meds = (issues("antidep4", SERTRALINE, [7, 35, 63, 91]) + issues("anxio4", DIAZEPAM, [7, 35, 63, 91])
            + issues("anxio3", DIAZEPAM, [7, 35, 63]))
    ids = ["dx_recent", "dx_old", "antidep4", "anxio4", "anxio3"]
    p = run(engine, codelists, ids, clinical_events=events, medications=meds)
    #                                    dx_recent dx_old antidep4 anxio4 anxio3
    assert list(p.ltc_anxiety_depression) == [True, False, True, True, False]


def test_painful_condition_from_four_analgesic_issues(engine, codelists):
    """CMS PNC analgesic arm: >= 4 prescription analgesic Rx in the last 12 months."""
    meds = issues("four", CO_CODAMOL, [1, 29, 57, 85]) + issues("three", CO_CODAMOL, [1, 29, 57])
    p = run(engine, codelists, ["four", "three"], medications=meds)
    assert list(p.ltc_painful_condition) == [True, False]


PREGABALIN = "20556411000001107"   # Pregabalin 20mg/ml oral solution (med-antiepileptics)
EPILEPSY = "84757009"              # Epilepsy (ltc-epilepsy; EPIL_COD)


def test_painful_condition_antiepileptic_arm_unless_epilepsy(engine, codelists):
    """CMS PNC: >= 4 analgesic Rx in 12 m, OR >= 4 antiepileptic Rx in 12 m with no epilepsy
    Dx ever on or before T (the `painful_condition_antiepileptic` part). An epilepsy code dated
    after T does not veto; the part never shows as a column of its own."""
    meds = (issues("aed4", PREGABALIN, [10, 40, 70, 100])
            + issues("aed4_epilepsy", PREGABALIN, [10, 40, 70, 100])
            + issues("aed4_epilepsy_later", PREGABALIN, [10, 40, 70, 100])
            + issues("aed3", PREGABALIN, [10, 40, 70])
            + issues("analgesic4", CO_CODAMOL, [10, 40, 70, 100]))
    events = [event("aed4_epilepsy", 2000, EPILEPSY), event("aed4_epilepsy_later", -5, EPILEPSY)]
    ids = ["aed4", "aed4_epilepsy", "aed4_epilepsy_later", "aed3", "analgesic4"]
    p = run(engine, codelists, ids, medications=meds, clinical_events=events)
    #                                      aed4  +epilepsy  epilepsy after T  aed3  analgesic4
    assert list(p.ltc_painful_condition) == [True, False, True, False, True]
    assert list(p.ltc_epilepsy) == [False, True, False, False, False]  # EPI: Dx AND Rx
    assert not any(c.startswith("part_") for c in p.columns)


def test_painful_condition_evidence_names_the_parent(engine, codelists):
    """The antiepileptic issues that made the part hold are evidence for ltc_painful_condition."""
    r, _ = derive(engine, codelists, ["p"], dob="1950-01-01", start="2020-01-01",
                  medications=issues("p", PREGABALIN, [10, 40, 70, 100]))
    e = engine.to_arrow(r.evidence).to_pandas()
    row = e[e.feature == "ltc_painful_condition"].iloc[0]
    assert (row.code, row.first_date, row.last_date, row.source) == (
        PREGABALIN, days_before(100), days_before(10), "medications")
    assert not e.feature.str.startswith("part_").any()
