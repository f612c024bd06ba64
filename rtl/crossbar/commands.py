"""The crossbar engine behind the host link: what a board without an array runs.

:class:`CrossbarCommands` joins :class:`~memrl.rtl.link.frame.LinkPHY` (UART pins),
a command decoder, two word buffers and a :class:`~memrl.rtl.crossbar.emulator.CrossbarSystem`
(the engine with its emulated array). The host writes an engine command's
input words into the input buffer (XB_WRITE, by offset), runs the command
(XB_RUN: the engine reads its input words from the buffer's start and its
output words fill the output buffer from its start), then reads the outputs
(XB_READ, by offset). Every request can be repeated: writes and reads are by
offset, and an XB_RUN repeated with the previous request's sequence number
and type is not run again but answered as before (docs/link/protocol.md).

Words are 3 bytes on the wire, little-endian two's complement (the engine's
``act_bits`` are at most 24). The decoder checks as the navigator's does
(version, size, command, payload length, ranges, in that order; the first
failure is the error reply's code):

* XB_WRITE ``[offset u16][count u16][count words]``: ``count`` 1 ..
  :data:`WORDS_PER_FRAME`, ``offset + count`` at most the input buffer's words;
* XB_RUN ``[op u8][reads_log2 u8][count u16]``: ``op`` an engine command,
  ``reads_log2`` at most the engine's, ``count`` 1 .. ``max_batch`` for
  FORWARD and READ_ROWS and 1 .. ``max_program`` for PROGRAM and READ (BIAS
  ignores it). The reply, when the engine is done: ``[words in u16][words out
  u16][cycles u32]``: input words the engine took, output words it gave
  (those beyond the output buffer are dropped, and counted) and clock cycles
  from the command's acceptance to its end;
* XB_READ ``[offset u16][count u16]``: ``count`` 1 .. :data:`WORDS_PER_FRAME`,
  ``offset + count`` at most the output buffer's words.

IDENTIFY answers :data:`XB_IDENTIFY_FORMAT`.
"""

from __future__ import annotations

import struct
from dataclasses import replace

from amaranth import Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from memrl.rtl.crossbar.emulator import CrossbarSystem
from memrl.rtl.crossbar.engine import CrossbarEngineConfig, EngineOp, times_const
from memrl.rtl.link.frame import FRAME_BUFFER_BYTES, LinkPHY
from memrl.rtl.link.protocol import CRC, ERROR, HEADER_BYTES, MAX_PAYLOAD, REPLY, VERSION, Cmd
from memrl.rtl.navigator.commands import check_frame, note_frame, read_args, send_byte, send_header

__all__ = ["KIND_CROSSBAR", "XB_IDENTIFY_FORMAT", "XB_IDENTIFY_BYTES", "XB_RUN_FORMAT",
           "WORD_BYTES", "WORDS_PER_FRAME", "buffer_words", "crossbar_config_id",
           "CrossbarCommands"]  # fmt: skip

KIND_CROSSBAR = 2
#: IDENTIFY reply: version u8, kind u8, rows u16, columns u16, max payload u16,
#: max batch u16, input buffer words u16, output buffer words u16,
#: configuration id u16, clock frequency u32 (Hz).
XB_IDENTIFY_FORMAT = "<BBHHHHHHHI"
XB_IDENTIFY_BYTES = struct.calcsize(XB_IDENTIFY_FORMAT)
#: XB_RUN reply: words in u16, words out u16, cycles u32.
XB_RUN_FORMAT = "<HHI"
WORD_BYTES = 3
#: The most words an XB_WRITE carries or an XB_READ returns.
WORDS_PER_FRAME = (MAX_PAYLOAD - 4) // WORD_BYTES
ARG_BYTES = 6


def buffer_words(config: CrossbarEngineConfig) -> tuple[int, int]:
    """Words of the input and the output buffer: the most any command takes and gives."""
    n_in = config.layers[0].n_in
    outs = sum(ly.n_out for ly in config.layers) + 1
    words_in = max(config.max_batch * n_in, config.n_bias, config.max_program, config.max_batch)
    words_out = max(config.max_batch * outs, config.max_program,
                    config.max_batch * config.readback_cols)  # fmt: skip
    return words_in, words_out


def crossbar_config_id(config: CrossbarEngineConfig, model: object) -> int:
    """CRC-16 of the engine's and the emulator's parameters (their ``repr``):
    IDENTIFY reports it, so a host can tell whether a board runs its network.
    How the products are computed (``serial_products``) does not change what the
    network computes, so it is left out."""
    config = replace(config, serial_products=False)
    return CRC(8).compute((repr(config) + repr(model)).encode())


class CrossbarCommands(wiring.Component):
    """UART pins of a crossbar engine with its emulated array, driven over the host link.

    ``divisor``: clock cycles per UART bit; ``clk_hz``: the clock IDENTIFY reports;
    ``lanes``: the emulator's multiply-accumulate lanes; ``spram``: the
    emulator's codes in single-port memories (the iCE40 UP5K's SPRAM). With the
    engine's ``serial_products`` the decoder multiplies by no multiplier block
    either.
    """

    def __init__(
        self, config: CrossbarEngineConfig, model: object, divisor: int,
        clk_hz: int = 12_000_000, lanes: int = 8, spram: bool = False,
    ) -> None:  # fmt: skip
        if config.act_bits > 8 * WORD_BYTES:
            raise ValueError(f"the link carries words of at most {8 * WORD_BYTES} bits "
                             f"(act_bits is {config.act_bits})")  # fmt: skip
        if isinstance(clk_hz, bool) or not isinstance(clk_hz, int) or not 0 < clk_hz < 1 << 32:
            raise ValueError(f"clk_hz must be a positive 32-bit integer (got {clk_hz!r})")
        self.config, self.model = config, model
        self.divisor, self.clk_hz = divisor, clk_hz
        self.words_in, self.words_out = buffer_words(config)
        if max(self.words_in, self.words_out, config.rows, config.cols) >= 1 << 16:
            raise ValueError("the link's offsets and counts are 16 bits: the buffers are too deep")
        self.config_id = crossbar_config_id(config, model)
        self.system = CrossbarSystem(config, model, lanes, spram)
        super().__init__({
            "rx_pin": In(1, init=1),
            "tx_pin": Out(1, init=1),
            "busy": Out(1),  # a command is being served (for a LED)
            "dropped": Out(16),
        })  # fmt: skip

    def elaborate(self, platform: object) -> Module:  # noqa: C901, PLR0915 - one state machine
        m = Module()
        c = self.config
        m.submodules.system = xs = self.system

        def word_bytes(n: object) -> object:  # a count of words in bytes
            return times_const(n, WORD_BYTES, c.serial_products)

        m.submodules.phy = phy = LinkPHY(self.divisor, FRAME_BUFFER_BYTES)
        m.d.comb += [phy.rx_pin.eq(self.rx_pin), self.tx_pin.eq(phy.tx_pin),
                     self.dropped.eq(phy.dropped)]  # fmt: skip
        W = c.act_bits
        m.submodules.ibuf = ibuf = Memory(shape=W, depth=self.words_in, init=[])
        m.submodules.obuf = obuf = Memory(shape=W, depth=self.words_out, init=[])
        iw, ir = ibuf.write_port(), ibuf.read_port(transparent_for=())
        ow, orr = obuf.write_port(), obuf.read_port()

        hdr = phy.frame.payload
        args = Signal(8 * ARG_BYTES)
        a16 = [args[16 * i : 16 * (i + 1)] for i in range(3)]
        idx = Signal(range(MAX_PAYLOAD + 2))
        rtype = Signal(8)
        rlen = Signal(range(MAX_PAYLOAD + 1))
        err = Signal(8)
        byte = Signal(8)
        word = Signal(8 * WORD_BYTES)  # a word being assembled or sent, byte 0 lowest
        nbyte = Signal(2)  # bytes of ``word`` assembled
        nword = Signal(16)
        # The last XB_RUN's results.
        n_in, n_out = Signal(16), Signal(16)
        cycles = Signal(32)
        started = Signal()

        ident = Cat(
            Const(VERSION, 8), Const(KIND_CROSSBAR, 8), Const(c.rows, 16), Const(c.cols, 16),
            Const(MAX_PAYLOAD, 16), Const(c.max_batch, 16), Const(self.words_in, 16),
            Const(self.words_out, 16), Const(self.config_id, 16), Const(self.clk_hz, 32),
        )  # fmt: skip
        run_reply = Cat(n_in, n_out, cycles)
        assert len(ident) == 8 * XB_IDENTIFY_BYTES
        assert len(run_reply) == 8 * struct.calcsize(XB_RUN_FORMAT)
        header = Cat(Const(VERSION, 8), rtype, hdr.seq, Cat(rlen, Const(0, 16))[:16])
        SRC_ARGS, SRC_IDENT, SRC_RUN, SRC_WORDS = range(4)
        src = Signal(2)

        def reply(rt, n, source) -> None:  # noqa: ANN001
            m.d.sync += [rtype.eq(rt), rlen.eq(n), src.eq(source), idx.eq(0)]
            m.next = "HEADER"

        ok_reply = hdr.type | REPLY
        cmd, din, dout = xs.cmd, xs.din, xs.dout
        m.d.comb += self.busy.eq(phy.frame.valid)
        op = args[:8]
        max_count = Mux((op == EngineOp.PROGRAM.value) | (op == EngineOp.READ.value),
                        c.max_program, c.max_batch)  # fmt: skip
        with m.FSM():
            with m.State("IDLE"):
                with m.If(phy.frame.valid):
                    m.d.sync += idx.eq(0)
                    m.next = "ARGS"

            with m.State("ARGS"):  # payload bytes 0-5 into ``args``
                read_args(m, phy, args, idx)

            with m.State("CHECK"):
                n, t = hdr.length, hdr.type
                bad_len, bad_range, known = Signal(), Signal(), Signal()
                with m.Switch(t):
                    with m.Case(Cmd.IDENTIFY):
                        m.d.comb += [known.eq(1), bad_len.eq(n != 0)]
                    with m.Case(Cmd.XB_WRITE):
                        k = a16[1]
                        m.d.comb += [
                            known.eq(1),
                            bad_len.eq((n < 4) | (n != 4 + word_bytes(k))),
                            bad_range.eq((k == 0) | (k > WORDS_PER_FRAME)
                                         | (a16[0] + k > self.words_in)),
                        ]  # fmt: skip
                    with m.Case(Cmd.XB_RUN):
                        m.d.comb += [
                            known.eq(1),
                            bad_len.eq(n != 4),
                            bad_range.eq(
                                (op > EngineOp.READ_ROWS.value)
                                | (args[8:16] > c.max_reads_log2)
                                | ((op != EngineOp.BIAS.value)
                                   & ((a16[1] == 0) | (a16[1] > max_count)))
                            ),
                        ]  # fmt: skip
                    with m.Case(Cmd.XB_READ):
                        m.d.comb += [
                            known.eq(1),
                            bad_len.eq(n != 4),
                            bad_range.eq((a16[1] == 0) | (a16[1] > WORDS_PER_FRAME)
                                         | (a16[0] + a16[1] > self.words_out)),
                        ]  # fmt: skip
                check_frame(m, hdr, err, known, bad_len, bad_range)
                replay = note_frame(m, hdr)
                m.d.sync += [idx.eq(0), nbyte.eq(0), nword.eq(0)]
                with m.If(err != 0):
                    m.d.sync += args[:16].eq(Cat(t, err))
                    reply(ERROR, 2, SRC_ARGS)
                with m.Else():
                    m.next = "RUN"

            with m.State("RUN"):  # ``replay`` is valid from here
                with m.Switch(hdr.type):
                    with m.Case(Cmd.IDENTIFY):
                        reply(ok_reply, XB_IDENTIFY_BYTES, SRC_IDENT)
                    with m.Case(Cmd.XB_WRITE):
                        m.next = "WRITE"
                    with m.Case(Cmd.XB_RUN):
                        with m.If(replay):
                            reply(ok_reply, len(run_reply) // 8, SRC_RUN)
                        with m.Else():
                            m.d.sync += [n_in.eq(0), n_out.eq(0), cycles.eq(0), started.eq(0)]
                            m.next = "EXEC"
                    with m.Case(Cmd.XB_READ):
                        reply(ok_reply, word_bytes(a16[1]), SRC_WORDS)

            with m.State("WRITE"):
                # Payload byte ``idx`` (from offset 4) is addressed now and arrives next cycle.
                m.d.comb += phy.rd_addr.eq(HEADER_BYTES + 4 + idx)
                m.d.sync += idx.eq(idx + 1)
                with m.If(idx != 0):
                    assembled = Cat(word[8:], phy.rd_data)
                    m.d.sync += [word.eq(assembled), nbyte.eq(nbyte + 1)]
                    with m.If(nbyte == WORD_BYTES - 1):
                        m.d.comb += [iw.addr.eq(a16[0] + nword), iw.data.eq(assembled),
                                     iw.en.eq(1)]  # fmt: skip
                        m.d.sync += [nbyte.eq(0), nword.eq(nword + 1)]
                with m.If(idx == hdr.length - 4):
                    reply(ok_reply, 0, SRC_ARGS)

            with m.State("EXEC"):
                m.d.sync += cycles.eq(cycles + started)
                m.d.comb += [
                    cmd.valid.eq(~started),
                    cmd.payload.op.as_value().eq(op),
                    cmd.payload.reads_log2.eq(args[8:16]),
                    cmd.payload.count.eq(a16[1]),
                ]
                with m.If(cmd.valid & cmd.ready):
                    m.d.sync += [started.eq(1), cycles.eq(1)]
                # The input buffer's read port shows word ``n_in`` (the next one, after a take).
                take = din.valid & din.ready
                m.d.comb += [
                    ir.addr.eq(Mux(take, n_in + 1, n_in)),
                    din.valid.eq(started & (n_in < self.words_in)),
                    din.payload.eq(ir.data),
                    dout.ready.eq(1),
                    ow.addr.eq(n_out),
                    ow.data.eq(dout.payload),
                    ow.en.eq(dout.valid & (n_out < self.words_out)),
                ]
                with m.If(take):
                    m.d.sync += n_in.eq(n_in + 1)
                with m.If(dout.valid):
                    m.d.sync += n_out.eq(n_out + 1)
                with m.If(started & (cycles > 1) & ~xs.busy & ~dout.valid):
                    reply(ok_reply, len(run_reply) // 8, SRC_RUN)

            with m.State("HEADER"):
                send_header(m, phy, header, idx, rlen)
                m.d.sync += [nbyte.eq(0), nword.eq(0)]

            with m.State("FETCH"):  # the payload byte ``idx`` into ``byte``
                with m.Switch(src):
                    with m.Case(SRC_ARGS):
                        m.d.sync += byte.eq(args[:16].word_select(idx[:1], 8))
                        m.next = "SEND"
                    with m.Case(SRC_IDENT):
                        m.d.sync += byte.eq(ident.word_select(idx[:5], 8))
                        m.next = "SEND"
                    with m.Case(SRC_RUN):
                        m.d.sync += byte.eq(run_reply.word_select(idx[:3], 8))
                        m.next = "SEND"
                    with m.Case(SRC_WORDS):
                        with m.If(nbyte == 0):  # a new word: read it
                            m.d.comb += orr.addr.eq(a16[0] + nword)
                            m.next = "FETCH_WORD"
                        with m.Else():
                            m.d.sync += byte.eq(word.word_select(nbyte, 8))
                            m.next = "SEND"

            with m.State("FETCH_WORD"):
                m.d.sync += [word.eq(orr.data), byte.eq(orr.data[:8])]
                m.next = "SEND"

            with m.State("SEND"):
                with m.If(send_byte(m, phy, byte, idx, rlen) & (src == SRC_WORDS)):
                    m.d.sync += nbyte.eq(Mux(nbyte == WORD_BYTES - 1, 0, nbyte + 1))
                    with m.If(nbyte == WORD_BYTES - 1):
                        m.d.sync += nword.eq(nword + 1)

            with m.State("DONE"):
                m.d.comb += phy.frame.ready.eq(1)
                m.next = "IDLE"
        return m
