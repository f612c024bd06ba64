"""The crossbar engine with its emulator core, Verilated into this process.

:class:`VerilatedSession` is an :class:`~memrl.sim.crossbar.session.EngineSession`
on :class:`memrl.sim.tools.verilated.VerilatedStream`: the ``crossbar_system``
design (engine and emulated array) runs a whole command per call, so Python
runs per command rather than per clock edge. It needs the emulator device:
the 1T1R model of the other devices answers the engine's crossbar port from
Python, which only the cocotb testbench
(:mod:`memrl.sim.crossbar.cocotb_session`) serves. As in every session with an
emulated array, the network's own emulator model shadows the design and any
difference raises :class:`~memrl.sim.crossbar.session.EngineMismatch`.
"""

from __future__ import annotations

from pathlib import Path

from memrl.rtl.crossbar.engine import EngineOp, command_layout
from memrl.sim.crossbar.golden import CrossbarQNet, EngineFactory
from memrl.sim.crossbar.session import (
    DEFAULT_DESIGN,
    EMULATED_STALL_CYCLES,
    EngineSession,
    SystemDesign,
    rtl_top,
)
from memrl.sim.tools.verilated import VerilatedStream, build_library

__all__ = ["BUILD_ROOT", "VerilatedSession", "verilated_engine"]

#: Where the Verilated libraries are built (shared with the cocotb builds' root).
BUILD_ROOT = Path("build/cocotb")


class VerilatedSession(EngineSession):
    """``net``'s engine and emulated array, Verilated (see the module docstring)."""

    def __init__(
        self, net: CrossbarQNet, max_batch: int = 128, root: Path = BUILD_ROOT,
        design: SystemDesign = DEFAULT_DESIGN,
    ) -> None:  # fmt: skip
        if net.config.array != "emulator":
            raise ValueError(
                "the Verilated library holds the array as the emulator core: use the emulator "
                f"device (got array {net.config.array!r}); the cocotb backend serves other arrays"
            )
        top, name = rtl_top(net, max_batch, design)
        config = top.config
        super().__init__(config, net)
        self._fields = {n: f.offset for n, f in command_layout(config)}
        self.engine = VerilatedStream(build_library(top, name, root), config.act_bits,
                                      config.act_bits)  # fmt: skip

    def _exchange(self, op: EngineOp, count: int, reads_log2: int, din: list[int], n_out: int):
        f = self._fields
        payload = op.value << f["op"] | count << f["count"] | reads_log2 << f["reads_log2"]
        out, cycles = self.engine.command(payload, din, n_out, EMULATED_STALL_CYCLES)
        self.cycles += cycles
        return out

    def close(self) -> None:
        super().close()
        self.engine.close()


def verilated_engine(
    max_batch: int = 128, root: Path = BUILD_ROOT, design: SystemDesign = DEFAULT_DESIGN
) -> EngineFactory:
    """An ``engine`` for :class:`CrossbarQNet`: :class:`VerilatedSession` of the
    system built as ``design`` says."""

    def make(net: CrossbarQNet) -> VerilatedSession:
        return VerilatedSession(net, max_batch, root, design)

    return make
