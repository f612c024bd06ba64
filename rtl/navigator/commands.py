"""The navigator behind the host link: the command decoder onto the core.

:class:`NavigatorCommands` joins :class:`~memrl.rtl.link.frame.LinkPHY` (UART pins),
a command decoder, :class:`~memrl.rtl.navigator.core.NavigatorCore` and a trajectory
memory; its RRAM port goes out to the device (the on-chip emulator, or a model
in simulation). The commands, their payloads and the error rules are in
:mod:`memrl.rtl.link.protocol` and docs/link/protocol.md.

The decoder takes one frame at a time and answers every frame it takes:

* it reads the first six payload bytes into registers, checks version, size,
  command, payload length and ranges (in that order; the first failure is the
  error reply's code), then runs the command;
* INIT and RUN_TRIAL answer when the core is done, so the core is never busy
  when a frame is taken;
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
from amaranth.lib.wiring import In, Out

from memrl.rtl.link.frame import FRAME_BUFFER_BYTES, LinkPHY
from memrl.rtl.link.protocol import CRC, ERROR, HEADER_BYTES, MAX_PAYLOAD, REPLY, VERSION, Cmd, Err
from memrl.rtl.navigator.core import SLOTS, NavigatorConfig, NavigatorCore
from memrl.rtl.navigator.emulator import RRAMEmulator
from memrl.rtl.navigator.port import RRAMOp, RRAMPortSignature

__all__ = ["KIND_NAVIGATOR", "IDENTIFY_FORMAT", "IDENTIFY_BYTES", "RESULT_FIELDS",
           "RESULT_FORMAT", "RESULT_BYTES", "TRAJ_PER_READ", "config_id",
           "NavigatorCommands", "read_args", "check_frame", "note_frame", "send_header",
           "send_byte"]  # fmt: skip

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
ARG_BYTES = 6  # payload bytes read into registers before a command runs


def config_id(config: NavigatorConfig) -> int:
    """CRC-16 of the core's parameters (JSON, sorted keys): IDENTIFY reports it,
    so a host can tell whether the firmware runs the rule it expects."""
    text = json.dumps(asdict(config), sort_keys=True).encode()
    return CRC(8).compute(text)


def _le(value, nbytes: int):  # noqa: ANN001, ANN202 - an Amaranth value
    """``value`` zero-extended to ``nbytes`` little-endian bytes."""
    return Cat(value, Const(0, 8 * nbytes))[: 8 * nbytes]


# -- what the firmware's command decoders share (this one and the crossbar's) --


def read_args(m: Module, phy: LinkPHY, args, idx) -> None:  # noqa: ANN001
    """The body of a decoder's ARGS state: payload bytes 0 .. ``len(args) / 8 - 1``
    into ``args`` (byte 0 in bits 0-7; reads arrive a cycle late), then CHECK."""
    m.d.comb += phy.rd_addr.eq(HEADER_BYTES + idx)
    m.d.sync += idx.eq(idx + 1)
    with m.If(idx != 0):
        m.d.sync += args.eq(Cat(args[8:], phy.rd_data))
    with m.If(idx == len(args) // 8):
        m.next = "CHECK"


def check_frame(m: Module, hdr, err, known, bad_len, bad_range, *more) -> None:  # noqa: ANN001
    """Set ``err`` to the first failed check of a frame: version, size, command,
    payload length, range, then each ``(condition, code)`` of ``more``."""
    with m.If(hdr.version != VERSION):
        m.d.comb += err.eq(Err.BAD_VERSION)
    with m.Elif(hdr.too_long):
        m.d.comb += err.eq(Err.TOO_LONG)
    with m.Elif(hdr.size != hdr.length + HEADER_BYTES + 2):
        m.d.comb += err.eq(Err.BAD_LENGTH)
    with m.Elif(~known):
        m.d.comb += err.eq(Err.UNKNOWN_COMMAND)
    with m.Elif(bad_len):
        m.d.comb += err.eq(Err.BAD_LENGTH)
    with m.Elif(bad_range):
        m.d.comb += err.eq(Err.OUT_OF_RANGE)
    for cond, code in more:
        with m.Elif(cond):
            m.d.comb += err.eq(code)


def note_frame(m: Module, hdr) -> Signal:  # noqa: ANN001
    """In a decoder's CHECK state, the retry rule's memory of the last frame: the
    returned ``replay`` (valid from the next state on) is set when this frame
    repeats the last one's sequence number and type. IDENTIFY is never a
    repeat, and the frame after it is never one either."""
    last_seq, last_type, have_last, replay = Signal(8), Signal(8), Signal(), Signal()
    t = hdr.type
    is_ident = t == Cmd.IDENTIFY
    m.d.sync += [
        replay.eq(have_last & (hdr.seq == last_seq) & (t == last_type) & ~is_ident),
        last_seq.eq(hdr.seq),
        last_type.eq(t),
        have_last.eq(~is_ident),
    ]
    return replay


def send_header(m: Module, phy: LinkPHY, header, idx, rlen) -> None:  # noqa: ANN001
    """The body of a decoder's HEADER state: the reply's header bytes, then FETCH
    (or DONE for an empty reply) with ``idx`` at 0."""
    m.d.comb += [
        phy.reply.valid.eq(1),
        phy.reply.payload.byte.eq(header.word_select(idx[:3], 8)),
        phy.reply.payload.last.eq((idx == HEADER_BYTES - 1) & (rlen == 0)),
    ]
    with m.If(phy.reply.ready):
        m.d.sync += idx.eq(idx + 1)
        with m.If(idx == HEADER_BYTES - 1):
            m.d.sync += idx.eq(0)
            m.next = "FETCH"
            with m.If(rlen == 0):
                m.next = "DONE"


def send_byte(m: Module, phy: LinkPHY, byte, idx, rlen):  # noqa: ANN001, ANN201
    """The body of a decoder's SEND state: payload byte ``idx`` of ``rlen``, then
    FETCH (DONE after the last). Returns the condition that the byte is taken."""
    m.d.comb += [
        phy.reply.valid.eq(1),
        phy.reply.payload.byte.eq(byte),
        phy.reply.payload.last.eq(idx == rlen - 1),
    ]
    with m.If(phy.reply.ready):
        m.d.sync += idx.eq(idx + 1)
        m.next = "FETCH"
        with m.If(idx == rlen - 1):
            m.next = "DONE"
    return phy.reply.ready


class NavigatorCommands(wiring.Component):
    """UART pins and the RRAM port of a navigator driven over the host link.

    ``divisor``: clock cycles per UART bit. ``traj_depth``: trajectory places kept.
    ``clk_hz``: the clock frequency IDENTIFY reports (the host sizes its timeouts by it).
    ``emulator``: an emulator model (:meth:`RRAMEmulator.from_model`); with one, the
    on-chip emulator answers the RRAM port inside (``serial_emulator``: its small
    form) and the component has only its UART pins and ``busy``, ``dropped``.
    """

    def __init__(
        self, config: NavigatorConfig, divisor: int, traj_depth: int = 1024,
        clk_hz: int = 12_000_000, emulator: object | None = None,
        serial_emulator: bool = False,
    ) -> None:  # fmt: skip
        self.config = config
        self.core = NavigatorCore(config)
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
        self.divisor, self.traj_depth, self.clk_hz = divisor, traj_depth, clk_hz
        self.config_id = config_id(config)
        port = RRAMPortSignature(self.core.addr_bits, lanes=8)
        self.emulator = None
        if emulator is not None:
            self.emulator = RRAMEmulator.from_model(
                emulator, addr_width=port.addr_width, lanes=port.lanes, serial=serial_emulator
            )
        members = {
            "rx_pin": In(1, init=1),
            "tx_pin": Out(1, init=1),
            "busy": Out(1),  # a command is being served (for a LED)
            "dropped": Out(16),
        }
        if self.emulator is None:
            members["rram"] = Out(port)
        super().__init__(members)

    def elaborate(self, platform: object) -> Module:  # noqa: C901, PLR0915 - one state machine
        m = Module()
        c = self.config
        core = self.core
        core_rst = Signal()
        m.submodules.core = ResetInserter(core_rst)(core)
        m.submodules.phy = phy = LinkPHY(self.divisor, FRAME_BUFFER_BYTES)
        m.d.comb += [phy.rx_pin.eq(self.rx_pin), self.tx_pin.eq(phy.tx_pin)]
        m.d.comb += self.dropped.eq(phy.dropped)
        if self.emulator is None:
            rram = self.rram
        else:
            m.submodules.emulator = self.emulator
            rram = wiring.flipped(self.emulator.port)
        m.submodules.traj = traj = Memory(shape=16, depth=self.traj_depth, init=[])
        tw = traj.write_port()
        tr = traj.read_port()

        hdr = phy.frame.payload
        args = Signal(8 * ARG_BYTES)
        a16 = [args[16 * i : 16 * (i + 1)] for i in range(3)]
        # A device address: its low ``ab`` bits, and whether the bits above are zero.
        ab = max(16, core.addr_bits)
        dev_lo, dev_hi0 = args[:ab], args[ab:32] == 0
        idx = Signal(12)  # a payload byte or a layout place (at most 4 * 508)
        rtype = Signal(8)
        rlen = Signal(range(MAX_PAYLOAD + 1))
        err = Signal(8)
        byte = Signal(8)  # the reply byte to send

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

        ident = Cat(
            Const(VERSION, 8), Const(KIND_NAVIGATOR, 8), Const(c.height, 16),
            Const(c.width, 16), Const(MAX_PAYLOAD, 16), Const(self.traj_depth, 16),
            Const(self.devices, 32), Const(self.config_id, 16), Const(self.clk_hz, 32),
        )  # fmt: skip
        results = Cat(
            _le(core.steps, 4), _le(core.reached, 1), _le(core.ticks, 4), _le(core.moves, 4),
            _le(core.hits, 4), _le(core.reads, 4), _le(core.sets, 4), _le(core.resets, 4),
            _le(tlen, 4),
        )  # fmt: skip
        assert len(ident) == 8 * IDENTIFY_BYTES and len(results) == 8 * RESULT_BYTES
        header = Cat(Const(VERSION, 8), rtype, hdr.seq, _le(rlen, 2))

        # Payload sources of a reply. SRC_ARGS: the first bytes of ``args`` (an error
        # reply's [type, code]; also named by the empty replies, which fetch nothing).
        SRC_ARGS, SRC_IDENT, SRC_RESULT, SRC_TRAJ, SRC_DEVICE = range(5)
        src = Signal(3)

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

        def reply(rt, n, source) -> None:  # noqa: ANN001
            m.d.sync += [rtype.eq(rt), rlen.eq(n), src.eq(source), idx.eq(0)]
            m.next = "HEADER"

        ok_reply = hdr.type | REPLY
        m.d.comb += self.busy.eq(phy.frame.valid)
        with m.FSM():
            with m.State("IDLE"):
                with m.If(phy.frame.valid):
                    m.d.sync += idx.eq(0)
                    m.next = "ARGS"

            with m.State("ARGS"):  # payload bytes 0-5 into ``args``
                read_args(m, phy, args, idx)

            with m.State("CHECK"):
                n = hdr.length
                t = hdr.type
                bad_len = Signal()
                bad_range = Signal()
                known = Signal()
                with m.Switch(t):
                    with m.Case(Cmd.IDENTIFY, Cmd.RESET, Cmd.INIT, Cmd.RUN_TRIAL, Cmd.READ_RESULT):
                        m.d.comb += [known.eq(1), bad_len.eq(n != 0)]
                    with m.Case(Cmd.WRITE_LAYOUT):
                        count = a16[1]
                        m.d.comb += [
                            known.eq(1),
                            bad_len.eq((n < 4) | (n != 4 + ((count + 3) >> 2))),
                            bad_range.eq(a16[0] + count > c.places),
                        ]
                    with m.Case(Cmd.CONFIGURE):
                        m.d.comb += [
                            known.eq(1),
                            bad_len.eq(n != 6),
                            bad_range.eq(
                                (a16[0] >= c.height) | (a16[1] >= c.width) | (a16[2] == 0)
                                | (a16[2] >= (1 << c.max_steps_bits))
                            ),
                        ]  # fmt: skip
                    with m.Case(Cmd.READ_TRAJECTORY):
                        m.d.comb += [
                            known.eq(1),
                            bad_len.eq(n != 4),
                            bad_range.eq((a16[1] > TRAJ_PER_READ) | (a16[0] + a16[1] > kept)),
                        ]
                    with m.Case(Cmd.READ_DEVICE):
                        m.d.comb += [
                            known.eq(1),
                            bad_len.eq(n != 5),
                            bad_range.eq(~dev_hi0 | (dev_lo + args[32:40] > self.devices)),
                        ]
                    with m.Case(Cmd.WRITE_DEVICE):
                        op, level = args[32:40], args[40:48]
                        m.d.comb += [
                            known.eq(1),
                            bad_len.eq(n != 6),
                            bad_range.eq(
                                ~dev_hi0 | (dev_lo >= self.devices)
                                | ((op != RRAMOp.SET.value) & (op != RRAMOp.RESET.value))
                                | (level >= 1 << core.rram.signature.level_width)
                            ),
                        ]  # fmt: skip
                check_frame(m, hdr, err, known, bad_len, bad_range,
                            ((t == Cmd.RUN_TRIAL) & ~configured, Err.NOT_CONFIGURED))  # fmt: skip
                replay = note_frame(m, hdr)
                m.d.sync += idx.eq(0)
                with m.If(err != 0):
                    m.d.sync += args[:16].eq(Cat(t, err))
                    reply(ERROR, 2, SRC_ARGS)
                with m.Else():
                    m.next = "RUN"

            with m.State("RUN"):  # ``replay`` is valid from here
                t = hdr.type
                with m.Switch(t):
                    with m.Case(Cmd.IDENTIFY):
                        reply(ok_reply, IDENTIFY_BYTES, SRC_IDENT)
                    with m.Case(Cmd.RESET):
                        m.d.comb += core_rst.eq(~replay)
                        with m.If(~replay):
                            m.d.sync += tlen.eq(0)
                        reply(ok_reply, 0, SRC_ARGS)
                    with m.Case(Cmd.WRITE_LAYOUT):
                        with m.If(replay):
                            reply(ok_reply, 0, SRC_ARGS)
                        with m.Else():
                            m.next = "LAYOUT"
                    with m.Case(Cmd.CONFIGURE):
                        m.d.sync += [
                            start_row.eq(a16[0]),
                            start_col.eq(a16[1]),
                            max_steps.eq(a16[2]),
                            start_cell.eq(a16[0] * c.width + a16[1]),
                            configured.eq(1),
                        ]
                        reply(ok_reply, 0, SRC_ARGS)
                    with m.Case(Cmd.INIT):
                        with m.If(replay):
                            reply(ok_reply, 0, SRC_ARGS)
                        with m.Else():
                            m.d.comb += core.init.eq(1)
                            m.next = "INIT"
                    with m.Case(Cmd.RUN_TRIAL):
                        with m.If(replay):
                            reply(ok_reply, RESULT_BYTES, SRC_RESULT)
                        with m.Else():
                            m.d.comb += [
                                core.start.eq(1),
                                tw.en.eq(1),
                                tw.addr.eq(0),
                                tw.data.eq(start_cell),
                            ]
                            m.d.sync += [tlen.eq(1), prev.eq(start_cell)]
                            m.next = "TRIAL"
                    with m.Case(Cmd.READ_RESULT):
                        reply(ok_reply, RESULT_BYTES, SRC_RESULT)
                    with m.Case(Cmd.READ_TRAJECTORY):
                        reply(ok_reply, a16[1] << 1, SRC_TRAJ)
                    with m.Case(Cmd.READ_DEVICE):
                        reply(ok_reply, args[32:40], SRC_DEVICE)
                    with m.Case(Cmd.WRITE_DEVICE):
                        with m.If(replay):
                            reply(ok_reply, 0, SRC_ARGS)
                        with m.Else():
                            m.next = "WRITE_DEVICE"

            with m.State("LAYOUT"):
                # Place ``idx`` of the payload: its byte is addressed this cycle and
                # written to the core the next (``lay_on``, ``lay_n``).
                lay_on = Signal()
                lay_n = Signal(16)
                m.d.comb += phy.rd_addr.eq(HEADER_BYTES + 4 + (idx >> 2))
                m.d.sync += [lay_on.eq(idx < a16[1]), lay_n.eq(idx), idx.eq(idx + 1)]
                m.d.comb += [
                    core.layout_we.eq(lay_on),
                    core.layout_addr.eq(a16[0] + lay_n),
                    core.layout_data.eq(phy.rd_data.word_select(lay_n[:2], 2)),
                ]
                with m.If(idx > a16[1]):
                    m.d.sync += lay_on.eq(0)
                    reply(ok_reply, 0, SRC_ARGS)

            with m.State("INIT"):
                with m.If(core.done):
                    reply(ok_reply, 0, SRC_ARGS)

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
                    reply(ok_reply, RESULT_BYTES, SRC_RESULT)

            with m.State("WRITE_DEVICE"):
                m.d.comb += [
                    own.eq(1),
                    dreq.valid.eq(1),
                    dreq.payload.op.as_value().eq(args[32:35]),
                    dreq.payload.addr.eq(dev_lo),
                    dreq.payload.level.eq(args[40:48]),
                ]
                with m.If(dreq.ready):
                    m.next = "WRITE_DEVICE_ACK"

            with m.State("WRITE_DEVICE_ACK"):
                m.d.comb += [own.eq(1), rram.resp.ready.eq(1)]
                with m.If(rram.resp.valid):
                    reply(ok_reply, 0, SRC_ARGS)

            with m.State("HEADER"):
                send_header(m, phy, header, idx, rlen)

            with m.State("FETCH"):  # the payload byte ``idx`` into ``byte``
                with m.Switch(src):
                    with m.Case(SRC_ARGS):
                        m.d.sync += byte.eq(args[:16].word_select(idx[:1], 8))
                        m.next = "SEND"
                    with m.Case(SRC_IDENT):
                        m.d.sync += byte.eq(ident.word_select(idx[:5], 8))
                        m.next = "SEND"
                    with m.Case(SRC_RESULT):
                        m.d.sync += byte.eq(
                            Array(results[8 * i : 8 * i + 8] for i in range(RESULT_BYTES))[idx[:6]]
                        )
                        m.next = "SEND"
                    with m.Case(SRC_TRAJ):
                        m.d.comb += tr.addr.eq(a16[0] + (idx >> 1))
                        m.next = "FETCH_TRAJ"
                    with m.Case(SRC_DEVICE):
                        m.d.comb += [
                            own.eq(1),
                            dreq.valid.eq(1),
                            dreq.payload.op.eq(RRAMOp.READ),
                            dreq.payload.addr.eq(dev_lo + idx),
                        ]
                        with m.If(dreq.ready):
                            m.next = "FETCH_DEVICE"

            with m.State("FETCH_TRAJ"):
                m.d.sync += byte.eq(tr.data.word_select(idx[:1], 8))
                m.next = "SEND"

            with m.State("FETCH_DEVICE"):
                m.d.comb += [own.eq(1), rram.resp.ready.eq(1)]
                with m.If(rram.resp.valid):
                    m.d.sync += byte.eq(rram.resp.payload[:8])
                    m.next = "SEND"

            with m.State("SEND"):
                send_byte(m, phy, byte, idx, rlen)

            with m.State("DONE"):
                m.d.comb += phy.frame.ready.eq(1)
                m.next = "IDLE"
        return m
