"""Functional (slow): the synthetic city's respiratory care (synth/respiratory.py, issue 11).

One 8,000-person city for the module; the checks read its extract and truth the way an analyst
would: care gaps carry latent risk, flu vaccinations fall in season, the truth's respiratory
columns are consistent with the all-cause ones.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from npc_risk.synth import generate_city
from npc_risk.synth.params import load_params

pytestmark = pytest.mark.slow  # generates a city

AS_OF = dt.date(2026, 3, 31)
YEAR_BEFORE = AS_OF - dt.timedelta(days=365)


def _codes(*items: str) -> set[str]:
    return {r["code"] for r in load_params().respiratory_codes if r["item"] in items}


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    out = tmp_path_factory.mktemp("resp_city")
    generate_city(patients=8_000, seed=11, as_of=AS_OF, output=out)
    meds = pq.read_table(out / "extract" / "medications.parquet")
    events = pq.read_table(out / "extract" / "clinical_events.parquet")
    truth = pq.read_table(out / "truth" / "persons.parquet").to_pydict()
    return {"meds": meds, "events": events, "truth": truth}


def _issues_last_year(meds, codes: set[str]) -> dict[str, int]:
    """patient_id -> issues of these dm+d codes in the 12 months before the as-of date."""
    keep = pc.and_(pc.is_in(meds["dmd_code"], value_set=pc.cast(list(codes), "string")),
                   pc.and_(pc.greater(meds["date"], YEAR_BEFORE), pc.less_equal(meds["date"], AS_OF)))
    ids = meds.filter(keep)["patient_id"].to_pylist()
    counts: dict[str, int] = {}
    for pid in ids:
        counts[pid] = counts.get(pid, 0) + 1
    return counts


def _risk(city, people) -> float:
    truth = city["truth"]
    index = {pid: i for i, pid in enumerate(truth["patient_id"])}
    prob = np.array(truth["knowable_respiratory_probability"])
    rows = [index[p] for p in people if p in index and truth["in_population"][index[p]]]  # (not dirt)
    return float(prob[rows].mean())


def _coded(city, concept: str) -> set[str]:
    """People with a diagnosis code of the concept (concept_codes.csv) in their record."""
    codes = {r["snomedct_code"] for r in load_params().concept_codes if r["concept"] == concept}
    events = city["events"]
    return set(events.filter(pc.is_in(events["snomedct_code"], value_set=pc.cast(list(codes), "string")))
               ["patient_id"].to_pylist())


def test_relievers_without_an_inhaled_steroid_carry_more_latent_risk(city):
    """>= 6 SABA in 12 months and no ICS-containing issue (the NRAD / NG245 gap) against everyone
    else on a reliever, among people with asthma and without COPD (old people with breathlessness
    but no diagnosis get Ventolin too): the knowable respiratory-admission probability is higher."""
    asthma = _coded(city, "asthma") - _coded(city, "copd")
    saba = {p: k for p, k in _issues_last_year(city["meds"], _codes("saba")).items() if p in asthma}
    steroid = _issues_last_year(city["meds"], _codes("ics", "ics_laba", "mart", "triple"))
    gap = [p for p, k in saba.items() if k >= 6 and p not in steroid]
    rest = [p for p in saba if p not in gap]
    assert len(gap) >= 20 and len(rest) >= 100
    assert _risk(city, gap) > 1.3 * _risk(city, rest)  # measured 1.4 (seed 11)


def test_two_or_more_steroid_courses_carry_more_latent_risk(city):
    """Two or more prednisolone issues in 12 months (most are separate courses) against reliever
    users without any, among people with asthma and without COPD."""
    asthma = _coded(city, "asthma") - _coded(city, "copd")
    ocs = _issues_last_year(city["meds"], _codes("ocs"))
    inhaled = _issues_last_year(city["meds"], _codes("saba", "ics", "ics_laba", "mart", "lama", "lama_laba", "triple"))
    courses = [p for p, k in ocs.items() if k >= 2 and p in asthma]
    rest = [p for p in inhaled if p not in ocs and p in asthma]
    assert len(courses) >= 10
    assert _risk(city, courses) > 1.5 * _risk(city, rest)


def test_flu_vaccinations_fall_in_season(city):
    """September to February only (respiratory-and-packs §2.3), apart from injected dirt."""
    events = city["events"]
    flu = events.filter(pc.is_in(events["snomedct_code"], value_set=pc.cast(list(_codes("flu_vaccination")), "string")))
    months = np.array(pc.month(flu["date"]).to_pylist())
    in_season = np.isin(months, [9, 10, 11, 12, 1, 2])
    assert len(months) > 1000
    assert in_season.mean() > 0.995


def test_every_respiratory_drug_class_is_prescribed(city):
    issued = set(city["meds"]["dmd_code"].to_pylist())
    for item in ("saba", "ics", "ics_laba", "mart", "lama", "lama_laba", "triple", "ocs", "antibiotic"):
        assert issued & _codes(item), item


def test_respiratory_truth_is_part_of_the_all_cause_truth(city):
    truth = city["truth"]
    resp, allc = np.array(truth["true_respiratory_probability"]), np.array(truth["true_probability"])
    known_resp, known = np.array(truth["knowable_respiratory_probability"]), np.array(truth["knowable_probability"])
    count_resp, count = np.array(truth["respiratory_emergency_admissions"]), np.array(truth["emergency_admissions"])
    assert (resp <= allc + 1e-12).all() and (known_resp <= known + 1e-12).all()
    assert (count_resp <= count).all() and count_resp.sum() > 0
    assert 0.05 < count_resp.sum() / count.sum() < 0.25  # about 1 in 8 (§7.4)


def test_children_with_wheeze_and_no_diagnosis_are_there_to_be_found(city):
    """Case finding (respiratory-and-packs §5.3) has children to find: wheeze coded in the last two
    years without an asthma diagnosis, most of them given a reliever after it."""
    events = city["events"]
    coded = pc.is_in(events["snomedct_code"], value_set=pc.cast(list(_codes("wheeze")), "string"))
    wheeze = events.filter(pc.and_(coded, pc.greater(events["date"], AS_OF - dt.timedelta(days=730))))
    children = set(wheeze["patient_id"].to_pylist()) - _coded(city, "asthma")
    assert len(children) >= 20
    saba = _issues_last_year(city["meds"], _codes("saba"))
    assert sum(p in saba for p in children) / len(children) > 0.4
