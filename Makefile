# The README's two commands:
#   make serve   install into .venv, migrate the default SQLite database, serve on 127.0.0.1:4200
#   make test    install the test tools and run the whole suite (SQLite, then PostgreSQL if reachable);
#                the browser tests (tests/browser/, headless Chromium) run in the SQLite pass only

PYTHON ?= python3
VENV := .venv
PREFECT_VENV := .venv-prefect
BIN := $(VENV)/bin
TEST_POSTGRES_URL ?= postgresql://postgres@127.0.0.1:5432/orchestrator
PIP_QUIET := --quiet --disable-pip-version-check
# Test processes (pytest-xdist): one per core by default.
PYTEST_WORKERS ?= auto
PYTEST := $(BIN)/pytest -n $(PYTEST_WORKERS)

.PHONY: serve test test-sqlite test-postgres lint check install install-test clean bench bench-scale

serve: install
	$(BIN)/orchestrator server start

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test $(PREFECT_VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install $(PIP_QUIET) --upgrade pip
	$(BIN)/pip install $(PIP_QUIET) -e . --config-settings editable_mode=compat
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install $(PIP_QUIET) -e ".[test,redis]" --config-settings editable_mode=compat
	touch $@

# The real Prefect client the end-to-end tests drive, in its own environment as a user has it.
$(PREFECT_VENV)/.installed:
	test -x $(PREFECT_VENV)/bin/python || $(PYTHON) -m venv $(PREFECT_VENV)
	$(PREFECT_VENV)/bin/pip install $(PIP_QUIET) "prefect==3.8.8" "fastapi==0.139.0"
	touch $@

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

check: $(VENV)/.installed-test
	DJANGO_SETTINGS_MODULE=settings.test $(BIN)/python manage.py check
	DJANGO_SETTINGS_MODULE=settings.test $(BIN)/python manage.py makemigrations --check --dry-run

test: install-test lint check test-sqlite test-postgres

test-sqlite: install-test
	ORCHESTRATOR_PREFECT_PYTHON=$(CURDIR)/$(PREFECT_VENV)/bin/python $(PYTEST) $(PYTEST_ARGS)

# Skipped (with a message) when no PostgreSQL answers, unless ORCHESTRATOR_REQUIRE_POSTGRES=1 (CI).
# The browser tests walk the same templates and views whatever the database, and the unit tests
# run every page's queries on both, so they run once (in the SQLite pass) to keep the suite short.
# So do the end-to-end files below: what they add to the unit tests (which all run on both) is
# the real client's side (flags, CLI output, recording, engine rules and notification requests as
# the client drives them), not the database's. The end-to-end tests of concurrent processes,
# services, schedules, workers, cancellation and the database commands run on both.
# `make test-postgres POSTGRES_E2E_SKIP=` runs them all.
POSTGRES_E2E_SKIP ?= config_command cli_reads run_behaviours artifacts_and_variables pause_and_cancel \
	flow_runs notifications
test-postgres: install-test
	@if $(BIN)/python -c "import psycopg,sys; psycopg.connect('$(TEST_POSTGRES_URL)'.rsplit('/',1)[0] + '/postgres', connect_timeout=3).close()" 2>/dev/null; then \
		echo "== PostgreSQL run =="; \
		ORCHESTRATOR_TEST_DATABASE_URL=$(TEST_POSTGRES_URL) ORCHESTRATOR_PREFECT_PYTHON=$(CURDIR)/$(PREFECT_VENV)/bin/python $(PYTEST) --ignore=tests/browser $(foreach name,$(POSTGRES_E2E_SKIP),--ignore=tests/e2e/test_$(name).py) $(PYTEST_ARGS); \
	elif [ "$$ORCHESTRATOR_REQUIRE_POSTGRES" = "1" ]; then \
		echo "PostgreSQL is required but not reachable at $(TEST_POSTGRES_URL)"; exit 1; \
	else \
		echo "PostgreSQL not reachable at $(TEST_POSTGRES_URL): skipping the PostgreSQL run"; \
	fi

# Ours against Prefect's own server, side by side (README, "Benchmarks"): e.g.
#   make bench BENCH_ARGS="--scale 0.25 --backends postgres --ours-ref HEAD"
#   make bench-scale BENCH_ARGS="--runs 10000 1000000"
bench: install-test
	$(BIN)/python -m bench $(BENCH_ARGS)

bench-scale: install-test
	$(BIN)/python -m bench.scale $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(PREFECT_VENV) .pytest_cache .ruff_cache
