# Set-up is part of every target: a fresh clone needs nothing but Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# CPU-only machines (and CI) take the CPU wheel of torch; set CONSTRAINTS= to skip the pin on GPUs.
CONSTRAINTS ?= constraints-cpu.txt
PIP_CONSTRAINT_FLAG := $(if $(CONSTRAINTS),-c $(CONSTRAINTS),)
STAMP := $(VENV)/.installed
OFFLINE := HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 WANDB_MODE=offline

.PHONY: install test test-fast test-integration test-e2e demo bench lint clean

install: $(STAMP)

$(STAMP): pyproject.toml $(CONSTRAINTS)
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q $(PIP_CONSTRAINT_FLAG) -e ".[dev]"
	touch $(STAMP)

# The suite runs in TEST_WORKERS processes (pytest-xdist), each on one torch thread: the tiny models'
# steps are Python-bound, so two workers on two cores take about 7.5 minutes instead of 13.
# Three tiers: tests/unit (no Trainer, no subprocess; the quick loop), tests/integration (tiny-model
# Trainer runs in process), tests/e2e (command-line subprocesses, sweeps, demo, wheel, notebook).
TEST_WORKERS ?= 2
PYTEST := OMP_NUM_THREADS=1 $(OFFLINE) $(BIN)/pytest -q -n $(TEST_WORKERS) --dist worksteal

test: install
	$(PYTEST) -m "slow or not slow" tests

test-fast: install
	$(PYTEST) tests/unit

test-integration: install
	$(PYTEST) -m "slow or not slow" tests/integration

test-e2e: install
	$(PYTEST) -m "slow or not slow" tests/e2e

demo: install
	$(OFFLINE) $(BIN)/python -m stilts.demo --out demo

bench: install
	$(OFFLINE) $(BIN)/python -m benchmarks.run

lint: install
	$(BIN)/ruff check stilts tests

clean:
	rm -rf $(VENV) outputs runs multirun demo .stilts_cache
