"""Every section of a pipeline TOML, as a frozen dataclass checked by `fields.Section`.

The allowed values live here, beside the defaults, and nowhere else: the domain modules import
their section from `npc_risk.config` and never the reverse.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from npc_risk.config.fields import Section, setting
from npc_risk.errors import ConfigError

# One memory default for every command (the nightly run, train, validate, calibrate, tests).
# 2 GB keeps the 1M-person nightly run under 4 GB peak RSS (make bench); DuckDB spills beyond it.
DEFAULT_MEMORY_LIMIT = "2GB"
ENGINES = ("duckdb", "pyspark")
SIZE = r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)"


@dataclass(frozen=True)
class RunConfig(Section):
    """`[run]`: the engine and its resources.

    engine: duckdb (embedded, default) or pyspark (optional extra; docs/scaling.md).
    memory_limit: DuckDB's memory limit; it spills to the run's work folder beyond it. On
        pyspark, the driver's memory.
    threads: engine threads (default: one per core); on pyspark without a master, `local[threads]`.
    spark_master: pyspark only: the cluster's master URL (`spark://host:7077`, `k8s://...`,
        `yarn`); default `local[threads]` (one machine). `npc-risk run --spark-master` overrides it.
    spark_executor_memory: pyspark only: memory of each executor.
    spark_partitions: pyspark only: partitions of each shuffle (`spark.sql.shuffle.partitions`);
        about 2-4 per executor core, more when a partition would exceed ~200 MB.
    keep: after a successful run, keep this many newest runs of the output folder and remove
        older ones (0 = keep every run; `npc-risk run --keep N` overrides it; publish.prune_runs).
    """

    SECTION: ClassVar[str] = "run"
    engine: str = setting("duckdb", choices=ENGINES)
    memory_limit: str = setting(DEFAULT_MEMORY_LIMIT, pattern=SIZE,
                                kind="a size such as '2GB' or '512MB'", example="'2GB'")
    threads: int | None = setting(None, lo=1, hi=1024, example="4")
    spark_master: str | None = setting(None, pattern=r"local(\[(\d+|\*)\])?|(spark|k8s|mesos)://\S+|yarn",
                                       kind="a Spark master URL such as 'spark://host:7077' or 'local[4]'",
                                       example="'spark://127.0.0.1:7077'")
    spark_executor_memory: str = setting("2GB", pattern=SIZE, kind="a size such as '2GB' or '512MB'",
                                         example="'4GB'")
    spark_partitions: int = setting(8, lo=1, hi=100_000, example="8")
    keep: int = setting(0, lo=0, hi=100_000, example="30")


@dataclass(frozen=True)
class FeatureConfig(Section):
    """`[features]`.

    preset: LTC catalogue preset (`cambridge` = CMS-style, `qof` = QOF registers; §3.2).
    codelists: folder overriding the packaged code lists (None = packaged default).
    efi_min_age: age from which eFI is validated (65; clinical-definitions.md §1.3).
    efi_below_min_age: `flag` = score everyone and add `efi_in_age_range`; `null` = leave
        efi_score/efi_category null below the minimum age (deficit flags are kept either way).
    hfrs_window_days: look-back for HFRS, inclusive of both ends ([T - 730 d, T], §2.1).
    polypharmacy_min: distinct medicines in (T - 365 d, T] for eFI deficit 26 (§1.3).
    """

    SECTION: ClassVar[str] = "features"
    preset: str = setting("cambridge", pattern=r"[a-z][a-z0-9_]*",
                          kind="a catalogue name such as 'cambridge' or 'qof'", example="'cambridge'")
    codelists: Path | None = setting(None)
    efi_min_age: int = setting(65, lo=0, hi=120, example="65")
    efi_below_min_age: str = setting("flag", choices=("flag", "null"))
    hfrs_window_days: int = setting(730, lo=1, hi=36_525, example="730")
    polypharmacy_min: int = setting(5, lo=1, hi=100, example="5")


RISK_METHODS = ("model", "rules", "cyp_points")
ESTIMATORS = ("hist_gradient_boosting", "logistic")
CALIBRATIONS = ("sigmoid", "isotonic")


@dataclass(frozen=True)
class RiskConfig(Section):
    """`[risk]`: the 12-month emergency-admission risk score.

    method: "model" (calibrated scikit-learn model), "rules" (transparent points table) or
        "cyp_points" (the children's asthma points score, npc_risk.respiratory.cyp; no training).
    estimator: "hist_gradient_boosting" (default; measured closest to the oracle on synthetic
        data) or "logistic" (L2-regularised logistic regression on standardised features).
    seed: fixes every random choice in training (inner calibration folds, early-stopping split,
        held-out practices): the same config and frames give identical scores.
    exclude_features: extra feature columns to leave out. Ethnicity is excluded by default: it is
        incompletely recorded in GP data and its use as a predictor of need is contested; the model
        card still reports performance by ethnic group (fairness audit).
    calibration: "sigmoid" keeps the model's ranking exactly (no ties), "isotonic" can fit a
        non-logistic miscalibration but creates tied scores.
    calibration_folds: k, folds of the inner cross-validation that fits the calibrator on
        out-of-fold predictions (CalibratedClassifierCV, ensemble=False: one final model).
    calibration_holdout_min_people: from this many training rows, one model is fitted on (k-1)/k
        of them and the calibrator on the held-out 1/k instead (one fit, not k + 1; risk.model).
    holdout_practice_fraction: 0 = off; else this share of practices (GroupShuffleSplit by
        practice_code) is removed from training and is the only part of the evaluation frame used.
    learning_rate, max_iter: 0.1 x 150 trees: at 0.05 early stopping still used 296 of 300 trees,
        and predicting 880k people through ~300 trees took 26 s of a 71 s nightly run (1M people).
    leakage_auroc: evaluation AUROC above this writes a leakage warning (clinical-definitions §6.3).
    training_max_people: a training or evaluation window of more people is sampled systematically
        (every k-th person by patient_id, npc_risk.training), so training memory stays bounded
        (about 4 GB at the default) whatever the population.
    driver_min_contribution: a model driver must raise the probability by at least this much
        (0.005 = half a percentage point, about a tenth of a 6 % base rate; a judgement), so
        that noise such as "sex recorded as female" is not offered as a reason.
    """

    SECTION: ClassVar[str] = "risk"
    method: str = setting("model", choices=RISK_METHODS)
    estimator: str = setting("hist_gradient_boosting", choices=ESTIMATORS)
    seed: int = setting(20260331, lo=0, hi=2**32 - 1, example="20260331")
    exclude_features: tuple[str, ...] = setting(("ethnicity_group",))
    calibration: str = setting("sigmoid", choices=CALIBRATIONS)
    calibration_folds: int = setting(3, lo=2, hi=10, example="3")
    calibration_holdout_min_people: int = setting(200_000, lo=1_000, hi=10**9, example="200000")
    holdout_practice_fraction: float = setting(0.0, lo=0.0, hi=0.5, example="0.2")
    learning_rate: float = setting(0.1, lo=1e-4, hi=1.0, example="0.1")
    max_iter: int = setting(150, lo=1, hi=5000, example="150")
    max_leaf_nodes: int = setting(15, lo=2, hi=255, example="15")
    min_samples_leaf: int = setting(100, lo=1, hi=100_000, example="100")
    l2_regularization: float = setting(1.0, lo=0.0, hi=1e6, example="1.0")
    early_stopping: bool = setting(True)
    logistic_c: float = setting(1.0, lo=1e-6, hi=1e6, example="1.0")
    top_fractions: tuple[float, ...] = setting((0.01, 0.02, 0.03, 0.05), lo=1e-6, hi=0.5,
                                               example="[0.01, 0.02, 0.03, 0.05]")
    leakage_auroc: float = setting(0.85, lo=0.5, hi=1.0, example="0.85")
    n_drivers: int = setting(3, lo=1, hi=10, example="3")
    driver_min_contribution: float = setting(0.005, lo=0.0, hi=0.5, example="0.005")
    training_max_people: int = setting(1_000_000, lo=1_000, hi=10**9, example="1000000")

    def check(self) -> None:
        if not self.top_fractions:
            raise ConfigError("[risk] top_fractions = []: expected a list of shares from 1e-06 "
                              "to 0.5; set e.g. top_fractions = [0.01, 0.02, 0.03, 0.05]")
        if "age" in self.exclude_features:
            # age is the strongest non-utilisation predictor; removing it is almost surely a typo
            raise ConfigError("[risk] exclude_features = [..., 'age']: age may not be excluded; "
                              "remove 'age' from the list")


NEIGHBOURHOODS = ("pcn", "lcp", "practice")
DENOMINATORS = ("all", "adults")


@dataclass(frozen=True)
class CohortConfig(Section):
    """`[cohort]`: who is eligible and how many each neighbourhood selects.

    neighbourhood: "pcn" (default), "lcp" or "practice": the unit the cohort is ranked within.
    cohort_fraction: share of the neighbourhood denominator to select, 0.005-0.10 (default 2.5 %,
        within the 2-3 % target of clinical-definitions §7.2).
    denominator: "all" registered people, or "adults" (18+, as the 2014-17 enhanced service).
    min_age: nobody younger is eligible (default 18).
    min_ltc_count, frailty_min_deficits + frailty_min_age, hfrs_high_threshold: the three
        eligibility routes (any one suffices); the TOML may group them as [cohort.eligibility].
    exclude_palliative_care, exclude_care_home: clinical exclusions, each on by default; the TOML
        may write them as [cohort.exclusions] palliative_care / care_home.

    The opt-out rules of the cohort lists are `[outputs.case_finding]` (OutputsConfig).
    """

    SECTION: ClassVar[str] = "cohort"
    neighbourhood: str = setting("pcn", choices=NEIGHBOURHOODS)
    cohort_fraction: float = setting(0.025, lo=0.005, hi=0.10, example="0.025 (2.5 %)")
    denominator: str = setting("all", choices=DENOMINATORS)
    min_age: int = setting(18, lo=0, hi=120, example="18")
    min_ltc_count: int = setting(3, lo=1, hi=50, example="3")
    frailty_min_deficits: int = setting(9, lo=1, hi=36, example="9")
    frailty_min_age: int = setting(65, lo=0, hi=120, example="65")
    hfrs_high_threshold: float = setting(15.0, lo=0.0, hi=200.0, example="15")
    exclude_palliative_care: bool = setting(True)
    exclude_care_home: bool = setting(True)


OPT_OUTS = ("type1_optout", "ndo_optout")  # person flags from the features step


@dataclass(frozen=True)
class OptOutRules(Section):
    """`[outputs.<class>]`: the opt-outs one output class applies (nhs-data-conventions §8)."""

    apply_type1_optout: bool = setting(False)
    apply_ndo_optout: bool = setting(False)

    @property
    def applied(self) -> tuple[str, ...]:
        """The applied opt-out flags (column names), in `OPT_OUTS` order."""
        return tuple(flag for flag in OPT_OUTS if getattr(self, f"apply_{flag}"))


@dataclass(frozen=True)
class CaseFindingRules(OptOutRules):
    """`[outputs.case_finding]`: the cohort lists (individual care). Type 1 opt-outs are excluded
    from the lists (still in the denominator, counted by reason); the national data opt-out does
    not cover individual care."""

    SECTION: ClassVar[str] = "outputs.case_finding"
    apply_type1_optout: bool = setting(True)
    apply_ndo_optout: bool = setting(False)


@dataclass(frozen=True)
class PlanningRules(OptOutRules):
    """`[outputs.planning]`: neighbourhoods.parquet (aggregates). National data opt-outs are left
    out of the planning figures and counted (`ndo_excluded`)."""

    SECTION: ClassVar[str] = "outputs.planning"
    apply_type1_optout: bool = setting(False)
    apply_ndo_optout: bool = setting(True)


@dataclass(frozen=True)
class OutputsConfig:
    """`[outputs]`: per output class, the opt-out rules."""

    SECTION: ClassVar[str] = "outputs"
    case_finding: CaseFindingRules = CaseFindingRules()
    planning: PlanningRules = PlanningRules()

    def to_dict(self) -> dict:
        return {"case_finding": self.case_finding.to_dict(), "planning": self.planning.to_dict()}


@dataclass(frozen=True)
class PacksConfig(Section):
    """`[packs]`: the neighbourhood data packs (npc_risk.packs).

    enabled: the nightly run also writes the packs, into `<as-of>/packs/`, in the same atomic
        publish as the other outputs (`npc-risk pack` writes them from any published run).
    pdf: print each pack to PDF with headless Chromium (Debian's `chromium`).
    contact: who to contact about the packs, printed in each ("" = a placeholder naming this key).
    """

    SECTION: ClassVar[str] = "packs"
    enabled: bool = setting(False)
    pdf: bool = setting(True)
    contact: str = setting("", pattern=r"[^\n]{0,200}", kind="one line of text", example="'Population Health Team'")


# What a pipeline is made of (the registries in npc_risk.definition hold the implementations).
POPULATIONS = ("registered", "under_18")
FEATURE_SETS = ("npc_core", "respiratory", "cyp_asthma")
OUTCOMES = ("emergency_admission_12m", "respiratory_admission_12m")
SELECTIONS = ("neighbourhood_top_fraction", "register_top_fraction", "cyp_at_risk_top_fraction")
OUTPUTS = ("patients", "cohort", "neighbourhoods", "evidence")


@dataclass(frozen=True)
class DefinitionConfig(Section):
    """`[pipeline]`: which population, feature sets, outcome, selection and outputs a pipeline uses.

    population: whom the run is about ("registered": registered and alive on the as-of date;
        "under_18": the same, aged under 18, for the children's asthma pipeline).
    feature_sets: the feature sets derived for them, joined on patient_id ("npc_core": LTCs,
        eFI, HFRS, utilisation, flags). A condition pipeline adds its own set here
        ("respiratory": asthma/COPD registers, care gaps, respiratory admissions; it also
        publishes care_gaps, care_gap_rates and respiratory_mdt, docs/respiratory.md;
        "cyp_asthma": the children's asthma register, high-risk factors, points and case-finding
        rules, with the respiratory set; it also publishes the two CYP lists, their rates per
        area and the method card).
    outcome: what the model predicts ("emergency_admission_12m"; "respiratory_admission_12m":
        an emergency admission with a J00-J99 primary diagnosis); the score itself is [risk].
    selection: how the cohort is chosen ("neighbourhood_top_fraction": the [cohort] rules;
        "register_top_fraction": the same ranking among asthma/COPD register members, who are
        also the denominator; "cyp_at_risk_top_fraction": the same among the children at risk
        of an asthma attack, list 1 of docs/respiratory.md).
    outputs: the files published (every run also writes manifest.json and quarantine/);
        `patients` is required (the next run's change counts read it).
    """

    SECTION: ClassVar[str] = "pipeline"
    population: str = setting("registered", choices=POPULATIONS)
    feature_sets: tuple[str, ...] = setting(("npc_core",), choices=FEATURE_SETS)
    outcome: str = setting("emergency_admission_12m", choices=OUTCOMES)
    selection: str = setting("neighbourhood_top_fraction", choices=SELECTIONS)
    outputs: tuple[str, ...] = setting(OUTPUTS, choices=OUTPUTS)

    def check(self) -> None:
        if "npc_core" not in self.feature_sets:
            raise ConfigError("[pipeline] feature_sets lacks 'npc_core': the population's ages, "
                              "practices and flags come from it; add 'npc_core' to the list")
        sets = list(self.feature_sets)
        after = sets[:sets.index("cyp_asthma")] if "cyp_asthma" in sets else ["respiratory"]
        if "respiratory" not in after:
            raise ConfigError("[pipeline] feature_sets has 'cyp_asthma' without 'respiratory' before it: the "
                              "children's lists read the respiratory counts; list 'respiratory' before 'cyp_asthma'")
        if "patients" not in self.outputs:
            raise ConfigError("[pipeline] outputs lacks 'patients': the next run reads this run's "
                              "patients.parquet for who entered and left the cohort; add it")
        for key in ("feature_sets", "outputs"):
            values = getattr(self, key)
            if len(set(values)) != len(values):
                raise ConfigError(f"[pipeline] {key} = {list(values)}: a name is repeated; "
                                  "give each once")
