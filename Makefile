# Two entry points: `make demo` (set up, then the full mail-merge run) and `make test`.
# Python packages come from requirements.lock only (exact versions, sha256 hashes); `make lock`
# is the one way versions move.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TABLES := $(VENV)/.tables
LOCK := requirements.lock
UV_VERSION := 0.13.8
# What WeasyPrint, the house fonts and the tests need from Debian; python3-venv for the venv;
# Chromium for the review web page tests (Playwright drives it), OmegaT for the XLIFF round trip
# and LibreOffice (headless) for the DOCX layout test.
SYSTEM_PACKAGES := python3-venv poppler-utils libharfbuzz-subset0 libpango-1.0-0 libpangoft2-1.0-0 \
	fonts-liberation2 fonts-dejavu-core gettext chromium omegat libreoffice-writer-nogui

.PHONY: setup system demo test bench lint lock clean

setup: system $(STAMP) $(TABLES)

# System packages, installed only when missing (python3-venv only where Debian's python3 lacks venv).
system:
	@missing=""; for p in $(SYSTEM_PACKAGES); do \
	  if [ $$p = python3-venv ]; then python3 -c 'import ensurepip, venv' 2>/dev/null && continue; fi; \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

# Exactly the lock: every package pinned and hash-checked, then pactdocs itself without resolving.
$(STAMP): $(LOCK) pyproject.toml
	rm -rf $(VENV)
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --require-hashes --no-deps -r $(LOCK)
	$(PY) -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	$(PY) -m pip check
	touch $(STAMP)

# What pactdocs keeps in the environment so as not to redo it in every run: WeasyPrint's C
# declarations parsed (pactdocs.writers.weasyffi) and Pyphen's hyphenation dictionaries sorted
# into tables (pactdocs.writers.hyphenation); made again when the environment or their code changes.
$(TABLES): $(STAMP) pactdocs/writers/weasyffi.py pactdocs/writers/hyphenation.py
	$(PY) -m pactdocs.writers.weasyffi
	$(PY) -m pactdocs.writers.hyphenation
	touch $(TABLES)

# Re-resolve every dependency to the newest release pyproject.toml allows; run `make test` after.
lock:
	python3 -m venv .venv-lock
	.venv-lock/bin/python -m pip install -q --disable-pip-version-check uv==$(UV_VERSION)
	.venv-lock/bin/uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 \
	  --generate-hashes --no-header --quiet -o $(LOCK).new
	{ echo "# The exact Python packages pactdocs installs (make setup); regenerate with 'make lock'."; \
	  echo "# Resolved by uv $(UV_VERSION): uv pip compile pyproject.toml --extra dev --universal --generate-hashes"; \
	  cat $(LOCK).new; } > $(LOCK)
	rm -rf $(LOCK).new .venv-lock

demo: setup
	$(VENV)/bin/pactdocs merge pact-implementation
	$(VENV)/bin/pactdocs merge agency-coordination

test: setup
	$(PY) -m pytest -q -n 2 -p no:cacheprovider

bench: setup
	$(PY) bench/bench.py

lint: setup
	$(VENV)/bin/ruff check pactdocs tests bench
	$(VENV)/bin/mypy pactdocs

clean:
	rm -rf $(VENV) build
