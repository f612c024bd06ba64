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
``act_bits`` are at most 24). The decoder is a
:class:`~memrl.rtl.link.decoder.CommandDecoder`, as the navigator's is: it
checks version, size, command, payload length and ranges, in that order (the
first failure is the error reply's code), with these commands:

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

from memrl.rtl.crossbar.emulator import CrossbarSystem
from memrl.rtl.crossbar.engine import CrossbarEngineConfig, EngineOp, times_const
from memrl.rtl.link.decoder import CommandDecoder, link_members
from memrl.rtl.link.protocol import CRC, HEADER_BYTES, MAX_PAYLOAD, VERSION, Cmd

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
        super().__init__(link_members())

    def elaborate(self, platform: object) -> Module:  # noqa: PLR0915 - one state machine
        m = Module()
        c = self.config
        m.submodules.system = xs = self.system

        def word_bytes(n: object) -> object:  # a count of words in bytes
            return times_const(n, WORD_BYTES, c.serial_products)

        W = c.act_bits
        m.submodules.ibuf = ibuf = Memory(shape=W, depth=self.words_in, init=[])
        m.submodules.obuf = obuf = Memory(shape=W, depth=self.words_out, init=[])
        iw, ir = ibuf.write_port(), ibuf.read_port(transparent_for=())
        ow, orr = obuf.write_port(), obuf.read_port()

        ident = Cat(
            Const(VERSION, 8), Const(KIND_CROSSBAR, 8), Const(c.rows, 16), Const(c.cols, 16),
            Const(MAX_PAYLOAD, 16), Const(c.max_batch, 16), Const(self.words_in, 16),
            Const(self.words_out, 16), Const(self.config_id, 16), Const(self.clk_hz, 32),
        )  # fmt: skip
        assert len(ident) == 8 * XB_IDENTIFY_BYTES
        dec = CommandDecoder(m, self, self.divisor, ident)
        phy, hdr, args, a16, idx = dec.phy, dec.hdr, dec.args, dec.a16, dec.idx
        n = hdr.length
        word = Signal(8 * WORD_BYTES)  # a word being assembled or sent, byte 0 lowest
        nbyte = Signal(2)  # bytes of ``word`` assembled or sent
        nword = Signal(16)
        # The last XB_RUN's results.
        n_in, n_out = Signal(16), Signal(16)
        cycles = Signal(32)
        started = Signal()
        run_reply = Cat(n_in, n_out, cycles)
        assert len(run_reply) == 8 * struct.calcsize(XB_RUN_FORMAT)

        cmd, din, dout = xs.cmd, xs.din, xs.dout
        op = args[:8]
        max_count = Mux((op == EngineOp.PROGRAM.value) | (op == EngineOp.READ.value),
                        c.max_program, c.max_batch)  # fmt: skip

        # Reply sources beyond the shared ones.
        SRC_RUN = dec.byte_source(dec.byte_at(run_reply))

        def fetch_word_byte() -> None:  # a new word is read in FETCH_WORD
            with m.If(nbyte == 0):
                m.d.comb += orr.addr.eq(a16[0] + nword)
                m.next = "FETCH_WORD"
            with m.Else():
                m.d.sync += dec.byte.eq(word.word_select(nbyte, 8))
                m.next = "SEND"

        SRC_WORDS = dec.source(fetch_word_byte)

        k = a16[1]

        @dec.command(
            Cmd.XB_WRITE,
            bad_len=(n < 4) | (n != 4 + word_bytes(k)),
            bad_range=(k == 0) | (k > WORDS_PER_FRAME) | (a16[0] + k > self.words_in),
        )
        def _() -> None:
            m.d.sync += [nbyte.eq(0), nword.eq(0)]
            m.next = "WRITE"

        @dec.command(
            Cmd.XB_RUN,
            bad_len=n != 4,
            bad_range=(op > EngineOp.READ_ROWS.value)
            | (args[8:16] > c.max_reads_log2)
            | ((op != EngineOp.BIAS.value) & ((a16[1] == 0) | (a16[1] > max_count))),
        )  # fmt: skip
        def _() -> None:
            with m.If(dec.replay):
                dec.reply(len(run_reply) // 8, SRC_RUN)
            with m.Else():
                m.d.sync += [n_in.eq(0), n_out.eq(0), cycles.eq(0), started.eq(0)]
                m.next = "EXEC"

        @dec.command(
            Cmd.XB_READ,
            bad_len=n != 4,
            bad_range=(a16[1] == 0) | (a16[1] > WORDS_PER_FRAME)
            | (a16[0] + a16[1] > self.words_out),
        )  # fmt: skip
        def _() -> None:
            m.d.sync += [nbyte.eq(0), nword.eq(0)]
            dec.reply(word_bytes(a16[1]), SRC_WORDS)

        with dec.fsm():
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
                with m.If(idx == n - 4):
                    dec.reply(0)

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
                    dec.reply(len(run_reply) // 8, SRC_RUN)

            with m.State("FETCH_WORD"):
                m.d.sync += [word.eq(orr.data), dec.byte.eq(orr.data[:8])]
                m.next = "SEND"

        with m.If(dec.sent & (dec.src == SRC_WORDS)):  # on to the word's next byte
            m.d.sync += nbyte.eq(Mux(nbyte == WORD_BYTES - 1, 0, nbyte + 1))
            with m.If(nbyte == WORD_BYTES - 1):
                m.d.sync += nword.eq(nword + 1)
        return m
