"""The autorange: a pass's column codes in, saturated columns flagged, reads summed.

Each layer's samples go through the array in passes (:class:`PassKind`):
one conversion of every sample at the top gain (FIRST); while a column
reached the ADC's end code below its lowest gain, a pass over the samples
that have one (RANGE), with those columns' gains halved (the pass issuer
steps them down by :func:`saturated`); then ``2**n - 1`` passes over every
sample at the final gains (READ), each code added to the column's sum at the
top gain's scale. :class:`Autorange` takes a pass's codes as the array
answers and keeps which samples the next RANGE pass must convert again.
"""

from __future__ import annotations

from amaranth import Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from memrl.rtl.crossbar.config import (
    CrossbarEngineConfig,
    PassKind,
    read_port,
    skips_sample,
    write_port,
)

__all__ = ["Autorange", "saturated"]


def saturated(config: CrossbarEngineConfig, code: object, e: object, e_max: object) -> object:
    """A column's code reached the ADC's end code at gain step ``e``, and the
    layer has a lower gain (step ``e_max`` is its lowest) to go to."""
    end = config.adc_end
    return ((code >= end) | (code <= -end)) & (e < e_max)


class Autorange(wiring.Component):
    """The codes of one pass at a time (see the module docstring).

    Members:

    * ``start`` (in): one cycle: a pass of ``kind`` over ``count`` samples
      begins (the issuer sends its words); ``done`` (out) stays high once
      every code of the pass is in, until ``ack`` (in);
    * ``kind``, ``count``, ``n_out``, ``e_max`` (in): the pass and its layer,
      held while busy;
    * ``rescale`` (in): the first READ pass: the stored code is at its
      column's gain step, scaled to the top gain's before the new code is added;
    * ``codes`` (in): the array's answers, ``n_out`` per sample in sample order
      (the samples of a RANGE pass only those flagged);
    * ``sums`` (read and write ports, ``sums_w``): each sample's column codes,
      sample ``s``'s at ``s * width + j``; ``steps`` (read port): their gain steps;
    * ``flags`` (out): the samples with a saturated column in the previous
      FIRST or RANGE pass (bit ``s``); ``last`` (out) the last of them; ``any``
      (out): the pass that just ended flagged one. ``flags`` and ``last``
      change at ``ack``.
    """

    def __init__(self, config: CrossbarEngineConfig) -> None:
        self.config = c = config
        MB, W = c.max_batch, c.width
        code_bits = c.port_signature().code_bits
        super().__init__(
            {
                "start": In(1),
                "done": Out(1),
                "ack": In(1),
                "kind": In(PassKind),
                "count": In(c.count_bits),
                "n_out": In(range(W + 1)),
                "e_max": In(c.step_bits),
                "rescale": In(1),
                "codes": In(stream.Signature(unsigned(code_bits))),
                "sums": read_port(MB * W, signed(c.code_bits)),
                "sums_w": write_port(MB * W, signed(c.code_bits)),
                "steps": read_port(MB * W, unsigned(c.step_bits)),
                "flags": Out(MB),
                "last": Out(range(MB)),
                "any": Out(1),
            }
        )

    def elaborate(self, platform: object) -> Module:
        c = self.config
        m = Module()
        MB, W = c.max_batch, c.width
        wb = W.bit_length() - 1
        kind, count, n_out = self.kind, self.count, self.n_out
        nflag = Signal(MB)  # the samples flagged in this pass
        nlast = Signal(range(MB))
        cs = Signal(range(MB + 1))
        cj = Signal(range(W + 1))
        flag = Signal()
        resp = self.codes
        code = resp.payload[: c.adc_bits].as_signed()
        take = Signal()
        m.d.comb += take.eq(resp.valid & resp.ready)
        m.d.comb += [self.sums.addr.eq(cs << wb), self.steps.addr.eq(cs << wb)]
        with m.FSM(name="collect"):
            with m.State("IDLE"):
                with m.If(self.start):
                    m.d.sync += [cs.eq(0), nflag.eq(0), nlast.eq(0), self.any.eq(0)]
                    m.next = "NEXT"

            with m.State("NEXT"):
                with m.If(cs == count):
                    m.next = "DONE"
                with m.Elif(skips_sample(kind, self.flags, cs)):
                    m.d.sync += cs.eq(cs + 1)
                with m.Else():
                    m.d.sync += [cj.eq(0), flag.eq(0)]
                    m.next = "PRIME"

            with m.State("PRIME"):
                m.next = "RECV"

            with m.State("RECV"):
                m.d.comb += resp.ready.eq(1)
                nxt = (cs << wb) + cj + take
                m.d.comb += [self.sums.addr.eq(nxt), self.steps.addr.eq(nxt)]
                e_cur = Mux(kind == PassKind.FIRST, 0, self.steps.data)
                sat = saturated(c, code, e_cur, self.e_max)
                old = Mux(self.rescale, self.sums.data << e_cur, self.sums.data)
                m.d.comb += [
                    self.sums_w.addr.eq((cs << wb) + cj),
                    self.sums_w.data.eq(Mux(kind == PassKind.READ, old + (code << e_cur), code)),
                    self.sums_w.en.eq(take),
                ]
                with m.If(take):
                    m.d.sync += cj.eq(cj + 1)
                    hit = (kind != PassKind.READ) & (flag | sat)
                    m.d.sync += flag.eq(hit)
                    with m.If(cj == n_out - 1):
                        with m.If(hit):
                            m.d.sync += [
                                nflag.eq(nflag | (Const(1, MB) << cs)),
                                nlast.eq(cs),
                                self.any.eq(1),
                            ]
                        m.d.sync += cs.eq(cs + 1)
                        m.next = "NEXT"

            with m.State("DONE"):
                m.d.comb += self.done.eq(1)
                with m.If(self.ack):
                    m.d.sync += [self.flags.eq(nflag), self.last.eq(nlast)]
                    m.next = "IDLE"
        return m
