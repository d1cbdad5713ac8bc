# modelyard: `make demo` runs the end-to-end workflow, `make test` sets up and runs every test.
# Everything is idempotent: a second `make setup` does nothing when nothing changed.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMPS := .stamps
# What the tests need from Debian: PostgreSQL (catalog suite), bubblewrap (the /opt/ml
# sandbox of processing jobs), Java (Spark in local mode), wrk (the serving benchmarks' load).
DEBIAN_PACKAGES := postgresql bubblewrap openjdk-17-jre-headless wrk

.PHONY: setup demo test test-fast bench lint format clean

setup: $(STAMPS)/venv $(STAMPS)/debian

$(STAMPS)/venv: pyproject.toml constraints.txt edge-agent/pyproject.toml
	@mkdir -p $(STAMPS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=24"
	# torch first, pinned: the CPU build; anything that pulls torch unpinned would fetch CUDA.
	$(PY) -m pip install --quiet -c constraints.txt "torch==2.13.0"
	$(PY) -m pip install --quiet -c constraints.txt -e ".[test]" -e ./edge-agent
	@touch $@

$(STAMPS)/debian: Makefile
	@mkdir -p $(STAMPS)
	@missing=""; \
	{ ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null; } || missing="$$missing postgresql"; \
	command -v bwrap >/dev/null || missing="$$missing bubblewrap"; \
	command -v java >/dev/null || missing="$$missing openjdk-17-jre-headless"; \
	command -v wrk >/dev/null || missing="$$missing wrk"; \
	if [ -n "$$missing" ]; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		echo "installing Debian packages:$$missing"; \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	else \
		echo "Debian packages present: $(DEBIAN_PACKAGES)"; \
	fi
	@touch $@

demo: setup
	$(PY) examples/demo.py

test: setup lint
	$(PY) -m pytest -q
	cd edge-agent && ../$(PY) -m pytest -q

test-fast: setup
	$(PY) -m pytest -q tests/unit

bench: setup
	@for script in benchmarks/*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

lint: setup
	$(VENV)/bin/ruff check src tests examples benchmarks
	$(VENV)/bin/ruff format --check src tests examples benchmarks
	$(VENV)/bin/mypy src/modelyard
	$(VENV)/bin/ruff check edge-agent
	$(VENV)/bin/ruff format --check edge-agent
	cd edge-agent && ../$(VENV)/bin/mypy src tests

format: setup
	$(VENV)/bin/ruff check --fix src tests examples benchmarks
	$(VENV)/bin/ruff format src tests examples benchmarks

clean:
	rm -rf $(VENV) $(STAMPS) .pytest_cache .ruff_cache .mypy_cache
