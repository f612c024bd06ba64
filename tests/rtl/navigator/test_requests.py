"""The RRAM-port unit alone: a step's read queue and the routing of its
responses, posted requests drained ahead of later readings, a waited-for
request's code; against a memory with back-pressure and latency."""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest
from amaranth.sim import Simulator

from memrl.rtl.navigator.config import DIRECTIONS, SLOTS, THR, NavigatorConfig
from memrl.rtl.navigator.port import RRAMOp
from memrl.rtl.navigator.requests import RequestUnit

CONFIG = NavigatorConfig(height=6, width=7)


def code(addr: int) -> int:
    return (addr * 37 + 11) % 256


class Memory:
    """The memory side of the port, stepped by the testbench: takes a request
    when ``req.ready`` (drawn with probability ``ready_p``) and answers it in
    order, ``latency`` cycles after the cycle after it was accepted."""

    def __init__(self, dut: RequestUnit, ready_p: float, latency: int, seed: int = 0) -> None:
        self.dut, self.ready_p, self.latency = dut, ready_p, latency
        self.rng = np.random.default_rng(seed)
        self.pending: deque[tuple[int, int]] = deque()
        self.cycle = 0
        self.log: list[tuple[int, int, int]] = []

    def drive(self, ctx) -> None:  # noqa: ANN001
        req, resp = self.dut.rram.req, self.dut.rram.resp
        ctx.set(req.ready, bool(self.rng.random() < self.ready_p))
        due = bool(self.pending) and self.pending[0][0] <= self.cycle
        ctx.set(resp.valid, due)
        ctx.set(resp.payload, self.pending[0][1] if due else 0)

    def commit(self, ctx) -> None:  # noqa: ANN001
        """The transfers of this cycle (call right before the clock edge)."""
        req, resp = self.dut.rram.req, self.dut.rram.resp
        if ctx.get(req.valid) and ctx.get(req.ready):
            p = ctx.get(req.payload)
            op, addr, level = RRAMOp(p.op), int(p.addr), int(p.level)
            self.log.append((op, addr, level))
            if op == RRAMOp.READ_ROW:
                data = sum(code(addr + i) << (8 * i) for i in range(8))
            else:
                data = code(addr) if op == RRAMOp.READ else 0
            self.pending.append((self.cycle + 1 + self.latency, data))
        if ctx.get(resp.valid) and ctx.get(resp.ready):
            self.pending.popleft()
        self.cycle += 1


class Sequence:
    """The sequencer's side, one cycle at a time."""

    def __init__(self, ctx, dut: RequestUnit, mem: Memory) -> None:  # noqa: ANN001
        self.ctx, self.dut, self.mem = ctx, dut, mem
        self.rows: list[int] = []
        self.readings: list[tuple[int, int]] = []

    async def cycle(self, **strobes: int) -> dict[str, int]:
        ctx, ctl = self.ctx, self.dut.ctl
        for name in ("begin", "reads", "issue", "post", "wait"):
            ctx.set(getattr(ctl, name), strobes.get(name, 0))
        self.mem.drive(ctx)
        rd = self.dut.readings
        if ctx.get(rd.row):
            self.rows.append(ctx.get(rd.data))
        if ctx.get(rd.threshold):
            self.readings.append((ctx.get(rd.target), ctx.get(rd.data) & 0xFF))
        seen = {
            n: ctx.get(getattr(ctl, n)) for n in ("reads_done", "accepted", "answered", "drained")
        }
        self.mem.commit(ctx)
        await ctx.tick()
        return seen

    async def step(self, place: int, on: list[bool]) -> None:
        self.ctx.set(self.dut.here9, SLOTS * place)
        self.ctx.set(self.dut.on_grid, sum(1 << d for d in range(8) if on[d]))
        await self.cycle(begin=1)
        while not (await self.cycle(reads=1))["reads_done"]:
            pass

    async def request(self, op: RRAMOp, addr: int, level: int, posted: bool) -> None:
        ctx = self.ctx
        ctx.set(self.dut.op, op.value)
        ctx.set(self.dut.addr, addr)
        ctx.set(self.dut.level, level)
        if posted:
            while not (await self.cycle(issue=1, post=1))["accepted"]:
                pass
            return
        while not (await self.cycle(issue=1))["accepted"]:
            pass
        while not (await self.cycle(wait=1))["answered"]:
            pass


def simulate(dut: RequestUnit, bench) -> None:  # noqa: ANN001
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()


def expected_step(place: int, on: list[bool]) -> tuple[list, list]:
    W = CONFIG.width
    targets = [place + dr * W + dc for dr, dc in DIRECTIONS]
    reqs = [(RRAMOp.READ_ROW, SLOTS * place, 0)]
    reqs += [(RRAMOp.READ, SLOTS * targets[d] + THR, 0) for d in range(8) if on[d]]
    readings = [(1 << d, code(SLOTS * targets[d] + THR)) for d in range(8) if on[d]]
    return reqs, readings


@pytest.mark.parametrize("ready_p, latency", [(1.0, 0), (0.5, 2), (0.8, 3)])
def test_a_step_reads_its_row_then_the_on_grid_thresholds(ready_p, latency):
    dut = RequestUnit(CONFIG)
    mem = Memory(dut, ready_p, latency, seed=latency)
    steps = [(15, [True] * 8), (0, [False, False, True, True, True, False, False, False]),
             (20, [True, True, False, False, False, True, True, True])]  # fmt: skip

    async def bench(ctx) -> None:  # noqa: ANN001
        seq = Sequence(ctx, dut, mem)
        for place, on in steps:
            seq.rows.clear()
            seq.readings.clear()
            n0 = len(mem.log)
            await seq.step(place, on)
            reqs, readings = expected_step(place, on)
            assert mem.log[n0:] == reqs
            assert seq.rows == [sum(code(SLOTS * place + i) << (8 * i) for i in range(8))]
            assert seq.readings == readings

    simulate(dut, bench)


def test_fast_memory_streams_a_request_per_cycle():
    dut = RequestUnit(CONFIG)
    mem = Memory(dut, 1.0, 0)

    async def bench(ctx) -> None:  # noqa: ANN001
        seq = Sequence(ctx, dut, mem)
        ctx.set(dut.here9, SLOTS * 15)
        ctx.set(dut.on_grid, 0xFF)
        await seq.cycle(begin=1)
        cycles = 1
        while not (await seq.cycle(reads=1))["reads_done"]:
            cycles += 1
        assert cycles == 10  # nine requests, the last answered a cycle later

    simulate(dut, bench)


@pytest.mark.parametrize("latency", [0, 3])
def test_posted_responses_are_drained_before_the_next_readings(latency):
    dut = RequestUnit(CONFIG)
    mem = Memory(dut, 1.0, latency)

    async def bench(ctx) -> None:  # noqa: ANN001
        seq = Sequence(ctx, dut, mem)
        await seq.request(RRAMOp.SET, 100, 2, posted=True)
        assert not (await seq.cycle())["drained"]  # its response is outstanding
        await seq.step(15, [True] * 8)
        _, readings = expected_step(15, [True] * 8)
        assert seq.readings == readings and len(seq.rows) == 1
        assert (await seq.cycle())["drained"]
        # a waited-for READ: its code
        await seq.request(RRAMOp.READ, 77, 0, posted=False)
        assert ctx.get(dut.got_code) == code(77)
        assert mem.log[0] == (RRAMOp.SET, 100, 2) and mem.log[-1] == (RRAMOp.READ, 77, 0)

    simulate(dut, bench)
