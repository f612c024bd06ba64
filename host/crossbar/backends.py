"""Where a cart-pole or mountain-car run's crossbar digital side runs.

``--backend``:

* ``golden``: the golden model's own datapath
  (:class:`memrl.sim.crossbar.golden.CrossbarQNet`);
* ``amaranth``: the crossbar engine in ``amaranth.sim``
  (:func:`memrl.sim.crossbar.session.amaranth_engine`);
* ``icarus``, ``verilator``: the engine's Verilog under cocotb; a seed trains
  inside the cocotb process (:mod:`memrl.host.crossbar.cocotb_backend`). With
  the emulator device the design holds the whole array, and Verilator runs it
  in this process instead (:mod:`memrl.sim.crossbar.verilated`);
* ``serial:PORT``: the crossbar firmware on a board (or a simulated board) on a
  serial port or a pyserial URL (:func:`memrl.host.crossbar.commands.link_engine`):
  one agent on the firmware's emulated array.

The backends are registered in :data:`CROSSBAR_BACKENDS`, each with the factory
of its engine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from memrl.host.backend import Backend, BackendTable
from memrl.sim.crossbar.golden import EngineFactory

__all__ = ["BACKENDS", "CROSSBAR_BACKENDS", "CrossbarBackend", "parse_backend"]


@dataclass(frozen=True)
class CrossbarBackend:
    """One place a control run's crossbar digital side runs.

    ``engine(port)`` makes the engine of a seed trained in this process (None:
    the golden model's own datapath). ``simulator``: the engine's Verilog runs
    on this simulator under cocotb, and a seed trains inside the cocotb process,
    which serves the 1T1R model's port; with the emulator device the design
    holds the whole array, and ``engine``, when it has one, runs it here
    instead. ``board``: a board on a port (``NAME:PORT``), one agent on its
    emulated array.
    """

    engine: Callable[[str], EngineFactory] | None = None
    simulator: str | None = None
    board: bool = False

    @property
    def has_engine(self) -> bool:
        """Whether an engine does the digital side (not the golden model's datapath)."""
        return self.engine is not None or self.simulator is not None

    def cocotb_simulator(self, device: str) -> str | None:
        """The simulator whose cocotb process trains a seed on ``device`` (a name
        of ``DEVICES``), or None: the seed trains in this process."""
        if self.engine is not None and device == "emulator":
            return None
        return self.simulator

    def make_engine(self, port: str) -> EngineFactory | None:
        """The engine of a seed trained in this process (None: the golden model)."""
        return None if self.engine is None else self.engine(port)


def _amaranth(port: str) -> EngineFactory:
    from memrl.sim.crossbar.session import amaranth_engine

    return amaranth_engine()


def _verilated(port: str) -> EngineFactory:
    from memrl.sim.crossbar.verilated import verilated_engine

    return verilated_engine()


def _board(port: str) -> EngineFactory:
    from memrl.host.crossbar.commands import link_engine
    from memrl.host.navigator.backends import SIMBOARD_TIMEOUT_S

    return link_engine(port, timeout_s=SIMBOARD_TIMEOUT_S)


#: The crossbar's backends, by name (see the module text).
CROSSBAR_BACKENDS: BackendTable[CrossbarBackend] = BackendTable(
    golden=CrossbarBackend(),
    amaranth=CrossbarBackend(_amaranth),
    icarus=CrossbarBackend(simulator="icarus"),
    verilator=CrossbarBackend(_verilated, simulator="verilator"),
    serial=CrossbarBackend(_board, board=True),
)
BACKENDS = CROSSBAR_BACKENDS.names()


def parse_backend(text: str) -> Backend:
    """A crossbar backend by name; a ValueError names the choices."""
    return CROSSBAR_BACKENDS.parse(text)
