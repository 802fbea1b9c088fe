# Two commands matter: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 5000
WORKERS ?= 2

# Dependencies are installed only from these hash-checked locks (pip-tools), never
# resolved afresh; `make lock` regenerates both from pyproject.toml, keeping current
# pins where they still fit. Move one package on: make lock LOCK_ARGS='--upgrade-package flask-admin'
APP_LOCK := requirements/app.txt
DEV_LOCK := requirements/dev.txt
PIP_TOOLS ?= pip-tools==7.6.2
LOCK_ARGS ?=
PIP_COMPILE = CUSTOM_COMPILE_COMMAND='make lock' $(BIN)/pip-compile --quiet --generate-hashes \
	--allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links $(LOCK_ARGS)

.PHONY: run test lint bench lock screenshots system-deps clean vendor

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# The lock supplies every dependency; the project itself goes on top without resolving any.
$(VENV)/.installed: pyproject.toml $(APP_LOCK) | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r $(APP_LOCK)
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

# The dev lock pins the app's dependencies to the same versions (it is compiled
# against the app lock), so it satisfies `make run` too.
$(VENV)/.installed-dev: pyproject.toml $(DEV_LOCK) | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r $(DEV_LOCK)
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@ $(VENV)/.installed

$(BIN)/pip-compile: | $(BIN)/python
	$(BIN)/pip install --quiet '$(PIP_TOOLS)'

lock: | $(BIN)/pip-compile
	$(PIP_COMPILE) --output-file $(APP_LOCK) pyproject.toml
	$(PIP_COMPILE) --extra dev --constraint $(APP_LOCK) --output-file $(DEV_LOCK) pyproject.toml

# The embedded store is served by process workers (never threads): SQLite handles
# cannot cross threads, and each worker connects after the fork. Each worker serves its
# connections cooperatively (gevent, one thread), so a browser's idle connection holds none.
# gunicorn.conf.py warms each worker up (indexes, dictionary, templates) before it serves.
run: $(VENV)/.installed
	$(BIN)/flask --app admin_app setup
	$(BIN)/gunicorn --config gunicorn.conf.py --worker-class gevent --workers $(WORKERS) \
	  --bind 127.0.0.1:$(PORT) 'admin_app:create_app()'

# Debian packages the tests drive for real (headless Chromium; openssl makes the test TLS
# certificates; slapd and ldap-utils for the directory tests); needs root or sudo.
system-deps:
	@command -v chromium >/dev/null 2>&1 && command -v openssl >/dev/null 2>&1 \
	  && test -x /usr/sbin/slapd && command -v ldapadd >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  echo 'slapd slapd/no_configuration boolean true' | $$SUDO debconf-set-selections && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends \
	    chromium openssl slapd ldap-utils; }

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .

# lint-imports checks the layers pyproject.toml declares ([tool.importlinter]).
test: system-deps $(VENV)/.installed-dev lint
	$(BIN)/lint-imports --no-cache
	$(BIN)/pytest

# Refresh the screenshots the README shows (the browser tests take them).
screenshots: system-deps $(VENV)/.installed-dev
	SCREENSHOTS_DIR=docs/screenshots $(BIN)/pytest -q tests/test_browser_tickets.py \
	  tests/test_home_browser.py tests/test_browser_rules_tour.py \
	  tests/test_list_filters_browser.py

# Chart.js draws Home's chart. It comes from npm, never a CDN: `make vendor` fetches the
# pinned version with `npm pack`, checks the tarball against the integrity hash pinned
# here (npm's own, as `npm view chart.js@VERSION dist.integrity` prints it), and copies
# its browser build (which bundles its one dependency, @kurkle/color, MIT) and licence
# into admin_app/static/vendor/chart.js/. To move on: change both lines, run it, commit.
CHARTJS_VERSION := 4.6.1
CHARTJS_INTEGRITY := sha512-hJyniucsFmq//EvXYvJ6c6mahPoI3kaxdjVH8awTaJ/fDNWeSqqqArixMJWkWNN6fcYvPU3HneSANFNYtRi61g==
CHARTJS_DIR := admin_app/static/vendor/chart.js
vendor:
	@set -e; work=$$(mktemp -d); trap 'rm -rf "$$work"' EXIT; \
	  (cd "$$work" && npm pack --silent chart.js@$(CHARTJS_VERSION) >/dev/null); \
	  got="sha512-$$(openssl dgst -sha512 -binary "$$work/chart.js-$(CHARTJS_VERSION).tgz" | base64 -w0)"; \
	  if [ "$$got" != "$(CHARTJS_INTEGRITY)" ]; then \
	    echo "chart.js-$(CHARTJS_VERSION).tgz is not the pinned tarball ($$got)" >&2; exit 1; fi; \
	  tar -xzf "$$work/chart.js-$(CHARTJS_VERSION).tgz" -C "$$work"; \
	  mkdir -p $(CHARTJS_DIR); \
	  cp "$$work/package/dist/chart.umd.min.js" "$$work/package/LICENSE.md" $(CHARTJS_DIR)/; \
	  echo "Chart.js $(CHARTJS_VERSION) is in $(CHARTJS_DIR)/"

bench: system-deps $(VENV)/.installed-dev
	$(BIN)/python bench/list_bench.py
	$(BIN)/python bench/import_bench.py
	$(BIN)/python bench/dictionary_bench.py
	$(BIN)/python bench/ldap_bench.py
	$(BIN)/python bench/scale_bench.py
	$(BIN)/python bench/history_bench.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
