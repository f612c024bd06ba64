"""Row words of bit planes: both forms equal a model of a memory with a bit mask,
cycle for cycle, under random traffic that writes the same row in back-to-back
cycles and reads rows as they are written."""

from __future__ import annotations

import numpy as np
import pytest
from amaranth import Module
from amaranth.sim import Simulator

from memrl.rtl.lib.rowplanes import RowPlanes

PLANES, WIDTH, DEPTH = 3, 7, 5


def _traffic(seed: int, cycles: int) -> list[dict[str, int]]:
    """Requests per cycle; rows drawn from two of the five so writes collide."""
    rng = np.random.default_rng(seed)

    def row() -> int:
        return int(rng.integers(0, 2)) if rng.random() < 0.8 else int(rng.integers(DEPTH))

    out = []
    for _ in range(cycles):
        out.append(
            {
                "w_en": int(rng.random() < 0.7),
                "w_row": row(),
                "w_col": int(rng.integers(WIDTH)),
                "w_all": int(rng.random() < 0.1),
                "w_pen": int(rng.integers(1 << PLANES)),
                "w_pval": int(rng.integers(1 << PLANES)),
                "r_addr": row(),
            }
        )
    return out


def _model(traffic: list[dict[str, int]]) -> list[int]:
    """The word each cycle's read gives, the cycle after its address."""
    rows = [0] * DEPTH
    got = []
    for t in traffic:
        got.append(rows[t["r_addr"]])  # the write of the same cycle is not seen
        if t["w_en"]:
            hot = (1 << WIDTH) - 1 if t["w_all"] else 1 << t["w_col"]
            for k in range(PLANES):
                if t["w_pen"] >> k & 1:
                    bit = hot << (k * WIDTH)
                    r = t["w_row"]
                    rows[r] = (rows[r] & ~bit) | (bit if t["w_pval"] >> k & 1 else 0)
    return got


@pytest.mark.parametrize("rmw", [False, True])
def test_rows_equal_a_bit_masked_memory(rmw: bool) -> None:
    traffic = _traffic(7, 600)
    want = _model(traffic)
    m = Module()
    m.submodules.dut = dut = RowPlanes(PLANES, WIDTH, DEPTH, rmw=rmw)
    seen: list[int] = []

    async def bench(ctx):  # noqa: ANN001
        # Clear every row first (whole-row writes), as a user does.
        for r in range(DEPTH):
            ctx.set(dut.w_en, 1)
            ctx.set(dut.w_row, r)
            ctx.set(dut.w_all, 1)
            ctx.set(dut.w_pen, (1 << PLANES) - 1)
            ctx.set(dut.w_pval, 0)
            await ctx.tick()
        for t in traffic:
            for name, v in t.items():
                ctx.set(getattr(dut, name), v)
            await ctx.tick()
            seen.append(ctx.get(dut.r_data))

    sim = Simulator(m)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    assert seen == want
    assert len(set(want)) > 20  # the traffic reaches many different words


def test_rows_refuse_an_empty_shape() -> None:
    with pytest.raises(ValueError, match="planes, width, depth"):
        RowPlanes(0, 4, 4)
