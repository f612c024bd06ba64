"""The crossbar SoC: what a board runs for ``--backend serial:PORT``.

The board's UART pins (its USB serial bridge) ->
:class:`memrl.rtl.crossbar.commands.CrossbarCommands` (link, command decoder,
word buffers, the crossbar engine and the on-chip 1T1R emulator). Boards
have no 1T1R array, so the array is always the emulator, and the golden
model runs against the emulator's Python model (``--device emulator``): a
board's run can be checked against it. The first LED shows a command being
served (:mod:`memrl.firmware.board`).
"""

from __future__ import annotations

from memrl.firmware.board import BoardSoC
from memrl.rtl.crossbar.commands import CrossbarCommands
from memrl.rtl.crossbar.engine import CrossbarEngineConfig

__all__ = ["CrossbarSoC"]


class CrossbarSoC(BoardSoC):
    """The engine of ``config`` with the emulator of ``model`` (``lanes`` lanes, its
    codes in SPRAM with ``spram``) on a board's UART at ``baud``."""

    def __init__(
        self, config: CrossbarEngineConfig, model: object, baud: int = 115_200, lanes: int = 8,
        spram: bool = False,
    ) -> None:  # fmt: skip
        super().__init__(baud)
        self.config, self.model, self.lanes, self.spram = config, model, lanes, spram

    def firmware(self, clk_hz: int, divisor: int) -> CrossbarCommands:
        return CrossbarCommands(self.config, self.model, divisor, clk_hz, self.lanes, self.spram)
