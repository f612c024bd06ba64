"""The crossbar engine on a board, over the host link (:mod:`memrl.rtl.crossbar.commands`).

:class:`LinkSession` is an :class:`~memrl.sim.crossbar.session.EngineSession`
whose commands go over a :class:`~memrl.host.link.client.LinkClient`: the
command's input words by XB_WRITE into the firmware's input buffer, XB_RUN,
then its output words by XB_READ. Each request can be repeated, so the
client's retries on a lost or damaged frame are safe. It starts with
IDENTIFY and refuses firmware of another kind or for another network
(configuration id). The array is the firmware's emulator core; the network's
own emulator model shadows it and checks every answer, as in simulation.

:func:`simulated_link` is the firmware in ``amaranth.sim`` behind a
:class:`~memrl.host.link.transports.UARTSimTransport`; :func:`link_engine` makes
an ``engine`` for :class:`~memrl.sim.crossbar.golden.CrossbarQNet` from a serial
port or that simulation.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

from memrl.host.link.client import LinkClient
from memrl.host.link.frames import LinkError
from memrl.host.link.transports import (
    AMARANTH_SIM_CLK_HZ,
    AMARANTH_SIM_DIVISOR,
    SerialTransport,
    UARTSimTransport,
)
from memrl.host.navigator.commands import FirmwareMismatch
from memrl.rtl.crossbar.commands import (
    KIND_CROSSBAR,
    WORD_BYTES,
    WORDS_PER_FRAME,
    XB_IDENTIFY_BYTES,
    XB_IDENTIFY_FORMAT,
    XB_RUN_FORMAT,
    CrossbarCommands,
    crossbar_config_id,
)
from memrl.rtl.crossbar.engine import MAX_PROGRAM, CrossbarEngineConfig, EngineOp
from memrl.rtl.link.protocol import VERSION, Cmd
from memrl.sim.crossbar.golden import CrossbarConfig, CrossbarQNet, emulator_model
from memrl.sim.crossbar.session import (
    DEFAULT_DESIGN,
    EMULATED_STALL_CYCLES,
    EngineSession,
    SystemDesign,
    engine_config,
)
from memrl.sim.devices.xbar_emulator import XbarEmulatorModel

__all__ = ["CrossbarInfo", "LinkSession", "simulated_link", "board_limits",
           "board_network", "board_firmware",
           "link_engine"]  # fmt: skip

_MASK = (1 << (8 * WORD_BYTES)) - 1


@dataclass(frozen=True)
class CrossbarInfo:
    """The crossbar firmware's IDENTIFY reply."""

    version: int
    kind: int
    rows: int
    cols: int
    max_payload: int
    max_batch: int
    words_in: int
    words_out: int
    config_id: int
    clk_hz: int


def _pack(words: list[int]) -> bytes:
    return b"".join((w & _MASK).to_bytes(WORD_BYTES, "little") for w in words)


def _unpack(raw: bytes, bits: int) -> list[int]:
    out = []
    for k in range(0, len(raw), WORD_BYTES):
        v = int.from_bytes(raw[k : k + WORD_BYTES], "little") & ((1 << bits) - 1)
        out.append(v - (1 << bits) if v >> (bits - 1) else v)
    return out


class LinkSession(EngineSession):
    """The engine of ``config`` behind ``link``; ``shadow``: the network whose
    emulator model checks every answer (see :class:`EngineSession`)."""

    def __init__(
        self,
        link: LinkClient,
        config: CrossbarEngineConfig,
        shadow: CrossbarQNet,
        transport: object | None = None,
    ) -> None:
        super().__init__(config, shadow)
        self.link, self.transport = link, transport
        raw = link.request(Cmd.IDENTIFY)
        if len(raw) != XB_IDENTIFY_BYTES:
            raise FirmwareMismatch(
                f"IDENTIFY reply of {len(raw)} bytes: not the crossbar firmware "
                f"(expected {XB_IDENTIFY_BYTES})"
            )
        self.info = info = CrossbarInfo(*struct.unpack(XB_IDENTIFY_FORMAT, raw))
        want = crossbar_config_id(config, emulator_model(shadow.config))
        if info.version != VERSION or info.kind != KIND_CROSSBAR:
            raise FirmwareMismatch(
                f"firmware kind {info.kind}, version {info.version}: "
                f"not the crossbar firmware ({KIND_CROSSBAR}, version {VERSION})"
            )
        if info.config_id != want:
            hint = "build it for this run"
            if info.max_batch != config.max_batch:
                hint = (
                    f"its forward batches hold {info.max_batch} samples, this run's "
                    f"{config.max_batch}: run with --pass-samples {info.max_batch} and "
                    "the --program-entries it was built with, or build it for this run"
                )
            raise FirmwareMismatch(
                f"the firmware runs another network or array (configuration id "
                f"0x{info.config_id:04x}, this run's 0x{want:04x}): {hint}"
            )
        # XB_RUN's reply waits for the engine: allow the longest command a
        # stalled-engine check allows, at the firmware's clock.
        self.run_timeout_s = link.timeout_s + EMULATED_STALL_CYCLES / info.clk_hz

    def _exchange(self, op: EngineOp, count: int, reads_log2: int, din: list[int],
                  n_out: int) -> list[int]:  # fmt: skip
        info = self.info
        if len(din) > info.words_in or n_out > info.words_out:
            raise ValueError(
                f"{op.name} needs {len(din)} input and {n_out} output words; the firmware's "
                f"buffers hold {info.words_in} and {info.words_out}"
            )
        for k in range(0, len(din), WORDS_PER_FRAME):
            chunk = din[k : k + WORDS_PER_FRAME]
            self.link.request(Cmd.XB_WRITE, struct.pack("<HH", k, len(chunk)) + _pack(chunk))
        raw = self.link.request(Cmd.XB_RUN, struct.pack("<BBH", op.value, reads_log2, count),
                                timeout_s=self.run_timeout_s)  # fmt: skip
        took, gave, cycles = struct.unpack(XB_RUN_FORMAT, raw)
        if took != len(din) or gave != n_out:
            raise LinkError(
                f"{op.name} of {count}: the engine took {took} words (sent {len(din)}) "
                f"and gave {gave} (expected {n_out})"
            )
        self.cycles += cycles
        out: list[int] = []
        for k in range(0, n_out, WORDS_PER_FRAME):
            n = min(WORDS_PER_FRAME, n_out - k)
            raw = self.link.request(Cmd.XB_READ, struct.pack("<HH", k, n))
            if len(raw) != n * WORD_BYTES:
                raise LinkError(f"XB_READ of {n} words returned {len(raw)} bytes")
            out += _unpack(raw, self.config.act_bits)
        return out

    def close(self) -> None:
        super().close()
        close = getattr(self.transport, "close", None)
        if close is not None:
            close()


def board_limits(net: CrossbarQNet | CrossbarConfig) -> tuple[int, int]:
    """The forward batch and PROGRAM entries the crossbar firmware for ``net`` is
    built with: the network's ``pass_samples`` and ``program_entries`` (a board
    with less memory), else the agents' minibatch and 8,192 entries."""
    from memrl.host.build.verilog import CROSSBAR_MAX_BATCH

    c = net.config if isinstance(net, CrossbarQNet) else net
    return c.pass_samples or CROSSBAR_MAX_BATCH, c.program_entries or MAX_PROGRAM


def simulated_link(
    net: CrossbarQNet, max_batch: int | None = None, divisor: int = AMARANTH_SIM_DIVISOR,
    clk_hz: int = AMARANTH_SIM_CLK_HZ, lanes: int = 8,
) -> tuple[CrossbarCommands, UARTSimTransport]:  # fmt: skip
    """The crossbar firmware for ``net`` in amaranth.sim (forward batches of
    ``max_batch``, default :func:`board_limits`), and its transport."""
    batch, program = board_limits(net)
    fw = CrossbarCommands(engine_config(net, max_batch or batch, program),
                          emulator_model(net.config), divisor, clk_hz, lanes)  # fmt: skip
    return fw, UARTSimTransport(fw, divisor, clk_hz)


def board_network(
    env_id: str, preset: str, design: SystemDesign = DEFAULT_DESIGN
) -> tuple[CrossbarEngineConfig, XbarEmulatorModel]:
    """The engine and the emulator a run of ``env_id`` with ``preset`` on the
    emulator device talks to (``--backend serial:PORT``): its network, working
    in ``design``'s pieces, and the emulator of its array. The engine is built
    for those pieces and with ``design``'s products."""
    import gymnasium as gym

    from memrl.host.crossbar.control import DEVICES, make_agent

    env = gym.make(env_id)
    try:
        xbar = make_agent(env, "crossbar", preset, 0, design.pieces(DEVICES["emulator"])).xbar
    finally:
        env.close()
    config = engine_config(xbar, *board_limits(xbar), design.serial_products)
    return config, emulator_model(xbar)


def board_firmware(
    env_id: str, preset: str, divisor: int, clk_hz: int, design: SystemDesign = DEFAULT_DESIGN
) -> CrossbarCommands:
    """The crossbar firmware of :func:`board_network` built as ``design`` says,
    ``divisor`` clock cycles per UART bit at ``clk_hz``."""
    net = board_network(env_id, preset, design)
    return CrossbarCommands(*net, divisor, clk_hz, design.lanes, design.spram)


def link_engine(
    port: str | None = None, max_batch: int | None = None, wrap: Callable | None = None,
    **client: object,
) -> Callable[[CrossbarQNet], LinkSession]:  # fmt: skip
    """An ``engine`` for :class:`CrossbarQNet`: the firmware on serial ``port``, or
    (None) simulated in-process. ``max_batch``: the firmware's forward batch
    (default :func:`board_limits`); ``wrap`` wraps the transport (a
    :class:`~memrl.host.link.client.FaultyTransport`, say); ``client``: options
    of the :class:`LinkClient`."""

    def make(net: CrossbarQNet) -> LinkSession:
        if net.config.array != "emulator":
            raise ValueError(
                "a board has no 1T1R array: the crossbar firmware runs the emulator "
                "(--device emulator)"
            )
        if port is None:
            transport = simulated_link(net, max_batch)[1]
        else:
            transport = SerialTransport(port)
        wire = wrap(transport) if wrap is not None else transport
        batch, program = board_limits(net)
        config = engine_config(net, max_batch or batch, program)
        return LinkSession(LinkClient(wire, **client), config, net, transport)

    return make
