"""The top of a ranked group: how many people, and in what order (clinical-definitions.md §7.3).

One definition of each, used by the cohort (`cohort.select_cohort`), the data pack's top group
(`datapack`) and the model card's top-fraction tables (`risk.metrics`, `risk.subgroups`).

* **How many**: the top `fraction` of `count` people is round-half-up(fraction x count) people
  (2.5 % of 1,020 is 25.5 -> 26; of 1,010 is 25.25 -> 25; of 10 is 0.25 -> 0). It is computed
  in exact integer arithmetic, parts per million: (count x ppm + 500,000) // 1,000,000, because
  `round()` on a float product is not safe for the half-up rule (0.025 is not exact in binary).
* **In what order**: risk score descending, then eFI deficits descending, then LTC count
  descending, then patient_id ascending. The key is total (patient_id is unique), so reruns give
  the identical people and DuckDB and Spark agree. A missing score sorts after every score (the
  key sorts "has no score" first), and missing deficits or LTC counts sort as 0, so null
  placement, which differs between engines, never decides a rank.

Trap: `risk.metrics` ranks a plain array of scores and breaks ties by input position, not by
the key above (it has no deficits or ids); on tied scores at the cut it may count different
people than the cohort would. The number of people is the same rule in both.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

PPM = 1_000_000


def top_count(count, fraction: float):
    """round-half-up(fraction x count) in integer arithmetic (module doc).

    `count` is an ibis integer column or scalar (-> int64 expression) or a Python int (-> int).
    ibis compiles `//` to FLOOR(a / b) on a double for DuckDB and Spark; that is exact here
    because count x ppm + 500,000 stays far below 2**53 for any registered population.
    """
    ppm = round(fraction * PPM)
    if isinstance(count, ibis.Value):
        return ((count.cast("int64") * ppm + PPM // 2) // PPM).cast("int64")
    return (int(count) * ppm + PPM // 2) // PPM


def tie_break_order(t: ir.Table) -> list[ir.Value]:
    """The ranking key of `t` (risk_score, efi_deficits, ltc_count, patient_id; module doc)."""
    return [
        t.risk_score.isnull().asc(),
        t.risk_score.desc(),
        t.efi_deficits.fill_null(0).desc(),
        t.ltc_count.fill_null(0).desc(),
        t.patient_id.asc(),
    ]
