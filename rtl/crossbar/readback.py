"""Read-back: devices read through the crossbar port, and whole rows by one-hot VMMs.

READ sends a READ word per device and forwards the read codes as they come.
READ_ROWS senses whole rows: per row, a VMM with that row alone at the DAC's
full-scale code and columns 0 .. ``readback_cols`` - 1 at ``readback_gain``,
all rows in one pass; it forwards the column codes (signed) as they come.
"""

from __future__ import annotations

from amaranth import Module, Mux, Signal, signed, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from memrl.rtl.crossbar.config import CrossbarEngineConfig, request_signature
from memrl.rtl.crossbar.port import XbarOp
from memrl.rtl.crossbar.shiftadd import times_const

__all__ = ["ReadBack"]


class ReadBack(wiring.Component):
    """READ and READ_ROWS (see the module docstring).

    Members:

    * ``start`` (in): one cycle while idle: READ (``rows`` low) of ``count``
      (>= 1) devices, or READ_ROWS (``rows`` high) of ``count`` rows;
      ``count`` (in) held while busy; ``done`` (out) is high in the cycle the
      last code goes out;
    * ``din`` (in): READ: the devices (``row << col_bits | col``); READ_ROWS:
      the rows, ascending;
    * ``req`` (out), ``codes`` (in): the crossbar port's streams;
    * ``dout`` (out): READ: the read codes; READ_ROWS: per row, the codes of
      columns 0 .. ``readback_cols`` - 1, sign-extended.
    """

    def __init__(self, config: CrossbarEngineConfig) -> None:
        self.config = c = config
        port = c.port_signature()
        super().__init__(
            {
                "start": In(1),
                "rows": In(1),
                "done": Out(1),
                "count": In(c.count_bits),
                "din": In(stream.Signature(unsigned(port.row_bits + port.col_bits))),
                "req": Out(request_signature(c)),
                "codes": In(stream.Signature(unsigned(port.code_bits))),
                "dout": Out(stream.Signature(signed(c.act_bits))),
            }
        )

    def elaborate(self, platform: object) -> Module:
        c = self.config
        m = Module()
        port = c.port_signature()
        MB, count = c.max_batch, self.count
        din, req, resp, dout = self.din, self.req, self.codes, self.dout
        rp = req.payload
        fire = Signal()
        m.d.comb += fire.eq(req.valid & req.ready)
        s = Signal(range(max(MB, c.max_program) + 1))  # READ_ROWS: the VMMs sent
        j = Signal(range(max(c.width, c.max_program, c.readback_cols) + 1))  # words sent
        fwd = Signal()  # codes go out as they come
        fwd_signed = Signal()  # READ_ROWS's column codes
        fwd_n = Signal(range(max(MB, c.max_program) * c.readback_cols + 1))  # codes out
        fwd_take = Signal()

        with m.FSM(name="readback") as fsm:
            with m.State("IDLE"):
                with m.If(self.start):
                    m.d.sync += [j.eq(0), fwd_n.eq(0)]
                    with m.If(self.rows):
                        m.next = "RB_ROW"
                    with m.Else():
                        m.next = "READ"

            # READ: device words out, read codes back (forwarded below)
            with m.State("READ"):
                more = j != count
                m.d.comb += [
                    req.valid.eq(din.valid & more),
                    din.ready.eq(req.ready & more),
                    rp.op.eq(XbarOp.READ),
                    rp.row.eq(din.payload[port.col_bits :]),
                    rp.col.eq(din.payload[: port.col_bits]),
                    rp.last.eq(j == count - 1),
                ]
                with m.If(fire):
                    m.d.sync += j.eq(j + 1)
                with m.If(fwd_take & (fwd_n == count - 1)):
                    m.d.sync += j.eq(0)
                    m.d.comb += self.done.eq(1)
                    m.next = "IDLE"

            # READ_ROWS: per row, that row alone at full scale, the used columns
            # at the read-back gain.
            with m.State("RB_ROW"):
                m.d.comb += [
                    req.valid.eq(din.valid),
                    din.ready.eq(req.ready),
                    rp.op.eq(XbarOp.ROW),
                    rp.row.eq(din.payload),
                    rp.arg.eq(c.dac_max),
                ]
                with m.If(fire):
                    m.d.sync += j.eq(0)
                    m.next = "RB_GAIN"

            with m.State("RB_GAIN"):
                m.d.comb += [
                    req.valid.eq(1),
                    rp.op.eq(XbarOp.GAIN),
                    rp.col.eq(j),
                    rp.arg.eq(c.readback_gain),
                ]
                with m.If(fire):
                    m.d.sync += j.eq(j + 1)
                    with m.If(j == c.readback_cols - 1):
                        m.next = "RB_VMM"

            with m.State("RB_VMM"):
                m.d.comb += [
                    req.valid.eq(1),
                    rp.op.eq(XbarOp.VMM),
                    rp.last.eq(s == count - 1),
                ]
                with m.If(fire):
                    m.d.sync += s.eq(s + 1)
                    m.next = "RB_ROW"
                    with m.If(s == count - 1):
                        m.d.sync += s.eq(0)
                        m.next = "RB_DRAIN"

            with m.State("RB_DRAIN"):
                with m.If(fwd_n == times_const(count, c.readback_cols, c.serial_products)):
                    m.d.comb += self.done.eq(1)
                    m.next = "IDLE"

        rb = fsm.ongoing("RB_ROW") | fsm.ongoing("RB_GAIN") | fsm.ongoing("RB_VMM")
        rb |= fsm.ongoing("RB_DRAIN")
        m.d.comb += [fwd.eq(fsm.ongoing("READ") | rb), fwd_signed.eq(rb)]
        codes = resp.payload
        m.d.comb += fwd_take.eq(fwd & resp.valid & dout.ready)
        with m.If(fwd):
            m.d.comb += [
                dout.valid.eq(resp.valid),
                dout.payload.eq(Mux(fwd_signed, codes[: c.adc_bits].as_signed(), codes)),
                resp.ready.eq(dout.ready),
            ]
        with m.If(fwd_take):
            m.d.sync += fwd_n.eq(fwd_n + 1)
        return m
