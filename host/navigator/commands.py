"""The navigator firmware's commands from the host (docs/link/protocol.md).

:class:`NavigatorClient` wraps a :class:`~memrl.host.link.client.LinkClient`:
it starts with IDENTIFY (which also makes the firmware forget the previous
session's last request, so a new session's first sequence number cannot be
taken for a retry), checks the firmware's kind and rule parameters, and turns
each command into a method. :func:`run_schedule` runs a maze schedule the way
:func:`memrl.sim.navigator.golden.run_agent` does and returns what
:func:`memrl.sim.navigator.session.golden_run` returns.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from memrl.host.link.client import LinkClient
from memrl.host.link.frames import LinkError
from memrl.rtl.link.protocol import MAX_PAYLOAD, VERSION, Cmd
from memrl.rtl.navigator.commands import (
    IDENTIFY_BYTES,
    IDENTIFY_FORMAT,
    KIND_NAVIGATOR,
    RESULT_BYTES,
    RESULT_FIELDS,
    RESULT_FORMAT,
    TRAJ_PER_READ,
)  # fmt: skip
from memrl.rtl.navigator.port import RRAMOp
from memrl.sim.navigator.golden import COST_UNIT, TrialResult, cost_units, layout_schedule
from memrl.sim.navigator.maze import Maze
from memrl.sim.navigator.session import TRIAL_FIELDS, layout_flags

__all__ = ["FirmwareInfo", "NavigatorClient", "FirmwareMismatch", "run_schedule",
           "FirmwareAgent"]  # fmt: skip

#: Clock cycles per step that bound a trial's length, beside the integration
#: ticks: per place, the forgetting sweep's and (default rule) the frontier
#: search's, with the port's latency; and the step's fixed work.
_CYCLES_PER_PLACE = 48
_CYCLES_PER_STEP = 512
_TICKS_PER_STEP = 4096  # the paper rule's max_ticks (4095), rounded up


class FirmwareMismatch(RuntimeError):
    """The firmware is not the one the host expects (kind, version or rule)."""


@dataclass(frozen=True)
class FirmwareInfo:
    """The IDENTIFY reply."""

    version: int
    kind: int
    rows: int
    cols: int
    max_payload: int
    traj_depth: int
    devices: int
    config_id: int
    clk_hz: int


class NavigatorClient:
    """The navigator firmware's commands over ``link``."""

    def __init__(
        self,
        link: LinkClient,
        config_id: int | None = None,
        known: dict[int, str] | None = None,
        cost_bits: int = 0,
    ) -> None:
        """``config_id``: the rule the run expects (None: any); ``known``: rule names
        by id, so a refusal can say which rule the firmware runs; ``cost_bits``: the
        firmware's core plans over entry costs of this width (a terrain build), so
        each layout goes with its costs."""
        self.link = link
        self.cost_bits = cost_bits
        raw = link.request(Cmd.IDENTIFY)
        if len(raw) != IDENTIFY_BYTES:
            raise LinkError(f"IDENTIFY reply of {len(raw)} bytes (expected {IDENTIFY_BYTES})")
        self.info = FirmwareInfo(*struct.unpack(IDENTIFY_FORMAT, raw))
        i = self.info
        if i.version != VERSION or i.kind != KIND_NAVIGATOR:
            raise FirmwareMismatch(
                f"the firmware speaks protocol {i.version}, kind {i.kind}; "
                f"this host speaks protocol {VERSION} to the navigator (kind {KIND_NAVIGATOR})"
            )
        if config_id is not None and i.config_id != config_id:
            names = known or {}
            if i.config_id in names and config_id in names:
                raise FirmwareMismatch(
                    f"the firmware runs the {names[i.config_id]} rule (id 0x{i.config_id:04x}); "
                    f"this run asks for the {names[config_id]} rule (id 0x{config_id:04x}): "
                    f"use --preset {names[i.config_id]}, or rebuild the firmware with "
                    f"--preset {names[config_id]}"
                )
            raise FirmwareMismatch(
                f"the firmware's rule parameters (id 0x{i.config_id:04x}) are not the "
                f"requested ones (id 0x{config_id:04x}): rebuild it with them"
            )
        self.places = i.rows * i.cols
        self.max_steps = 0

    def reset(self) -> None:
        self.link.request(Cmd.RESET)

    def write_layout(self, maze: Maze) -> None:
        """Write every place's flags (wall, goal) and, to a terrain build, its entry
        cost, in as few frames as fit."""
        if maze.shape != (self.info.rows, self.info.cols):
            raise ValueError(
                f"maze {maze.name!r} is {maze.shape}; the firmware's is "
                f"{(self.info.rows, self.info.cols)}"
            )
        words = layout_flags(maze, self.cost_bits)  # checks a terrain build's costs
        flags = [w & 3 for w in words]
        per = 4 * (MAX_PAYLOAD - 4)
        for first in range(0, len(flags), per):
            chunk = flags[first : first + per]
            packed = bytearray((len(chunk) + 3) // 4)
            for i, f in enumerate(chunk):
                packed[i >> 2] |= f << (2 * (i & 3))
            self.link.request(Cmd.WRITE_LAYOUT, struct.pack("<HH", first, len(chunk)) + packed)
        if self.cost_bits:  # the entry costs, a byte per place
            costs = bytes(w >> 2 for w in words)
            per = MAX_PAYLOAD - 4
            for first in range(0, len(costs), per):
                chunk = costs[first : first + per]
                self.link.request(Cmd.WRITE_COSTS, struct.pack("<HH", first, len(chunk)) + chunk)

    def configure(self, start: tuple[int, int], max_steps: int) -> None:
        self.link.request(Cmd.CONFIGURE, struct.pack("<HHH", start[0], start[1], max_steps))
        self.max_steps = max_steps

    def _trial_timeout(self) -> float:
        """A bound on a trial's time at the firmware's clock, with a margin."""
        cycles = self.max_steps * (
            _CYCLES_PER_STEP + _CYCLES_PER_PLACE * self.places + _TICKS_PER_STEP
        )
        return 2 * cycles / self.info.clk_hz + self.link.timeout_s

    def init(self) -> None:
        """The run start: every device to its initial level."""
        cycles = 16 * self.info.devices + 1024
        self.link.request(Cmd.INIT, timeout_s=2 * cycles / self.info.clk_hz + self.link.timeout_s)

    @staticmethod
    def _result(raw: bytes) -> dict:
        if len(raw) != RESULT_BYTES:
            raise LinkError(f"result of {len(raw)} bytes (expected {RESULT_BYTES})")
        out = dict(zip(RESULT_FIELDS, struct.unpack(RESULT_FORMAT, raw), strict=True))
        out["reached"] = bool(out["reached"])
        return out

    def run_trial(self) -> dict:
        """Run one trial; its results (:data:`TRIAL_FIELDS` and ``trajectory_len``)."""
        return self._result(self.link.request(Cmd.RUN_TRIAL, timeout_s=self._trial_timeout()))

    def read_result(self) -> dict:
        return self._result(self.link.request(Cmd.READ_RESULT))

    def read_trajectory(self, length: int) -> list[int]:
        """The last trial's first ``length`` places."""
        if length > self.info.traj_depth:
            raise ValueError(
                f"the trajectory has {length} places; the firmware keeps "
                f"{self.info.traj_depth} (rebuild it with a deeper trajectory memory)"
            )
        out: list[int] = []
        while len(out) < length:
            n = min(TRAJ_PER_READ, length - len(out))
            raw = self.link.request(Cmd.READ_TRAJECTORY, struct.pack("<HH", len(out), n))
            out.extend(struct.unpack(f"<{n}H", raw))
        return out

    def read_device(self, addr: int, count: int = 1) -> list[int]:
        """READ codes of devices ``addr`` .. ``addr + count - 1`` (at most 255)."""
        return list(self.link.request(Cmd.READ_DEVICE, struct.pack("<IB", addr, count)))

    def write_device(self, addr: int, op: RRAMOp, level: int) -> None:
        """SET (compliance level) or RESET (stop level) one device."""
        self.link.request(Cmd.WRITE_DEVICE, struct.pack("<IBB", addr, op.value, level))


def run_schedule(
    client: NavigatorClient,
    layouts: Sequence[Maze],
    switch_at: Sequence[int],
    trials: int,
    max_steps: int,
    on_trial: Callable[[int, int, dict], None] | None = None,
) -> list[dict]:
    """Run one agent through a maze schedule on the firmware: INIT, then per
    trial the layout (when it changes), CONFIGURE and RUN_TRIAL, then the
    trajectory. Per trial a dict of :data:`TRIAL_FIELDS` and ``trajectory``;
    ``on_trial(trial, layout index, record)`` after each."""
    agent = FirmwareAgent(client)
    out: list[dict] = []
    for trial, k in enumerate(layout_schedule(len(layouts), switch_at, trials)):
        res, trajectory = agent.trial(layouts[k], max_steps, trajectory=True)
        rec = {f: res[f] for f in TRIAL_FIELDS}
        rec["trajectory"] = trajectory
        out.append(rec)
        if on_trial is not None:
            on_trial(trial, k, rec)
    return out


class FirmwareAgent:
    """A :class:`~memrl.sim.navigator.golden.TrialAgent` on the firmware behind ``client``
    (one agent): INIT on construction, then per trial the layout (when it
    changes), CONFIGURE and RUN_TRIAL; on a terrain map also the trajectory, for
    the trial's entry cost (as the golden model sums it)."""

    def __init__(self, client: NavigatorClient) -> None:
        self.client = client
        self.loaded: Maze | None = None
        self.on_close: list[Callable[[], None]] = []  # run by close(), in order
        client.init()

    def close(self) -> None:
        closer = getattr(self.client.link.transport, "close", None)
        for f in [*([closer] if closer else []), *self.on_close]:
            f()
        self.on_close.clear()

    def trial(
        self, maze: Maze, max_steps: int, trajectory: bool = False
    ) -> tuple[dict, list[int] | None]:
        """One trial: the layout (when it changes), CONFIGURE, RUN_TRIAL; its
        results and, with ``trajectory``, its places."""
        keeps = self.client.info.traj_depth
        if trajectory and max_steps + 1 > keeps:
            raise ValueError(
                f"a trial of up to {max_steps} steps has up to {max_steps + 1} places; the "
                f"firmware keeps {keeps}: use --max-steps {keeps - 1} or less, or rebuild it "
                f"with --traj-depth {max_steps + 1}"
            )
        if maze is not self.loaded:
            self.client.write_layout(maze)
            self.loaded = maze
        self.client.configure(maze.start, max_steps)
        r = self.client.run_trial()
        places = self.client.read_trajectory(r["trajectory_len"]) if trajectory else None
        return r, places

    def run_trial(self, maze: Maze, max_steps: int) -> TrialResult:
        units = cost_units(maze)
        r, places = self.trial(maze, max_steps, trajectory=units is not None)
        cost = None
        if units is not None:  # a terrain map: the summed entry cost of the places entered
            cost = np.array([units[places[1:]].sum() / COST_UNIT])
        return TrialResult(*(np.array([int(r[f])]) for f in TRIAL_FIELDS), cost=cost)
