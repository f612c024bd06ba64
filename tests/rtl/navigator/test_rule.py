"""The learning-rule unit alone: its decisions against the golden model's
counters, and the device operations it prepares for each of its sweeps."""

from __future__ import annotations

import numpy as np
import pytest
from amaranth.sim import Simulator

from memrl.rtl.navigator.config import NEIGHBOURS, SLOTS, THR, NavigatorConfig
from memrl.rtl.navigator.port import RRAMOp
from memrl.rtl.navigator.rule import LearningRule, RuleControl

STROBES = [n for n, m in RuleControl().members.items() if m.flow.name == "Out"]


class Driver:
    def __init__(self, ctx, dut: LearningRule) -> None:  # noqa: ANN001
        self.ctx, self.dut = ctx, dut

    async def cycle(self, *strobes: str) -> None:
        """One cycle with ``strobes`` high (every other strobe low)."""
        for name in STROBES:
            self.ctx.set(getattr(self.dut.ctl, name), name in strobes)
        await self.ctx.tick()
        for name in strobes:
            self.ctx.set(getattr(self.dut.ctl, name), 0)

    def prepared(self) -> tuple[RRAMOp, int, int]:
        d = self.dut
        return RRAMOp(self.ctx.get(d.op)), self.ctx.get(d.addr), self.ctx.get(d.level)

    def verdict(self, moved=0, wall=0, corner=0, reward=0, goal=0) -> None:  # noqa: ANN001
        ctx, d = self.ctx, self.dut
        ctx.set(d.verdict.moved, moved)
        ctx.set(d.verdict.hit_wall, wall)
        ctx.set(d.verdict.hit_corner, corner)
        ctx.set(d.win_reward, reward)
        ctx.set(d.win_goal, goal)


def simulate(dut: LearningRule, bench) -> None:  # noqa: ANN001
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()


@pytest.mark.parametrize("exploit_limit", [0, 3])
def test_decisions_follow_the_golden_model_counters(exploit_limit):
    c = NavigatorConfig(height=5, width=5, exploit_limit=exploit_limit, stuck_steps=3)
    dut = LearningRule(c)
    rng = np.random.default_rng(exploit_limit)
    seen: set[str] = set()

    async def bench(ctx) -> None:  # noqa: ANN001
        drv = Driver(ctx, dut)
        ctl = dut.ctl
        ctx.set(dut.win_thr, 9 * 7 + THR)
        ctx.set(dut.win_syn, 9 * 6 + 2)
        for _trial in range(2):
            await drv.cycle("trial_start")
            exploit = stay = 0
            for _ in range(120):
                kind = rng.choice(["move", "move", "move", "wall", "corner", "none"])
                moved, wall, corner = kind == "move", kind == "wall", kind == "corner"
                reward, goal = bool(rng.random() < 0.6), bool(rng.random() < 0.05)
                drv.verdict(moved, wall, corner, reward, goal)
                # the golden model's rule (paper preset)
                exploit = exploit + 1 if moved and reward else 0
                forget = ((wall or corner) and reward) or (
                    exploit_limit > 0 and exploit > exploit_limit
                )
                if forget:
                    exploit = 0
                stay = 0 if moved else stay + 1
                stuck = stay >= c.stuck_steps
                if stuck:
                    stay = 0
                assert ctx.get(ctl.forget) == forget
                assert ctx.get(ctl.stuck_now) == stuck
                await drv.cycle("decide")
                assert ctx.get(ctl.stuck) == stuck
                assert ctx.get(ctl.at_goal) == (moved and goal)
                # the step's programming operation, prepared with the decisions
                if wall:
                    assert drv.prepared() == (RRAMOp.RESET, 9 * 7 + THR, c.rst_penalty)
                elif corner:
                    assert drv.prepared() == (RRAMOp.RESET, 9 * 6 + 2, c.rst_depress)
                elif moved:
                    assert drv.prepared() == (RRAMOp.SET, 9 * 6 + 2, c.lvl_potentiate)
                if forget:
                    seen.add("forget after a move" if moved else "forget after a hit")
                if stuck:
                    seen.add("stuck")

    simulate(dut, bench)
    want = {"forget after a hit", "stuck"} | ({"forget after a move"} if exploit_limit else set())
    assert seen == want


@pytest.mark.parametrize("init_synapses", [False, True])
def test_run_start_sets_every_threshold_then_the_synapses_place_by_place(init_synapses):
    c = NavigatorConfig(height=2, width=3, init_synapses=init_synapses)
    dut = LearningRule(c)

    async def bench(ctx) -> None:  # noqa: ANN001
        drv = Driver(ctx, dut)
        await drv.cycle("run_start")
        ops = []
        for _place in range(c.places):
            while True:
                await drv.cycle("init_set")
                ops.append(drv.prepared())
                last = ctx.get(dut.ctl.init_last)
                await drv.cycle("init_next")
                if last:
                    break
        want = []
        for p in range(c.places):
            want.append((RRAMOp.SET, SLOTS * p + THR, c.lvl_nominal))
            if init_synapses:
                want += [(RRAMOp.SET, SLOTS * p + d, c.lvl_potentiate) for d in range(8)]
        assert ops == want

    simulate(dut, bench)


def test_forgetting_sweep_reads_every_threshold_and_sets_recall():
    c = NavigatorConfig(height=2, width=3)
    dut = LearningRule(c)

    async def bench(ctx) -> None:  # noqa: ANN001
        drv = Driver(ctx, dut)
        await drv.cycle("decide")  # the sweep starts at place 0
        for p in range(c.places):
            await drv.cycle("forget_read")
            assert drv.prepared() == (RRAMOp.READ, SLOTS * p + THR, 0)
            for got in (c.code_reward_min - 1, c.code_reward_min):
                ctx.set(dut.got_code, got)
                assert ctx.get(dut.ctl.got_reward) == (got >= c.code_reward_min)
            await drv.cycle("forget_set")
            assert drv.prepared() == (RRAMOp.SET, SLOTS * p + THR, c.lvl_recall)
            await drv.cycle("forget_next")

    simulate(dut, bench)


@pytest.mark.parametrize("row, col", [(2, 3), (0, 0), (4, 2), (1, 5)])
def test_stuck_fallback_sets_the_on_grid_neighbourhood_row_major(row, col):
    c = NavigatorConfig(height=5, width=6)
    dut = LearningRule(c)
    here = row * c.width + col

    def on(dr: int, dc: int) -> bool:
        return 0 <= row + dr < c.height and 0 <= col + dc < c.width

    async def bench(ctx) -> None:  # noqa: ANN001
        drv = Driver(ctx, dut)
        ctx.set(dut.here_thr, SLOTS * here + THR)
        targets = [(-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1)]
        ctx.set(dut.targets, sum(1 << d for d, o in enumerate(targets) if on(*o)))
        await drv.cycle("decide")
        ops = []
        for _ in range(30):
            ctx.set(dut.ctl.nbr, 1)
            done, hit = ctx.get(dut.ctl.nbr_done), ctx.get(dut.ctl.nbr_on)
            await drv.cycle("nbr")
            if done:
                break
            if hit:
                await drv.cycle("nbr_set")
                ops.append(drv.prepared())
                await drv.cycle("nbr_next")
        want = [
            (RRAMOp.SET, SLOTS * (here + dr * c.width + dc) + THR, c.lvl_nominal)
            for dr, dc in NEIGHBOURS
            if on(dr, dc)
        ]
        assert ops == want

    simulate(dut, bench)


def test_reward_sets_the_last_k_places_oldest_first():
    c = NavigatorConfig(height=4, width=4, reward_k=4)
    dut = LearningRule(c)
    path = [5, 6, 10, 9, 13, 14]  # places moved to after the start, place 1

    async def bench(ctx) -> None:  # noqa: ANN001
        drv = Driver(ctx, dut)
        ctx.set(dut.here9, SLOTS * 1)
        await drv.cycle("traj_clear")
        for p in path:
            drv.verdict(moved=1)
            ctx.set(dut.win_thr, SLOTS * p + THR)
            await drv.cycle("book")
        drv.verdict(moved=0)
        ctx.set(dut.win_thr, SLOTS * 2 + THR)
        await drv.cycle("book")  # a step without a move adds nothing
        await drv.cycle("reward")
        await drv.cycle("reward_wrap")
        ops = []
        while True:
            await drv.cycle()  # the trajectory's read
            if ctx.get(dut.ctl.reward_done):
                break
            await drv.cycle("reward_set")
            ops.append(drv.prepared())
            await drv.cycle("reward_next")
        assert ops == [(RRAMOp.SET, SLOTS * p + THR, c.lvl_reward) for p in path[-4:]]

    simulate(dut, bench)
