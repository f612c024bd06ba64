"""The UART in amaranth.sim: loopback, baud tolerance, framing errors."""

from __future__ import annotations

import numpy as np
import pytest
from amaranth import Module
from amaranth.sim import Simulator

from memrl.rtl.link.uart import UARTRx, UARTTx, divisor_for
from memrl.sim.tools.amaranth_tb import put, uart_bits


def _bits(byte: int, stop: int = 1) -> list[int]:
    return uart_bits(byte)[:-1] + [stop]


def _drive(divisor_eff: float, frames: list[list[int]], gap_bits: int = 1) -> list[int]:
    """The rx line, one value per clock cycle, at ``divisor_eff`` cycles per bit."""
    line, t = [1] * 7, 0.0
    for bits in frames:
        for b in bits + [1] * gap_bits:
            t += divisor_eff
            line += [b] * (round(t) - len(line) + 7 if round(t) + 7 > len(line) else 0)
    return line + [1] * int(4 * divisor_eff)


def _receive(divisor: int, line: list[int]) -> tuple[list[int], int]:
    rx = UARTRx(divisor)
    got, errors = [], [0]

    async def bench(ctx):
        ctx.set(rx.data.ready, 1)
        for v in line:
            ctx.set(rx.rx, v)
            await ctx.tick()
            if ctx.get(rx.data.valid):
                got.append(ctx.get(rx.data.payload))
            errors[0] += ctx.get(rx.frame_error)

    sim = Simulator(rx)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    return got, errors[0]


@pytest.mark.parametrize("divisor", [4, 7, 16])
def test_loopback(divisor):
    data = np.random.default_rng(divisor).integers(0, 256, 12).tolist()
    m = Module()
    m.submodules.tx = tx = UARTTx(divisor)
    m.submodules.rx = rx = UARTRx(divisor)
    m.d.comb += rx.rx.eq(tx.tx)
    got = []

    async def feed(ctx):
        await put(ctx, tx.data, data)

    async def take(ctx):
        ctx.set(rx.data.ready, 1)
        while len(got) < len(data):
            (payload,) = await ctx.tick().sample(rx.data.payload).until(rx.data.valid)
            got.append(payload)

    sim = Simulator(m)
    sim.add_clock(1e-6)
    sim.add_testbench(feed, background=True)
    sim.add_testbench(take)
    sim.run_until(2e-6 * divisor * 10 * (len(data) + 4))
    assert got == data


@pytest.mark.parametrize("skew", [0.97, 1.0, 1.03])
def test_baud_mismatch_within_3_percent(skew):
    data = [0x00, 0xFF, 0x55, 0xA5, 0x0F]
    got, errors = _receive(16, _drive(16 * skew, [_bits(b) for b in data]))
    assert got == data and errors == 0


def test_low_stop_bit_is_a_framing_error_and_the_next_byte_is_read():
    got, errors = _receive(8, _drive(8, [_bits(0x3C, stop=0), [1] * 10, _bits(0x42)]))
    assert got == [0x42] and errors == 1


def test_a_short_glitch_is_not_a_start_bit():
    line = [1] * 10 + [0, 0] + [1] * 40 + _drive(8, [_bits(0x81)])
    got, errors = _receive(8, line)
    assert got == [0x81] and errors == 0


def test_divisor_checks():
    assert divisor_for(48e6, 115200) == 417
    assert divisor_for(12e6, 1e6) == 12
    with pytest.raises(ValueError, match="off by"):
        divisor_for(10e6, 1.5e6)
    with pytest.raises(ValueError, match="at least 4"):
        divisor_for(1e6, 500e3)
    with pytest.raises(ValueError, match="divisor"):
        UARTTx(3)
