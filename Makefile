# Two commands matter: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 5000
WORKERS ?= 2

.PHONY: run test lint bench system-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

# The embedded store is served by process workers (never threads): SQLite handles
# cannot cross threads, and each worker connects after the fork.
run: $(VENV)/.installed
	$(BIN)/flask --app admin_app setup
	$(BIN)/gunicorn --workers $(WORKERS) --bind 127.0.0.1:$(PORT) 'admin_app:create_app()'

# Debian packages the tests drive for real (headless Chromium); needs root or sudo.
system-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends chromium; }

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .

test: system-deps $(VENV)/.installed-dev lint
	$(BIN)/pytest

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/list_bench.py
	$(BIN)/python bench/import_bench.py
	$(BIN)/python bench/dictionary_bench.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
