"""The DAC scaler in amaranth.sim: row codes and m against the formula, and its cycles."""

from __future__ import annotations

import numpy as np
import pytest
from amaranth import Elaboratable, Module, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.sim import Simulator

from memrl.rtl.crossbar.config import CrossbarEngineConfig, XbarLayer
from memrl.rtl.crossbar.dac import DacScaler
from memrl.rtl.crossbar.shiftadd import ShiftAdd


def _config(serial: bool) -> CrossbarEngineConfig:
    layers = (XbarLayer(5, 3, 0, 0, True, 16, 1000), XbarLayer(3, 2, 10, 0, False, 8, 1000))
    return CrossbarEngineConfig(layers=layers, rows=16, cols=8, max_batch=4, max_program=16,
                                readback_cols=8, serial_products=serial)  # fmt: skip


class _Bench(Elaboratable):
    """The scaler with its memories (and its shift-and-add unit)."""

    def __init__(self, c: CrossbarEngineConfig, acts: list[int], kept: list[int]) -> None:
        MB, W = c.max_batch, c.width
        self.c = c
        self.dut = DacScaler(c)
        self.act = Memory(shape=signed(c.act_bits), depth=2 * MB * W, init=acts)
        self.kept = Memory(shape=unsigned(c.mag_bits), depth=MB, init=kept)
        self.codes = Memory(shape=signed(c.dac_bits), depth=MB * W, init=[])
        self.mags = Memory(shape=unsigned(c.mag_bits), depth=MB, init=[])

    def elaborate(self, platform: object) -> Module:
        m = Module()
        m.submodules += [self.dut, self.act, self.kept, self.codes, self.mags]
        wiring.connect(m, self.dut.act, self.act.read_port())
        wiring.connect(m, self.dut.kept_m, self.kept.read_port())
        wiring.connect(m, self.dut.codes, self.codes.write_port())
        wiring.connect(m, self.dut.mags, self.mags.write_port())
        if self.c.serial_products:
            sig = self.dut.mul.signature
            m.submodules.mul = mul = ShiftAdd(sig.a_bits, sig.steps, sig.shift_bits)
            wiring.connect(m, self.dut.mul, mul.mul)
        return m


def _scale(c: CrossbarEngineConfig, a: np.ndarray, m: int) -> list[int]:
    """The golden model's row codes: r = floor(D * 2**R / m), d = (a*r + half) >> R."""
    R = c.recip_bits
    r = (c.dac_max << R) // m if m else 0
    return [(int(x) * r + (1 << (R - 1))) >> R for x in a]


@pytest.mark.parametrize("serial", [False, True])
@pytest.mark.parametrize("kept", [False, True])
def test_row_codes_and_cycles(serial, kept):
    """Samples of both banks, one all zero (m = 0, r = 0), inputs at the
    activations' full scale; ``m`` scanned or kept (the kept one above the
    inputs' maximum, as a hidden layer's ReLU outputs allow). ``done`` comes
    the samples' cycles after ``start``; per sample: the scan, one per
    numerator bit and one more, the products."""
    c = _config(serial)
    MB, W, n_in = c.max_batch, c.width, c.layers[0].n_in
    rng = np.random.default_rng(3)
    acts = rng.integers(-c.act_max, c.act_max + 1, 2 * MB * W)
    acts[MB * W + 1 * W : MB * W + 2 * W] = 0  # bank 1, sample 1: all zero
    acts[MB * W + 2 * W] = -c.act_max
    maxima = [
        int(np.abs(acts[b * MB * W + s * W :][:n_in]).max()) for b in (0, 1) for s in range(MB)
    ]
    extra = rng.integers(0, 1000, MB)
    kept_m = [
        min(maxima[MB + s] + int(extra[s]), c.act_max) if maxima[MB + s] else 0 for s in range(MB)
    ]
    bench = _Bench(c, acts.tolist(), kept_m)
    dut = bench.dut
    count = 3
    n_num_bits = (c.dac_max << c.recip_bits).bit_length()
    per_input = c.act_bits + 3 if serial else 1
    per_sample = (2 if kept else n_in + 1) + n_num_bits + 1 + n_in * per_input
    per_sample += 0 if serial else 3
    got_cycles = []

    async def bench_(ctx):
        ctx.set(dut.count, count)
        ctx.set(dut.n_in, n_in)
        ctx.set(dut.bank, 1)
        ctx.set(dut.kept, kept)
        for _ in range(2):  # twice: the scaler returns to its start
            ctx.set(dut.start, 1)
            await ctx.tick()
            ctx.set(dut.start, 0)
            n = 1
            while not ctx.get(dut.done):
                await ctx.tick()
                n += 1
            await ctx.tick()
            got_cycles.append(n)

        for s in range(count):
            m = kept_m[s] if kept else maxima[MB + s]
            assert ctx.get(bench.mags.data[s]) == m
            a = acts[MB * W + s * W :][:n_in]
            want = _scale(c, a, m)
            assert [ctx.get(bench.codes.data[s * W + j]) for j in range(n_in)] == want
            assert all(abs(d) <= c.dac_max for d in want)

    sim = Simulator(bench)
    sim.add_clock(1e-6)
    sim.add_testbench(bench_)
    sim.run()
    assert got_cycles == [count * per_sample] * 2  # done, after start
