"""The output stage in amaranth.sim: activations, actions and kept maxima against the
formula, with multipliers and with the shift-and-add unit, and its cycles."""

from __future__ import annotations

import numpy as np
import pytest
from amaranth import Elaboratable, Module, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.sim import Simulator

from memrl.rtl.crossbar.config import CrossbarEngineConfig, XbarLayer
from memrl.rtl.crossbar.output import OutputStage
from memrl.rtl.crossbar.shiftadd import ShiftAdd

HIDDEN = XbarLayer(3, 5, 0, 0, True, 16, 3_000_000)
LAST = XbarLayer(5, 3, 6, 0, False, 8, 2_500_000)


def _config(serial: bool) -> CrossbarEngineConfig:
    return CrossbarEngineConfig(layers=(HIDDEN, LAST), rows=16, cols=8, max_batch=4, max_program=16,
                                readback_cols=8, serial_products=serial)  # fmt: skip


class _Bench(Elaboratable):
    """The output stage with its memories (and its shift-and-add unit)."""

    def __init__(self, c: CrossbarEngineConfig, sums, steps, bias, mags) -> None:  # noqa: ANN001
        MB, W = c.max_batch, c.width
        self.c = c
        self.dut = OutputStage(c)
        self.sums = Memory(shape=signed(c.code_bits), depth=MB * W, init=sums)
        self.steps = Memory(shape=unsigned(c.step_bits), depth=MB * W, init=steps)
        self.bias = Memory(shape=signed(c.act_bits), depth=c.n_bias + 1, init=bias)
        self.mags = Memory(shape=unsigned(c.mag_bits), depth=MB, init=mags)
        self.act = Memory(shape=signed(c.act_bits), depth=2 * MB * W, init=[])
        self.kept = Memory(shape=unsigned(c.mag_bits), depth=MB, init=[])

    def elaborate(self, platform: object) -> Module:
        m = Module()
        d = self.dut
        m.submodules += [d, self.sums, self.steps, self.bias, self.mags, self.act, self.kept]
        for member, mem in ((d.sums, self.sums), (d.steps, self.steps), (d.bias, self.bias),
                            (d.mags, self.mags)):  # fmt: skip
            wiring.connect(m, member, mem.read_port())
        wiring.connect(m, d.act, self.act.write_port())
        wiring.connect(m, d.kept_m, self.kept.write_port())
        if self.c.serial_products:
            sig = d.mul.signature
            m.submodules.mul = mul = ShiftAdd(sig.a_bits, sig.steps, sig.shift_bits)
            wiring.connect(m, d.mul, mul.mul)
        return m


def _outputs(c: CrossbarEngineConfig, ly: XbarLayer, last: bool, rl: int, csum, e, b, mag):  # noqa: ANN001, ANN201
    """y = sat(((c * m * k + half) >> (K + n)) + b), ReLU unless last."""
    K = c.scale_bits
    x = csum << e if rl == 0 else csum
    z = (x * mag[:, None] * ly.k + (1 << (K + rl - 1))) >> (K + rl)
    return np.clip(z + b[None, :], -c.act_max if last else 0, c.act_max)


@pytest.mark.parametrize("serial", [False, True])
@pytest.mark.parametrize(("last", "rl"), [(False, 0), (True, 2)])
def test_outputs_actions_and_maxima(serial, last, rl):
    """A hidden layer after one read (codes at their gain steps) and the last
    layer after four (summed at the top gain), outputs saturating at both
    ends and a tie for the largest Q-value; ``dout`` ready at random. Outputs
    go to the other bank, a hidden layer's maxima to the kept memory."""
    c = _config(serial)
    MB, W = c.max_batch, c.width
    ly, b_off = (LAST, HIDDEN.n_out) if last else (HIDDEN, 0)
    rng = np.random.default_rng(7 + rl)
    count, bank = 3, 1
    e = rng.integers(0, ly.e_max + 1, (MB, W)) if rl == 0 else np.zeros((MB, W), np.int64)
    lim = (1 << (c.adc_bits - 1)) if rl == 0 else (1 << (c.adc_bits + ly.e_max + rl - 1))
    csum = rng.integers(-lim, lim, (MB, W))
    bias = rng.integers(-(1 << 20), 1 << 20, c.n_bias + 1)
    mags = rng.integers(0, c.act_max + 1, MB)
    mags[1] = 0  # an all-zero input: every output is its bias
    if last:
        csum[2, :3] = [100, 100, -7]
        e[2, :3] = 0
        bias[b_off : b_off + 3] = 0  # sample 2: a tie for the largest
    bench = _Bench(c, csum.ravel().tolist(), e.ravel().tolist(), bias.tolist(), mags.tolist())
    dut = bench.dut
    y = _outputs(c, ly, last, rl, csum[:count, : ly.n_out], e[:count, : ly.n_out],
                 bias[b_off : b_off + ly.n_out], mags[:count])  # fmt: skip
    assert y.max() == c.act_max and y.min() == (-c.act_max if last else 0)
    want = []
    for s in range(count):
        want += y[s].tolist() + ([int(np.argmax(y[s]))] if last else [])
    got = []

    async def bench_(ctx):
        for name, v in (("count", count), ("reads_log2", rl), ("n_out", ly.n_out), ("k", ly.k),
                        ("b_off", b_off), ("last", last), ("bank", bank), ("en", 1)):  # fmt: skip
            ctx.set(getattr(dut, name), v)
        while not ctx.get(dut.drained):
            ready = rng.random() < 0.6
            ctx.set(dut.dout.ready, ready)
            if ready and ctx.get(dut.dout.valid):
                got.append(ctx.get(dut.dout.payload))
            await ctx.tick()
        ctx.set(dut.en, 0)
        await ctx.tick()
        assert not ctx.get(dut.dout.valid) and ctx.get(dut.dout.payload) == 0
        other = (1 - bank) * MB * W
        for s in range(count):
            row = [ctx.get(bench.act.data[other + s * W + j]) for j in range(ly.n_out)]
            assert row == y[s].tolist()
            if not last:
                assert ctx.get(bench.kept.data[s]) == y[s].max()

    sim = Simulator(bench)
    sim.add_clock(1e-6)
    sim.add_testbench(bench_)
    sim.run()
    assert got == want
    if last:
        assert want[2 * (ly.n_out + 1) + ly.n_out] == 0  # the first of the tied


@pytest.mark.parametrize("serial", [False, True])
def test_cycles_per_output(serial):
    """With ``dout`` always ready: one output per cycle through the five
    stages; with the shift-and-add unit one per ``53 + n`` cycles (24-bit
    products: fetch, start, ``c * m``, ``(c * m) * k`` shifted ``n`` more,
    out)."""
    c = _config(serial)
    count, rl = 4, 3
    slots = LAST.n_out + 1
    bench = _Bench(c, [], [], [], [])
    dut = bench.dut
    cycles = []

    async def bench_(ctx):
        for name, v in (("count", count), ("reads_log2", rl), ("n_out", LAST.n_out),
                        ("k", LAST.k), ("last", 1), ("en", 1)):  # fmt: skip
            ctx.set(getattr(dut, name), v)
        ctx.set(dut.dout.ready, 1)
        n = 0
        while not ctx.get(dut.drained):
            await ctx.tick()
            n += 1
        cycles.append(n)

    sim = Simulator(bench)
    sim.add_clock(1e-6)
    sim.add_testbench(bench_)
    sim.run()
    per = 2 * c.act_bits + 5 + rl if serial else 1
    assert cycles == [count * slots * per + (0 if serial else 5)]
