"""The navigator SoC: what a board runs.

The board's UART pins (its USB serial bridge) ->
:class:`memrl.rtl.navigator.commands.NavigatorCommands`
(link, command decoder, navigator core, trajectory memory) with the on-chip RRAM
emulator (:class:`memrl.rtl.navigator.emulator.RRAMEmulator`) inside. The emulator's
initial codes and programming tables are given as an emulator model; the host
builds it from the SiOx model of one seed
(:meth:`memrl.sim.devices.emulator.EmulatorModel.from_siox`), and the golden model
runs against the same model, so a board's run can be checked against it. The
supported boards (iCEBreaker, ULX3S) have no resistive memory of their own. The
first LED shows a command being served. ``serial_emulator``: the emulator's
small form (one device read per cycle), for the iCE40.
"""

from __future__ import annotations

from amaranth import Elaboratable, Module
from amaranth.lib import io

from memrl.rtl.link.uart import divisor_for
from memrl.rtl.navigator.commands import NavigatorCommands
from memrl.rtl.navigator.core import NavigatorConfig

__all__ = ["NavigatorSoC", "connect_board"]


class NavigatorSoC(Elaboratable):
    """The navigator of ``config`` on a board's UART at ``baud``, with the emulator
    of ``emulator`` (an emulator model)."""

    def __init__(
        self, config: NavigatorConfig, emulator: object, baud: int = 115_200,
        traj_depth: int = 1024, serial_emulator: bool = False,
    ) -> None:  # fmt: skip
        self.config, self.emulator, self.baud, self.traj_depth = config, emulator, baud, traj_depth
        self.serial_emulator = serial_emulator

    def elaborate(self, platform) -> Module:  # noqa: ANN001 - an amaranth.build Platform
        if platform is None:
            raise ValueError("NavigatorSoC is a board top: build it for a platform")
        m = Module()
        clk_hz = int(platform.default_clk_frequency)
        m.submodules.fw = fw = NavigatorCommands(
            self.config, divisor_for(clk_hz, self.baud), self.traj_depth, clk_hz=clk_hz,
            emulator=self.emulator, serial_emulator=self.serial_emulator,
        )  # fmt: skip
        connect_board(m, platform, fw)
        return m


def connect_board(m: Module, platform, fw) -> None:  # noqa: ANN001 - Platform, firmware
    """Wire firmware's ``rx_pin``/``tx_pin`` to the board's UART and its ``busy``
    to the first LED."""
    uart = platform.request("uart", 0, dir="-")
    m.submodules.rx = rx = io.Buffer("i", uart.rx)
    m.submodules.tx = tx = io.Buffer("o", uart.tx)
    m.submodules.led = led = io.Buffer("o", platform.request("led", 0, dir="-"))
    m.d.comb += [fw.rx_pin.eq(rx.i), tx.o.eq(fw.tx_pin), led.o.eq(fw.busy)]
