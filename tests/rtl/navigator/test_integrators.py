"""The neurons unit alone: thresholds from code classes and homeostasis,
integration and winner-take-all, against the golden model's arithmetic."""

from __future__ import annotations

import numpy as np
import pytest
from amaranth.sim import Simulator

from memrl.rtl.navigator.config import NavigatorConfig
from memrl.rtl.navigator.integrators import Neurons

CONFIG = NavigatorConfig(height=4, width=4, max_ticks=60)


def threshold(c: NavigatorConfig, code: int, visited: bool) -> int:
    if visited:
        return c.homeo_th
    if code >= c.code_reward_min:
        return 0
    if code >= c.code_recall_min:
        return c.recall_th
    if code >= c.code_nominal_min:
        return c.th0
    return c.penalty_th


def expected(c: NavigatorConfig, syn, codes, visited, targets) -> tuple[int, int]:
    """(winner or -1, ticks) as the golden model integrates: a neuron fires after
    max(1, ceil(th / syn)) ticks; the first wins, then the larger synapse code,
    then the lower direction; no winner after ``max_ticks``."""
    best = None
    for d in range(8):
        if not targets[d] or syn[d] == 0:
            continue
        th = threshold(c, codes[d], visited[d])
        k = max(1, -(-th // syn[d]))
        key = (k, -syn[d], d)
        best = key if best is None or key < best else best
    if best is None or best[0] > c.max_ticks:
        return -1, c.max_ticks
    return best[2], best[0]


def run_step(c: NavigatorConfig, syn, codes, visited, targets, gap: int = 0) -> dict:
    """One step through the unit, in the sequencer's order: clear, the synapse
    row, the threshold readings of the on-grid targets (``gap`` idle cycles
    before each), a settling cycle, then ticks (``cycles``) until the one that
    sees ``end``."""
    dut = Neurons(c)
    out: dict = {}

    async def bench(ctx) -> None:
        ctl, rd = dut.ctl, dut.readings
        ctx.set(dut.targets, sum(1 << d for d in range(8) if targets[d]))
        ctx.set(dut.visited, sum(1 << d for d in range(8) if visited[d]))
        ctx.set(ctl.clear, 1)
        await ctx.tick()
        ctx.set(ctl.clear, 0)
        ctx.set(ctl.load, 1)
        ctx.set(rd.row, 1)
        ctx.set(rd.data, sum(s << (8 * d) for d, s in enumerate(syn)))
        await ctx.tick()
        ctx.set(rd.row, 0)
        for d in range(8):
            if not targets[d]:
                continue
            if gap:
                await ctx.tick().repeat(gap)
            ctx.set(rd.target, 1 << d)
            ctx.set(rd.threshold, 1)
            ctx.set(rd.data, codes[d] | 0xAB00)  # lanes above 0 are not the code
            await ctx.tick()
            ctx.set(rd.threshold, 0)
            ctx.set(rd.target, 0)
        ctx.set(ctl.load, 0)
        await ctx.tick()  # the last reading lands
        ctx.set(ctl.run, 1)
        cycles = 0
        while not ctx.get(ctl.end):
            await ctx.tick()
            cycles += 1
        out["win"] = ctx.get(dut.win)
        await ctx.tick()
        cycles += 1
        out["ticks"] = ctx.get(dut.ticks)
        out["win_reward"] = ctx.get(dut.win_reward)
        out["cycles"] = cycles

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    return out


def test_random_steps_fire_as_the_golden_model_integrates():
    c = CONFIG
    rng = np.random.default_rng(7)
    for trial in range(12):
        syn = [int(x) for x in rng.choice([0, 1, 7, 30, 90, 100, 255], size=8)]
        # codes around the class boundaries; a few targets off the grid
        codes = [int(x) for x in rng.choice([0, 39, 40, 119, 120, 159, 160, 255], size=8)]
        visited = [bool(x) for x in rng.random(8) < 0.2]
        targets = [bool(x) for x in rng.random(8) < 0.85]
        win, ticks = expected(c, syn, codes, visited, targets)
        got = run_step(c, syn, codes, visited, targets, gap=trial % 3)
        assert got["win"] == (0 if win < 0 else 1 << win), (trial, syn, codes, visited, targets)
        assert got["ticks"] == ticks
        assert got["cycles"] == ticks + 1  # a tick per cycle, the end seen a cycle later
        reward = win >= 0 and codes[win] >= c.code_reward_min and not visited[win]
        assert got["win_reward"] == reward


def test_ties_go_to_the_larger_code_then_the_lower_direction():
    c = CONFIG
    nominal = [c.code_nominal_min] * 8
    on = [True] * 8
    # 400 / 100 and 400 / 80 fire at tick 4 and 5; 400 / 200 and 400 / 134 both at 2
    got = run_step(c, [100, 80, 200, 134, 0, 0, 0, 0], nominal, [False] * 8, on)
    assert got["win"] == 1 << 2 and got["ticks"] == 2
    # equal codes: the lower direction
    got = run_step(c, [0, 0, 0, 50, 0, 50, 0, 0], nominal, [False] * 8, on)
    assert got["win"] == 1 << 3 and got["ticks"] == 8


def test_reward_fires_at_once_and_homeostasis_overrides_it():
    c = CONFIG
    codes = [c.code_reward_min] + [c.code_nominal_min] * 7
    syn = [1, 200, 0, 0, 0, 0, 0, 0]
    got = run_step(c, syn, codes, [False] * 8, [True] * 8)
    assert got["win"] == 1 and got["ticks"] == 1 and got["win_reward"] == 1
    # visited: homeo_th (1200) instead of REWARD's 0; 400 / 200 wins at tick 2
    got = run_step(c, syn, codes, [True] + [False] * 7, [True] * 8)
    assert got["win"] == 1 << 1 and got["ticks"] == 2 and got["win_reward"] == 0


@pytest.mark.parametrize("targets", [[False] * 8, [True] * 8])
def test_no_winner_by_the_tick_limit(targets):
    c = CONFIG  # max_ticks 60: a PENALTY threshold of 4000 with code 1 never fires
    got = run_step(c, [1] * 8, [0] * 8, [False] * 8, targets)
    assert got["win"] == 0 and got["ticks"] == c.max_ticks and got["win_reward"] == 0
