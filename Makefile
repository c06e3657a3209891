# HealthSync: `make run` serves the demo hospital, `make test` runs the whole suite.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test lint typecheck check migrate seed import bench e2e-deps clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	$(PY) main.py migrate
	$(PY) main.py seed-demo
	$(PY) main.py serve

test: $(STAMP)
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy .

check: lint typecheck test

migrate: $(STAMP)
	$(PY) main.py migrate

seed: $(STAMP)
	$(PY) main.py seed-demo

# make import FHIR=../shared/data/synthea
import: $(STAMP)
	$(PY) main.py import-fhir $(FHIR)

bench: $(STAMP)
	$(PY) bench/push_latency.py
	$(PY) bench/booking.py
	$(PY) bench/import_fhir.py

clean:
	rm -rf $(VENV) var .nicegui .pytest_cache .mypy_cache .ruff_cache
