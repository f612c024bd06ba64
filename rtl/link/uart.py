"""A UART, 8N1: one start bit, eight data bits least significant first, one stop bit.

The baud rate is a parameter: ``divisor`` clock cycles per bit (for example
48 MHz / 115,200 baud -> 417, :func:`divisor_for`). Bytes cross as
``lib.stream`` streams of 8 bits.

* :class:`UARTTx` takes a byte whenever it is idle and drives ``tx`` (high when
  idle).
* :class:`UARTRx` synchronises ``rx`` to the clock (an
  :class:`~amaranth.lib.cdc.FFSynchronizer` of two flip-flops), finds a start bit's
  falling edge, checks it again at its middle and samples each bit at its
  middle. A byte whose stop bit is low is dropped with a ``frame_error`` pulse
  (a break or a baud mismatch). A byte that arrives before the last one was
  taken replaces it, with an ``overrun`` pulse: the link's CRC and retries deal
  with the loss.
"""

from __future__ import annotations

from amaranth import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.cdc import FFSynchronizer
from amaranth.lib.wiring import In, Out

__all__ = ["UARTTx", "UARTRx", "divisor_for"]


def divisor_for(clk_hz: float, baud: float) -> int:
    """Clock cycles per bit for ``baud`` at ``clk_hz``; error if off by more than 2 %."""
    if clk_hz <= 0 or baud <= 0:
        raise ValueError(f"clock and baud rate must be positive (got {clk_hz}, {baud})")
    div = round(clk_hz / baud)
    if div < 4:
        raise ValueError(f"{baud} baud needs at least 4 clock cycles per bit at {clk_hz} Hz")
    err = abs(clk_hz / div - baud) / baud
    if err > 0.02:
        raise ValueError(f"{baud} baud at {clk_hz} Hz is off by {err:.1%} (more than 2 %)")
    return div


def _check_divisor(divisor: int) -> None:
    if isinstance(divisor, bool) or not isinstance(divisor, int) or not 4 <= divisor <= 1 << 20:
        raise ValueError(f"divisor must be an integer in [4, 2**20] (got {divisor!r})")


class UARTTx(wiring.Component):
    """Transmitter: bytes in on ``data``, 8N1 out on ``tx``."""

    def __init__(self, divisor: int) -> None:
        _check_divisor(divisor)
        self.divisor = divisor
        super().__init__({"data": In(stream.Signature(8)), "tx": Out(1, init=1)})

    def elaborate(self, platform: object) -> Module:
        m = Module()
        timer = Signal(range(self.divisor))
        shift = Signal(10, init=0x3FF)  # stop, data[7:0], start; shifted out LSB first
        bits = Signal(range(11))  # bits left to send
        m.d.comb += [self.data.ready.eq(bits == 0), self.tx.eq(shift[0])]
        with m.If(bits == 0):
            with m.If(self.data.valid):
                m.d.sync += [
                    shift.eq((self.data.payload << 1) | 0x200),
                    bits.eq(10),
                    timer.eq(self.divisor - 1),
                ]
        with m.Elif(timer == 0):
            m.d.sync += [
                shift.eq((shift >> 1) | 0x200),
                bits.eq(bits - 1),
                timer.eq(self.divisor - 1),
            ]
        with m.Else():
            m.d.sync += timer.eq(timer - 1)
        return m


class UARTRx(wiring.Component):
    """Receiver: 8N1 in on ``rx``, bytes out on ``data``."""

    def __init__(self, divisor: int) -> None:
        _check_divisor(divisor)
        self.divisor = divisor
        super().__init__(
            {
                "rx": In(1, init=1),
                "data": Out(stream.Signature(8)),
                "frame_error": Out(1),
                "overrun": Out(1),
            }
        )

    def elaborate(self, platform: object) -> Module:
        m = Module()
        rx = Signal(init=1)  # ``self.rx`` two cycles late, free of metastability
        m.submodules.rx_sync = FFSynchronizer(self.rx, rx, init=1)
        timer = Signal(range(self.divisor))
        shift = Signal(8)
        bit = Signal(range(9))
        m.d.sync += [self.frame_error.eq(0), self.overrun.eq(0)]
        with m.If(self.data.valid & self.data.ready):
            m.d.sync += self.data.valid.eq(0)

        with m.FSM():
            with m.State("IDLE"):
                with m.If(~rx):
                    m.d.sync += timer.eq(self.divisor // 2 - 1)
                    m.next = "START"
            with m.State("START"):
                with m.If(timer != 0):
                    m.d.sync += timer.eq(timer - 1)
                with m.Elif(rx):  # a glitch, not a start bit
                    m.next = "IDLE"
                with m.Else():
                    m.d.sync += [timer.eq(self.divisor - 1), bit.eq(0)]
                    m.next = "DATA"
            with m.State("DATA"):
                with m.If(timer != 0):
                    m.d.sync += timer.eq(timer - 1)
                with m.Else():
                    m.d.sync += [shift.eq((shift >> 1) | (rx << 7)), timer.eq(self.divisor - 1)]
                    with m.If(bit == 7):
                        m.next = "STOP"
                    with m.Else():
                        m.d.sync += bit.eq(bit + 1)
            with m.State("STOP"):
                with m.If(timer != 0):
                    m.d.sync += timer.eq(timer - 1)
                with m.Else():
                    with m.If(rx):
                        m.d.sync += [self.data.payload.eq(shift), self.data.valid.eq(1)]
                        with m.If(self.data.valid & ~self.data.ready):
                            m.d.sync += self.overrun.eq(1)
                        m.next = "IDLE"
                    with m.Else():
                        m.d.sync += self.frame_error.eq(1)
                        m.next = "BREAK"
            with m.State("BREAK"):  # wait for the line to go idle again
                with m.If(rx):
                    m.next = "IDLE"
        return m
