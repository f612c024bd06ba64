"""The navigator behind the host link: the command decoder onto the core.

:class:`NavigatorCommands` joins :class:`~memrl.rtl.link.frame.LinkPHY` (UART pins),
a command decoder, :class:`~memrl.rtl.navigator.core.NavigatorCore` and a trajectory
memory; its RRAM port goes out to the device (the on-chip emulator, or a model
in simulation). The commands, their payloads and the error rules are in
:mod:`memrl.rtl.link.protocol` and docs/link/protocol.md.

The decoder is a :class:`~memrl.rtl.link.decoder.CommandDecoder` (the frame
states: it reads the first six payload bytes into registers, checks version,
size, command, payload length and ranges, in that order, the first failure
being the error reply's code, runs the command and streams the reply) with the
navigator's commands:

* INIT and RUN_TRIAL answer when the core is done, so the core is never busy
  when a frame is taken; RUN_TRIAL before any CONFIGURE is refused
  (NOT_CONFIGURED);
* a request with the sequence number and type of the previous request is not
  run again (IDENTIFY excepted, which is always run and forgets the previous
  request): its checks are repeated and it gets the same reply. A retried
  RUN_TRIAL answers with the results of the trial that ran;
* READ_DEVICE and WRITE_DEVICE take the RRAM port from the idle core for their
  operations.

The trajectory memory keeps the places of the last trial (start first, then
each place the core moves to) up to ``traj_depth`` entries; the trial's
``trajectory length`` counts every place, and READ_TRAJECTORY refuses entries
beyond the kept ones.
"""

from __future__ import annotations

import json
import struct
from dataclasses import asdict

from amaranth import Array, Cat, Const, Module, Mux, ResetInserter, Signal
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import Out

from memrl.rtl.link.decoder import CommandDecoder, le_bytes, link_members
from memrl.rtl.link.protocol import CRC, HEADER_BYTES, MAX_PAYLOAD, VERSION, Cmd, Err
from memrl.rtl.navigator.core import SLOTS, NavigatorConfig, NavigatorCore
from memrl.rtl.navigator.emulator import RRAMEmulator
from memrl.rtl.navigator.port import RRAMOp, RRAMPortSignature

__all__ = ["KIND_NAVIGATOR", "IDENTIFY_FORMAT", "IDENTIFY_BYTES", "RESULT_FIELDS",
           "RESULT_FORMAT", "RESULT_BYTES", "TRAJ_PER_READ", "config_id",
           "NavigatorCommands"]  # fmt: skip

KIND_NAVIGATOR = 1
#: IDENTIFY reply (``struct`` format, little-endian): version u8, kind u8, rows u16,
#: columns u16, max payload u16, trajectory depth u16, devices u32, configuration
#: id u16, clock frequency u32 (Hz).
IDENTIFY_FORMAT = "<BBHHHHIHI"
IDENTIFY_BYTES = struct.calcsize(IDENTIFY_FORMAT)
#: Trial results: the fields, in order, and their ``struct`` format (u32
#: little-endian but ``reached``, u8).
RESULT_FIELDS = ("steps", "reached", "ticks", "moves", "hits", "reads", "sets", "resets",
                 "trajectory_len")  # fmt: skip
RESULT_FORMAT = "<IB7I"
RESULT_BYTES = struct.calcsize(RESULT_FORMAT)
#: The longest trajectory read per request (its reply fills the payload).
TRAJ_PER_READ = MAX_PAYLOAD // 2


def config_id(config: NavigatorConfig) -> int:
    """CRC-16 of the core's parameters (JSON, sorted keys): IDENTIFY reports it,
    so a host can tell whether the firmware runs the rule it expects."""
    text = json.dumps(asdict(config), sort_keys=True).encode()
    return CRC(8).compute(text)


class NavigatorCommands(wiring.Component):
    """UART pins and the RRAM port of a navigator driven over the host link.

    ``divisor``: clock cycles per UART bit. ``traj_depth``: trajectory places kept.
    ``clk_hz``: the clock frequency IDENTIFY reports (the host sizes its timeouts by it).
    ``emulator``: an emulator model (:meth:`RRAMEmulator.from_model`); with one, the
    on-chip emulator answers the RRAM port inside (``serial_emulator``: its small
    form) and the component has only its UART pins and ``busy``, ``dropped``.
    ``rmw_rows``: the core's row words read-modify-write (:class:`NavigatorCore`).
    """

    def __init__(
        self, config: NavigatorConfig, divisor: int, traj_depth: int = 1024,
        clk_hz: int = 12_000_000, emulator: object | None = None,
        serial_emulator: bool = False, rmw_rows: bool = False,
    ) -> None:  # fmt: skip
        self.config = config
        self.core = NavigatorCore(config, rmw_rows)
        self.devices = SLOTS * config.places
        if config.places > 1 << 16:
            raise ValueError(
                f"the link addresses places in 16 bits; {config.places} places do not fit"
            )
        if (
            isinstance(traj_depth, bool)
            or not isinstance(traj_depth, int)
            or not (2 <= traj_depth <= 1 << 16)
        ):
            raise ValueError(f"traj_depth must be an integer in [2, 65536] (got {traj_depth!r})")
        if isinstance(clk_hz, bool) or not isinstance(clk_hz, int) or not 0 < clk_hz < 1 << 32:
            raise ValueError(f"clk_hz must be a positive 32-bit integer (got {clk_hz!r})")
        if config.cost_bits not in (0, 8):
            raise ValueError(
                "WRITE_COSTS carries a byte per place: cost_bits must be 8 "
                f"(got {config.cost_bits})"
            )
        self.divisor, self.traj_depth, self.clk_hz = divisor, traj_depth, clk_hz
        self.config_id = config_id(config)
        port = RRAMPortSignature(self.core.addr_bits, lanes=8)
        self.emulator = None
        if emulator is not None:
            self.emulator = RRAMEmulator.from_model(
                emulator, addr_width=port.addr_width, lanes=port.lanes, serial=serial_emulator
            )
        members = link_members()
        if self.emulator is None:
            members["rram"] = Out(port)
        super().__init__(members)

    def elaborate(self, platform: object) -> Module:  # noqa: C901, PLR0915 - one state machine
        m = Module()
        c = self.config
        core = self.core
        core_rst = Signal()
        m.submodules.core = ResetInserter(core_rst)(core)
        if self.emulator is None:
            rram = self.rram
        else:
            m.submodules.emulator = self.emulator
            rram = wiring.flipped(self.emulator.port)
        m.submodules.traj = traj = Memory(shape=16, depth=self.traj_depth, init=[])
        tw = traj.write_port()
        tr = traj.read_port()

        ident = Cat(
            Const(VERSION, 8), Const(KIND_NAVIGATOR, 8), Const(c.height, 16),
            Const(c.width, 16), Const(MAX_PAYLOAD, 16), Const(self.traj_depth, 16),
            Const(self.devices, 32), Const(self.config_id, 16), Const(self.clk_hz, 32),
        )  # fmt: skip
        # ``idx`` counts a payload byte or a layout place (at most 4 * 508).
        dec = CommandDecoder(m, self, self.divisor, ident, idx_shape=12)
        phy, args, a16, idx = dec.phy, dec.args, dec.a16, dec.idx
        n = dec.hdr.length
        # A device address: its low ``ab`` bits, and whether the bits above are zero.
        ab = max(16, core.addr_bits)
        dev_lo, dev_hi0 = args[:ab], args[ab:32] == 0

        # CONFIGURE registers and the trial's trajectory.
        start_row = Signal(core.row_bits)
        start_col = Signal(core.col_bits)
        start_cell = Signal(16)
        max_steps = Signal(c.max_steps_bits)
        configured = Signal()
        m.d.comb += [
            core.start_row.eq(start_row),
            core.start_col.eq(start_col),
            core.max_steps.eq(max_steps),
        ]
        tlen = Signal(c.max_steps_bits + 1)  # at most max_steps + 1 places
        prev = Signal(16)
        kept = Signal(17)  # trajectory entries held: min(tlen, traj_depth)
        m.d.comb += kept.eq(Mux(tlen >= self.traj_depth, self.traj_depth, tlen))

        results = Cat(
            le_bytes(core.steps, 4), le_bytes(core.reached, 1), le_bytes(core.ticks, 4),
            le_bytes(core.moves, 4), le_bytes(core.hits, 4), le_bytes(core.reads, 4),
            le_bytes(core.sets, 4), le_bytes(core.resets, 4), le_bytes(tlen, 4),
        )  # fmt: skip
        assert len(ident) == 8 * IDENTIFY_BYTES and len(results) == 8 * RESULT_BYTES

        # The RRAM port: the core's, but the decoder's while it serves a device command.
        own = Signal()
        dreq = rram.req
        creq = core.rram.req
        with m.If(own):
            m.d.comb += core.rram.resp.valid.eq(0)
        with m.Else():
            m.d.comb += [
                dreq.valid.eq(creq.valid),
                dreq.payload.eq(creq.payload),
                creq.ready.eq(dreq.ready),
                core.rram.resp.valid.eq(rram.resp.valid),
                rram.resp.ready.eq(core.rram.resp.ready),
            ]
        m.d.comb += core.rram.resp.payload.eq(rram.resp.payload)

        # Reply sources beyond the shared ones.
        SRC_RESULT = dec.byte_source(
            Array(results[8 * i : 8 * i + 8] for i in range(RESULT_BYTES))[idx[:6]]
        )

        def fetch_traj() -> None:  # entry ``idx // 2``: its byte in FETCH_TRAJ
            m.d.comb += tr.addr.eq(a16[0] + (idx >> 1))
            m.next = "FETCH_TRAJ"

        def fetch_device() -> None:  # device ``idx``'s READ code: in FETCH_DEVICE
            m.d.comb += [
                own.eq(1),
                dreq.valid.eq(1),
                dreq.payload.op.eq(RRAMOp.READ),
                dreq.payload.addr.eq(dev_lo + idx),
            ]
            with m.If(dreq.ready):
                m.next = "FETCH_DEVICE"

        SRC_TRAJ = dec.source(fetch_traj)
        SRC_DEVICE = dec.source(fetch_device)

        def unless_replay(then: str) -> None:
            """A repeated request gets the empty reply; a new one goes to ``then``."""
            with m.If(dec.replay):
                dec.reply(0)
            with m.Else():
                m.next = then

        @dec.command(Cmd.RESET)
        def _() -> None:
            m.d.comb += core_rst.eq(~dec.replay)
            with m.If(~dec.replay):
                m.d.sync += tlen.eq(0)
            dec.reply(0)

        count = a16[1]

        @dec.command(
            Cmd.WRITE_LAYOUT,
            bad_len=(n < 4) | (n != 4 + ((count + 3) >> 2)),
            bad_range=a16[0] + count > c.places,
        )
        def _() -> None:
            unless_replay("LAYOUT")

        if c.terrain:  # a terrain core's entry costs, a byte per place

            @dec.command(
                Cmd.WRITE_COSTS,
                bad_len=(n < 4) | (n != 4 + count),
                bad_range=a16[0] + count > c.places,
            )
            def _() -> None:
                unless_replay("COSTS")

        @dec.command(
            Cmd.CONFIGURE,
            bad_len=n != 6,
            bad_range=(a16[0] >= c.height) | (a16[1] >= c.width) | (a16[2] == 0)
            | (a16[2] >= (1 << c.max_steps_bits)),
        )  # fmt: skip
        def _() -> None:
            m.d.sync += [
                start_row.eq(a16[0]),
                start_col.eq(a16[1]),
                max_steps.eq(a16[2]),
                start_cell.eq(a16[0] * c.width + a16[1]),
                configured.eq(1),
            ]
            dec.reply(0)

        @dec.command(Cmd.INIT)
        def _() -> None:
            with m.If(dec.replay):
                dec.reply(0)
            with m.Else():
                m.d.comb += core.init.eq(1)
                m.next = "INIT"

        @dec.command(Cmd.RUN_TRIAL, refuse=((~configured, Err.NOT_CONFIGURED),))
        def _() -> None:
            with m.If(dec.replay):
                dec.reply(RESULT_BYTES, SRC_RESULT)
            with m.Else():
                m.d.comb += [core.start.eq(1), tw.en.eq(1), tw.addr.eq(0), tw.data.eq(start_cell)]
                m.d.sync += [tlen.eq(1), prev.eq(start_cell)]
                m.next = "TRIAL"

        @dec.command(Cmd.READ_RESULT)
        def _() -> None:
            dec.reply(RESULT_BYTES, SRC_RESULT)

        @dec.command(
            Cmd.READ_TRAJECTORY,
            bad_len=n != 4,
            bad_range=(a16[1] > TRAJ_PER_READ) | (a16[0] + a16[1] > kept),
        )
        def _() -> None:
            dec.reply(a16[1] << 1, SRC_TRAJ)

        @dec.command(
            Cmd.READ_DEVICE,
            bad_len=n != 5,
            bad_range=~dev_hi0 | (dev_lo + args[32:40] > self.devices),
        )
        def _() -> None:
            dec.reply(args[32:40], SRC_DEVICE)

        op, level = args[32:40], args[40:48]

        @dec.command(
            Cmd.WRITE_DEVICE,
            bad_len=n != 6,
            bad_range=~dev_hi0 | (dev_lo >= self.devices)
            | ((op != RRAMOp.SET.value) & (op != RRAMOp.RESET.value))
            | (level >= 1 << core.rram.signature.level_width),
        )  # fmt: skip
        def _() -> None:
            unless_replay("WRITE_DEVICE")

        with dec.fsm():

            def place_writes(state: str, per_byte: int, we, data) -> None:  # noqa: ANN001
                """A payload of ``per_byte`` places a byte after the first place and the
                count: place ``idx``'s byte is addressed this cycle and written to the
                core the next (``on``, ``n``) with write enable ``we`` and
                ``data(byte, n)``; then the empty reply."""
                with m.State(state):
                    on = Signal(name=f"{state.lower()}_on")
                    n = Signal(16, name=f"{state.lower()}_n")
                    shift = (per_byte - 1).bit_length()
                    m.d.comb += phy.rd_addr.eq(HEADER_BYTES + 4 + (idx >> shift))
                    m.d.sync += [on.eq(idx < a16[1]), n.eq(idx), idx.eq(idx + 1)]
                    m.d.comb += [
                        we.eq(on),
                        core.layout_addr.eq(a16[0] + n),
                        core.layout_data.eq(data(phy.rd_data, n)),
                    ]
                    with m.If(idx > a16[1]):
                        m.d.sync += on.eq(0)
                        dec.reply(0)

            # WRITE_LAYOUT: four places a byte (2-bit flags, the first in the low bits)
            place_writes("LAYOUT", 4, core.layout_we, lambda b, n: b.word_select(n[:2], 2))
            if c.terrain:  # WRITE_COSTS: a byte per place, above the flags
                place_writes("COSTS", 1, core.cost_we, lambda b, n: Cat(Const(0, 2), b))

            with m.State("INIT"):
                with m.If(core.done):
                    dec.reply(0)

            with m.State("TRIAL"):
                moved = core.step_valid & (core.pos != prev)
                with m.If(moved):
                    m.d.comb += [
                        tw.en.eq(tlen < self.traj_depth),
                        tw.addr.eq(tlen),
                        tw.data.eq(core.pos),
                    ]
                    m.d.sync += [tlen.eq(tlen + 1), prev.eq(core.pos)]
                with m.If(core.done):
                    dec.reply(RESULT_BYTES, SRC_RESULT)

            with m.State("WRITE_DEVICE"):
                m.d.comb += [
                    own.eq(1),
                    dreq.valid.eq(1),
                    dreq.payload.op.as_value().eq(op[:3]),
                    dreq.payload.addr.eq(dev_lo),
                    dreq.payload.level.eq(level),
                ]
                with m.If(dreq.ready):
                    m.next = "WRITE_DEVICE_ACK"

            with m.State("WRITE_DEVICE_ACK"):
                m.d.comb += [own.eq(1), rram.resp.ready.eq(1)]
                with m.If(rram.resp.valid):
                    dec.reply(0)

            with m.State("FETCH_TRAJ"):
                m.d.sync += dec.byte.eq(tr.data.word_select(idx[:1], 8))
                m.next = "SEND"

            with m.State("FETCH_DEVICE"):
                m.d.comb += [own.eq(1), rram.resp.ready.eq(1)]
                with m.If(rram.resp.valid):
                    m.d.sync += dec.byte.eq(rram.resp.payload[:8])
                    m.next = "SEND"
        return m
