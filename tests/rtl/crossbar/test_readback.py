"""Read-back in amaranth.sim: READ's device words and codes, READ_ROWS's one-hot VMMs."""

from __future__ import annotations

import numpy as np
import pytest
from amaranth.sim import Simulator

from memrl.rtl.crossbar.config import CrossbarEngineConfig, XbarLayer, device_word
from memrl.rtl.crossbar.port import XbarOp
from memrl.rtl.crossbar.readback import ReadBack


def _config(serial: bool = False) -> CrossbarEngineConfig:
    return CrossbarEngineConfig(layers=(XbarLayer(4, 3, 0, 0, True, 16, 1000),), rows=16,
                                cols=8, max_batch=4, max_program=16, readback_cols=6,
                                readback_gain=4, serial_products=serial)  # fmt: skip


def _run(dut: ReadBack, commands: list, rng: np.random.Generator) -> list:
    """Run ``(rows, words, n_codes)`` commands, the port answering one code per
    READ word and ``readback_cols`` per VMM (the word's index as the code's low
    bits, random high bits); return per command the words sent and codes out."""
    c = dut.config
    code_bits = c.port_signature().code_bits
    results = []

    async def bench(ctx):
        for rows, words, _ in commands:
            assert not ctx.get(dut.req.valid) and ctx.get(dut.req.payload.as_value()) == 0
            assert not ctx.get(dut.dout.valid) and not ctx.get(dut.codes.ready)
            ctx.set(dut.count, len(words))
            ctx.set(dut.rows, rows)
            ctx.set(dut.start, 1)
            await ctx.tick()
            ctx.set(dut.start, 0)
            queue, answers, sent, out = list(words), [], [], []
            while True:
                valid = bool(queue) and rng.random() < 0.7
                ready = rng.random() < 0.7
                rvalid = bool(answers) and rng.random() < 0.7
                ctx.set(dut.din.valid, valid)
                ctx.set(dut.din.payload, queue[0] if queue else 0)
                ctx.set(dut.req.ready, ready)
                ctx.set(dut.codes.valid, rvalid)
                ctx.set(dut.codes.payload, answers[0] if answers else 0)
                ctx.set(dut.dout.ready, rng.random() < 0.7)
                if rvalid and ctx.get(dut.codes.ready):
                    assert ctx.get(dut.dout.valid)
                    out.append((answers.pop(0), ctx.get(dut.dout.payload)))
                if valid and ctx.get(dut.din.ready):
                    queue.pop(0)
                if ready and ctx.get(dut.req.valid):
                    p = dut.req.payload
                    word = tuple(ctx.get(f) for f in (p.op, p.row, p.col, p.arg, p.last))
                    sent.append(word)
                    n = {XbarOp.READ: 1, XbarOp.VMM: c.readback_cols}.get(word[0], 0)
                    answers += [int(rng.integers(0, 1 << code_bits)) for _ in range(n)]
                done = ctx.get(dut.done)
                await ctx.tick()
                if done:
                    break
            assert not answers
            ctx.set(dut.codes.valid, 0)
            results.append((sent, out))

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    return results


@pytest.mark.parametrize("serial", [False, True])
def test_read_and_read_rows(serial):
    """READ: a READ word per device (``last`` on the final one), the read codes
    out unchanged. READ_ROWS: per row a ROW word at the DAC's full scale, a GAIN
    word per read-back column at the read-back gain, a VMM (``last`` on the
    final row); the column codes out sign-extended from the ADC's width. The
    streams stall at random on every side; ``done`` ends each command."""
    c = _config(serial)
    dut = ReadBack(c)
    rng = np.random.default_rng(4)
    devices = [(int(rng.integers(0, c.rows)), int(rng.integers(0, c.cols))) for _ in range(7)]
    rows = [1, 4, 5, 15]
    commands = [(0, [device_word(c, r, col) for r, col in devices], len(devices)),
                (1, rows, len(rows) * c.readback_cols), (0, [device_word(c, 3, 2)], 1)]  # fmt: skip
    results = _run(dut, commands, rng)
    adc = c.adc_bits

    def signed_code(x: int) -> int:
        x &= (1 << adc) - 1
        return x - (1 << adc) if x >> (adc - 1) else x

    for (rows_, words, n), (sent, out) in zip(commands, results, strict=True):
        assert len(out) == n
        if rows_:
            want = []
            for i, r in enumerate(words):
                want.append((XbarOp.ROW, r, 0, c.dac_max, 0))
                want += [(XbarOp.GAIN, 0, j, c.readback_gain, 0) for j in range(c.readback_cols)]
                want.append((XbarOp.VMM, 0, 0, 0, int(i == len(words) - 1)))
            assert sent == want
            assert all(y == signed_code(x) for x, y in out)
        else:
            assert sent == [(XbarOp.READ, *divmod(w, 1 << c.port_signature().col_bits), 0,
                             int(i == len(words) - 1)) for i, w in enumerate(words)]  # fmt: skip
            assert all(y == x for x, y in out)
