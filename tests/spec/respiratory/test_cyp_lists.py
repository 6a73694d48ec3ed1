"""Spec: the children's lists, rates and card as published (respiratory.cyp_outputs), from a small
run-shaped table of children (what the select step hands to the publish step), on every engine.

* List 2 is ranked within each area by rules met, then patient_id; type 1 opt-outs are left out.
* The rates per practice, area and city pass the one disclosure rule (1-7 withheld, a complement
  withheld beside it, the rest rounded to 5) and are per 1,000 children from unrounded counts.
* Without truth/ beside the extract the card still says no validated model exists, and that it was
  not evaluated.
"""

from datetime import date
from pathlib import Path

import ibis
import pyarrow as pa

from npc_risk.config import load_config
from npc_risk.respiratory import cyp_outputs

PIPELINE = Path(__file__).resolve().parents[3] / "pipelines" / "cyp_asthma.toml"
T = date(2026, 3, 31)


def children(rows: list[tuple[str, str, str, int, bool]]) -> ibis.Table:
    """(patient_id, practice, area, rules met (0 = not on list 2), type 1 opt-out) -> the run's
    patients table for those children: nobody on the register, list 2 by wheeze alone or wheeze
    and 2 relievers."""
    cols: dict[str, list] = {k: [] for k in (
        "patient_id", "nhs_number", "practice_code", "neighbourhood", "neighbourhood_name", "age",
        "neighbourhood_rank", "in_cohort", "planning_optout", "type1_optout", "palliative_care", "care_home",
        "cyp_asthma_register", "cyp_at_risk", "cyp_points", "cyp_factors", "cyp_attacks_12m",
        "cyp_possibly_undiagnosed", "cf_wheeze", "cf_saba",
        "cf_ics", "cf_ocs", "cf_review", "cf_rules_met", "wheeze_last_2y", "saba_issues_12m", "ics_issues_12m",
        "ics_issues_24m", "ocs_issues_12m", "asthma_review_last_5y")}
    for pid, practice, area, met, optout in rows:
        values = {"patient_id": pid, "nhs_number": None, "practice_code": practice, "neighbourhood": area,
                  "neighbourhood_name": f"{area} PCN", "age": 9, "neighbourhood_rank": None, "in_cohort": False,
                  "planning_optout": None, "type1_optout": optout, "palliative_care": False, "care_home": False,
                  "cyp_asthma_register": False, "cyp_at_risk": False, "cyp_points": 0, "cyp_factors": 0,
                  "cyp_attacks_12m": 0,
                  "cyp_possibly_undiagnosed": met > 0, "cf_wheeze": met > 0, "cf_saba": met > 1, "cf_ics": False,
                  "cf_ocs": False, "cf_review": False, "cf_rules_met": met,
                  "wheeze_last_2y": date(2025, 11, 2) if met else None, "saba_issues_12m": 2 if met > 1 else 0,
                  "ics_issues_12m": 0, "ics_issues_24m": 0, "ocs_issues_12m": 0, "asthma_review_last_5y": None}
        for k, v in values.items():
            cols[k].append(v)
    types = {"nhs_number": pa.string(), "neighbourhood_rank": pa.int64(), "planning_optout": pa.string(),
             "age": pa.int64(), "cyp_points": pa.int64(), "cyp_factors": pa.int64(), "cyp_attacks_12m": pa.int64(),
             "cf_rules_met": pa.int64(),
             "wheeze_last_2y": pa.date32(), "asthma_review_last_5y": pa.date32()}
    return ibis.memtable(pa.table({k: pa.array(v, types.get(k)) for k, v in cols.items()}))


def test_case_finding_rank_within_each_area_and_opt_outs_left_out(engine):
    rows = [("b", "P1", "N1", 1, False), ("c", "P1", "N1", 2, False), ("a", "P1", "N1", 2, False),
            ("optout", "P1", "N1", 2, True), ("d", "P3", "N2", 1, False), ("none", "P3", "N2", 0, False)]
    out = cyp_outputs.prepare(engine, patients=children(rows), config=load_config(PIPELINE), as_of=T,
                              truth_dir=None)
    listed = out.tables["cyp_asthma_case_finding"][1].to_pylist()
    assert [(r["neighbourhood"], r["patient_id"], r["case_finding_rank"], r["rules_met"]) for r in listed] == [
        ("N1", "a", 1, 2), ("N1", "c", 2, 2), ("N1", "b", 3, 1), ("N2", "d", 1, 1)]
    assert listed[0]["reasons"] == "wheeze coded 2025-11-02; 2 reliever inhalers in 12 months"
    assert out.tables["cyp_asthma_at_risk"][1].num_rows == 0


def test_rates_pass_the_disclosure_rule_with_a_complement_withheld(engine):
    """N1 = P1 (20 children, 3 possibly undiagnosed) + P2 (12 children, 9); N2 = P3 (30, 0).
    P1's 3 is withheld, and P2's 9 beside it (else N1 - P2 gives P1 away); N1's 12 shows as 10."""
    rows = [(f"p1-{k}", "P1", "N1", 1 if k < 3 else 0, False) for k in range(20)]
    rows += [(f"p2-{k}", "P2", "N1", 1 if k < 9 else 0, False) for k in range(12)]
    rows += [(f"p3-{k}", "P3", "N2", 0, False) for k in range(30)]
    out = cyp_outputs.prepare(engine, patients=children(rows), config=load_config(PIPELINE), as_of=T,
                              truth_dir=None)
    rates = [r for r in out.tables["cyp_asthma_rates"][1].to_pylist() if r["measure"] == "possibly_undiagnosed"]
    got = {(r["level"], r["area"]): (r["children"], r["with_measure"], r["per_1000"], r["suppressed"]) for r in rates}
    assert got == {
        ("practice", "P1"): (20, None, None, True),
        ("practice", "P2"): (10, None, None, True),
        ("practice", "P3"): (30, 0, 0.0, False),
        ("neighbourhood", "N1"): (30, 10, 375.0, False),  # 12 of 32 children, from unrounded counts
        ("neighbourhood", "N2"): (30, 0, 0.0, False),
        ("city", "all"): (60, 10, 193.5, False),  # 12 of 62
    }


def test_without_truth_the_card_says_so_and_still_states_there_is_no_validated_model(engine):
    out = cyp_outputs.prepare(engine, patients=children([("a", "P1", "N1", 1, False)]),
                              config=load_config(PIPELINE), as_of=T, truth_dir=None)
    card_json, card_md = cyp_outputs.card_text(out.card)
    assert out.card["evaluation"] == {"evaluated": False,
                                      "reason": "no truth/persons.parquet beside the extract (a real extract has none)"}
    assert "No validated prediction model of asthma attacks in children and young people under 18" in card_md
    assert "Not evaluated: no truth/persons.parquet beside the extract" in card_md
    assert out.card["max_points"] == 56 and len(out.card["points"]) == 8
    assert '"method": "cyp_points"' in card_json
