"""The pass issuer: a pass's words to the crossbar port, sample after sample.

For each sample of a pass (of a RANGE pass, each flagged sample): a ROW word
per row of the layer with the sample's row DAC code (on vertical pairs, the
pair's second row with the negated code), a GAIN word per output column
(pair) with its gain, and a VMM word, ``last`` on the pass's final VMM. The
gains: the top gain on a FIRST pass; on a RANGE pass, a column whose code
saturated goes one gain step down (:func:`memrl.rtl.crossbar.autorange.saturated`)
and the new step is stored; on a READ pass, the stored step. It sends a
sample's words as soon as the previous sample's are sent; the codes come
back to :class:`~memrl.rtl.crossbar.autorange.Autorange`.
"""

from __future__ import annotations

from amaranth import Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from memrl.rtl.crossbar.autorange import saturated
from memrl.rtl.crossbar.config import (
    CrossbarEngineConfig,
    PassKind,
    read_port,
    request_signature,
    skips_sample,
    write_port,
)
from memrl.rtl.crossbar.port import XbarOp

__all__ = ["PassIssuer"]


class PassIssuer(wiring.Component):
    """The words of one pass (see the module docstring).

    Members:

    * ``start`` (in): one cycle while idle: a pass of ``kind`` over ``count``
      samples; ``done`` (out) is high in the cycle it ends (every VMM sent);
    * ``kind``, ``count`` (in), ``flags`` and ``last`` (in, from the
      autorange): the pass, and on a RANGE pass its samples and the last of
      them; held while busy;
    * ``n_in``, ``n_out``, ``row0``, ``col0``, ``vertical``, ``gain``,
      ``e_max`` (in): the layer's place on the array, its top gain and lowest
      gain step;
    * ``codes`` (read port): the row DAC codes, sample ``s``'s at ``s * width + j``;
    * ``sums``, ``steps`` (read ports): the column codes and gain steps of the
      previous pass; ``steps_w`` (write port): this pass's gain steps;
    * ``req`` (out): the crossbar port's request stream.

    Timing per sample: 2 cycles, then one per word the port takes (rows, then
    columns), 1 more, and the VMM word; 1 cycle per skipped sample of a RANGE
    pass.
    """

    def __init__(self, config: CrossbarEngineConfig) -> None:
        self.config = c = config
        MB, W = c.max_batch, c.width
        port = c.port_signature()
        words = MB * W
        super().__init__(
            {
                "start": In(1),
                "done": Out(1),
                "kind": In(PassKind),
                "count": In(c.count_bits),
                "flags": In(MB),
                "last": In(range(MB)),
                "n_in": In(range(W + 1)),
                "n_out": In(range(W + 1)),
                "row0": In(port.row_bits),
                "col0": In(port.col_bits),
                "vertical": In(1),
                "gain": In(port.gain_bits),
                "e_max": In(c.step_bits),
                "codes": read_port(words, signed(c.dac_bits)),
                "sums": read_port(words, signed(c.code_bits)),
                "steps": read_port(words, unsigned(c.step_bits)),
                "steps_w": write_port(words, unsigned(c.step_bits)),
                "req": Out(request_signature(c)),
            }
        )

    def elaborate(self, platform: object) -> Module:
        c = self.config
        m = Module()
        MB, W = c.max_batch, c.width
        wb = W.bit_length() - 1
        kind, vertical = self.kind, self.vertical
        req = self.req
        rp = req.payload
        fire = Signal()
        m.d.comb += fire.eq(req.valid & req.ready)
        s = Signal(range(MB + 1))
        j = Signal(range(W + 1))
        sub = Signal()  # a vertical pair's second row
        base = s << wb

        with m.FSM(name="issue"):
            with m.State("IDLE"):
                with m.If(self.start):
                    m.d.sync += s.eq(0)
                    m.next = "NEXT"

            with m.State("NEXT"):
                with m.If(s == self.count):
                    m.d.comb += self.done.eq(1)
                    m.next = "IDLE"
                with m.Elif(skips_sample(kind, self.flags, s)):
                    m.d.sync += s.eq(s + 1)
                with m.Else():
                    m.d.sync += [j.eq(0), sub.eq(0)]
                    m.next = "ROWS_PRIME"

            with m.State("ROWS_PRIME"):
                m.d.comb += self.codes.addr.eq(base)
                m.next = "ROWS"

            with m.State("ROWS"):
                dcode = self.codes.data
                neg = vertical & sub
                m.d.comb += [
                    req.valid.eq(1),
                    rp.op.eq(XbarOp.ROW),
                    rp.row.eq(self.row0 + Mux(vertical, (j << 1) | sub, j)),
                    rp.arg.eq(Mux(neg, -dcode, dcode)),
                ]
                step = fire & (~vertical | sub)
                m.d.comb += self.codes.addr.eq(base + j + step)
                with m.If(fire):
                    with m.If(vertical & ~sub):
                        m.d.sync += sub.eq(1)
                    with m.Else():
                        m.d.sync += [sub.eq(0), j.eq(j + 1)]
                        with m.If(j == self.n_in - 1):
                            m.d.sync += j.eq(0)
                            m.next = "GAINS_PRIME"

            with m.State("GAINS_PRIME"):
                m.d.comb += [self.sums.addr.eq(base), self.steps.addr.eq(base)]
                m.next = "GAINS"

            with m.State("GAINS"):
                e_old = Mux(kind == PassKind.FIRST, 0, self.steps.data)
                e_new = Signal(c.step_bits)
                step_down = saturated(c, self.sums.data, e_old, self.e_max)
                m.d.comb += e_new.eq(Mux(kind == PassKind.RANGE, e_old + step_down, e_old))
                m.d.comb += [
                    req.valid.eq(1),
                    rp.op.eq(XbarOp.GAIN),
                    rp.col.eq(self.col0 + Mux(vertical, j, j << 1)),
                    rp.arg.eq(self.gain >> e_new),
                    self.steps_w.addr.eq(base + j),
                    self.steps_w.data.eq(e_new),
                    self.steps_w.en.eq(fire),
                ]
                nxt = base + j + fire
                m.d.comb += [self.sums.addr.eq(nxt), self.steps.addr.eq(nxt)]
                with m.If(fire):
                    m.d.sync += j.eq(j + 1)
                    with m.If(j == self.n_out - 1):
                        m.d.sync += j.eq(0)
                        m.next = "VMM"

            with m.State("VMM"):
                last_s = Mux(kind == PassKind.RANGE, self.last, self.count - 1)
                m.d.comb += [
                    req.valid.eq(1),
                    rp.op.eq(XbarOp.VMM),
                    rp.arg.eq(~vertical),
                    rp.last.eq(s == last_s),
                ]
                with m.If(fire):
                    m.d.sync += s.eq(s + 1)
                    m.next = "NEXT"
        return m
