"""The navigator RTL (:mod:`memrl.rtl.navigator.core`) run in ``amaranth.sim``.

:func:`rtl_config` turns golden-model parameters into the core's constructor
parameters (refusing rule options the core does not implement);
:func:`run_rtl` runs one agent through a maze schedule (layouts switched at
given trials, as :func:`memrl.sim.navigator.golden.run_agent` does) with the SiOx
device model of that agent's seed answering the RRAM port, and returns what
the golden model returns for the same run: per-trial results, trajectories,
ticks per step and the device-operation log. :func:`golden_run` is that golden
run, in the form the RTL runs (here and under cocotb) are compared with.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields

import numpy as np
from amaranth import Module, Signal
from amaranth.lib import wiring
from amaranth.sim import Simulator

from memrl.rtl.navigator.core import SLOTS, NavigatorConfig, NavigatorCore
from memrl.rtl.navigator.emulator import RRAMEmulator
from memrl.sim.devices import SiOxArray, SiOxParams, SiOxPort
from memrl.sim.devices.emulator import EmulatorModel, EmulatorPort, emulator_for
from memrl.sim.navigator.amaranth_port import RRAMMonitor, RRAMResponder
from memrl.sim.navigator.golden import (
    COST_UNIT,
    PRESETS,
    Navigator,
    NavigatorParams,
    cost_units,
    layout_schedule,
    run_agent,
)
from memrl.sim.navigator.maze import Maze

__all__ = ["TRIAL_FIELDS", "COST_BITS", "golden_run", "layout_flags", "rtl_config",
           "rtl_presets", "RtlTrial", "run_rtl"]  # fmt: skip

#: The widest entry cost of a terrain map the core holds, in units of 1/COST_UNIT.
COST_BITS = 8


#: The per-trial figures the core reports, by their golden-model names.
TRIAL_FIELDS = ("steps", "reached", "ticks", "moves", "hits", "reads", "sets", "resets")


def golden_run(
    layouts: Sequence[Maze],
    switch_at: Sequence[int],
    trials: int,
    max_steps: int,
    seed: int,
    params: NavigatorParams | None = None,
    device: str = "siox",
    branches: Counter | None = None,
) -> tuple[list[dict], np.ndarray]:
    """The golden model's run of a schedule, to compare an RTL run with: per trial
    a dict of :data:`TRIAL_FIELDS` and the trajectory, and the device-operation
    log as ``(n, 4)`` rows ``(op, addr, level, result)``. ``params``: ``paper``
    by default. ``device``: ``siox``, or ``emulator`` (the emulator's Python
    model built from ``seed``). ``branches``: a counter that receives the
    default rule's branch counts (``Navigator.branches``)."""
    h, w = layouts[0].shape
    model = emulator_for(device, SLOTS * h * w, seed)
    port = None if model is None else EmulatorPort(model)
    nav = Navigator(
        layouts[0].shape, [seed], params or PRESETS["paper"], record=True, engine="numpy",
        device_port=port,
    )  # fmt: skip
    out: list[dict] = []

    def keep(t, lay, r) -> None:  # noqa: ANN001
        rec = {k: int(getattr(r, k)[0]) for k in TRIAL_FIELDS}
        rec["reached"] = bool(rec["reached"])
        rec["trajectory"] = [int(c) for c in nav.last_trajectories[0]]
        out.append(rec)

    run_agent(nav, layouts, switch_at, trials, max_steps, keep)
    if branches is not None:
        branches.update(nav.branches)
    return out, np.asarray(nav.logs[0], dtype=np.int64).reshape(-1, 4)


def layout_flags(maze: Maze, cost_bits: int = 0) -> list[int]:
    """The core's layout word of every place, row-major: bit 0 wall, bit 1 goal and,
    with ``cost_bits`` (a core that plans over costs), the entry cost in units of
    1/COST_UNIT above them."""
    flags = maze.walls.reshape(-1).astype(int) | (maze.goal.reshape(-1).astype(int) << 1)
    if cost_bits:
        units = cost_units(maze)
        if units is None:
            raise ValueError("the core plans over costs: the maze must be a terrain map")
        top = (1 << cost_bits) - 1
        if units.max() > top:
            raise ValueError(
                f"an entry cost of {units.max() / COST_UNIT:g} is beyond the core's "
                f"{top / COST_UNIT:g} ({cost_bits}-bit costs in units of 1/{COST_UNIT})"
            )
        flags = flags | (units << 2)
    return flags.tolist()


def rtl_config(
    params: NavigatorParams, shape: tuple[int, int], terrain: bool = False
) -> NavigatorConfig:
    """The core's parameters for ``params`` on a maze of ``shape`` (``terrain``: a
    cost map; the default rule's core then holds the map's entry costs and plans
    the cheapest path over what it learned of them)."""
    # Every core parameter but the maze's size, the counter widths and the cost map's
    # is a rule constant of the same name in the golden model.
    own = {"height", "width", "max_steps_bits", "stamp_bits", "cost_bits", "cost_unit",
           "forget_on_path_end"}  # fmt: skip
    shared = {f.name for f in fields(NavigatorConfig)} - own
    path_end = params.forget_on_path_end == "always" or (
        params.forget_on_path_end == "terrain" and terrain
    )
    planned = params.reward_path == "bfs"
    return NavigatorConfig(
        height=shape[0],
        width=shape[1],
        cost_bits=COST_BITS if terrain and planned else 0,
        cost_unit=COST_UNIT,
        forget_on_path_end=path_end,
        **{n: getattr(params, n) for n in shared},
    )


def rtl_presets(shape: tuple[int, int], terrain: bool = False) -> dict[str, NavigatorConfig]:
    """The core's parameters of each preset on ``shape`` (``terrain``: a cost map)."""
    return {name: rtl_config(params, shape, terrain) for name, params in PRESETS.items()}


@dataclass
class RtlTrial:
    """One trial of the core: the golden model's per-trial figures."""

    steps: int = 0
    reached: bool = False
    ticks: int = 0
    moves: int = 0
    hits: int = 0
    reads: int = 0
    sets: int = 0
    resets: int = 0
    trajectory: list[int] = field(default_factory=list)  # places, start first
    step_ticks: list[int] = field(default_factory=list)
    step_cycles: list[int] = field(default_factory=list)  # clock cycles of each step
    cycles: int = 0


def run_rtl(
    layouts: Sequence[Maze],
    switch_at: Sequence[int],
    trials: int,
    max_steps: int,
    seed: int,
    params: NavigatorParams,
    device: SiOxParams | None = None,
    latency: int = 0,
    on_trial: Callable[[int, RtlTrial], None] | None = None,
    emulator: EmulatorModel | None = None,
    pipelined: bool = False,
    rmw_rows: bool = False,
) -> tuple[list[RtlTrial], list[tuple[int, int, int, int]]]:
    """Run one agent on the core; returns the trials and the device-operation log.

    By default the SiOx model of ``seed`` answers the RRAM port from the
    testbench. With ``emulator`` the port is wired to the on-chip emulator core
    built from that model instead (all of it RTL); the log then comes from a
    monitor on the port. ``pipelined``: the testbench memory accepts a request
    every cycle (several in flight) instead of one at a time. ``rmw_rows``: the
    core's row words are read-modify-write (:class:`NavigatorCore`).
    """
    shape = layouts[0].shape
    if any(lay.shape != shape for lay in layouts):
        raise ValueError("every layout of a schedule must have the same shape")
    config = rtl_config(params, shape, terrain=layouts[0].cost is not None)
    core = NavigatorCore(config, rmw_rows)
    m = Module()
    m.submodules.core = core
    log: list[tuple[int, int, int, int]]
    if emulator is None:
        device_port = SiOxPort(
            SiOxArray.batch([seed], SLOTS * config.places, device or SiOxParams())
        )
        responder = RRAMResponder(core.rram, device_port, latency=latency, pipelined=pipelined)
        log = responder.log
    else:
        if len(emulator.init_codes) != SLOTS * config.places:
            raise ValueError(
                f"the emulator has {len(emulator.init_codes)} devices; "
                f"the maze needs {SLOTS * config.places}"
            )
        m.submodules.emulator = emu = RRAMEmulator.from_model(
            emulator, latency=latency, addr_width=core.addr_bits,
            lanes=core.rram.signature.lanes,
        )  # fmt: skip
        wiring.connect(m, core.rram, emu.port)
        monitor = RRAMMonitor(core.rram)
        log = monitor.log
    results: list[RtlTrial] = []
    schedule = layout_schedule(len(layouts), switch_at, trials)

    async def bench(ctx) -> None:  # noqa: ANN001
        async def pulse(sig) -> None:  # noqa: ANN001
            ctx.set(sig, 1)
            await ctx.tick()
            ctx.set(sig, 0)

        async def load(maze: Maze) -> None:
            ctx.set(core.layout_we, 1)
            ctx.set(core.cost_we, 1)  # terrain: the entry costs with the flags
            for cell, v in enumerate(layout_flags(maze, config.cost_bits)):
                ctx.set(core.layout_addr, cell)
                ctx.set(core.layout_data, v)
                await ctx.tick()
            ctx.set(core.layout_we, 0)
            ctx.set(core.cost_we, 0)

        await pulse(core.init)
        await ctx.tick().until(core.done)
        loaded = None
        for trial, k in enumerate(schedule):
            if k != loaded:
                loaded = k
                await load(layouts[k])
            maze = layouts[k]
            ctx.set(core.start_row, maze.start[0])
            ctx.set(core.start_col, maze.start[1])
            ctx.set(core.max_steps, max_steps)
            await pulse(core.start)
            rec = RtlTrial(trajectory=[maze.cell(*maze.start)])
            t0 = t_step = ctx.get(cycle)
            while True:
                step, pos, st, done, now = await (
                    ctx.tick()
                    .sample(core.step_valid, core.pos, core.step_ticks, core.done, cycle)
                    .until(core.step_valid | core.done)
                )
                if step:
                    rec.step_cycles.append(int(now) - t_step)
                    t_step = int(now)
                    if pos != rec.trajectory[-1]:
                        rec.trajectory.append(int(pos))
                    rec.step_ticks.append(int(st))
                if done:
                    break
            for name in ("steps", "ticks", "moves", "hits", "reads", "sets", "resets"):
                setattr(rec, name, int(ctx.get(getattr(core, name))))
            rec.reached = bool(ctx.get(core.reached))
            rec.cycles = ctx.get(cycle) - t0
            results.append(rec)
            if on_trial is not None:
                on_trial(trial, rec)

    cycle = Signal(64)  # a cycle counter beside the core, for the trial's cycle count
    m.d.sync += cycle.eq(cycle + 1)
    sim = Simulator(m)
    sim.add_clock(1e-6)
    sim.add_process(responder.process if emulator is None else monitor.process)
    sim.add_testbench(bench)
    sim.run()  # the responder is a background process; the run ends with the bench
    return results, log
