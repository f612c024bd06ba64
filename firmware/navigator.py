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
first LED shows a command being served (:mod:`memrl.firmware.board`).
``serial_emulator``: the emulator's small form (one device read per cycle), for
the iCE40.
"""

from __future__ import annotations

from memrl.firmware.board import BoardSoC
from memrl.rtl.navigator.commands import NavigatorCommands
from memrl.rtl.navigator.core import NavigatorConfig

__all__ = ["NavigatorSoC"]


class NavigatorSoC(BoardSoC):
    """The navigator of ``config`` on a board's UART at ``baud``, with the emulator
    of ``emulator`` (an emulator model)."""

    def __init__(
        self, config: NavigatorConfig, emulator: object, baud: int = 115_200,
        traj_depth: int = 1024, serial_emulator: bool = False, rmw_rows: bool = False,
    ) -> None:  # fmt: skip
        super().__init__(baud)
        self.config, self.emulator, self.traj_depth = config, emulator, traj_depth
        self.serial_emulator, self.rmw_rows = serial_emulator, rmw_rows

    def firmware(self, clk_hz: int, divisor: int) -> NavigatorCommands:
        return NavigatorCommands(
            self.config, divisor, self.traj_depth, clk_hz=clk_hz,
            emulator=self.emulator, serial_emulator=self.serial_emulator,
            rmw_rows=self.rmw_rows,
        )  # fmt: skip
