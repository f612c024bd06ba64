"""The programming sequencer in amaranth.sim: RESETs of the flagged entries, then SETs."""

from __future__ import annotations

import numpy as np
import pytest
from amaranth.sim import Simulator

from memrl.rtl.crossbar.config import CrossbarEngineConfig, XbarLayer, program_entry
from memrl.rtl.crossbar.port import XbarOp
from memrl.rtl.crossbar.sequencer import ProgramSequencer


def _config() -> CrossbarEngineConfig:
    return CrossbarEngineConfig(layers=(XbarLayer(4, 3, 0, 0, True, 16, 1000),), rows=16,
                                cols=8, max_batch=4, max_program=16, readback_cols=8)  # fmt: skip


@pytest.mark.parametrize("flags", ["some", "none", "all"])
def test_resets_then_sets_in_list_order(flags):
    """Entries in with gaps; the flagged devices RESET in list order (one run,
    ``last`` on the last flagged), then every device SET with its code (one
    run); none flagged: no RESET word. The port refuses words at random; while
    idle the request is all zero. Twice: the sequencer returns to its start."""
    c = _config()
    dut = ProgramSequencer(c)
    rng = np.random.default_rng({"some": 1, "none": 2, "all": 3}[flags])
    runs = []
    for n in (c.max_program, 5):
        row, col = rng.integers(0, c.rows, n), rng.integers(0, c.cols, n)
        code = rng.integers(0, 1 << c.vg_bits, n)
        flag = {"some": rng.random(n) < 0.4, "none": np.zeros(n, bool), "all": np.ones(n, bool)}
        flag = flag[flags].astype(np.int64)
        words = program_entry(c, row, col, code, flag).tolist()
        reset = [(XbarOp.RESET, int(row[i]), int(col[i]), 0, 0) for i in np.flatnonzero(flag)]
        if reset:
            reset[-1] = (*reset[-1][:4], 1)
        sets = [(XbarOp.SET, int(row[i]), int(col[i]), int(code[i]), int(i == n - 1))
                for i in range(n)]  # fmt: skip
        runs.append((words, reset + sets))
    got_runs = []

    async def bench(ctx):
        for words, _ in runs:
            assert not ctx.get(dut.req.valid) and ctx.get(dut.req.payload.as_value()) == 0
            ctx.set(dut.count, len(words))
            ctx.set(dut.start, 1)
            await ctx.tick()
            ctx.set(dut.start, 0)
            queue, got = list(words), []
            while True:
                valid = bool(queue) and rng.random() < 0.7
                ctx.set(dut.entries.valid, valid)
                ctx.set(dut.entries.payload, queue[0] if queue else 0)
                if valid and ctx.get(dut.entries.ready):
                    queue.pop(0)
                ready = rng.random() < 0.7
                ctx.set(dut.req.ready, ready)
                if ready and ctx.get(dut.req.valid):
                    p = dut.req.payload
                    got.append(tuple(ctx.get(f) for f in (p.op, p.row, p.col, p.arg, p.last)))
                done = ctx.get(dut.done)
                await ctx.tick()
                if done:
                    break
            got_runs.append(got)

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    assert got_runs == [want for _, want in runs]
