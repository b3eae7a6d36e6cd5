# Two entry points: `make demo` (set up, then the full mail-merge run) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SYSTEM_PACKAGES := poppler-utils libharfbuzz-subset0 libpango-1.0-0 libpangoft2-1.0-0 \
	fonts-liberation2 fonts-dejavu-core

.PHONY: setup system demo test bench lint clean

setup: system $(STAMP)

# System packages WeasyPrint and the house fonts need. Installed only when missing.
system:
	@missing=""; for p in $(SYSTEM_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

demo: setup
	$(VENV)/bin/pactdocs merge pact-implementation

test: setup
	$(PY) -m pytest -q -n 2 -p no:cacheprovider

bench: setup
	$(PY) bench/bench.py

lint: setup
	$(VENV)/bin/ruff check pactdocs tests bench
	$(VENV)/bin/mypy pactdocs

clean:
	rm -rf $(VENV) build
