# The two set-up commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/pip install --quiet --disable-pip-version-check

.PHONY: run test lint bench screenshots install install-dev

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

# Stamp files: reinstall only when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(PIP) .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(VENV)/bin/python
	$(PIP) '.[dev]'
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# Local demo on SQLite (var/kestra_iam.sqlite3): migrate, demo admin + tenant, serve the admin.
# Its settings (secret key, token pepper, DEBUG, address) stay in var/local.env, which every
# `.venv/bin/python manage.py …` in this checkout reads too. `make run PORT=8080` to move it.
PORT ?= 8000
run: install
	$(BIN)/python -m kestra_iam.local_env --url http://127.0.0.1:$(PORT)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py setup_demo
	$(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

# The whole suite; on PostgreSQL when DATABASE_URL=postgres://… is set.
test: install-dev
	$(BIN)/pytest $(PYTEST_ARGS)

# Performance targets on PostgreSQL under gunicorn (not part of make test): a table and a JSON line.
bench: export DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/kestra_iam_bench
bench: install-dev
	$(BIN)/python -m benchmarks.run

# The README's screenshots, taken by the Chromium test that walks the Entra story.
screenshots: install-dev
	SCREENSHOTS_DIR=docs/screenshots $(BIN)/pytest -q tests/provisioning/test_provisioning_logs_browser.py

lint: install-dev
	$(BIN)/ruff check .
