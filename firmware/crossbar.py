"""The crossbar SoC: what a board runs for ``--backend serial:PORT``.

The board's UART pins (its USB serial bridge) ->
:class:`memrl.rtl.crossbar.commands.CrossbarCommands` (link, command decoder,
word buffers, the crossbar engine and the on-chip 1T1R emulator). Boards
have no 1T1R array, so the array is always the emulator, and the golden
model runs against the emulator's Python model (``--device emulator``): a
board's run can be checked against it. The first LED shows a command being
served.
"""

from __future__ import annotations

from amaranth import Elaboratable, Module

from memrl.firmware.navigator import connect_board
from memrl.rtl.crossbar.commands import CrossbarCommands
from memrl.rtl.crossbar.engine import CrossbarEngineConfig
from memrl.rtl.link.uart import divisor_for

__all__ = ["CrossbarSoC"]


class CrossbarSoC(Elaboratable):
    """The engine of ``config`` with the emulator of ``model`` (``lanes`` lanes, its
    codes in SPRAM with ``spram``) on a board's UART at ``baud``."""

    def __init__(
        self, config: CrossbarEngineConfig, model: object, baud: int = 115_200, lanes: int = 8,
        spram: bool = False,
    ) -> None:  # fmt: skip
        self.config, self.model, self.baud, self.lanes = config, model, baud, lanes
        self.spram = spram

    def elaborate(self, platform) -> Module:  # noqa: ANN001 - an amaranth.build Platform
        if platform is None:
            raise ValueError("CrossbarSoC is a board top: build it for a platform")
        m = Module()
        clk_hz = int(platform.default_clk_frequency)
        m.submodules.fw = fw = CrossbarCommands(
            self.config,
            self.model,
            divisor_for(clk_hz, self.baud),
            clk_hz,
            self.lanes,
            self.spram,
        )
        connect_board(m, platform, fw)
        return m
