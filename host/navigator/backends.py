"""Where a maze run executes: the golden model, the simulated firmware or a board.

``--backend``:

* ``golden``: the Python model (:class:`memrl.sim.navigator.golden.Navigator`);
* ``amaranth``: the firmware (:class:`memrl.rtl.navigator.commands.NavigatorCommands`) in
  ``amaranth.sim``, one instance per seed, spoken to over its UART pins;
* ``icarus``, ``verilator``: the firmware's Verilog under cocotb behind a
  pseudo-terminal (:class:`memrl.sim.tools.uart_bridge.SimBoard`), one per seed, spoken
  to through pyserial: the code path of a board;
* ``serial:PORT``: a board (or a simulated board behind a pseudo-terminal) on a
  serial port: one agent, as a board holds one agent's devices.

``--device``: ``siox`` (the SiOx physics model; the default everywhere it can
run) or ``emulator`` (the on-chip emulator core; the golden model then runs
against its Python twin, :class:`memrl.sim.devices.emulator.EmulatorPort`). A
board has the device it was built with.

Every backend runs the same schedule through :func:`memrl.sim.navigator.golden.run_agent`
and yields the same per-trial records, so a run folder looks the same whichever
backend wrote it; for the same seed and device the simulated backends equal the
golden model (tests/host/navigator/test_backends.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from memrl.rtl.navigator.commands import config_id
from memrl.rtl.navigator.core import SLOTS
from memrl.sim.devices.emulator import RRAM_DEVICES, EmulatorModel, EmulatorPort, check_device
from memrl.sim.navigator.golden import PRESETS, Navigator, TrialAgent, TrialResult
from memrl.sim.navigator.session import TRIAL_FIELDS, rtl_config

__all__ = ["BACKENDS", "CONTROL_BACKENDS", "RRAM_DEVICES", "Backend", "parse_backend",
           "check_run", "StackedAgents", "close_agents", "navigator_agent"]  # fmt: skip

BACKENDS = ("golden", "amaranth", "icarus", "verilator", "serial:PORT")
#: Where a cart-pole or mountain-car run's crossbar digital side runs: the golden
#: model, the crossbar engine in amaranth.sim or as Verilog under cocotb, or the
#: crossbar firmware on a board (or a simulated board) on a serial port.
CONTROL_BACKENDS = ("golden", "amaranth", "icarus", "verilator", "serial:PORT")
#: The client's timeout per attempt on a simulated board behind a pseudo-terminal
#: (wall seconds: a request's bytes take about 0.1 s on Icarus).
SIMBOARD_TIMEOUT_S = 2.0
BOARD_TIMEOUT_S = 0.5  # a board at 115,200 baud: a full 512-byte reply takes 45 ms
#: The client's timeout per attempt in the simulated firmware's seconds (120,000
#: cycles at 12 MHz: any request but a trial; trials get a bound of their own).
SIM_TIMEOUT_S = 0.01


@dataclass(frozen=True)
class Backend:
    kind: str  # golden | amaranth | icarus | verilator | serial
    port: str = ""  # serial only

    def __str__(self) -> str:
        return f"serial:{self.port}" if self.kind == "serial" else self.kind


def parse_backend(text: str) -> Backend:
    """``golden``, ``amaranth`` or ``serial:PORT``; a ValueError names the choices."""
    if text in ("golden", "amaranth", "icarus", "verilator"):
        return Backend(text)
    if text.startswith("serial:") and len(text) > len("serial:"):
        return Backend("serial", text[len("serial:") :])
    raise ValueError(f"backend must be one of {', '.join(BACKENDS)} (got {text!r})")


def check_run(backend: str, device: str, preset: str, seeds: int) -> Backend:
    """The parsed backend, after refusing what it cannot run (naming the option)."""
    b = parse_backend(backend)
    check_device(device)
    if b.kind != "golden" and preset != "paper":
        raise ValueError(
            f"the firmware implements the paper rule: use --preset paper with --backend {b}"
        )
    if b.kind == "serial" and seeds != 1:
        raise ValueError("a board holds one agent's devices: use --seeds 1 with a serial backend")
    return b


def close_agents(agents: Sequence[object]) -> None:
    """Close each agent that holds a simulator or a port (those with ``close``)."""
    for a in agents:
        if hasattr(a, "close"):
            a.close()


class StackedAgents:
    """Single-agent :class:`TrialAgent` s run side by side as one batch."""

    def __init__(self, agents: Sequence[TrialAgent]) -> None:
        self.agents = list(agents)

    def close(self) -> None:
        close_agents(self.agents)

    def run_trial(self, maze, max_steps: int) -> TrialResult:  # noqa: ANN001
        rs = [a.run_trial(maze, max_steps) for a in self.agents]
        costs = [r.cost for r in rs]
        return TrialResult(
            *(np.concatenate([getattr(r, f) for r in rs]) for f in TRIAL_FIELDS),
            cost=None if any(c is None for c in costs) else np.concatenate(costs),
        )


def _emulator_port(n_devices: int, seed: int) -> EmulatorPort:
    return EmulatorPort(EmulatorModel.from_siox(n_devices, seed))


def navigator_agent(
    backend: Backend,
    device: str,
    shape: tuple[int, int],
    seeds: Sequence[int],
    preset: str,
    traj_depth: int = 1024,
) -> TrialAgent:
    """The navigator on ``backend`` with ``device``, one agent per seed. A simulated
    firmware keeps ``traj_depth`` trajectory places per trial (a terrain map's
    cost needs all of them: max steps + 1)."""
    check_run(str(backend), device, preset, len(seeds))
    params = PRESETS[preset]
    n = SLOTS * shape[0] * shape[1]
    if backend.kind == "golden":
        if device == "siox":
            return Navigator(shape, seeds, params)
        return StackedAgents(
            [Navigator(shape, [s], params, device_port=_emulator_port(n, s)) for s in seeds]
        )
    from memrl.host.link.client import LinkClient
    from memrl.host.link.transports import AmaranthTransport, SerialTransport
    from memrl.host.navigator.commands import FirmwareAgent, NavigatorClient

    config = rtl_config(params, shape)

    def firmware(transport: object, timeout_s: float) -> FirmwareAgent:
        link = LinkClient(transport, timeout_s=timeout_s)
        return FirmwareAgent(NavigatorClient(link, config_id(config)))

    if backend.kind == "serial":
        return firmware(SerialTransport(backend.port), BOARD_TIMEOUT_S)
    agents: list[FirmwareAgent] = []
    try:
        for s in seeds:
            if backend.kind == "amaranth":
                t = AmaranthTransport(config, s, device, traj_depth=traj_depth)
                agents.append(firmware(t, SIM_TIMEOUT_S))
                continue
            from memrl.sim.tools.uart_bridge import SimBoard

            board = SimBoard(backend.kind, config, s, device, traj_depth=traj_depth)
            try:
                agent = firmware(SerialTransport(board.port), SIMBOARD_TIMEOUT_S)
            except BaseException:
                board.close()
                raise
            agent.on_close.append(board.close)
            agents.append(agent)
    except BaseException:
        close_agents(agents)
        raise
    return StackedAgents(agents)
