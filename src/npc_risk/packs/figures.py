"""Every number a pack shows, as one tidy table (`pack_data.parquet` / `.csv`).

One row per area (neighbourhood, LCP, city), indicator, breakdown and statistic:

* `crude`: % of people (Wilson limits) or events per 1,000 (exact limits under 10 events, Byar's
  from 10), 95 %; comparator the city's crude value.
* `dsr`: % directly age-standardised to the ESP 2013 (Dobson limits; none under 10 events), 95 %;
  comparator the city's DSR.
* `isr`: indirectly age-sex standardised ratio to the city, 100 = as expected (O / E x 100),
  95 % and 99.8 % limits; comparator 100.
* `share`: % of the area's total in one value of a breakdown (pyramid cell, IMD quintile, ethnic
  group, fairness group, risk band), Wilson limits; comparator the city's share.

`numerator` / `denominator` are the counts behind the value after disclosure control
(planning/disclosure.py, the one rule: 1-7 withheld, others rounded to 5, and the differencing
guard across neighbourhoods, LCPs and the city and across each breakdown); `value` and its
limits are computed from the unrounded counts and withheld (empty, `suppressed` true) wherever a
count behind them is withheld. `expected` is E of the ISR (rounded to one decimal: it is a model
figure, not a count of people), `excess` is O - E for the ISR rows, withheld with O.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from npc_risk.packs import methods
from npc_risk.packs.indicators import (
    INDICATORS,
    NOT_KNOWN,
    PYRAMID_SEXES,
    STRATA_KEYS,
    Indicator,
    condition_indicators,
)
from npc_risk.planning.disclosure import Family, complementary_suppression, is_small, suppress_count
from npc_risk.schemas.outputs import PACK_DATA

LEVELS = ("neighbourhood", "lcp", "city")
PART = "part"  # a neighbourhood's part in one LCP (hidden; see `_with_levels`)
CITY = "all"
CITY_NAME = "Whole city"
CONFIDENCE, OUTLIER = 0.95, 0.998
# broad age bands for the fairness table: lower bound -> label (ESP bands grouped)
AGE_GROUPS = ((0, "0-17"), (18, "18-44"), (45, "45-64"), (65, "65-74"), (75, "75-84"), (85, "85+"))

COLUMNS = PACK_DATA.names  # the tidy table's columns, declared once (schemas/outputs.py)


@dataclass(frozen=True)
class Areas:
    """The areas of a run: each neighbourhood (key -> name, its LCPs), each LCP, the city."""

    names: dict[tuple[str, str], str]  # (level, key) -> display name
    lcps_of: dict[str, tuple[str, ...]]  # neighbourhood -> the LCPs its people belong to

    def keys(self, level: str) -> list[str]:
        return sorted(k for lv, k in self.names if lv == level)


def areas_of(strata: pd.DataFrame) -> Areas:
    names = {("city", CITY): CITY_NAME}
    lcps: dict[str, set[str]] = defaultdict(set)
    for row in strata[["neighbourhood", "neighbourhood_name", "lcp_name"]].drop_duplicates().itertuples():
        names[("neighbourhood", row.neighbourhood)] = row.neighbourhood_name
        if row.lcp_name != NOT_KNOWN:
            names[("lcp", row.lcp_name)] = row.lcp_name
            lcps[row.neighbourhood].add(row.lcp_name)
    return Areas(names, {k: tuple(sorted(v)) for k, v in lcps.items()})


def _with_levels(frame: pd.DataFrame) -> Iterable[tuple[str, str, pd.DataFrame]]:
    """(level, area, rows) for each neighbourhood, LCP and the city."""
    for key, rows in frame.groupby("neighbourhood", sort=True):
        yield "neighbourhood", key, rows
    if "lcp_name" in frame.columns:
        for key, rows in frame[frame.lcp_name != NOT_KNOWN].groupby("lcp_name", sort=True):
            yield "lcp", key, rows
        # the part of a neighbourhood split between LCPs that lies in each: never published, but
        # the differencing guard must know it (`disclose`)
        mapped = frame[frame.lcp_name != NOT_KNOWN]
        split = mapped.groupby("neighbourhood").lcp_name.nunique()
        for (hood, lcp), rows in mapped[mapped.neighbourhood.isin(split[split > 1].index)].groupby(
                ["neighbourhood", "lcp_name"], sort=True):
            yield PART, f"{hood}|{lcp}", rows
    yield "city", CITY, frame


# ------------------------------------------------------------------------------ the statistics
def _crude(ind: Indicator, x: int, n: int, confidence: float = CONFIDENCE) -> methods.Estimate:
    if n == 0:
        return methods.NOT_AVAILABLE
    if ind.kind == "people":
        return methods.wilson(x, n, multiplier=ind.multiplier, confidence=confidence)
    return methods.crude_rate(x, n, multiplier=ind.multiplier, confidence=confidence)


def _dsr(ind: Indicator, band: np.ndarray, x: np.ndarray, n: np.ndarray) -> methods.Estimate:
    """% directly standardised to the ESP 2013 over the bands the denominator covers (65+ only
    for a 65+ indicator: its younger bands have no one in the denominator by definition).
    `band`, `x`, `n`: one entry per stratum (band x sex) of the area."""
    floor = 65 if ind.denominator == "people_65" else 0
    rows = [(int(x[band == b.lower_age].sum()), int(n[band == b.lower_age].sum()), b.weight)
            for b in methods.esp2013() if b.lower_age >= floor]
    return methods.dsr(rows, multiplier=ind.multiplier)


def by_area(frame: pd.DataFrame, columns: list[str]) -> dict[tuple[str, str], pd.DataFrame]:
    """{(level, area): its rows summed by band x sex} for every neighbourhood, LCP and the city,
    the same band x sex order in each (so arrays line up with the city's reference rates)."""
    out = {}
    for level, area, rows in _with_levels(frame):
        out[(level, area)] = rows.groupby(["band", "sex"], sort=True)[columns].sum()
    return out


def indicator_rows(ind: Indicator, frame: pd.DataFrame, numerator: str, denominator: str,
                   areas: Mapping[tuple[str, str], pd.DataFrame] | None = None) -> list[dict]:
    """crude, dsr (people indicators) and isr rows of one indicator for every area, unsuppressed
    (`numerator`/`denominator` hold the true counts; `disclose` rounds them). `areas` is
    `by_area(frame, ...)` when the caller has it already."""
    areas = areas if areas is not None else by_area(frame, [numerator, denominator])
    city = areas[("city", CITY)]
    cx, cn = city[numerator], city[denominator]
    rates = {k: (x / n if n else 0.0) for k, x, n in zip(city.index, cx, cn, strict=True)}
    city_crude = _crude(ind, int(cx.sum()), int(cn.sum())).value
    bands = city.index.get_level_values("band").to_numpy()
    city_dsr = (_dsr(ind, bands, cx.to_numpy(), cn.to_numpy()).value if ind.kind == "people" else None)
    out = []
    base = {"section": ind.section, "indicator": ind.key, "label": ind.label, "breakdown": "all"}
    for (level, area), rows in areas.items():
        xs, ns = rows[numerator].to_numpy(), rows[denominator].to_numpy()
        x, n = int(xs.sum()), int(ns.sum())
        crude = _crude(ind, x, n)
        compared = level != "city"
        out.append({**base, "level": level, "area": area, "statistic": "crude", "unit": ind.unit,
                    **_estimate(crude), "numerator": x, "denominator": n, "comparator": city_crude,
                    "significance": methods.significance(crude, city_crude) if compared else "city"})
        if ind.kind == "people":
            d = _dsr(ind, rows.index.get_level_values("band").to_numpy(), xs, ns)
            out.append({**base, "level": level, "area": area, "statistic": "dsr", "unit": ind.unit,
                        **_estimate(d), "numerator": x, "denominator": n, "comparator": city_dsr,
                        "significance": ("city" if not compared else "not compared" if city_dsr is None
                                         else methods.significance(d, city_dsr))})
        if compared:
            e = methods.expected_events(rates, {k: v for k, v in zip(rows.index, ns, strict=True) if v})
            r95 = methods.isr(x, e, confidence=CONFIDENCE) if e else methods.NOT_AVAILABLE
            r998 = methods.isr(x, e, confidence=OUTLIER) if e else methods.NOT_AVAILABLE
            out.append({**base, "level": level, "area": area, "statistic": "isr", "unit": "ratio (100 = city)",
                        **_estimate(r95), "lower_998": r998.lower, "upper_998": r998.upper,
                        "numerator": x, "denominator": n, "expected": round(e, 1), "excess": round(x - e, 1),
                        "comparator": 100.0, "significance": methods.significance(r95, 100.0),
                        "outlier": methods.significance(r998, 100.0)})
    return out


def _estimate(e: methods.Estimate) -> dict:
    return {"value": e.value, "lower": e.lower, "upper": e.upper}


def share_rows(frame: pd.DataFrame, dimension: str, column: str, *, indicator: str, label: str,
               section: str, count: str = "people") -> list[dict]:
    """% of each area's `count` in each value of `column` (e.g. IMD quintile), with the city's
    share as comparator. Counts are true counts here; `disclose` rounds and guards them."""
    city = frame.groupby(column)[count].sum()
    city_total = city.sum()
    out = []
    for level, area, rows in _with_levels(frame):
        by = rows.groupby(column)[count].sum()
        total = int(by.sum())
        for value in sorted(city.index, key=str):
            x = int(by.get(value, 0))
            share = methods.wilson(x, total) if total else methods.NOT_AVAILABLE
            out.append({"level": level, "area": area, "section": section, "indicator": indicator,
                        "label": label, "breakdown": f"{dimension}:{value}", "statistic": "share", "unit": "%",
                        **_estimate(share), "numerator": x, "denominator": total,
                        "comparator": (100 * city.get(value, 0) / city_total) if city_total else None,
                        "significance": ""})
    return out


# ------------------------------------------------------------------------- disclosure control
def _families(cells: Mapping[tuple, int], areas: Areas) -> list[Family]:
    """The additive identities among `cells` ((indicator, breakdown, which, level, area) -> true
    count): across areas, city = its neighbourhoods and an LCP = its neighbourhoods, or their
    parts where a neighbourhood is split between LCPs (and the neighbourhood = its parts); within
    an area, a share's breakdown cells add up to the `<dim>:*` total."""
    hoods = areas.keys("neighbourhood")
    families = []
    keys = {(i, b, w) for i, b, w, _, _ in cells}
    for i, b, w in sorted(keys):
        def cell(level, area, i=i, b=b, w=w):
            return (i, b, w, level, area)
        families.append(Family(cell("city", CITY), tuple(cell("neighbourhood", h) for h in hoods)))
        members: dict[str, list] = defaultdict(list)
        for h in hoods:
            lcps = areas.lcps_of.get(h, ())
            if len(lcps) == 1:
                members[lcps[0]].append(cell("neighbourhood", h))
            elif len(lcps) > 1:
                parts = tuple(cell(PART, f"{h}|{lcp}") for lcp in lcps)
                families.append(Family(cell("neighbourhood", h), parts))
                for lcp, part in zip(lcps, parts, strict=True):
                    members[lcp].append(part)
        families += [Family(cell("lcp", lcp), tuple(kids)) for lcp, kids in sorted(members.items())]
    totals: dict[tuple, list] = defaultdict(list)
    for i, b, w, level, area in cells:
        if b.endswith(":*") or b == "all":
            continue
        totals[(i, b.split(":", 1)[0] + ":*", w, level, area)].append((i, b, w, level, area))
    families += [Family(parent, tuple(sorted(kids))) for parent, kids in sorted(totals.items()) if parent in cells]
    return [f for f in families if all(c in cells for c in (f.parent, *f.children))
            and cells[f.parent] == sum(cells[c] for c in f.children)]


def disclose(rows: list[dict], areas: Areas) -> list[dict]:
    """Round and guard every count in `rows` (one rule: planning/disclosure.py), then withhold
    each value whose numerator or denominator is withheld; drop the hidden part rows.

    The guard runs on each independent block of cells (an indicator's counts of one breakdown
    dimension, numerators and denominators apart): no family crosses blocks, so the result is
    the same as one run over all of them, and each block's linear-algebra audit stays small."""
    blocks: dict[tuple, dict[tuple, int]] = defaultdict(dict)
    for r in rows:
        if r["statistic"] not in ("crude", "share"):
            continue
        dim = r["breakdown"].split(":", 1)[0]
        blocks[(r["indicator"], dim, "numerator")][
            (r["indicator"], r["breakdown"], "numerator", r["level"], r["area"])] = int(r["numerator"])
        if r["statistic"] == "share":  # the area's total: the parent of its breakdown cells
            blocks[(r["indicator"], dim, "numerator")][
                (r["indicator"], f"{dim}:*", "numerator", r["level"], r["area"])] = int(r["denominator"])
        else:
            blocks[(r["indicator"], dim, "denominator")][
                (r["indicator"], r["breakdown"], "denominator", r["level"], r["area"])] = int(r["denominator"])
    withheld: set[Hashable] = set()
    for cells in blocks.values():
        hidden = {c for c in cells if c[3] == PART}
        withheld |= complementary_suppression(cells, _families(cells, areas), hidden=hidden)
    out = []
    for r in rows:
        if r["level"] == PART:
            continue
        r = dict(r)
        dim = r["breakdown"].split(":", 1)[0]
        keys = {"numerator": (r["indicator"], r["breakdown"], "numerator", r["level"], r["area"]),
                "denominator": ((r["indicator"], f"{dim}:*", "numerator", r["level"], r["area"])
                                if r["statistic"] == "share" else
                                (r["indicator"], r["breakdown"], "denominator", r["level"], r["area"]))}
        gone = False
        for which, key in keys.items():
            true = int(r[which])
            hide = key in withheld or is_small(true)
            gone |= hide
            r[which] = None if hide else suppress_count(true)
        if gone:
            for k in ("value", "lower", "upper", "lower_998", "upper_998", "expected", "excess", "outlier"):
                r[k] = None
            if r["significance"] not in ("", "city"):
                r["significance"] = "not compared"
        r["suppressed"] = gone
        out.append(r)
    return out


# --------------------------------------------------------------------------------- the table
def pack_figures(strata: pd.DataFrame, conditions: pd.DataFrame, risk: pd.DataFrame) -> pd.DataFrame:
    """The tidy table of every figure, disclosure-controlled (module docstring)."""
    areas = areas_of(strata)
    rows: list[dict] = []
    numeric = [c for c in strata.columns if c not in STRATA_KEYS]
    summed = by_area(strata, numeric)
    for ind in INDICATORS:
        rows += indicator_rows(ind, strata, ind.numerator, ind.denominator, summed)
    rows += _condition_rows(strata, conditions)
    rows += _population_rows(strata)
    rows += _fairness_rows(strata)
    rows += _risk_rows(risk)
    table = pd.DataFrame(disclose(rows, areas))
    table["area_name"] = [areas.names.get((lv, a), a) for lv, a in zip(table.level, table.area, strict=True)]
    for c in COLUMNS:
        if c not in table.columns:
            table[c] = None
    order = {lv: i for i, lv in enumerate(LEVELS)}
    table = table.sort_values(list(PACK_DATA.sort_key),
                              key=lambda s: s.map(order) if s.name == "level" else s, kind="stable")
    return table[list(COLUMNS)].reset_index(drop=True)


def _condition_rows(strata: pd.DataFrame, conditions: pd.DataFrame) -> list[dict]:
    """Prevalence of each long-term condition: the condition counts, one column per condition,
    joined to the people of each neighbourhood x LCP x band x sex (so every stratum has its
    denominator), summed per area once for all conditions."""
    keys = ["neighbourhood", "lcp_name", "band", "sex"]
    people = strata.groupby(keys, as_index=False)["people"].sum()
    wide = conditions.pivot_table(index=keys, columns="condition", values="people", aggfunc="sum",
                                  fill_value=0)
    frame = people.merge(wide.add_prefix("ltc_").reset_index(), how="left", on=keys)
    indicators = condition_indicators(sorted(conditions.condition.unique()))
    columns = [ind.numerator for ind in indicators]
    frame[columns] = frame[columns].fillna(0).astype("int64")
    summed = by_area(frame, [*columns, "people"])
    rows: list[dict] = []
    for ind in indicators:
        rows += indicator_rows(ind, frame, ind.numerator, "people", summed)
    return rows


def _population_rows(strata: pd.DataFrame) -> list[dict]:
    frame = strata.assign(age_sex=[_age_sex(b, s) for b, s in zip(strata.band, strata.sex, strict=True)])
    rows = share_rows(frame, "age_sex", "age_sex", indicator="population", label="Registered population",
                      section="population")
    rows += share_rows(strata, "imd", "imd_quintile", indicator="population_imd",
                       label="Population by IMD quintile (1 = most deprived)", section="population")
    rows += share_rows(strata, "ethnicity", "ethnicity", indicator="population_ethnicity",
                       label="Population by ethnic group", section="population")
    return rows


def _age_sex(band: int, sex: str) -> str:
    """Pyramid cell: `<band>|female` or `<band>|male`; other recorded sexes in one cell of their own
    (too few to show by age)."""
    return f"{band:02d}|{sex}" if sex in PYRAMID_SEXES else "other|other"


def _age_group(band: int) -> str:
    return next(label for lower, label in reversed(AGE_GROUPS) if band >= lower)


def _fairness_rows(strata: pd.DataFrame) -> list[dict]:
    """The cohort's mix against the mix of need (emergency admissions) in the same groups."""
    frame = strata.assign(age_group=[_age_group(b) for b in strata.band],
                          sex_group=[s if s in PYRAMID_SEXES else "other" for s in strata.sex])
    rows: list[dict] = []
    for dim, column in (("imd", "imd_quintile"), ("sex", "sex_group"), ("age", "age_group"),
                        ("ethnicity", "ethnicity")):
        rows += share_rows(frame, dim, column, indicator="cohort_mix", label="Cohort (selected people)",
                           section="fairness", count="selected")
        rows += share_rows(frame, dim, column, indicator="need_mix", label="Emergency admissions",
                           section="fairness", count="emergency_admissions")
    return rows


def _risk_rows(risk: pd.DataFrame) -> list[dict]:
    frame = risk.assign(risk=[f"{10 * b:02d}-{10 * b + 10}%" for b in risk.risk_band])
    return share_rows(frame, "risk", "risk", indicator="risk_distribution",
                      label="People by risk of emergency admission", section="cohort")


