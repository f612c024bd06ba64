"""The trajectory ring alone: the last ``depth`` entries, replayed oldest first."""

from __future__ import annotations

import pytest
from amaranth.sim import Simulator

from memrl.rtl.navigator.trajectory import Trajectory


async def pulse(ctx, sig) -> None:  # noqa: ANN001
    """One cycle with ``sig`` high."""
    ctx.set(sig, 1)
    await ctx.tick()
    ctx.set(sig, 0)


async def replay(ctx, dut: Trajectory) -> list[int]:  # noqa: ANN001
    """The replay as the rule runs it: rewind, wrap, then per entry a cycle to
    read it and one to act on it."""
    await pulse(ctx, dut.rewind)
    await pulse(ctx, dut.wrap)
    out = []
    while True:
        await ctx.tick()  # the read port's cycle
        if ctx.get(dut.done):
            return out
        out.append(ctx.get(dut.entry))
        await pulse(ctx, dut.next)


@pytest.mark.parametrize("depth", [1, 4, 7])
@pytest.mark.parametrize("pushes", [0, 2, 6, 15])
def test_replay_is_the_last_entries_oldest_first(depth, pushes):
    dut = Trajectory(depth, 12)

    async def bench(ctx) -> None:  # noqa: ANN001
        for trial in range(2):  # the second trial starts from a restart, not empty
            first = 1000 + trial
            ctx.set(dut.data, first)
            await pulse(ctx, dut.restart)
            entries = [first]
            for i in range(pushes):
                ctx.set(dut.data, 10 * trial + i)
                await pulse(ctx, dut.push)
                entries.append(10 * trial + i)
            ctx.set(dut.data, 0)
            assert await replay(ctx, dut) == entries[-depth:]

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
