"""The navigator core's Verilog on Icarus or Verilator under cocotb, checked
against the golden model.

:func:`run_cocotb` runs one agent through a maze schedule (as
:func:`memrl.sim.navigator.golden.run_agent` does) on the generated Verilog, with
the SiOx device model of the agent's seed answering the RRAM port from the
testbench (:mod:`memrl.sim.navigator.cocotb_tb`). With ``check=True`` (the
default) the golden model runs the same schedule first and the testbench's
scoreboard compares every device operation and every trial's figures and
trajectory; a difference fails the run with
:class:`~memrl.sim.tools.runner.SimulationFailed` naming the first one.

Two bus models: ``bus="batch"`` (the default, fast) wraps the core in a
:class:`~memrl.sim.navigator.batch_port.BatchPortTop` and serves its requests once per
batch; ``bus="cycle"`` drives the core's own port cycle by cycle with a
response ``latency`` and random back-pressure (``ready_prob``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from memrl.rtl.navigator.core import NavigatorCore
from memrl.sim.navigator.batch_port import BatchPortTop
from memrl.sim.navigator.golden import PRESETS, NavigatorParams, layout_schedule
from memrl.sim.navigator.maze import Maze
from memrl.sim.navigator.session import golden_run, layout_flags, rtl_config
from memrl.sim.tools.runner import build, run

__all__ = ["BUSES", "CocotbRun", "make_case", "run_cocotb"]

BUSES = ("batch", "cycle")
TB_MODULE = "memrl.sim.navigator.cocotb_tb"


@dataclass
class CocotbRun:
    """What the core did: per-trial records, the device-operation log and figures."""

    trials: list[dict]
    log: np.ndarray  # (n, 4): op, addr, level, result
    cycles: int
    wall_s: float  # the simulator run (build and golden model excluded)
    schedule_wall_s: float  # init and trials inside the simulator (no start-up, no checks)
    requests: int
    batches: int | None
    stalls: int | None
    reset: dict | None = None
    out_dir: Path = field(default_factory=Path)


def make_case(
    layouts: Sequence[Maze],
    switch_at: Sequence[int],
    trials: int,
    max_steps: int,
    seed: int,
    core: NavigatorCore,
    bus: str = "batch",
    latency: int = 0,
    ready_prob: float = 1.0,
    backpressure_seed: int = 0,
    reset_at: tuple[int, int] | None = None,
) -> dict:
    """The testbench case (see :mod:`memrl.sim.navigator.cocotb_tb`), without expectations."""
    if bus not in BUSES:
        raise ValueError(f"unknown bus model {bus!r}; known: {', '.join(BUSES)}")
    if bus == "batch" and (latency or ready_prob != 1.0):
        raise ValueError("latency and ready_prob are options of the cycle bus model")
    shape = layouts[0].shape
    if any(lay.shape != shape for lay in layouts):
        raise ValueError("every layout of a schedule must have the same shape")
    return {
        "layouts": [layout_flags(lay, core.config.cost_bits) for lay in layouts],
        "starts": [list(lay.start) for lay in layouts],
        "width": shape[1],
        "schedule": layout_schedule(len(layouts), switch_at, trials),
        "max_steps": max_steps,
        "seed": seed,
        "bus": bus,
        "addr_width": core.addr_bits,
        "lanes": core.rram.signature.lanes,
        "latency": latency,
        "ready_prob": ready_prob,
        "backpressure_seed": backpressure_seed,
        "reset_at": list(reset_at) if reset_at is not None else None,
    }


def run_cocotb(
    sim: str,
    layouts: Sequence[Maze],
    switch_at: Sequence[int],
    trials: int,
    max_steps: int,
    seed: int,
    workdir: Path,
    params: NavigatorParams = PRESETS["paper"],
    *,
    bus: str = "batch",
    latency: int = 0,
    ready_prob: float = 1.0,
    backpressure_seed: int = 0,
    reset_at: tuple[int, int] | None = None,
    check: bool = True,
    expected: tuple[list[dict], np.ndarray] | None = None,
    waves: bool | None = None,
    build_root: Path = Path("build/cocotb"),
) -> CocotbRun:
    """Run the schedule on ``sim`` ("icarus" or "verilator"); see the module text.

    ``expected``: the golden model's run of this schedule
    (:func:`memrl.sim.navigator.session.golden_run`), when the caller has it already
    (several simulators, one golden run).

    ``workdir`` receives the case, the expected and the observed logs, the
    simulator's log (``sim.log``) and, with ``waves`` (default: the ``WAVES``
    environment variable), the waveform."""
    core = NavigatorCore(rtl_config(params, layouts[0].shape, layouts[0].cost is not None))
    case = make_case(
        layouts, switch_at, trials, max_steps, seed, core, bus, latency, ready_prob,
        backpressure_seed, reset_at,
    )  # fmt: skip
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    if check:
        want, want_log = expected or golden_run(layouts, switch_at, trials, max_steps, seed, params)
        np.save(workdir / "expected_log.npy", want_log)
        case["expected_log"] = str((workdir / "expected_log.npy").resolve())
        case["expected_trials"] = want
    top = BatchPortTop(core) if bus == "batch" else core
    bld = build(sim, top, "navigator", build_root, waves=waves)
    (workdir / "case.json").write_text(json.dumps(case))
    env = {"MEMRL_TB_CASE": str(workdir / "case.json"), "MEMRL_TB_OUT": str(workdir)}
    t0 = time.perf_counter()
    run(bld, TB_MODULE, env, workdir)
    wall = time.perf_counter() - t0
    rep = json.loads((workdir / "run.json").read_text())
    return CocotbRun(
        trials=rep["trials"],
        log=np.load(workdir / "log.npy"),
        cycles=rep["cycles"],
        wall_s=wall,
        schedule_wall_s=rep["schedule_wall_s"],
        requests=rep["requests"],
        batches=rep["batches"],
        stalls=rep["stalls"],
        reset=rep.get("reset"),
        out_dir=workdir,
    )
