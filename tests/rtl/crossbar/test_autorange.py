"""The autorange in amaranth.sim: a layer's passes of codes, flags and sums."""

from __future__ import annotations

import numpy as np
from amaranth import Elaboratable, Module, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.sim import Simulator

from memrl.rtl.crossbar.autorange import Autorange
from memrl.rtl.crossbar.config import CrossbarEngineConfig, PassKind, XbarLayer

LAYER = XbarLayer(4, 3, 0, 0, True, 16, 1000)  # gain steps 0 .. 4


def _config() -> CrossbarEngineConfig:
    return CrossbarEngineConfig(layers=(LAYER,), rows=16, cols=8, max_batch=4, max_program=16,
                                readback_cols=8)  # fmt: skip


class _Bench(Elaboratable):
    """The autorange with its column-code and gain-step memories."""

    def __init__(self, c: CrossbarEngineConfig) -> None:
        MB, W = c.max_batch, c.width
        self.dut = Autorange(c)
        self.sums = Memory(shape=signed(c.code_bits), depth=MB * W, init=[])
        self.steps = Memory(shape=unsigned(c.step_bits), depth=MB * W, init=[])

    def elaborate(self, platform: object) -> Module:
        m = Module()
        m.submodules += [self.dut, self.sums, self.steps]
        wiring.connect(m, self.dut.sums, self.sums.read_port())
        wiring.connect(m, self.dut.sums_w, self.sums.write_port())
        wiring.connect(m, self.dut.steps, self.steps.read_port())
        return m


def test_passes_flag_saturated_columns_and_sum_reads():
    """A FIRST pass (two samples saturate, at the ADC's positive and negative
    end), a RANGE pass over those two (one saturates again; a column at the
    lowest gain does not count), then two READ passes: the first scales the
    stored code to the top gain's, both add the new code at its gain step.
    The codes come with random gaps; ``done`` holds until ``ack``."""
    c = _config()
    W, end, n_out = c.width, c.adc_end, LAYER.n_out
    bench = _Bench(c)
    dut = bench.dut
    rng = np.random.default_rng(5)
    count = 4
    steps = np.zeros((count, n_out), dtype=np.int64)
    sums = np.zeros((count, n_out), dtype=np.int64)
    record = []

    async def run_pass(ctx, kind: PassKind, rescale: bool, codes: dict[int, list[int]]) -> None:
        ctx.set(dut.kind, kind)
        ctx.set(dut.rescale, rescale)
        ctx.set(dut.start, 1)
        await ctx.tick()
        ctx.set(dut.start, 0)
        queue = [x for s in sorted(codes) for x in codes[s]]
        while not ctx.get(dut.done):
            valid = bool(queue) and rng.random() < 0.6
            ctx.set(dut.codes.valid, valid)
            ctx.set(dut.codes.payload, (queue[0] if queue else 0) & ((1 << c.adc_bits) - 1))
            if valid and ctx.get(dut.codes.ready):
                queue.pop(0)
            await ctx.tick()
        assert not queue
        ctx.set(dut.codes.valid, 0)
        await ctx.tick()
        assert ctx.get(dut.done)  # held until ack
        ctx.set(dut.ack, 1)
        await ctx.tick()
        ctx.set(dut.ack, 0)
        assert not ctx.get(dut.done)
        for s in range(count):
            for j in range(n_out):
                assert ctx.get(bench.sums.data[s * W + j]) == sums[s, j], (kind, s, j)
        record.append((ctx.get(dut.any), ctx.get(dut.flags), ctx.get(dut.last)))

    async def bench_(ctx):
        ctx.set(dut.count, count)
        ctx.set(dut.n_out, n_out)
        ctx.set(dut.e_max, LAYER.e_max)
        first = {s: [int(x) for x in rng.integers(-end + 1, end, n_out)] for s in range(count)}
        first[1][2] = end
        first[2][0] = -end - 1  # the ADC's most negative code
        sums[...] = [first[s] for s in range(count)]
        await run_pass(ctx, PassKind.FIRST, False, first)

        # the issuer stepped the saturated columns down; column 1 of sample 1
        # is at the lowest gain already
        for s, j, e in ((1, 2, 1), (2, 0, 1), (1, 1, LAYER.e_max)):
            steps[s, j] = e
            ctx.set(bench.steps.data[s * W + j], e)
        ranged = {1: [5, end, end], 2: [-end + 1, 0, 1]}
        for s, codes in ranged.items():
            sums[s] = codes
        await run_pass(ctx, PassKind.RANGE, False, ranged)

        for rescale in (True, False):
            more = {s: [int(x) for x in rng.integers(-end, end, n_out)] for s in range(count)}
            old = sums << steps if rescale else sums
            sums[...] = old + (np.array([more[s] for s in range(count)]) << steps)
            await run_pass(ctx, PassKind.READ, rescale, more)

    sim = Simulator(bench)
    sim.add_clock(1e-6)
    sim.add_testbench(bench_)
    sim.run()
    assert record == [(1, 0b0110, 2), (1, 0b0010, 1), (0, 0, 0), (0, 0, 0)]
