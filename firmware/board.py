"""What every SoC top shares: a firmware component on a board's UART and LED.

A firmware component (:class:`~memrl.rtl.navigator.commands.NavigatorCommands`,
:class:`~memrl.rtl.crossbar.commands.CrossbarCommands`) has the members of
:func:`memrl.rtl.link.decoder.link_members`: UART pins and ``busy``.
:class:`BoardSoC` builds one for a board's clock and baud rate and wires it
with :func:`connect_board`: its pins to the board's UART (its USB serial
bridge), ``busy`` to the first LED.
"""

from __future__ import annotations

from amaranth import Elaboratable, Module
from amaranth.lib import io, wiring

from memrl.rtl.link.uart import divisor_for

__all__ = ["BoardSoC", "connect_board"]


def connect_board(m: Module, platform, fw) -> None:  # noqa: ANN001 - Platform, firmware
    """Wire firmware's ``rx_pin``/``tx_pin`` to the board's UART and its ``busy``
    to the first LED."""
    uart = platform.request("uart", 0, dir="-")
    m.submodules.rx = rx = io.Buffer("i", uart.rx)
    m.submodules.tx = tx = io.Buffer("o", uart.tx)
    m.submodules.led = led = io.Buffer("o", platform.request("led", 0, dir="-"))
    m.d.comb += [fw.rx_pin.eq(rx.i), tx.o.eq(fw.tx_pin), led.o.eq(fw.busy)]


class BoardSoC(Elaboratable):
    """A board top: the firmware :meth:`firmware` builds, on the board's UART at
    ``baud``. A subclass names its firmware."""

    def __init__(self, baud: int = 115_200) -> None:
        self.baud = baud

    def firmware(self, clk_hz: int, divisor: int) -> wiring.Component:
        """The firmware for a clock of ``clk_hz`` and ``divisor`` cycles per UART bit."""
        raise NotImplementedError

    def elaborate(self, platform) -> Module:  # noqa: ANN001 - an amaranth.build Platform
        if platform is None:
            raise ValueError(f"{type(self).__name__} is a board top: build it for a platform")
        m = Module()
        clk_hz = int(platform.default_clk_frequency)
        m.submodules.fw = fw = self.firmware(clk_hz, divisor_for(clk_hz, self.baud))
        connect_board(m, platform, fw)
        return m
