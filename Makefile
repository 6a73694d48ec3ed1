# Every target creates the environment it needs from the lock file (uv.lock), so a fresh clone
# needs only python3 and network access to PyPI.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
UV := $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
RUN := $(UV) run --frozen --no-sync
AS_OF ?= 2026-03-31
OUT ?= out

.PHONY: help env run test lint browser packs test-unit test-spec test-generative test-functional test-fast test-crash bench bench-scale bench-respiratory \
        spark-env test-spark test-cluster test-spark-city \
        calibrate sample-data dictionary clean

# The coverage floor: the suite measured 94.6 % (fresh clone at 82cf0f6, 2026-12-01). Raise it, never lower it.
COVERAGE_FLOOR := 94
# pytest-xdist workers for `make test` (one per CI core); a test file runs whole in one worker,
# so its module fixtures (a pipeline run, a trained model) are built once. TEST_WORKERS=0: one process.
TEST_WORKERS ?= 2

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/'

# --compile-bytecode: the installed packages' .pyc files are written once here. Where the shell sets
# PYTHONDONTWRITEBYTECODE (this machine does), Python otherwise compiles pandas, scikit-learn,
# scipy and ibis from source in every process: about 10 s of CPU per `npc-risk` command and per
# test subprocess.
.venv/.synced: pyproject.toml uv.lock
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet "uv==$(UV_VERSION)"
	$(UV) sync --frozen --quiet --compile-bytecode
	@touch $@

env: .venv/.synced  ## create or update the virtual environment from uv.lock
	@$(RUN) python -m compileall -q src

run: env  ## the nightly pipeline on sample_data/ with the embedded DuckDB, outputs under out/
	$(RUN) npc-risk run --input sample_data/extract --output $(OUT) --as-of $(AS_OF) --pipeline pipelines/leeds_npc.toml

browser:  ## Debian's chromium, for the pack PDFs and the browser tests (installed when missing; needs root)
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

test: env lint browser  ## lint, then the whole test suite with a coverage report (fails under the floor)
	$(RUN) pytest -q -n $(TEST_WORKERS) --dist loadfile --cov --cov-report=term --cov-fail-under=$(COVERAGE_FLOOR)

lint: env  ## ruff: pyflakes, pycodestyle, import order, bugbear, pyupgrade
	$(RUN) ruff check src tests benchmarks

test-fast: env  ## every test not marked slow (the end-to-end runs are slow)
	$(RUN) pytest -q -m "not slow"

test-unit: env
	$(RUN) pytest -q tests/unit

test-spec: env
	$(RUN) pytest -q tests/spec

test-generative: env
	$(RUN) pytest -q tests/generative

test-functional: env
	$(RUN) pytest -q tests/functional

test-crash: env  ## the whole kill -9 crash matrix: real runs of the sample city killed at 8 points, each rerun compared (make test kills at one)
	NPC_RISK_CRASH_MATRIX=all $(RUN) pytest -q -rs tests/functional/test_crash_matrix.py

spark-env: env  ## the [spark] extra (pyspark) in .venv, and Java 17 from apt-get when `java` is missing (needs root)
	$(UV) sync --frozen --extra spark --inexact --quiet --compile-bytecode
	@command -v java >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null; }

test-spark: spark-env  ## spec chapters and generative tests on DuckDB and Spark, then the sample city on both, compared (TEST_WORKERS processes, one Spark session each)
	NPC_RISK_TEST_ENGINES=duckdb,pyspark $(RUN) pytest -q -n $(TEST_WORKERS) --dist loadfile tests/spec tests/generative tests/spark

test-cluster: spark-env  ## a standalone Spark master + 2 workers on 127.0.0.1 run the sample city; compared with DuckDB
	NPC_RISK_SPARK_CLUSTER=1 $(RUN) pytest -q tests/spark/test_cluster.py

SPARK_CITY ?= 100000
SPARK_CITY_DIR := .bench/city-$(SPARK_CITY)
test-spark-city: spark-env  ## the whole-run comparisons (local mode and loopback cluster) on a generated city of SPARK_CITY people, one model for both engines
	@test -f $(SPARK_CITY_DIR)/extract/README.json || $(RUN) npc-risk generate --patients $(SPARK_CITY) --seed 1 --as-of $(AS_OF) --output $(SPARK_CITY_DIR) --quiet
	@test -f .bench/spark-model-$(SPARK_CITY)/risk_model.skops || $(RUN) npc-risk train --input $(SPARK_CITY_DIR)/extract --as-of $(AS_OF) --pipeline pipelines/leeds_npc.toml --model-out .bench/spark-model-$(SPARK_CITY)/risk_model.skops --quiet
	NPC_RISK_TEST_ENGINES=duckdb,pyspark NPC_RISK_SPARK_CLUSTER=1 NPC_RISK_SPARK_CITY=$(SPARK_CITY_DIR)/extract \
	  NPC_RISK_SPARK_MODEL=.bench/spark-model-$(SPARK_CITY)/risk_model.skops \
	  $(RUN) pytest -q -p no:cacheprovider tests/spark/test_sample_city_on_spark.py tests/spark/test_cluster.py

bench: env  ## the 1M-person run and train against DuckDB scan/copy floors of the same files (child processes, peak RSS)
	$(RUN) python -m benchmarks.run

bench-scale: env  ## the same at 100k, 1M, 3M and 5M people (cities cached in .bench/); plot in docs/bench-scale.png
	$(RUN) python -m benchmarks.run scale

bench-respiratory: env  ## both condition pipelines on the cached 100k city: calibration, run times, scores against the city's truth
	$(RUN) python -m benchmarks.respiratory

calibrate: env  ## print the generated city's magnitudes beside the NHS reference targets
	$(RUN) npc-risk calibrate --input sample_data

packs: run browser  ## the neighbourhood data packs of the sample run, under $(OUT)/packs
	$(RUN) npc-risk pack --run $(OUT)/$(AS_OF) --output $(OUT)/packs

sample-data: env  ## regenerate the committed sample city (about 5,000 people)
	rm -rf sample_data
	$(RUN) npc-risk generate --patients 5000 --seed 20260331 --as-of $(AS_OF) --output sample_data

dictionary: env  ## regenerate schemas/data_dictionary.md from the pandera models
	$(RUN) npc-risk dictionary --output schemas/data_dictionary.md

clean:
	rm -rf .venv out .pytest_cache .hypothesis
