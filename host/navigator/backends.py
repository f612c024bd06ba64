"""Where a maze run executes: the golden model, the simulated firmware or a board.

``--backend``:

* ``golden``: the Python model (:class:`memrl.sim.navigator.golden.Navigator`);
* ``amaranth``: the firmware (:class:`memrl.rtl.navigator.commands.NavigatorCommands`) in
  ``amaranth.sim``, one instance per seed, spoken to over its UART pins;
* ``icarus``, ``verilator``: the firmware's Verilog under cocotb behind a
  pseudo-terminal (:class:`memrl.sim.tools.uart_bridge.SimBoard`), one per seed, spoken
  to through pyserial: the code path of a board;
* ``serial:PORT``: a board (or a simulated board behind a pseudo-terminal) on a
  serial port or a pyserial URL (``socket://HOST:PORT``): one agent, as a board
  holds one agent's devices.

``--device``: ``siox`` (the SiOx physics model; the default everywhere it can
run) or ``emulator`` (the on-chip emulator core; the golden model then runs
against its Python twin, :class:`memrl.sim.devices.emulator.EmulatorPort`). A
board has the device it was built with.

The backends are registered in :data:`NAVIGATOR_BACKENDS`, each with the
factory of its agents. Every backend runs the same schedule through
:func:`memrl.sim.navigator.golden.run_agent` and yields the same per-trial
records, so a run folder looks the same whichever backend wrote it; for the
same seed and device the simulated backends equal the golden model
(tests/host/navigator/test_backends.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np

from memrl.host.backend import Backend, BackendTable
from memrl.rtl.navigator.commands import config_id
from memrl.rtl.navigator.core import SLOTS
from memrl.sim.devices.emulator import RRAM_DEVICES, EmulatorModel, EmulatorPort, check_device
from memrl.sim.navigator.golden import PRESETS, Navigator, TrialAgent, TrialResult
from memrl.sim.navigator.session import TRIAL_FIELDS, rtl_config, rtl_presets

__all__ = ["BACKENDS", "NAVIGATOR_BACKENDS", "NavigatorBackend", "AgentRequest", "RRAM_DEVICES",
           "Backend", "parse_backend", "check_run", "StackedAgents", "close_agents",
           "navigator_agent"]  # fmt: skip

#: The client's timeout per attempt on a simulated board behind a pseudo-terminal
#: whose clock the host cannot read (``memrl sim serve``; wall seconds: a
#: request's bytes take about 0.1 s on Icarus).
SIMBOARD_TIMEOUT_S = 2.0
#: The client's timeout per attempt on a simulated board the host started, in
#: the board's simulated seconds (150,000 cycles at its 10 kHz: a request and a
#: reply of the largest frame cross the UART in about 85,000).
SIMBOARD_CLOCK_TIMEOUT_S = 15.0
BOARD_TIMEOUT_S = 0.5  # a board at 115,200 baud: a full 512-byte reply takes 45 ms
#: The client's timeout per attempt in the simulated firmware's seconds (120,000
#: cycles at 12 MHz: any request but a trial; trials get a bound of their own).
SIM_TIMEOUT_S = 0.01


@dataclass(frozen=True)
class AgentRequest:
    """What a backend's factory builds agents for: the port (a board's), the
    device, the maze's shape, one agent per seed, the preset, and the trajectory
    places a simulated firmware keeps per trial."""

    port: str
    device: str
    shape: tuple[int, int]
    seeds: tuple[int, ...]
    preset: str
    traj_depth: int
    terrain: bool = False  # the runs are on cost maps


@dataclass(frozen=True)
class NavigatorBackend:
    """One place a maze run executes. ``agents`` makes its agents; ``firmware``:
    it runs the firmware (every preset, on mazes and on terrain); ``board``: a
    board on a port (``NAME:PORT``), holding one agent's devices."""

    agents: Callable[[AgentRequest], TrialAgent]
    firmware: bool = True
    board: bool = False


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


def _golden_agents(req: AgentRequest) -> TrialAgent:
    """The golden model: one batch on the SiOx model, or one agent per seed on
    its emulator's Python twin."""
    params = PRESETS[req.preset]
    if req.device == "siox":
        return Navigator(req.shape, list(req.seeds), params)
    n = SLOTS * req.shape[0] * req.shape[1]
    return StackedAgents(
        [Navigator(req.shape, [s], params, device_port=_emulator_port(n, s)) for s in req.seeds]
    )


def _firmware_agent(transport: object, req: AgentRequest, timeout_s: float):  # noqa: ANN202
    """The firmware behind ``transport``, spoken to by the link client."""
    from memrl.host.link.client import LinkClient
    from memrl.host.navigator.commands import FirmwareAgent, NavigatorClient

    config = rtl_config(PRESETS[req.preset], req.shape, req.terrain)
    known = {config_id(cfg): name for name, cfg in rtl_presets(req.shape, req.terrain).items()}
    link = LinkClient(transport, timeout_s=timeout_s)
    return FirmwareAgent(NavigatorClient(link, config_id(config), known, config.cost_bits))


def _per_seed(make: Callable[[AgentRequest, int], TrialAgent], req: AgentRequest) -> TrialAgent:
    """One agent per seed from ``make``, side by side; those made so far are
    closed if one fails."""
    agents: list[TrialAgent] = []
    try:
        for s in req.seeds:
            agents.append(make(req, s))
    except BaseException:
        close_agents(agents)
        raise
    return StackedAgents(agents)


def _amaranth_agent(req: AgentRequest, seed: int) -> TrialAgent:
    """The firmware of one seed in amaranth.sim."""
    from memrl.host.link.transports import AmaranthTransport

    config = rtl_config(PRESETS[req.preset], req.shape, req.terrain)
    t = AmaranthTransport(config, seed, req.device, traj_depth=req.traj_depth)
    return _firmware_agent(t, req, SIM_TIMEOUT_S)


def _simboard_agent(simulator: str, req: AgentRequest, seed: int) -> TrialAgent:
    """The firmware of one seed on ``simulator`` behind a pseudo-terminal."""
    from memrl.host.link.transports import SimBoardTransport
    from memrl.sim.tools.uart_bridge import SimBoard

    config = rtl_config(PRESETS[req.preset], req.shape, req.terrain)
    board = SimBoard(simulator, config, seed, req.device, traj_depth=req.traj_depth)
    try:
        agent = _firmware_agent(SimBoardTransport(board), req, SIMBOARD_CLOCK_TIMEOUT_S)
    except BaseException:
        board.close()
        raise
    agent.on_close.append(board.close)
    return agent


def _board_agent(req: AgentRequest) -> TrialAgent:
    """A board on a serial port (or a pyserial URL): one agent."""
    from memrl.host.link.transports import SerialTransport

    return _firmware_agent(SerialTransport(req.port), req, BOARD_TIMEOUT_S)


#: The navigator's backends, by name (see the module text).
NAVIGATOR_BACKENDS: BackendTable[NavigatorBackend] = BackendTable(
    golden=NavigatorBackend(_golden_agents, firmware=False),
    amaranth=NavigatorBackend(partial(_per_seed, _amaranth_agent)),
    icarus=NavigatorBackend(partial(_per_seed, partial(_simboard_agent, "icarus"))),
    verilator=NavigatorBackend(partial(_per_seed, partial(_simboard_agent, "verilator"))),
    serial=NavigatorBackend(_board_agent, board=True),
)
BACKENDS = NAVIGATOR_BACKENDS.names()


def parse_backend(text: str) -> Backend:
    """A navigator backend by name; a ValueError names the choices."""
    return NAVIGATOR_BACKENDS.parse(text)


def check_run(backend: str, device: str, preset: str, seeds: int) -> Backend:
    """The parsed backend, after refusing what it cannot run (naming the option)."""
    b = parse_backend(backend)
    check_device(device)
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; known: {', '.join(PRESETS)}")
    entry = NAVIGATOR_BACKENDS.entry(b)
    if entry.board and seeds != 1:
        raise ValueError("a board holds one agent's devices: use --seeds 1 with a serial backend")
    return b


def navigator_agent(
    backend: Backend,
    device: str,
    shape: tuple[int, int],
    seeds: Sequence[int],
    preset: str,
    traj_depth: int = 1024,
    terrain: bool = False,
) -> TrialAgent:
    """The navigator on ``backend`` with ``device``, one agent per seed (``terrain``:
    the runs are on a cost map). A simulated
    firmware keeps ``traj_depth`` trajectory places per trial (a terrain map's
    cost needs all of them: max steps + 1)."""
    check_run(str(backend), device, preset, len(seeds))
    request = AgentRequest(
        backend.port, device, tuple(shape), tuple(seeds), preset, traj_depth, terrain
    )
    return NAVIGATOR_BACKENDS.entry(backend).agents(request)
