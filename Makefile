# econt — two commands on a fresh Debian 12 machine: `make all` and `make test`.
# Every target depends on `setup`, which is idempotent.

PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
ECONT  := $(VENV)/bin/econt
STAMP  := $(VENV)/.econt-installed
DEB_TOOLS := iverilog opensta verilator chromium postgresql
# Debian package → a command it provides (to see whether it is installed)
# (postgresql: the server's initdb, for the sweep's two-worker PostgreSQL test; Debian 12 ships 15)
DEB_CHECK := iverilog:iverilog opensta:sta verilator:verilator chromium:chromium postgresql:/usr/lib/postgresql/15/bin/initdb

.PHONY: all setup deb-tools train asic report test bench sweep clean

# `make all` times its own setup (venv, pip, Debian tools) and hands it to the pipeline, so
# reports/timings.json's total_s counts a fresh clone's whole run: setup_s + the stages.
all:
	@t0=$$(date +%s); $(MAKE) --no-print-directory setup && \
	  ECONT_SETUP_SECONDS=$$(( $$(date +%s) - t0 )) $(ECONT) run all

setup: $(STAMP) deb-tools

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found. Install Python 3.11 (Debian 12: apt-get install python3 python3-venv) or run make PYTHON=/path/to/python3.11"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	@# installs the `econt` CLI and `econt-yosys`, the kit's pyosys yosys for SiliconCompiler (used only
	@# when no yosys >= 0.48 is on PATH; a private name, so it never shadows one)
	$(PY) -m pip install --quiet -e '.[dev,hls]'
	@touch $(STAMP)

deb-tools:
	@missing=""; for pair in $(DEB_CHECK); do pkg=$${pair%%:*}; cmd=$${pair##*:}; \
	  command -v $$cmd >/dev/null 2>&1 || missing="$$missing $$pkg"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian tools:$$missing"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "error: missing Debian tools:$$missing. Run: sudo apt-get update && sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi

train: setup
	$(ECONT) run train

asic: setup
	$(ECONT) run asic

report: setup
	$(ECONT) report

# Test files run in TEST_WORKERS processes (pytest-xdist); a file's tests stay in one process so
# its module fixtures (an ASIC run, a trained model) are built once. TEST_WORKERS=0: one process.
TEST_WORKERS ?= 2
test: setup
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile tests

bench: setup
	$(ECONT) bench

# design-space study econt/configs/sweep/default.yaml (benchmark, not a test)
sweep: setup
	$(ECONT) sweep run default

clean:
	rm -rf build reports/*/ reports/*.json reports/*.html .pytest_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
