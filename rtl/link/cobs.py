"""COBS framing in logic: frames of bytes <-> 0x00-delimited wire bytes.

Consistent Overhead Byte Stuffing removes every 0x00 from a frame: the frame is
cut at each 0x00 into blocks, and each block is sent as one code byte (its
length + 1; 255 for a full block of 254 bytes, which implies no 0x00 after it)
and its bytes. The wire then uses 0x00 as the frame delimiter. The host's codec
is :func:`memrl.host.link.frames.cobs_encode`.

Frames inside the logic travel as streams of :data:`frame_byte` words: a byte
and ``last`` on the frame's final byte. The decoder's output instead marks each
frame's end with a separate ``end`` word, because the wire does not say which
byte is last until the delimiter comes.
"""

from __future__ import annotations

from amaranth import Module, Signal
from amaranth.lib import data, memory, stream, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["frame_byte", "decoded_byte", "COBSDecoder", "COBSEncoder"]

#: A byte of a frame; ``last`` on its final byte.
frame_byte = data.StructLayout({"byte": 8, "last": 1})
#: A decoded byte, or (``end`` = 1) a frame's end, with ``error`` if the frame's
#: COBS was malformed (a block cut short by the delimiter).
decoded_byte = data.StructLayout({"byte": 8, "end": 1, "error": 1})


class COBSDecoder(wiring.Component):
    """Wire bytes in (``i``), decoded bytes and frame ends out (``o``).

    One output word per input byte at most; code bytes produce the 0x00 their
    previous block implies (none after a full block, none at a frame's end)."""

    def __init__(self) -> None:
        super().__init__({"i": In(stream.Signature(8)), "o": Out(stream.Signature(decoded_byte))})

    def elaborate(self, platform: object) -> Module:
        m = Module()
        left = Signal(8)  # bytes left in the current block; 0: a code byte is next
        zero_due = Signal()  # the previous block implies a 0x00 if another block follows
        bad = Signal()  # a 0x00 came inside the frame
        b = self.i.payload
        o = self.o.payload
        out_free = ~self.o.valid | self.o.ready
        m.d.comb += self.i.ready.eq(out_free)
        with m.If(self.o.valid & self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        with m.If(self.i.valid & out_free):
            with m.If(b == 0):  # the delimiter
                m.d.sync += [
                    o.byte.eq(0), o.end.eq(1), o.error.eq(bad | (left != 0)),
                    self.o.valid.eq(1),
                    left.eq(0), zero_due.eq(0), bad.eq(0),
                ]  # fmt: skip
            with m.Elif(left == 0):  # a code byte
                m.d.sync += [
                    left.eq(b - 1),
                    zero_due.eq(b != 255),
                    o.byte.eq(0), o.end.eq(0), o.error.eq(0),
                    self.o.valid.eq(zero_due),
                ]  # fmt: skip
            with m.Else():
                m.d.sync += [
                    left.eq(left - 1),
                    o.byte.eq(b), o.end.eq(0), o.error.eq(0),
                    self.o.valid.eq(1),
                ]  # fmt: skip
        return m


class COBSEncoder(wiring.Component):
    """Frames in (``i``, :data:`frame_byte`), wire bytes out (``o``), each frame
    followed by a 0x00.

    A block of up to 254 bytes is held in a small memory until its length is
    known (a 0x00, a full block or the frame's last byte), then sent as its code
    byte and its bytes."""

    def __init__(self) -> None:
        super().__init__({"i": In(stream.Signature(frame_byte)), "o": Out(stream.Signature(8))})

    def elaborate(self, platform: object) -> Module:
        m = Module()
        m.submodules.block = block = memory.Memory(shape=8, depth=254, init=[])
        wr = block.write_port()
        # A synchronous read (block RAM) addressed with the next cycle's ``k``, so
        # ``rd.data`` is byte ``k`` in every cycle; transparent for the write of
        # the block's last byte, which may be byte 0.
        rd = block.read_port(transparent_for=(wr,))
        n = Signal(range(255))  # bytes held
        k = Signal(range(255))  # next held byte to send
        k_next = Signal(range(255))
        ib = self.i.payload
        m.d.comb += [wr.addr.eq(n), wr.data.eq(ib.byte), k_next.eq(k), rd.addr.eq(k_next)]
        m.d.sync += k.eq(k_next)

        # After the block: 0 another block follows, 1 the frame's delimiter,
        # 2 an empty block (code 1) and then the delimiter.
        after = Signal(2)
        with m.FSM():
            with m.State("FILL"):
                m.d.comb += self.i.ready.eq(1)
                with m.If(self.i.valid):
                    with m.If(ib.byte != 0):
                        m.d.comb += wr.en.eq(1)
                        m.d.sync += n.eq(n + 1)
                    # A 0x00 or the last byte closes the block (the 0x00 is implied);
                    # so does the 254th byte, as a full block with code 255. A frame
                    # ending in a 0x00 or a full block ends with an empty block
                    # (code 1), as the host's encoder writes it.
                    full = (ib.byte != 0) & (n == 253)
                    with m.If(ib.last | (ib.byte == 0) | full):
                        m.d.comb += k_next.eq(0)
                        m.next = "CODE"
                        with m.If(ib.last & ((ib.byte == 0) | full)):
                            m.d.sync += after.eq(2)
                        with m.Else():
                            m.d.sync += after.eq(ib.last)
            with m.State("CODE"):
                m.d.comb += [self.o.valid.eq(1), self.o.payload.eq(n + 1)]
                with m.If(self.o.ready):
                    m.next = "DATA"
            with m.State("DATA"):
                with m.If(k == n):
                    m.d.comb += k_next.eq(0)
                    m.d.sync += n.eq(0)
                    with m.Switch(after):
                        with m.Case(0):
                            m.next = "FILL"
                        with m.Case(1):
                            m.next = "DELIM"
                        with m.Default():
                            m.d.sync += after.eq(1)
                            m.next = "CODE"
                with m.Else():
                    m.d.comb += [self.o.valid.eq(1), self.o.payload.eq(rd.data)]
                    with m.If(self.o.ready):
                        m.d.comb += k_next.eq(k + 1)
            with m.State("DELIM"):
                m.d.comb += [self.o.valid.eq(1), self.o.payload.eq(0)]
                with m.If(self.o.ready):
                    m.next = "FILL"
        return m
