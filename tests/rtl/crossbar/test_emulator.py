"""The 1T1R crossbar emulator core in amaranth.sim against its Python model, bit for bit.

Random streams of crossbar port words (runs of READ, SET and RESET; passes
of VMMs with and without differential pairs, at random gains) go to the core
and, through a :class:`~memrl.sim.crossbar.port_server.CrossbarServer`, to the
Python model. Every response code and, at the end, every device's code and
the number of noise draws must be equal.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from amaranth.sim import Simulator

from memrl.host.crossbar.cocotb_backend import compare, train_steps
from memrl.host.crossbar.control import DEVICES, DeviceSettings, crossbar_config
from memrl.rtl.crossbar.emulator import CrossbarEmulator, emulator_signature
from memrl.rtl.crossbar.port import XbarOp
from memrl.sim.crossbar.golden import CrossbarConfig, CrossbarQNet
from memrl.sim.crossbar.port_server import CrossbarServer
from memrl.sim.crossbar.session import (
    AmaranthSession,
    EngineMismatch,
    amaranth_engine,
    engine_config,
)
from memrl.sim.devices import OneT1RArray, OneT1RParams, OneT1RPort, OneT1RPortConfig
from memrl.sim.devices.xbar_emulator import XbarEmulatorArray, XbarEmulatorModel, XbarEmulatorPort

ROWS, COLS = 12, 8


def _model(kind: str) -> XbarEmulatorModel:
    base = XbarEmulatorModel.from_params(
        OneT1RParams(), OneT1RPortConfig(col_adc_bits=8), ROWS, COLS, lfsr_seed=0x1D2B
    )
    if kind == "extreme":  # every clamp reached: wide noise, a steep SET line, large VMM scale
        return replace(base, set_b=1 << 14, set_spread=1023, reset_spread=1023,
                       read_spread=1023, vmm_spread=40000, vmm_k=60000)  # fmt: skip
    return base


def _words(rng: np.random.Generator, model: XbarEmulatorModel, n_groups: int) -> list[tuple]:
    """(op, row, col, arg, last) words: device runs and VMM passes in random order."""
    words: list[tuple] = []
    dmax = (1 << (model.dac_bits - 1)) - 1
    mask = (1 << model.dac_bits) - 1
    for _ in range(n_groups):
        kind = rng.integers(0, 4)
        if kind < 3:  # a run of READ, SET or RESET
            op = (XbarOp.READ, XbarOp.SET, XbarOp.RESET)[kind]
            n = int(rng.integers(1, 6))
            for i in range(n):
                r, c = int(rng.integers(0, ROWS)), int(rng.integers(0, COLS))
                arg = int(rng.integers(0, 1 << model.vg_bits)) if op == XbarOp.SET else 0
                words.append((op.value, r, c, arg, int(i == n - 1)))
            continue
        pairs = bool(rng.integers(0, 2))
        stride = 2 if pairs else 1
        n_out = int(rng.integers(1, COLS // stride + 1))
        c0 = int(rng.integers(0, COLS - stride * n_out + 1))
        n_vmm = int(rng.integers(1, 4))
        for v in range(n_vmm):
            nr = int(rng.integers(1, ROWS + 1))
            r0 = int(rng.integers(0, ROWS - nr + 1))
            for r in range(r0, r0 + nr):
                code = int(rng.integers(-dmax, dmax + 1))
                words.append((XbarOp.ROW.value, r, 0, code & mask, 0))
            for j in range(n_out):
                gain = 1 << int(rng.integers(0, 5))
                words.append((XbarOp.GAIN.value, 0, c0 + stride * j, gain, 0))
            words.append((XbarOp.VMM.value, 0, 0, int(pairs), int(v == n_vmm - 1)))
    # Read every device at the end: the final state.
    for a in range(ROWS * COLS):
        words.append((XbarOp.READ.value, a // COLS, a % COLS, 0, int(a == ROWS * COLS - 1)))
    return words


def _simulate(
    model: XbarEmulatorModel, words: list[tuple], n_codes: int, ready_prob: float, seed: int,
    lanes: int = 1, spram: bool = False,
) -> list[int]:  # fmt: skip
    dut = CrossbarEmulator(model, lanes=lanes, spram=spram)
    rng = np.random.default_rng(seed)
    got: list[int] = []
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    req, resp = dut.port.req, dut.port.resp

    async def send(ctx) -> None:
        for op, row, col, arg, last in words:
            ctx.set(req.valid, 1)
            ctx.set(req.payload, {"op": XbarOp(op), "row": row, "col": col, "arg": arg,
                                  "last": last})  # fmt: skip
            await ctx.tick().until(req.ready)
        ctx.set(req.valid, 0)

    async def collect(ctx) -> None:
        while len(got) < n_codes:
            ctx.set(resp.ready, bool(rng.random() < ready_prob))
            _, _, valid, ready, code = await ctx.tick().sample(resp.valid, resp.ready,
                                                              resp.payload)  # fmt: skip
            if valid and ready:
                got.append(int(code))

    sim.add_testbench(send)
    sim.add_testbench(collect)
    sim.run()
    return got


# kind, seed, ready_prob, lanes, spram (single-port banks, cleared after reset)
CASES = [("default", 1, 1.0, 1, False), ("default", 2, 0.6, 1, False),
         ("extreme", 3, 0.8, 1, False), ("default", 4, 0.7, 4, False),
         ("extreme", 5, 1.0, 8, False), ("default", 6, 0.8, 2, False),
         ("default", 7, 0.7, 1, True), ("extreme", 8, 1.0, 2, True)]  # fmt: skip


@pytest.mark.parametrize(("kind", "seed", "ready_prob", "lanes", "spram"), CASES)
def test_core_equals_python_model(kind, seed, ready_prob, lanes, spram):
    model = _model(kind)
    words = _words(np.random.default_rng(seed), model, 40)
    port = XbarEmulatorPort(XbarEmulatorArray(model, OneT1RParams()),
                            OneT1RPortConfig(col_adc_bits=8))  # fmt: skip
    server = CrossbarServer(port, emulator_signature(model))
    want: list[int] = []
    vmm_codes: list[int] = []
    for w in words:
        out = server.word(*w)
        want.extend(out)
        if w[0] == XbarOp.VMM.value:
            vmm_codes.extend(out)
    got = _simulate(model, words, len(want), ready_prob, seed, lanes, spram)
    assert len(got) == len(want)
    first = next((i for i, (a, b) in enumerate(zip(got, want, strict=True)) if a != b), None)
    assert first is None, f"response {first}: core {got[first]}, model {want[first]}"
    assert vmm_codes, "the stream has no VMM"
    if kind == "extreme":  # the clamps were reached
        reads = np.array(want[-ROWS * COLS :])
        assert reads.max() == (1 << model.read_bits) - 1 and reads.min() == 0
        amax = (1 << (model.adc_bits - 1)) - 1
        signed = [v - (1 << 10) if v >> 9 else v for v in vmm_codes]
        assert max(signed) == amax and min(signed) == -amax


SMALL = {"batch": 2, "replay": 50}


@pytest.mark.slow  # the system's Verilog trains under cocotb in make test (cartpole_emulator)
def test_system_training_equals_golden_model():
    """The engine with its emulator core in amaranth.sim trains as the golden model
    on the emulator's Python model does; the session checks every answer too."""
    want = train_steps("CartPole-v1", "default", 6, 5, SMALL, device="emulator")
    got = train_steps("CartPole-v1", "default", 6, 5, SMALL, amaranth_engine(max_batch=4),
                      device="emulator")  # fmt: skip
    assert compare(want, got) is None, compare(want, got)
    assert got["counts"]["VMM"] > 5 and got["counts"]["SET"] > 0
    assert {h[0] for h in got["history"]} >= {"FORWARD", "PROGRAM", "READ"}


def test_a_wrong_answer_is_caught_at_its_command():
    """The session's golden check fails on the first answer that differs: here a
    device the golden model holds at another code than the core."""
    config = crossbar_config(DEVICES["emulator"], CrossbarConfig(sizes=(2, 4, 4, 2)))
    net = CrossbarQNet(config, np.random.default_rng(0), engine=lambda n: AmaranthSession(
        engine_config(n, 4), None, shadow=n))  # fmt: skip
    session = net.engine
    try:
        x_q = config.datapath.to_fixed(np.full((2, 2), 0.5))
        b_q = np.concatenate(net.bias_fixed())
        session.forward(b_q, x_q)  # equal so far
        net.array.g[net.pos[0][0, 0]] ^= 0x40  # layer 1, input 0, output 0
        with pytest.raises(
            EngineMismatch, match=r"FORWARD layer 1 activations: element \d+ is -?\d+ on the engine"
        ):
            session.forward(b_q, x_q)
    finally:
        session.close()


def test_emulator_follows_the_device_model():
    """Without noise, the emulator's SET line, READ and VMM agree with the 1T1R
    model's nominal characteristic and converters to within a code."""
    params, pc = OneT1RParams.ideal(), OneT1RPortConfig()
    model = XbarEmulatorModel.from_params(params, pc, ROWS, COLS)
    port = XbarEmulatorPort(XbarEmulatorArray(model, params), pc)
    phys = OneT1RPort(OneT1RArray(ROWS, COLS, params, 0), pc)
    levels = np.arange(0, 1 << pc.vg_bits, 7)
    nominal = params.g_set_nominal_us(phys.v_gate(levels)) / model.g_lsb_us
    assert np.all(np.abs(model.set_target(levels) - nominal) <= 0.5 + 1e-9)
    rng = np.random.default_rng(5)
    port.array.g[:] = rng.integers(0, 256, ROWS * COLS)
    phys.array.g_prog_us[...] = port.array.conductance_us()
    dev = np.arange(ROWS * COLS)
    g_emu = port.read(dev) * port.read_adc.lsb / params.v_read * 1e6
    g_phys = phys.read(dev) * phys.read_adc.lsb / params.v_read * 1e6
    assert np.max(np.abs(g_emu - g_phys)) <= phys.read_adc.lsb / params.v_read * 1e6
    codes = rng.integers(-127, 128, (20, ROWS))
    for gain, pairs in ((1, False), (4, True)):
        a = port.vmm(codes, gain=gain, col_pairs=pairs)
        b = phys.vmm(codes, gain=gain, col_pairs=pairs)
        assert np.max(np.abs(a - b)) <= 1 and np.any(np.abs(a) > 20)


def test_refusals():
    with pytest.raises(ValueError, match="d2d_slope_frac"):
        CrossbarConfig(array="emulator")  # the default device has a device-to-device spread
    with pytest.raises(ValueError, match="stuck_rate"):
        DeviceSettings(d2d=False, stuck_rate=0.01, emulator=True)
    with pytest.raises(ValueError, match="lacks"):
        CrossbarEmulator(object())
    with pytest.raises(ValueError, match="lfsr_seed"):
        XbarEmulatorModel(lfsr_seed=0)
