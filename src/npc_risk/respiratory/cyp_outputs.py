"""The children's asthma pipeline's published files (the `cyp_asthma` feature set; docs/respiratory.md):

* cyp_asthma_at_risk.parquet (case-finding): list 1, every child the run's selection ranks (the
  `cyp_at_risk_top_fraction` candidates: on the CYP register with a factor, not excluded, type 1
  opt-outs left out), with the neighbourhood rank (points, then the run's tie-break), whether the
  child is in the follow-up cohort, and the factors in plain words;
* cyp_asthma_case_finding.parquet (case-finding): list 2, the possibly undiagnosed children aged
  5-17 (the same exclusions and opt-outs as list 1), ranked per area by rules met then patient_id;
* cyp_asthma_rates.parquet (planning): per practice, area and city, children and how many are on
  the register, at risk, possibly undiagnosed, per 1,000 (planning/disclosure.py: 1-7 withheld,
  complements withheld, the rest rounded to 5; rates from unrounded counts; planning opt-outs
  left out as in neighbourhoods.parquet);
* cyp_asthma_card.json / .md: the method card. No validated under-18 asthma-attack prediction
  model exists (respiratory-and-packs.md §5.3, [U]); the lists are ranked by a transparent points
  score. When the extract has the synthetic city's `truth/` beside it, the card reports how the
  points rank the simulated attacks of the outcome year (AUROC, PPV at the list sizes), computed
  on this run's children; otherwise it says it was not evaluated.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from sklearn.metrics import roc_auc_score

from npc_risk.cohort import exclusions
from npc_risk.engine import Engine
from npc_risk.planning.disclosure import area_rates, suppress_count
from npc_risk.respiratory import cyp
from npc_risk.respiratory.cyp import case_finding_words, factor_words, max_points, points_table
from npc_risk.schemas.outputs import CYP_ASTHMA_AT_RISK, CYP_ASTHMA_CASE_FINDING, CYP_ASTHMA_RATES, Output

log = logging.getLogger(__name__)

CARD_JSON, CARD_MD = "cyp_asthma_card.json", "cyp_asthma_card.md"
MEASURES = (("cyp_asthma_register", "cyp_asthma_register", "on the children's asthma register"),
            ("at_risk", "cyp_at_risk", "at risk of an asthma attack (list 1)"),
            ("possibly_undiagnosed", "cyp_possibly_undiagnosed", "possibly undiagnosed asthma, aged 5-17 (list 2)"))
NO_MODEL = ("No validated prediction model of asthma attacks in children and young people under 18 is known "
            "(respiratory-and-packs.md §5.3, tagged [U]): this pipeline fits and publishes none. The at-risk list "
            "is ranked by a transparent points score: each high-risk factor's points are round(10 x ln odds "
            "ratio) of its published evidence (§5.2), in data/respiratory/cyp_points.csv. The score is a rank, "
            "not a probability.")
# truth/persons.parquet columns: the outcome year's asthma (J45-J46) and any respiratory (J00-J99)
# emergency admissions (synth/city.py)
OUTCOMES = (("asthma_emergency_admission", "asthma_emergency_admissions",
             ">= 1 emergency admission with an asthma primary diagnosis (J45-J46) in the 365 days after the as-of "
             "date"),
            ("respiratory_emergency_admission", "respiratory_emergency_admissions",
             ">= 1 emergency admission with a respiratory primary diagnosis (J00-J99) in the 365 days after the as-of "
             "date"))


# what the lists, rates and card read of the run's patients table (besides the cyp_asthma columns
# and the applied exclusion flags): identity, area, rank, and the respiratory counts the words cite
_READ = ("patient_id", "nhs_number", "practice_code", "neighbourhood", "neighbourhood_name", "age",
         "neighbourhood_rank", "in_cohort", "planning_optout", "saba_issues_12m", "ics_issues_12m",
         "ocs_issues_12m", "ocs_courses_12m", "gp_dnas_12m", "asthma_review_last", "action_plan_last")


@dataclass
class CypPrepared:
    tables: dict[str, tuple[Output, pa.Table]]
    card: dict


def prepare(engine: Engine, *, patients: ir.Table, config, as_of: date, truth_dir: Path | None) -> CypPrepared:
    """The three tables and the card (module docstring); only counts are logged."""
    flags = [f for f in exclusions(config.cohort, config.outputs.case_finding.applied) if f in patients.columns]
    wanted = (*_READ, *flags, *(c for c in cyp.PERSON_COLUMNS if c != "patient_id"))
    p = engine.to_arrow(patients.select(*dict.fromkeys(c for c in wanted if c in patients.columns))).to_pandas()
    at_risk = p[p["cyp_at_risk"].fillna(False).astype(bool) & p["neighbourhood_rank"].notna()]
    keep = ~p[flags].fillna(False).astype(bool).any(axis=1) if flags else pd.Series(True, index=p.index)
    undiagnosed = p[p["cyp_possibly_undiagnosed"].fillna(False).astype(bool) & keep]
    tables = {
        "cyp_asthma_at_risk": (CYP_ASTHMA_AT_RISK, _at_risk(at_risk)),
        "cyp_asthma_case_finding": (CYP_ASTHMA_CASE_FINDING, _case_finding(undiagnosed)),
        "cyp_asthma_rates": (CYP_ASTHMA_RATES, _rates(p)),
    }
    card = method_card(p, at_risk, config=config, as_of=as_of, truth_dir=truth_dir)
    log.info("children's asthma: %s at risk, %s possibly undiagnosed", f"{len(at_risk):,}", f"{len(undiagnosed):,}")
    return CypPrepared(tables, card)


def _arrow(frame: pd.DataFrame, spec: Output) -> pa.Table:
    arrays = []
    for c in spec.columns:
        values = frame[c.name].astype(object).where(frame[c.name].notna(), None).tolist()
        arrays.append(pa.array(values, c.type))
    return pa.Table.from_arrays(arrays, names=list(spec.names))


def _at_risk(frame: pd.DataFrame) -> pa.Table:
    f = frame.copy()
    f["factors"] = ["; ".join(w for _, _, w in sorted(factor_words(r), key=lambda x: -x[1]))
                    for r in f.to_dict("records")]
    f = f.sort_values(["neighbourhood", "neighbourhood_rank"], kind="stable")
    return _arrow(f, CYP_ASTHMA_AT_RISK)


def _case_finding(frame: pd.DataFrame) -> pa.Table:
    f = frame.copy()
    f["rules_met"] = f["cf_rules_met"]
    f["reasons"] = ["; ".join(case_finding_words(r)) for r in f.to_dict("records")]
    f = f.sort_values(["neighbourhood", "rules_met", "patient_id"], ascending=[True, False, True], kind="stable")
    f["case_finding_rank"] = f.groupby("neighbourhood", sort=False).cumcount() + 1
    return _arrow(f, CYP_ASTHMA_CASE_FINDING)


def _rates(p: pd.DataFrame) -> pa.Table:
    """CYP_ASTHMA_RATES from the planning population (module docstring), as care_gap_rates."""
    if "planning_optout" in p.columns:
        p = p[p["planning_optout"].isna()]
    rows = []
    for key, column, label in MEASURES:
        grouped = p.assign(_m=p[column].fillna(False).astype(bool).astype("int64")).groupby(
            ["practice_code", "neighbourhood", "neighbourhood_name"], sort=True)["_m"].agg(["size", "sum"])
        cells = ((*k, n, m) for k, n, m in zip(grouped.index, grouped["size"], grouped["sum"], strict=True))
        rows += [{"level": r.level, "area": r.area, "area_name": r.area_name, "measure": key, "label": label,
                  "children": r.denominator, "with_measure": r.numerator, "per_1000": r.rate,
                  "suppressed": r.suppressed} for r in area_rates(cells, 1000)]
    order = {lvl: i for i, lvl in enumerate(CYP_ASTHMA_RATES.column("level").order)}
    rows.sort(key=lambda r: (order[r["level"]], r["area"], r["measure"]))
    return pa.Table.from_pylist(rows, schema=pa.schema([(c.name, c.type) for c in CYP_ASTHMA_RATES.columns]))


# ------------------------------------------------------------------------------------ the card
def _r(x) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), 4)


def _ranked(scores: np.ndarray, y: np.ndarray, list_size: int, listed: np.ndarray | None = None) -> dict:
    both = 0 < y.sum() < len(y)  # AUROC needs events and non-events
    out = {"children": int(len(y)), "events": int(y.sum()), "base_rate": _r(y.mean()) if len(y) else None,
           "auroc": _r(roc_auc_score(y, scores)) if both else None}
    if listed is not None:
        n = int(listed.sum())
        out |= {"list_size": n, "events_on_list": int(y[listed].sum()),
                "ppv_list": _r(y[listed].mean()) if n else None,
                "sensitivity_list": _r(y[listed].sum() / y.sum()) if y.sum() else None}
    if list_size:
        # the same number of children taken by points alone (ties broken by patient order: the
        # `risk.metrics` convention, selection.py trap)
        top = np.argsort(-scores, kind="stable")[:list_size]
        out |= {"top_n": list_size, "ppv_top_n": _r(y[top].mean())}
    return out


def evaluate(p: pd.DataFrame, at_risk: pd.DataFrame, truth_dir: Path | None) -> dict:
    """How cyp_points ranks the outcome year's simulated attacks (module docstring), or why not."""
    path = None if truth_dir is None else Path(truth_dir) / "persons.parquet"
    if path is None or not path.exists():
        return {"evaluated": False, "reason": "no truth/persons.parquet beside the extract (a real extract has none)"}
    truth = pq.read_table(path).to_pandas()
    missing = [c for _, c, _ in OUTCOMES if c not in truth.columns]
    if missing:
        return {"evaluated": False,
                "reason": f"truth/persons.parquet lacks {missing} (a city generated before the CYP card)"}
    j = p[["patient_id", "cyp_points", "cyp_asthma_register", "in_cohort"]].merge(
        truth[["patient_id", *(c for _, c, _ in OUTCOMES)]], on="patient_id", how="left")
    listed_ids = set(at_risk["patient_id"])
    out: dict = {"evaluated": True, "population": "children under 18 registered on the as-of date",
                 "outcomes": {}}
    for name, column, words in OUTCOMES:
        y = (j[column].fillna(0) > 0).to_numpy(dtype="int8")
        s = j["cyp_points"].fillna(0).to_numpy(dtype="float64")
        on_list = j["patient_id"].isin(listed_ids).to_numpy()
        cohort = j["in_cohort"].fillna(False).to_numpy(dtype=bool)
        reg = j["cyp_asthma_register"].fillna(False).to_numpy(dtype=bool)
        out["outcomes"][name] = {
            "definition": words,
            "all_children": _ranked(s, y, int(on_list.sum()), on_list),
            "register_children": _ranked(s[reg], y[reg], int(on_list[reg].sum()), on_list[reg]),
            "follow_up_cohort": {"size": int(cohort.sum()), "events": int(y[cohort].sum()),
                                 "ppv": _r(y[cohort].mean()) if cohort.any() else None},
        }
    return out


def method_card(p: pd.DataFrame, at_risk: pd.DataFrame, *, config, as_of: date, truth_dir: Path | None) -> dict:
    points = [{"factor": r["factor"], "points": int(r["points"]), "odds_ratio": float(r["odds_ratio"]),
               "evidence": r["evidence"], "source": r["source"]} for r in points_table()]
    return {
        "pipeline": getattr(config, "name", None), "as_of": as_of.isoformat(), "method": "cyp_points",
        "statement": NO_MODEL, "points": points, "max_points": max_points(),
        "selection": {"neighbourhood": config.cohort.neighbourhood, "cohort_fraction": config.cohort.cohort_fraction},
        # city-wide list sizes, through the disclosure rule (the card is not patient-level)
        "lists": {"at_risk": suppress_count(int(len(at_risk))),
                  "possibly_undiagnosed": suppress_count(
                      int(p["cyp_possibly_undiagnosed"].fillna(False).astype(bool).sum()))},
        "evaluation": evaluate(p, at_risk, truth_dir),
    }


def card_markdown(card: dict) -> str:
    lines = [f"# Children's asthma: method card ({card['as_of']})", "", card["statement"], "",
             "| factor | points | odds ratio | evidence | source |", "|---|---|---|---|---|"]
    lines += [f"| {r['factor']} | {r['points']} | {r['odds_ratio']} | {r['evidence']} | {r['source']} |"
              for r in card["points"]]
    lists = card["lists"]
    lines += ["", f"Maximum {card['max_points']} points. Lists: {lists['at_risk']} children at risk, "
              f"{lists['possibly_undiagnosed']} possibly undiagnosed (rounded to 5; empty if 1-7).", "",
              "## How the points rank the simulated attacks", ""]
    ev = card["evaluation"]
    if not ev["evaluated"]:
        return "\n".join([*lines, f"Not evaluated: {ev['reason']}.", ""])
    lines += ["Computed on this run's children against the synthetic city's truth/ (the outcome year, after the "
              "as-of date). Few events make these figures noisy; they describe this city, not a validation.", ""]
    for name, o in ev["outcomes"].items():
        lines += [f"### {name}", "", o["definition"], "",
                  "| children | events | AUROC | list size | events on list | PPV on list | PPV top n by points |",
                  "|---|---|---|---|---|---|---|"]
        for who in ("all_children", "register_children"):
            r = o[who]
            lines.append(f"| {who.replace('_', ' ')} ({r['children']}) | {r['events']} | {r['auroc']} | "
                         f"{r.get('list_size')} | {r.get('events_on_list')} | {r.get('ppv_list')} | "
                         f"{r.get('ppv_top_n')} |")
        c = o["follow_up_cohort"]
        lines += ["", f"Follow-up cohort: {c['size']} children, {c['events']} events, PPV {c['ppv']}.", ""]
    return "\n".join(lines)


def card_text(card: dict) -> tuple[str, str]:
    """(json, markdown) of the card: sorted keys, fixed rounding, so reruns are byte-identical."""
    return json.dumps(card, indent=2, sort_keys=True) + "\n", card_markdown(card)
