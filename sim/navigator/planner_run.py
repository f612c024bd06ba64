"""The planner (:mod:`memrl.rtl.navigator.planner`) alone in ``amaranth.sim``.

:func:`run_planner` serves the planner's reads of the knowledge from given
per-place maps (usable, seen, goal, diagonals taken; as the golden model keeps
them) a cycle after each address, as the knowledge's memories do, starts one
search and collects the path it streams out, taking every place at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from amaranth.sim import Simulator

from memrl.rtl.navigator.config import NavigatorConfig
from memrl.rtl.navigator.planner import Planner

__all__ = ["PlannerRun", "run_planner"]


@dataclass
class PlannerRun:
    """The path as (place, direction to the next, last flag) and the search's
    clock cycles from the start pulse to idle."""

    path: list[tuple[int, int, int]]
    cycles: int


def run_planner(
    config: NavigatorConfig,
    usable: np.ndarray,
    seen: np.ndarray,
    goal: np.ndarray,
    diag_taken: np.ndarray,
    start: int,
    here: int,
    frontier: bool,
    cost: np.ndarray | None = None,
    rmw_rows: bool = False,
) -> PlannerRun:
    """One search: ``frontier`` from ``here``, else the reward path from ``start``.
    The maps are per place (row-major); ``diag_taken`` is ``(places, 8)``;
    ``cost``: the learned entry costs (a terrain core's, ``config.cost_bits``);
    ``rmw_rows``: the planner's row words are read-modify-write."""
    if config.terrain != (cost is not None):
        raise ValueError("a terrain planner (cost_bits) needs the learned costs, no other")
    h, w = config.height, config.width
    rows = []
    for r in range(h):
        bits = [usable[r * w : (r + 1) * w], seen[r * w : (r + 1) * w], goal[r * w : (r + 1) * w]]
        word = 0
        for k, plane in enumerate(bits):
            word |= sum(int(v) << c for c, v in enumerate(plane)) << (k * w)
        rows.append(word)
    diag = [sum(int(diag_taken[x, d]) << (d // 2) for d in (1, 3, 5, 7)) for x in range(h * w)]
    dut = Planner(config, rmw_rows)
    out: list[tuple[int, int, int]] = []
    cycles = 0

    costs = [0] * (h * w) if cost is None else [int(v) for v in cost]

    async def memory(ctx) -> None:  # noqa: ANN001 - the knowledge's read ports
        sampled = ctx.tick().sample(dut.rd_row, dut.rd_cell, dut.cost_cell)
        async for _, _, row, cell, cost_cell in sampled:
            ctx.set(dut.rows, rows[min(row, h - 1)])
            ctx.set(dut.diag, diag[min(cell, h * w - 1)])
            ctx.set(dut.cost, costs[min(cost_cell, h * w - 1)])

    async def bench(ctx) -> None:  # noqa: ANN001
        nonlocal cycles
        for port, value in (("src", here), ("ex", start)):
            r, c = divmod(value, w)
            ctx.set(getattr(dut, f"{port}_row"), r)
            ctx.set(getattr(dut, f"{port}_col"), c)
            ctx.set(getattr(dut, f"{port}_cell"), value)
        ctx.set(dut.frontier, frontier)
        ctx.set(dut.start, 1)
        await ctx.tick()
        ctx.set(dut.start, 0)
        ctx.set(dut.path.ready, 1)
        cycles = 1
        while True:
            _, _, valid, payload, idle = await ctx.tick().sample(
                dut.path.valid, dut.path.payload, dut.idle
            )
            if valid:
                out.append((int(payload.cell), int(payload.d), int(payload.last)))
            if idle and not valid:
                break
            cycles += 1
            if cycles > 256 * h * w + 1000:
                raise RuntimeError(f"the planner did not finish in {cycles} cycles")

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_process(memory)
    sim.add_testbench(bench)
    sim.run()
    return PlannerRun(out, cycles)
