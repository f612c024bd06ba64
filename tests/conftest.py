"""Session hooks: the cocotb runs' branch coverage (recorded by
tests/sim/conftest.py::record_coverage) is cleared at the start of a session and
printed, one table per simulator, at its end, with build/coverage/navigator-<sim>.json.
Verilator models of the suite compile with -O0 (MEMRL_VERILATOR_CFLAGS)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from memrl.sim.navigator.coverage import coverage_table, merge

COVERAGE_DIR = Path(__file__).resolve().parents[1] / "build" / "coverage"

# The suite's Verilator runs are short: their models compile without optimisation
# (half the build time; memrl.sim.tools.runner.build).
os.environ.setdefault("MEMRL_VERILATOR_CFLAGS", "-O0")


def pytest_configure(config) -> None:  # noqa: ANN001
    if hasattr(config, "workerinput"):  # an xdist worker: the controller cleans up
        return
    for d in COVERAGE_DIR.glob("navigator-*.d"):
        for f in d.glob("*.json"):
            f.unlink()


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ANN001
    for d in sorted(COVERAGE_DIR.glob("navigator-*.d")):
        runs = {f.stem: json.loads(f.read_text()) for f in sorted(d.glob("*.json"))}
        if not runs:
            continue
        sim = d.name.removeprefix("navigator-").removesuffix(".d")
        total = merge(*runs.values())
        out = COVERAGE_DIR / f"navigator-{sim}.json"
        out.write_text(json.dumps({"total": total, "runs": runs}, indent=1))
        terminalreporter.write_sep("-", f"navigator branch coverage on {sim} ({len(runs)} runs)")
        terminalreporter.write_line(coverage_table(total))
        terminalreporter.write_line(f"(written to {out})")
