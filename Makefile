# Two commands on a fresh machine: `make run` (the service on the sample corpus) and
# `make test` (everything CI checks). Both create .venv and install what they need.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint unit bench services clean

install: $(STAMP)

# Exactly the locks (scripts/lock.sh), every file checked against its hash, nothing resolved: torch is the CPU
# wheel on disk (never a CUDA build), unstructured-inference comes without its requirements
# (they pull timm → torchvision, which breaks sentence-transformers). Then Verity itself.
$(STAMP): pyproject.toml requirements.lock requirements-test.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade 'pip>=25'
	$(BIN)/pip install --quiet --require-hashes --no-deps -r requirements.lock -r requirements-test.lock
	$(BIN)/pip install --quiet --no-deps -e .
	$(BIN)/python -c "import importlib.util as u, sys; sys.exit(u.find_spec('torchvision') is not None)" \
	  || (echo "torchvision is installed and breaks sentence-transformers: remove it" && exit 1)
	touch $(STAMP)

run: install
	$(BIN)/verity ingest corpora/django --source django
	VERITY_WATCH_DIRS=django=corpora/django $(BIN)/verity up

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

services:
	bash scripts/services.sh

test: install services lint
	$(BIN)/pytest -n 2 --dist loadgroup --durations=25 --cov --cov-report=term-missing:skip-covered

bench: install
	$(BIN)/python bench/bench_ingest.py --corpus corpora/django

clean:
	rm -rf $(VENV) .verity .pytest_cache .mypy_cache .ruff_cache .coverage .coverage.*
