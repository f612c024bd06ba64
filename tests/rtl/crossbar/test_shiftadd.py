"""The shift-and-add unit and the products by constants, in amaranth.sim."""

from __future__ import annotations

import numpy as np
import pytest
from amaranth import Module, Signal, signed
from amaranth.sim import Simulator

from memrl.rtl.crossbar.shiftadd import ShiftAdd, ShiftAddSignature, round_shift, times_const


def test_products_and_their_cycles():
    """``(a * b) >> shift`` for signed operands at their extremes and at random:
    ``steps + shift`` cycles after the start, held until the next start."""
    a_bits, steps = 12, 8
    dut = ShiftAdd(a_bits, steps, 3)
    assert dut.mul.signature == ShiftAddSignature(a_bits, steps, 3).flip()
    rng = np.random.default_rng(1)
    a_lim, b_lim = 1 << (a_bits - 1), 1 << (steps - 1)
    cases = [(a_lim - 1, b_lim - 1, 0), (-a_lim, -b_lim, 0), (-a_lim, b_lim - 1, 7), (0, -1, 2),
             (5, 0, 1), (-1, -1, 0)]  # fmt: skip
    cases += [(int(rng.integers(-a_lim, a_lim)), int(rng.integers(-b_lim, b_lim)),
               int(rng.integers(0, 8))) for _ in range(40)]  # fmt: skip

    async def bench(ctx):
        for a, b, sh in cases:
            assert ctx.get(dut.mul.idle)
            ctx.set(dut.mul.start, 1)
            ctx.set(dut.mul.a, a)
            ctx.set(dut.mul.b, b)
            ctx.set(dut.mul.shift, sh)
            await ctx.tick()
            ctx.set(dut.mul.start, 0)
            cycles = 0
            while not ctx.get(dut.mul.idle):
                await ctx.tick()
                cycles += 1
            assert cycles == steps + sh
            assert ctx.get(dut.mul.p) == (a * b) >> sh, (a, b, sh)
            await ctx.tick()
            assert ctx.get(dut.mul.p) == (a * b) >> sh  # held

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()


@pytest.mark.parametrize("shifts", [True, False])
def test_times_const_and_round_shift(shifts):
    """``times_const``: ``x * n`` as a sum of shifts or a product; ``round_shift``
    equals ``(p + 2**(s-1)) >> s``."""
    x = Signal(10)
    p = Signal(signed(16))
    prods = {n: Signal(24, name=f"x_times_{n}") for n in (0, 1, 3, 64, 99)}
    rounded = Signal(signed(16))
    m = Module()
    m.d.comb += [prods[n].eq(times_const(x, n, shifts)) for n in prods]
    m.d.comb += rounded.eq(round_shift(p, 4))

    async def bench(ctx):
        for v in (0, 1, 517, 1023):
            ctx.set(x, v)
            for n, sig in prods.items():
                assert ctx.get(sig) == v * n
        for v in (-32768, -9, -8, -7, 0, 7, 8, 9, 32767):
            ctx.set(p, v)
            assert ctx.get(rounded) == (v + 8) >> 4

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()
