"""The on-chip RRAM emulator against its Python model, and under the navigator."""

from __future__ import annotations

import numpy as np
import pytest
from amaranth.sim import Simulator

from memrl.rtl.navigator.emulator import RRAMEmulator
from memrl.rtl.navigator.port import RRAMOp
from memrl.sim.devices import Op
from memrl.sim.devices.emulator import EmulatorModel, EmulatorPort, lfsr_advance
from memrl.sim.navigator.golden import PRESETS, Navigator, run_agent
from memrl.sim.navigator.maze import shipped
from memrl.sim.navigator.session import run_rtl


def test_model_tables_follow_the_siox_classes():
    """Programmed states land in the navigator's code classes: SET level 10 reads
    as REWARD (>= 160), level 5 as RECALL (120-159), level 0 as NOMINAL (40-119),
    RESET level 12 as PENALTY (< 40), whatever the LFSR draws."""
    m = EmulatorModel.from_siox(100, 1)
    port = EmulatorPort(m)
    for level, lo, hi, op in ((10, 160, 255, "set"), (5, 120, 159, "set"), (0, 40, 119, "set")):
        for _ in range(50):
            getattr(port, op)([0], level)
            assert lo <= port.read([0])[0] <= hi
    for _ in range(50):
        port.reset([0], 12)
        assert port.read([0])[0] < 40
    assert lfsr_advance(0xACE1) != 0xACE1


def _core(model: EmulatorModel, **kw) -> RRAMEmulator:
    return RRAMEmulator.from_model(model, **kw)


@pytest.mark.parametrize("latency", [0, 2])
def test_core_equals_model_on_random_operations(latency):
    model = EmulatorModel.from_siox(64, 7)
    ref = EmulatorPort(model)
    dut = _core(model, latency=latency)
    rng = np.random.default_rng(3)
    ops = [(int(rng.integers(3)), int(rng.integers(64)), int(rng.integers(11))) for _ in range(300)]
    got: list[int] = []

    async def bench(ctx):
        for op, addr, level in ops:
            ctx.set(dut.port.req.valid, 1)
            ctx.set(dut.port.req.payload.op, RRAMOp(op))
            ctx.set(dut.port.req.payload.addr, addr)
            ctx.set(dut.port.req.payload.level, level)
            await ctx.tick().until(dut.port.req.ready)
            ctx.set(dut.port.req.valid, 0)
            ctx.set(dut.port.resp.ready, 1)
            (code,) = await ctx.tick().sample(dut.port.resp.payload).until(dut.port.resp.valid)
            ctx.set(dut.port.resp.ready, 0)
            got.append(int(code))

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    want = []
    for op, addr, level in ops:
        if op == Op.READ:
            want.append(int(ref.read([addr])[0]))
        else:
            (ref.set if op == Op.SET else ref.reset)([addr], level)
            want.append(0)
    assert got == want
    assert sum(op != Op.READ for op, _, _ in ops) > 100


def _model_response(ref: EmulatorPort, op: int, addr: int, level: int, lanes: int) -> int:
    if op == RRAMOp.READ_ROW.value:
        codes = ref.read(list(range(addr, addr + lanes)))
        return sum(int(c) << (8 * i) for i, c in enumerate(codes))
    if op == Op.READ:
        return int(ref.read([addr])[0])
    (ref.set if op == Op.SET else ref.reset)([addr], level)
    return 0


@pytest.mark.parametrize(
    ("lanes", "latency", "stall", "serial"),
    [(8, 0, 0.0, False), (8, 1, 0.4, False), (4, 3, 0.2, False), (8, 0, 0.0, True),
     (8, 0, 0.3, True)],
)  # fmt: skip
def test_streamed_operations_and_rows_equal_model(lanes, latency, stall, serial):
    """A request every cycle (READ, READ_ROW, SET, RESET at random addresses),
    responses taken with random back-pressure: the codes equal the model's, and
    without back-pressure the emulator takes one request per cycle (the serial
    one: two cycles per operation, ``lanes`` per row)."""
    n = 72
    model = EmulatorModel.from_siox(n, 11)
    ref = EmulatorPort(model)
    dut = _core(model, latency=latency, lanes=lanes, serial=serial)
    rng = np.random.default_rng(lanes + latency)
    kinds = [Op.READ, RRAMOp.READ_ROW.value, Op.SET, Op.RESET]
    ops = []
    for _ in range(400):
        op = int(kinds[int(rng.integers(4))])
        top = n - lanes if op == RRAMOp.READ_ROW.value else n - 1
        ops.append((op, int(rng.integers(top + 1)), int(rng.integers(11))))
    got: list[int] = []
    cycles = [0]

    async def bench(ctx):
        req, resp = dut.port.req, dut.port.resp
        i = 0
        while len(got) < len(ops):
            if i < len(ops):
                op, addr, level = ops[i]
                ctx.set(req.valid, 1)
                ctx.set(req.payload.op, RRAMOp(op))
                ctx.set(req.payload.addr, addr)
                ctx.set(req.payload.level, level)
            else:
                ctx.set(req.valid, 0)
            ctx.set(resp.ready, bool(rng.random() >= stall))
            _, _, qv, qr, sv, sr, data = await ctx.tick().sample(
                req.valid, req.ready, resp.valid, resp.ready, resp.payload
            )
            cycles[0] += 1
            i += bool(qv and qr)
            if sv and sr:
                got.append(int(data))

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    want = [_model_response(ref, op, addr, level, lanes) for op, addr, level in ops]
    assert got == want
    assert sum(op == RRAMOp.READ_ROW.value for op, _, _ in ops) > 50
    rows = sum(op == RRAMOp.READ_ROW.value for op, _, _ in ops)
    if stall == 0.0 and not serial:
        assert cycles[0] == len(ops) + 1 + latency
    elif stall == 0.0:
        reads = sum(op == Op.READ for op, _, _ in ops)
        progs = len(ops) - reads - rows
        assert cycles[0] == 2 * progs + 3 * reads + (lanes + 2) * rows


def test_navigator_on_the_emulator_equals_golden_model():
    """The navigator core wired to the emulator core (all RTL) equals the golden
    model running on the emulator's Python model, operation for operation."""
    a, b = shipped("small_a_9x9"), shipped("small_b_9x9")
    model = EmulatorModel.from_siox(9 * 81, 0)
    nav = Navigator(a.shape, [0], PRESETS["paper"], record=True, device_port=EmulatorPort(model))
    gold = []
    run_agent(nav, [a, b], [3], 6, 80, lambda t, lay, r: gold.append(r))
    rtl, log = run_rtl([a, b], [3], 6, 80, 0, PRESETS["paper"], emulator=model)
    assert [tuple(x) for x in nav.logs[0]] == [tuple(x) for x in log]
    assert [int(g.steps[0]) for g in gold] == [r.steps for r in rtl]
    assert [int(g.ticks[0]) for g in gold] == [r.ticks for r in rtl]
    assert any(r.reached for r in rtl)


def test_emulator_checks_its_tables():
    with pytest.raises(ValueError, match="set_code"):
        RRAMEmulator([0], [300], [0], [0], [0])
    with pytest.raises(ValueError, match="lfsr_seed"):
        EmulatorModel((0,), (0,), (0,), (0,), (0,), lfsr_seed=0)


@pytest.mark.slow
def test_full_dynamic_maze_on_the_emulator_equals_golden_model():
    """The acceptance run on the emulator: 120 trials of the shipped 30x30 pair,
    A -> B -> A, the core wired to the emulator core, against the golden model on
    the emulator's Python model."""
    a, b = shipped("dynamic_a"), shipped("dynamic_b")
    model = EmulatorModel.from_siox(9 * a.walls.size, 0)
    nav = Navigator(a.shape, [0], PRESETS["paper"], record=True, device_port=EmulatorPort(model))
    gold = []
    run_agent(nav, [a, b], [40, 80], 120, 600, lambda t, lay, r: gold.append(r))
    rtl, log = run_rtl([a, b], [40, 80], 120, 600, 0, PRESETS["paper"], emulator=model)
    assert [tuple(x) for x in nav.logs[0]] == [tuple(x) for x in log]
    assert [int(g.steps[0]) for g in gold] == [r.steps for r in rtl]
    assert [int(g.ticks[0]) for g in gold] == [r.ticks for r in rtl]
    assert len(rtl) == 120 and len(log) > 100_000
