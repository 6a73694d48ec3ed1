"""`calibration_report`: a generated city's magnitudes beside the reference targets.

Measures the extract the way the pipeline would (last 12 months before the as-of date, people
registered and alive on it) plus the truth folder (concentration of next-year use in the top 5 %
by true risk). Targets and their sources are the `TARGETS` rows below, each citing the
reference section; the report is a list of dicts (metric, measured, target, basis) that the CLI
can print as a table. Reads files with DuckDB directly: this is a reporting tool, not the pipeline.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from npc_risk.synth.params import load_params

# metric -> (low, high, basis)
TARGETS = {
    "emergency_admissions_per_1000": (85, 110, "nhs-data-conventions §10.1: ~100 (NEW Devon ~85)"),
    "emergency_admissions_per_1000_67plus": (200, 290, "§10.1: 202-282 at 67+"),
    "emergency_deprivation_ratio_q1_vs_q5": (1.3, 2.1, "§10.1/§10.7: most vs least deprived ~1.4-2x"),
    "ae_attendances_per_1000": (350, 450, "§10.1: ~400"),
    "type01_followed_by_admission_share": (0.24, 0.32, "§1.9: ~29 % of type 1 attendances admitted"),
    "outpatient_appointments_per_1000": (1800, 2200, "§10.1: ~2,080 booked"),
    "outpatient_dna_share": (0.05, 0.075, "§10.1: 6.2 %"),
    "outpatient_cancelled_share": (0.13, 0.19, "§10.1: 16.2 %"),
    "gp_appointments_per_person": (5.2, 6.4, "§10.1: ~5.8"),
    "mean_emergency_los_65plus": (5, 8.5, "task brief: mean LOS ~5-8 days for the elderly"),
    "prevalence_hypertension": (0.12, 0.16, "QOF 14.1 % (§10.3)"),
    "prevalence_diabetes_17plus": (0.06, 0.085, "QOF 7.1 % of 17+"),
    "prevalence_asthma": (0.055, 0.075, "QOF 6.5 %"),
    "prevalence_copd": (0.015, 0.025, "QOF 1.9 %"),
    "prevalence_chd": (0.025, 0.037, "QOF 3.1 %"),
    "prevalence_atrial_fibrillation": (0.017, 0.025, "QOF 2.1 %"),
    "prevalence_heart_failure": (0.007, 0.011, "QOF 0.89 %"),
    "prevalence_dementia": (0.006, 0.010, "QOF 0.78 %"),
    "prevalence_ckd_18plus": (0.033, 0.05, "QOF CKD 3-5 4.1 % of 18+"),
    "ltc2plus_share": (0.15, 0.25, "§10.5: >=2 LTCs ~15-25 %"),
    "ltc2plus_share_80plus": (0.65, 0.80, "§10.5: 65-80 % at 80+"),
    "efi_fit_share_65plus": (0.44, 0.56, "clinical-definitions §1.2: ~50 %"),
    "efi_mild_share_65plus": (0.29, 0.41, "~35 %"),
    "efi_moderate_share_65plus": (0.08, 0.16, "~12 %"),
    "efi_severe_share_65plus": (0.015, 0.05, "~3 %"),
    "top5_share_emergency_bed_days": (0.40, 0.60, "§10.2: ~50 % (top 5 % by true risk)"),
    "top5_share_outpatient_appointments": (0.14, 0.25, "§10.2: ~19 %"),
    "top5_share_social_care_packages": (0.65, 0.90, "§10.2: ~80 %"),
    "top5_gp_appointments_per_person": (11, 19, "§10.2: ~15 a year"),
    "oracle_auroc": (0.74, 0.85, "clinical-definitions §6.2: achievable 0.74-0.80"),
}

LTC_KEYS = {  # QOF-style register list used for the multimorbidity count (clinical-definitions §3.2)
    "hypertension", "diabetes", "asthma", "copd", "chd", "atrial_fibrillation", "heart_failure",
    "dementia", "ckd", "depression", "epilepsy", "cancer", "stroke_tia", "pad",
    "rheumatoid_arthritis", "smi", "learning_disability", "osteoporosis"}


def _codes_table(con) -> None:
    params = load_params()
    deficit = {r["key"]: r["efi_deficit"] for r in params.concepts}
    rows = [(r["snomedct_code"], r["concept"], deficit.get(r["concept"], "")) for r in params.concept_codes]
    rows += [(r["snomedct_code"], "care_home", "requirement_for_care")
             for r in params.flag_codes if r["flag"] == "care_home"]
    con.execute("CREATE TABLE codes (code VARCHAR, concept VARCHAR, deficit VARCHAR)")
    con.executemany("INSERT INTO codes VALUES (?, ?, ?)", rows)


def measure(extract_dir: Path, truth_dir: Path) -> dict[str, float]:
    """The measured value of every metric in TARGETS."""
    extract_dir, truth_dir = Path(extract_dir), Path(truth_dir)
    meta = json.loads((extract_dir / "README.json").read_text())
    as_of = meta["as_of"]
    con = duckdb.connect()
    for name in ("patients", "practice_registrations", "clinical_events", "medications", "gp_appointments",
                 "apcs", "ec", "opa", "lsoa_deprivation", "social_care_packages"):
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{extract_dir / name}.parquet')")
    con.execute(f"CREATE VIEW truth AS SELECT * FROM read_parquet('{truth_dir / 'persons.parquet'}')")
    _codes_table(con)
    d = f"DATE '{as_of}'"
    con.execute(f"""CREATE TABLE pop AS
        SELECT p.patient_id, date_diff('year', p.date_of_birth, {d}) - (strftime(p.date_of_birth, '%m-%d') > strftime({d}, '%m-%d'))::INT AS age,
               p.sex, l.imd_decile
        FROM patients p LEFT JOIN lsoa_deprivation l USING (lsoa_code)
        WHERE (p.date_of_death IS NULL OR p.date_of_death > {d}) AND p.date_of_birth <= {d}
          AND p.patient_id IN (SELECT patient_id FROM practice_registrations
                               WHERE start_date <= {d} AND (end_date IS NULL OR end_date >= {d}))""")
    last12 = f"> {d} - INTERVAL 365 DAY AND {{col}} <= {d}"
    q = lambda sql: con.execute(sql).fetchone()[0]  # noqa: E731
    n = q("SELECT count(*) FROM pop")
    m: dict[str, float] = {}
    em = f"""SELECT a.patient_id, count(*) AS k FROM apcs a JOIN pop USING (patient_id)
             WHERE a.admission_method LIKE '2%' AND a.admission_date {last12.format(col='a.admission_date')}
             GROUP BY 1"""
    m["emergency_admissions_per_1000"] = 1000 * (q(f"SELECT coalesce(sum(k),0) FROM ({em})") / n)
    m["emergency_admissions_per_1000_67plus"] = 1000 * q(
        f"SELECT coalesce(sum(k),0) FROM pop LEFT JOIN ({em}) e USING (patient_id) WHERE age >= 67") / max(
        q("SELECT count(*) FROM pop WHERE age >= 67"), 1)
    ratio = con.execute(f"""SELECT (CASE WHEN imd_decile <= 2 THEN 1 WHEN imd_decile >= 9 THEN 5 END) AS q,
        avg(coalesce(k, 0)) FROM pop LEFT JOIN ({em}) e USING (patient_id) WHERE imd_decile <= 2 OR imd_decile >= 9
        GROUP BY 1 ORDER BY 1""").fetchall()
    m["emergency_deprivation_ratio_q1_vs_q5"] = ratio[0][1] / ratio[1][1] if len(ratio) == 2 and ratio[1][1] else float("nan")
    ae = f"FROM ec JOIN pop USING (patient_id) WHERE arrival_date {last12.format(col='arrival_date')}"
    m["ae_attendances_per_1000"] = 1000 * q(f"SELECT count(*) {ae}") / n
    via_ed = q(f"SELECT count(*) FROM apcs JOIN pop USING (patient_id) WHERE admission_method = '21' AND admission_date {last12.format(col='admission_date')}")
    m["type01_followed_by_admission_share"] = via_ed / max(q(f"SELECT count(*) {ae} AND department_type = '01'"), 1)
    op = f"FROM opa JOIN pop USING (patient_id) WHERE appointment_date {last12.format(col='appointment_date')}"
    booked = q(f"SELECT count(*) {op}")
    m["outpatient_appointments_per_1000"] = 1000 * booked / n
    m["outpatient_dna_share"] = q(f"SELECT count(*) {op} AND attendance_status IN ('3', '7')") / max(booked, 1)
    m["outpatient_cancelled_share"] = q(f"SELECT count(*) {op} AND attendance_status IN ('2', '4')") / max(booked, 1)
    m["gp_appointments_per_person"] = q(f"SELECT count(*) FROM gp_appointments JOIN pop USING (patient_id) WHERE date {last12.format(col='date')}") / n
    m["mean_emergency_los_65plus"] = q(f"""SELECT avg(date_diff('day', admission_date, discharge_date)) FROM apcs JOIN pop USING (patient_id)
        WHERE age >= 65 AND admission_method LIKE '2%' AND discharge_date IS NOT NULL AND discharge_date >= admission_date""")
    con.execute(f"""CREATE TABLE ever AS SELECT DISTINCT e.patient_id, c.concept, c.deficit FROM clinical_events e
        JOIN codes c ON e.snomedct_code = c.code JOIN pop USING (patient_id) WHERE e.date <= {d}""")
    for key, label, min_age in (("hypertension", "hypertension", 0), ("diabetes", "diabetes_17plus", 17),
                                ("asthma", "asthma", 0), ("copd", "copd", 0), ("chd", "chd", 0),
                                ("atrial_fibrillation", "atrial_fibrillation", 0), ("heart_failure", "heart_failure", 0),
                                ("dementia", "dementia", 0), ("ckd", "ckd_18plus", 18)):
        m[f"prevalence_{label}"] = q(f"""SELECT count(DISTINCT patient_id) FROM ever JOIN pop USING (patient_id)
            WHERE concept = '{key}' AND age >= {min_age}""") / q(f"SELECT count(*) FROM pop WHERE age >= {min_age}")
    ltc_list = ", ".join(f"'{k}'" for k in sorted(LTC_KEYS))
    ltc = f"""SELECT pop.patient_id, age, count(DISTINCT concept) AS k FROM pop LEFT JOIN ever ON ever.patient_id = pop.patient_id
              AND concept IN ({ltc_list}) GROUP BY 1, 2"""
    m["ltc2plus_share"] = q(f"SELECT avg((k >= 2)::INT) FROM ({ltc})")
    m["ltc2plus_share_80plus"] = q(f"SELECT avg((k >= 2)::INT) FROM ({ltc}) WHERE age >= 80")
    efi = f"""WITH coded AS (SELECT patient_id, deficit FROM ever WHERE deficit <> ''),
        values_ AS (SELECT DISTINCT e.patient_id, CASE e.snomedct_code
              WHEN '1011481000000105' THEN 'chronic_kidney_disease' WHEN '1022431000000105' THEN 'anaemia'
              WHEN '1022791000000101' THEN 'thyroid_disease' WHEN '711061000000109' THEN 'memory_cognitive'
              WHEN '273302005' THEN 'activity_limitation' END AS deficit
            FROM clinical_events e JOIN pop p USING (patient_id) WHERE e.date <= {d} AND (
              (e.snomedct_code = '1011481000000105' AND e.numeric_value > 0 AND e.numeric_value < 60)
              OR (e.snomedct_code = '1022431000000105' AND ((p.sex = 'male' AND ((e.numeric_value <= 25 AND e.numeric_value < 13) OR (e.numeric_value > 25 AND e.numeric_value < 130)))
                   OR (p.sex = 'female' AND ((e.numeric_value <= 25 AND e.numeric_value < 11.5) OR (e.numeric_value > 25 AND e.numeric_value < 115)))))
              OR (e.snomedct_code = '1022791000000101' AND (e.numeric_value < 0.36 OR e.numeric_value > 5.5))
              OR (e.snomedct_code = '711061000000109' AND e.numeric_value >= 8)
              OR (e.snomedct_code = '273302005' AND e.numeric_value <= 18))),
        poly AS (SELECT patient_id, 'polypharmacy' AS deficit FROM medications WHERE date {last12.format(col='date')}
                 GROUP BY 1 HAVING count(DISTINCT dmd_code) >= 5),
        alld AS (SELECT * FROM coded UNION SELECT * FROM values_ UNION SELECT * FROM poly)
        SELECT pop.patient_id, count(DISTINCT alld.deficit) AS k FROM pop LEFT JOIN alld USING (patient_id)
        WHERE pop.age >= 65 GROUP BY 1"""
    dist = con.execute(f"""SELECT avg((k <= 4)::INT), avg((k BETWEEN 5 AND 8)::INT), avg((k BETWEEN 9 AND 12)::INT),
        avg((k >= 13)::INT) FROM ({efi})""").fetchone()
    m.update(zip(("efi_fit_share_65plus", "efi_mild_share_65plus", "efi_moderate_share_65plus",
                  "efi_severe_share_65plus"), dist, strict=True))
    top = """WITH t AS (SELECT *, row_number() OVER (ORDER BY true_probability DESC, patient_id) AS r,
                 count(*) OVER () AS n FROM truth WHERE in_population)
             SELECT sum(emergency_bed_days) FILTER (WHERE r <= n * 0.05) / sum(emergency_bed_days),
                    sum(outpatient_appointments) FILTER (WHERE r <= n * 0.05) / sum(outpatient_appointments),
                    sum(social_care_packages) FILTER (WHERE r <= n * 0.05) / sum(social_care_packages),
                    avg(gp_appointments) FILTER (WHERE r <= n * 0.05) FROM t"""
    m.update(zip(("top5_share_emergency_bed_days", "top5_share_outpatient_appointments",
                  "top5_share_social_care_packages", "top5_gp_appointments_per_person"),
                 con.execute(top).fetchone(), strict=True))
    m["oracle_auroc"] = q("""WITH t AS (SELECT true_probability AS p, (emergency_admissions > 0)::INT AS y,
            rank() OVER (ORDER BY true_probability) AS r FROM truth WHERE in_population)
        SELECT (sum(r) FILTER (WHERE y = 1) - sum(y) * (sum(y) + 1) / 2) / (sum(y) * (count(*) - sum(y))) FROM t""")
    return {k: float(v) if v is not None else float("nan") for k, v in m.items()}


def calibration_report(extract_dir: Path, truth_dir: Path) -> list[dict[str, object]]:
    """Rows of (metric, measured, target_low, target_high, within, basis), in TARGETS order."""
    measured = measure(extract_dir, truth_dir)
    return [{"metric": k, "measured": round(measured[k], 4), "target_low": lo, "target_high": hi,
             "within": lo <= measured[k] <= hi, "basis": basis} for k, (lo, hi, basis) in TARGETS.items()]


def format_report(rows: list[dict[str, object]]) -> str:
    """Plain-text table for the CLI (`npc-risk calibrate`)."""
    lines = [f"{'metric':42} {'measured':>10} {'target':>15}  ok  basis"]
    for r in rows:
        target = f"{r['target_low']}-{r['target_high']}"
        lines.append(f"{r['metric']:42} {r['measured']:>10} {target:>15}  {'yes' if r['within'] else 'NO ':3} {r['basis']}")
    return "\n".join(lines)
