"""The per-trial counters alone: steps, moves, hits, the goal flag, ticks and
device operations by kind (a READ_ROW counts eight reads)."""

from __future__ import annotations

import numpy as np
from amaranth.sim import Simulator

from memrl.rtl.navigator.config import NavigatorConfig
from memrl.rtl.navigator.counters import TrialCounters
from memrl.rtl.navigator.port import RRAMOp


def simulate(dut: TrialCounters, bench) -> None:  # noqa: ANN001
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()


def test_steps_moves_hits_and_the_last_step():
    dut = TrialCounters(NavigatorConfig(height=3, width=3))
    rng = np.random.default_rng(1)

    async def bench(ctx) -> None:  # noqa: ANN001
        ctl, v = dut.ctl, dut.verdict
        for max_steps in (5, 1, 12):
            ctx.set(dut.max_steps, max_steps)
            ctx.set(ctl.trial, 1)
            await ctx.tick()
            ctx.set(ctl.trial, 0)
            assert ctx.get(dut.steps) == ctx.get(dut.moves) == ctx.get(dut.hits) == 0
            assert ctx.get(dut.reached) == 0
            moves = hits = 0
            for step in range(1, max_steps + 1):
                kind = int(rng.integers(4))  # move, wall, corner, nothing
                ctx.set(v.moved, kind == 0)
                ctx.set(v.hit_wall, kind == 1)
                ctx.set(v.hit_corner, kind == 2)
                moves += kind == 0
                hits += kind in (1, 2)
                ctx.set(ctl.step, 1)
                await ctx.tick()
                ctx.set(ctl.step, 0)
                assert ctx.get(dut.steps) == step
                assert (ctx.get(dut.moves), ctx.get(dut.hits)) == (moves, hits)
                assert ctx.get(ctl.last_step) == (step == max_steps)
            ctx.set(ctl.goal, 1)
            await ctx.tick()
            ctx.set(ctl.goal, 0)
            assert ctx.get(dut.reached) == 1

    simulate(dut, bench)


def test_operations_and_ticks_are_counted_past_the_lower_part():
    dut = TrialCounters(NavigatorConfig(height=3, width=3, max_ticks=4095))
    rng = np.random.default_rng(2)
    ops = [RRAMOp.READ_ROW, RRAMOp.READ, RRAMOp.SET, RRAMOp.RESET, RRAMOp.VMM]

    async def bench(ctx) -> None:  # noqa: ANN001
        ctl = dut.ctl
        for _trial in range(2):
            ctx.set(ctl.clear, 1)
            await ctx.tick()
            ctx.set(ctl.clear, 0)
            ctx.set(dut.sent, 0)
            ctx.set(ctl.step, 0)
            await ctx.tick()  # the counters clear
            want = {"reads": 0, "sets": 0, "resets": 0, "ticks": 0}
            for _ in range(1200):  # past the 12-bit lower part
                op = ops[int(rng.choice(len(ops), p=[0.6, 0.1, 0.1, 0.1, 0.1]))]
                sent = bool(rng.random() < 0.9)
                ctx.set(dut.sent, sent)
                ctx.set(dut.sent_op, op.value)
                step = bool(rng.random() < 0.2)
                ctx.set(ctl.step, step)
                ctx.set(dut.step_ticks, 4095 if rng.random() < 0.5 else 3)
                if sent:
                    want["reads"] += {RRAMOp.READ_ROW: 8, RRAMOp.READ: 1}.get(op, 0)
                    want["sets"] += op == RRAMOp.SET
                    want["resets"] += op == RRAMOp.RESET
                if step:
                    want["ticks"] += ctx.get(dut.step_ticks)
                await ctx.tick()
            ctx.set(dut.sent, 0)
            ctx.set(ctl.step, 0)
            await ctx.tick().repeat(3)  # the last count lands, then its carry
            assert want["reads"] > 4096 and want["ticks"] > 4096
            assert {k: ctx.get(getattr(dut, k)) for k in want} == want

    simulate(dut, bench)
