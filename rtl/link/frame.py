"""The firmware side of the host link: frames in and out over a UART.

Receive: :class:`~memrl.rtl.link.uart.UARTRx` -> a byte FIFO
(:class:`~amaranth.lib.fifo.SyncFIFOBuffered`, :data:`RX_FIFO_DEPTH` bytes) ->
:class:`~memrl.rtl.link.cobs.COBSDecoder` -> :class:`FrameRx`, which keeps the
frame in a buffer memory, checks its CRC as it arrives and offers a good
frame's header on ``frame``; the command decoder reads the payload through
``rd_addr``/``rd_data`` (one cycle of read latency) and takes ``frame`` when
done. A frame with a bad CRC, malformed COBS or fewer than 7 bytes is dropped
and counted (``dropped``): its sequence number cannot be trusted, so it gets no
reply. While a frame waits, :class:`FrameRx` takes no bytes: the FIFO keeps
those that arrive meanwhile (a next frame sent without a gap), up to its
depth. Beyond it the UART receiver's overrun loses them (counted in
``overruns``), and the host retries.

Transmit: the command decoder streams a reply's header and payload into
:class:`FrameTx`, which appends the CRC, -> :class:`~memrl.rtl.link.cobs.COBSEncoder`
-> :class:`~memrl.rtl.link.uart.UARTTx`.

:class:`LinkPHY` wires the two paths to the UART pins. The format is
:mod:`memrl.rtl.link.protocol`.
"""

from __future__ import annotations

from amaranth import Module, Signal
from amaranth.lib import data, memory, stream, wiring
from amaranth.lib.crc import Processor
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.wiring import In, Out

from memrl.rtl.link.cobs import COBSDecoder, COBSEncoder, decoded_byte, frame_byte
from memrl.rtl.link.protocol import CRC, CRC_BYTES, HEADER_BYTES, MAX_PAYLOAD
from memrl.rtl.link.uart import UARTRx, UARTTx

__all__ = ["frame_info", "FrameRx", "FrameTx", "LinkPHY", "FRAME_BUFFER_BYTES", "RX_FIFO_DEPTH"]

FRAME_BUFFER_BYTES = HEADER_BYTES + MAX_PAYLOAD + CRC_BYTES
#: Received wire bytes held while a frame waits for the command decoder. Eight stay
#: in logic cells on the iCE40; a deeper FIFO takes a block RAM, and the
#: iCEBreaker's crossbar firmware has none to spare.
RX_FIFO_DEPTH = 8

#: A received frame's header. ``length``: the payload length its header gives;
#: ``size``: bytes received (header, payload and CRC); ``too_long``: more than
#: the buffer holds (only the header was kept).
frame_info = data.StructLayout(
    {"version": 8, "type": 8, "seq": 8, "length": 16, "size": 16, "too_long": 1}
)


class FrameRx(wiring.Component):
    """Decoded bytes in, good frames out (see the module text)."""

    def __init__(self, buffer_bytes: int = FRAME_BUFFER_BYTES) -> None:
        self.depth = buffer_bytes
        super().__init__(
            {
                "i": In(stream.Signature(decoded_byte)),
                "frame": Out(stream.Signature(frame_info)),
                "rd_addr": In(range(buffer_bytes)),
                "rd_data": Out(8),
                "dropped": Out(16),
            }
        )

    def elaborate(self, platform: object) -> Module:
        m = Module()
        m.submodules.buf = buf = memory.Memory(shape=8, depth=self.depth, init=[])
        m.submodules.crc = crc = Processor(CRC(8))
        wr = buf.write_port()
        rd = buf.read_port()
        m.d.comb += [rd.addr.eq(self.rd_addr), self.rd_data.eq(rd.data)]

        count = Signal(16)  # bytes of the frame so far (saturating)
        info = self.frame.payload
        p = self.i.payload
        m.d.comb += self.i.ready.eq(~self.frame.valid)
        with m.If(self.frame.valid & self.frame.ready):
            m.d.sync += self.frame.valid.eq(0)
        with m.If(self.i.valid & self.i.ready):
            with m.If(~p.end):
                m.d.comb += [crc.valid.eq(1), crc.data.eq(p.byte), crc.start.eq(count == 0)]
                m.d.comb += [wr.addr.eq(count), wr.data.eq(p.byte)]
                m.d.comb += wr.en.eq(count < self.depth)
                with m.If(count != 0xFFFF):
                    m.d.sync += count.eq(count + 1)
                with m.Switch(count):
                    with m.Case(0):
                        m.d.sync += info.version.eq(p.byte)
                    with m.Case(1):
                        m.d.sync += info.type.eq(p.byte)
                    with m.Case(2):
                        m.d.sync += info.seq.eq(p.byte)
                    with m.Case(3):
                        m.d.sync += info.length[:8].eq(p.byte)
                    with m.Case(4):
                        m.d.sync += info.length[8:].eq(p.byte)
            with m.Else():
                m.d.sync += count.eq(0)
                with m.If(count != 0):
                    good = ~p.error & (count >= HEADER_BYTES + CRC_BYTES) & crc.match_detected
                    with m.If(good):
                        m.d.sync += [
                            self.frame.valid.eq(1),
                            info.size.eq(count),
                            info.too_long.eq(count > self.depth),
                        ]
                    with m.Else():
                        m.d.sync += self.dropped.eq(self.dropped + 1)
        return m


class FrameTx(wiring.Component):
    """A reply's header and payload in (``last`` on its final byte), the same
    with the CRC appended out (``last`` on the CRC's second byte)."""

    def __init__(self) -> None:
        super().__init__(
            {"i": In(stream.Signature(frame_byte)), "o": Out(stream.Signature(frame_byte))}
        )

    def elaborate(self, platform: object) -> Module:
        m = Module()
        m.submodules.crc = crc = Processor(CRC(8))
        first = Signal(init=1)
        with m.FSM():
            with m.State("BODY"):
                m.d.comb += [
                    self.o.valid.eq(self.i.valid),
                    self.o.payload.byte.eq(self.i.payload.byte),
                    self.i.ready.eq(self.o.ready),
                ]
                with m.If(self.i.valid & self.o.ready):
                    m.d.comb += [
                        crc.valid.eq(1), crc.data.eq(self.i.payload.byte), crc.start.eq(first),
                    ]  # fmt: skip
                    m.d.sync += first.eq(self.i.payload.last)
                    with m.If(self.i.payload.last):
                        m.next = "CRC_HI"
            with m.State("CRC_HI"):
                m.d.comb += [self.o.valid.eq(1), self.o.payload.byte.eq(crc.crc[8:])]
                with m.If(self.o.ready):
                    m.next = "CRC_LO"
            with m.State("CRC_LO"):
                m.d.comb += [
                    self.o.valid.eq(1), self.o.payload.byte.eq(crc.crc[:8]),
                    self.o.payload.last.eq(1),
                ]  # fmt: skip
                with m.If(self.o.ready):
                    m.next = "BODY"
        return m


class LinkPHY(wiring.Component):
    """UART pins on one side; ``frame``/``rd_*`` (received) and ``tx`` (replies) on
    the other. ``divisor``: clock cycles per bit; ``rx_fifo_depth``: wire bytes
    the receive FIFO holds."""

    def __init__(
        self, divisor: int, buffer_bytes: int = FRAME_BUFFER_BYTES,
        rx_fifo_depth: int = RX_FIFO_DEPTH,
    ) -> None:  # fmt: skip
        if (
            isinstance(rx_fifo_depth, bool)
            or not isinstance(rx_fifo_depth, int)
            or rx_fifo_depth < 1
        ):
            raise ValueError(f"rx_fifo_depth must be a positive integer (got {rx_fifo_depth!r})")
        self.divisor, self.buffer_bytes = divisor, buffer_bytes
        self.rx_fifo_depth = rx_fifo_depth
        super().__init__(
            {
                "rx_pin": In(1, init=1),
                "tx_pin": Out(1, init=1),
                "frame": Out(stream.Signature(frame_info)),
                "rd_addr": In(range(buffer_bytes)),
                "rd_data": Out(8),
                "reply": In(stream.Signature(frame_byte)),
                "dropped": Out(16),
                "framing_errors": Out(16),
                "overruns": Out(16),
            }
        )

    def elaborate(self, platform: object) -> Module:
        m = Module()
        m.submodules.urx = urx = UARTRx(self.divisor)
        m.submodules.rx_fifo = fifo = SyncFIFOBuffered(width=8, depth=self.rx_fifo_depth)
        m.submodules.dec = dec = COBSDecoder()
        m.submodules.frx = frx = FrameRx(self.buffer_bytes)
        m.submodules.ftx = ftx = FrameTx()
        m.submodules.enc = enc = COBSEncoder()
        m.submodules.utx = utx = UARTTx(self.divisor)
        m.d.comb += [urx.rx.eq(self.rx_pin), self.tx_pin.eq(utx.tx)]
        wiring.connect(m, urx.data, fifo.w_stream)
        wiring.connect(m, fifo.r_stream, dec.i)
        wiring.connect(m, dec.o, frx.i)
        wiring.connect(m, wiring.flipped(self.frame), frx.frame)
        m.d.comb += [frx.rd_addr.eq(self.rd_addr), self.rd_data.eq(frx.rd_data)]
        m.d.comb += self.dropped.eq(frx.dropped)
        wiring.connect(m, wiring.flipped(self.reply), ftx.i)
        wiring.connect(m, ftx.o, enc.i)
        wiring.connect(m, enc.o, utx.data)
        with m.If(urx.frame_error):
            m.d.sync += self.framing_errors.eq(self.framing_errors + 1)
        with m.If(urx.overrun):
            m.d.sync += self.overruns.eq(self.overruns + 1)
        return m
