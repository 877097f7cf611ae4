# Thin aliases. Every target that needs the environment depends on `setup`, so on a fresh machine
# `make test` or `make bench` alone builds .venv first (idempotent: redone only when the pins change).
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PYTEST := HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false $(PY) -m pytest

.PHONY: setup test test-reliability test-gpu test-weights lint format bench bench-io bench-degradation bench-curation clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[all,dev]'
	@touch $(STAMP)

# the fast part: no GPU, no downloaded weights, nothing marked slow
test: setup
	$(PYTEST) -m "not gpu and not weights and not slow"

# all of the CPU suite (slow and Ray tests included), then the reliability matrix, whose tables replace the
# generated block of docs/reliability.md (tests/reliability/run_matrix.py; exits 1 if a row shows a problem)
test-reliability: setup
	$(PYTEST) -m "not gpu and not weights"
	HF_HUB_OFFLINE=1 $(PY) -m tests.reliability.run_matrix --write docs/reliability.md

test-gpu: setup
	$(PYTEST) -m gpu

test-weights: setup
	$(PYTEST) -m weights

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: setup
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: setup
	HF_HUB_OFFLINE=1 $(VENV)/bin/flashvsr bench --suite default --out results

bench-io: setup
	HF_HUB_OFFLINE=1 $(PY) -m vsrcore.bench_io --out results/io_bench.json

bench-degradation: setup
	$(PY) -m degradation.bench --out results/degradation_bench.json

bench-curation: setup
	$(PY) -m curation.bench --backend ray --generate-1080p 4

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info results
