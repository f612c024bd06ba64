"""The pass issuer in amaranth.sim: a pass's ROW, GAIN and VMM words and gain steps."""

from __future__ import annotations

import numpy as np
from amaranth import Elaboratable, Module, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.sim import Simulator

from memrl.rtl.crossbar.config import CrossbarEngineConfig, PassKind, XbarLayer
from memrl.rtl.crossbar.issuer import PassIssuer
from memrl.rtl.crossbar.port import XbarOp

VERTICAL = XbarLayer(3, 4, 2, 1, True, 16, 1000)
HORIZONTAL = XbarLayer(4, 2, 9, 6, False, 8, 1000)


def _config() -> CrossbarEngineConfig:
    return CrossbarEngineConfig(layers=(VERTICAL, HORIZONTAL), rows=16, cols=12, max_batch=4,
                                max_program=16, readback_cols=8)  # fmt: skip


class _Bench(Elaboratable):
    """The issuer with its row-code, column-code and gain-step memories."""

    def __init__(self, c: CrossbarEngineConfig, codes: list[int], sums: list[int]) -> None:
        MB, W = c.max_batch, c.width
        self.dut = PassIssuer(c)
        self.codes = Memory(shape=signed(c.dac_bits), depth=MB * W, init=codes)
        self.sums = Memory(shape=signed(c.code_bits), depth=MB * W, init=sums)
        self.steps = Memory(shape=unsigned(c.step_bits), depth=MB * W, init=[])

    def elaborate(self, platform: object) -> Module:
        m = Module()
        m.submodules += [self.dut, self.codes, self.sums, self.steps]
        wiring.connect(m, self.dut.codes, self.codes.read_port())
        wiring.connect(m, self.dut.sums, self.sums.read_port())
        wiring.connect(m, self.dut.steps, self.steps.read_port())
        wiring.connect(m, self.dut.steps_w, self.steps.write_port())
        return m


def _words(c: CrossbarEngineConfig, ly: XbarLayer, d: np.ndarray, e: np.ndarray,
           samples: list[int], last: int) -> list[tuple]:  # fmt: skip
    """The words of a pass over ``samples``: (op, row, col, arg, last)."""
    mask = (1 << c.port_signature().arg_bits) - 1
    words = []
    for s in samples:
        for i in range(ly.n_in):
            if ly.vertical:
                r, x = ly.row0 + 2 * i, int(d[s, i])
                words += [(XbarOp.ROW, r, 0, x & mask, 0), (XbarOp.ROW, r + 1, 0, -x & mask, 0)]
            else:
                words.append((XbarOp.ROW, ly.row0 + i, 0, int(d[s, i]) & mask, 0))
        for j in range(ly.n_out):
            col = ly.col0 + (j if ly.vertical else 2 * j)
            words.append((XbarOp.GAIN, 0, col, ly.gain >> int(e[s, j]), 0))
        words.append((XbarOp.VMM, 0, 0, int(not ly.vertical), int(s == last)))
    return words


def test_passes_send_rows_gains_and_vmms():
    """A FIRST pass on vertical pairs (each row code and its negation, the top
    gain, steps stored as 0), a RANGE pass over two flagged samples (saturated
    columns one gain step down, but not below the lowest), a READ pass on
    horizontal pairs at the stored steps. The port refuses words at random;
    while idle the issuer's request is all zero."""
    c = _config()
    MB, W, end = c.max_batch, c.width, c.adc_end
    rng = np.random.default_rng(2)
    d = rng.integers(-c.dac_max, c.dac_max + 1, (MB, W))
    sums = rng.integers(-end + 1, end, (MB, W))
    sums[0, 1], sums[2, 3], sums[2, 0] = end, -end, end + 3
    bench = _Bench(c, d.ravel().tolist(), sums.ravel().tolist())
    dut = bench.dut
    count = 3
    e = np.zeros((MB, W), dtype=np.int64)

    async def run_pass(ctx, ly: XbarLayer, kind: PassKind, flags: int = 0, last: int = 0):
        for name in ("n_in", "n_out", "row0", "col0", "vertical", "gain", "e_max"):
            ctx.set(getattr(dut, name), getattr(ly, name))
        ctx.set(dut.kind, kind)
        ctx.set(dut.flags, flags)
        ctx.set(dut.last, last)
        assert not ctx.get(dut.req.valid) and ctx.get(dut.req.payload.as_value()) == 0
        ctx.set(dut.start, 1)
        await ctx.tick()
        ctx.set(dut.start, 0)
        got = []
        while not ctx.get(dut.done):
            ready = rng.random() < 0.7
            ctx.set(dut.req.ready, ready)
            if ready and ctx.get(dut.req.valid):
                p = dut.req.payload
                got.append(tuple(ctx.get(f) for f in (p.op, p.row, p.col, p.arg, p.last)))
            await ctx.tick()
        await ctx.tick()
        return got

    async def bench_(ctx):
        ctx.set(dut.count, count)
        got = await run_pass(ctx, VERTICAL, PassKind.FIRST)
        assert got == _words(c, VERTICAL, d, e, list(range(count)), count - 1)
        for s in range(count):
            for j in range(VERTICAL.n_out):
                assert ctx.get(bench.steps.data[s * W + j]) == 0

        # RANGE over samples 0 and 2: the saturated columns (0, 1), (2, 0) and
        # (2, 3) step down, but (2, 3) is at the lowest gain already
        e[2, 3] = VERTICAL.e_max
        ctx.set(bench.steps.data[2 * W + 3], VERTICAL.e_max)
        e[0, 1], e[2, 0] = 1, 1
        got = await run_pass(ctx, VERTICAL, PassKind.RANGE, flags=0b101, last=2)
        assert got == _words(c, VERTICAL, d, e, [0, 2], 2)
        for s in range(count):
            for j in range(VERTICAL.n_out):
                assert ctx.get(bench.steps.data[s * W + j]) == e[s, j], (s, j)

        steps = rng.integers(0, HORIZONTAL.e_max + 1, (MB, W))
        for s in range(count):
            for j in range(HORIZONTAL.n_out):
                ctx.set(bench.steps.data[s * W + j], int(steps[s, j]))
        got = await run_pass(ctx, HORIZONTAL, PassKind.READ)
        assert got == _words(c, HORIZONTAL, d, steps, list(range(count)), count - 1)
        assert not ctx.get(dut.req.valid) and ctx.get(dut.req.payload.as_value()) == 0

    sim = Simulator(bench)
    sim.add_clock(1e-6)
    sim.add_testbench(bench_)
    sim.run()
