# kiosk: `make run` serves the demo on SQLite; `make test` runs the whole suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 2
BENCH_PG_SERVER ?= --workers 2 --worker-class gthread --server-threads 4
export FLASK_APP := kiosk

.PHONY: run test test-fast lint format bench bench-pg bench-trace translations extract-messages system-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

translations: $(VENV)/.runtime
	$(BIN)/pybabel compile -d kiosk/translations

run: $(VENV)/.runtime translations
	$(BIN)/flask init-db
	$(BIN)/flask demo-data
	@echo "Serving on http://$(HOST):$(PORT)/"
	$(BIN)/gunicorn --workers $(WORKERS) --bind $(HOST):$(PORT) --access-logfile - wsgi:app

system-deps:
	@bash scripts/system-deps.sh

test: $(VENV)/.dev translations system-deps
	$(BIN)/python -m pytest

test-fast: $(VENV)/.dev translations
	$(BIN)/python -m pytest -m "not browser" -x

lint: $(VENV)/.dev
	$(BIN)/ruff check kiosk tests bench
	$(BIN)/ruff format --check kiosk tests bench

format: $(VENV)/.dev
	$(BIN)/ruff format kiosk tests bench
	$(BIN)/ruff check --fix kiosk tests bench

extract-messages: $(VENV)/.dev
	$(BIN)/pybabel extract -F babel.cfg -k _l -k N_ -o kiosk/translations/messages.pot .
	$(BIN)/pybabel update -N --ignore-obsolete -i kiosk/translations/messages.pot -d kiosk/translations

bench: $(VENV)/.dev translations
	@command -v wrk >/dev/null || bash scripts/system-deps.sh
	$(BIN)/python bench/scan.py

# PostgreSQL on 127.0.0.1:5432 (database kiosk_bench, dropped afterwards); the worker settings
# are the ones docs/deployment.md recommends for PostgreSQL (docs/performance.md).
bench-pg: $(VENV)/.dev translations
	@command -v wrk >/dev/null || bash scripts/system-deps.sh
	$(BIN)/python bench/scan.py --pg $(BENCH_PG_SERVER)

# The trace benchmark: a street's month, 10 million events, in database kiosk_bench_trace on
# 127.0.0.1:5432 (PostgreSQL only; dropped afterwards unless BENCH_TRACE_ARGS has --keep, and a
# kept one is reused). docs/performance.md, "Tracing on a month of a street".
BENCH_TRACE_ARGS ?=
bench-trace: $(VENV)/.dev
	$(BIN)/python bench/trace.py $(BENCH_TRACE_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis test-artifacts
