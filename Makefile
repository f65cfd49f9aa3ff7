# skprepal: `make test` and `make demo` set up .venv/ on a fresh machine and run.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# torch goes in first, so that no requirement pulls the registry's default (multi-GB CUDA) build.
# Only torch itself is looked up in the extra index (once, without retries, so an unreachable
# index costs seconds); its dependencies come from the usual index.
# GPU users choose their build, e.g.:
#   make test TORCH=torch==2.13.0 TORCH_INDEX="--index-url https://download.pytorch.org/whl/cu126"
TORCH ?= torch==2.13.0
TORCH_INDEX ?= $(if $(shell command -v nvidia-smi 2>/dev/null),,--extra-index-url https://download.pytorch.org/whl/cpu)
PIP := $(BIN)/python -m pip
PYTEST_ARGS ?=

.PHONY: test demo bench bench-quick docs mutation label-studio-check clean help

help:
	@echo "make test   - create $(VENV)/, install skprepal[dev], run the test suite"
	@echo "               (as root, it apt-get installs chromium + chromium-driver if missing)"
	@echo "make demo   - create $(VENV)/, install skprepal[demo], run the main job"
	@echo "make bench  - run the benchmarks in benchmarks/ (hours; make bench-quick: minutes)"
	@echo "make docs   - build the Sphinx HTML into docs/_build/html"
	@echo "make mutation - mutation testing of the core modules (hours; MUTANTS=... for one module; tests/MUTATION.md)"
	@echo "make label-studio-check - skprepal as the ML backend of a real Label Studio (minutes)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.torch: | $(BIN)/python
	$(BIN)/python -c "import torch" 2>/dev/null || { \
	  $(PIP) install --retries 1 --no-deps $(TORCH_INDEX) "$(TORCH)" && $(PIP) install "$(TORCH)"; }
	@touch $@

$(VENV)/.installed-%: pyproject.toml $(VENV)/.torch
	$(PIP) install -e ".[$*]"
	@touch $@

# tests/labeling/test_browser.py drives Debian's Chromium through its chromedriver (never a
# browser download). As root on a fresh machine, install both; elsewhere the test skips, and under
# CI=true it fails.
.PHONY: browser
browser:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver; \
	else \
	  echo "make: no /usr/bin/chromium or /usr/bin/chromedriver, and not root: the browser test will skip (apt-get install chromium chromium-driver)"; \
	fi

test: $(VENV)/.installed-dev browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

demo: $(VENV)/.installed-demo
	$(BIN)/python -m skprepal demo

# One benchmark at a time: a second busy process on 2 cores skews timings several-fold.
# Thread counts are set explicitly (torch in each script, BLAS here) so timings are comparable.
BENCH_THREADS ?= 2
BENCH_ENV = OMP_NUM_THREADS=$(BENCH_THREADS) OPENBLAS_NUM_THREADS=$(BENCH_THREADS) MKL_NUM_THREADS=$(BENCH_THREADS)
# The full learning curves take hours; each finished run is kept, so a stopped run continues.
bench: $(VENV)/.installed-dev
	$(BENCH_ENV) $(BIN)/python benchmarks/embedding.py
	$(BENCH_ENV) $(BIN)/python -W ignore benchmarks/loop.py
	$(BENCH_ENV) $(BIN)/python benchmarks/pool_memory.py
	$(BENCH_ENV) $(BIN)/python benchmarks/scale.py
	$(BENCH_ENV) $(BIN)/python benchmarks/strategies_real.py
	$(BENCH_ENV) $(BIN)/python benchmarks/finetune_accuracy.py
	$(BENCH_ENV) $(BIN)/python benchmarks/iteration_cost.py
	$(BENCH_ENV) $(BIN)/python benchmarks/learning_curves.py
	$(BENCH_ENV) $(BIN)/python benchmarks/protocols.py
	$(BENCH_ENV) $(BIN)/python benchmarks/sequential.py

bench-quick: $(VENV)/.installed-dev
	$(BENCH_ENV) $(BIN)/python benchmarks/embedding.py --quick
	$(BENCH_ENV) $(BIN)/python -W ignore benchmarks/loop.py --quick
	$(BENCH_ENV) $(BIN)/python benchmarks/pool_memory.py --quick
	$(BENCH_ENV) $(BIN)/python benchmarks/learning_curves.py --quick
	$(BENCH_ENV) $(BIN)/python benchmarks/protocols.py --quick
	$(BENCH_ENV) $(BIN)/python benchmarks/sequential.py --quick

# Mutation testing: mutmut 3 over the core modules with their fast tests (pyproject.toml,
# [tool.mutmut]); scores and equivalent mutants in tests/MUTATION.md. Too slow for CI. One worker,
# niced, one BLAS thread: it leaves the 2 cores usable. Results are kept in mutants/, so a stopped
# run continues, and copied to the tracked tests/mutation-results/ (restored into a fresh checkout's
# mutants/ before the run); one module at a time: make mutation MUTANTS='skprepal.learner.*'.
MUTANTS ?=
MUTATION_ENV = OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 SKPREPAL_MUTATION=1
mutation: $(VENV)/.installed-dev
	$(BIN)/python tests/mutation_report.py --restore
	$(MUTATION_ENV) nice -n 10 $(BIN)/mutmut run --max-children 1 $(MUTANTS)
	$(BIN)/python tests/mutation_report.py --save

# skprepal as the ML backend of a real Label Studio server on 127.0.0.1 (REST API, webhooks,
# predictions, task order, restart, export): tests/integration/label_studio_check.py. label-studio
# pins many packages of its own, so it gets its own virtual environment, $(LS_VENV)/. Installing
# it takes minutes and the run about ten (Label Studio's first start migrates its database): not
# part of make test / CI. The figures go to label-studio-check.json.
LS_VENV ?= .venv-ls
LABEL_STUDIO ?= label-studio==1.23.2
$(LS_VENV)/bin/label-studio:
	$(PYTHON) -m venv $(LS_VENV)
	$(LS_VENV)/bin/python -m pip install "$(LABEL_STUDIO)"

label-studio-check: $(VENV)/.installed-dev $(LS_VENV)/bin/label-studio
	$(BIN)/python tests/integration/label_studio_check.py --ls-bin $(LS_VENV)/bin/label-studio \
	  --report label-studio-check.json

docs: $(VENV)/.installed-docs
	$(BIN)/python -m sphinx -W --keep-going -b html docs docs/_build/html

clean:
	rm -rf docs/_build docs/generated docs/auto_examples docs/sg_execution_times.rst build *.egg-info .pytest_cache mutants .hypothesis
