"""The DAC scaler: a batch of input vectors to row DAC codes.

Per sample ``s`` of a layer, over its ``n_in`` inputs ``a``:
``m = max |a|`` (a scan of the inputs, or on a layer after the first the
maximum the previous layer's output stage kept), ``r = floor(D * 2**R / m)``
(``r = 0`` for ``m = 0``; a restoring division over the bits of the constant
numerator ``D * 2**R``, ``D`` the DAC's full-scale code), and the row codes
``d = (a * r + 2**(R-1)) >> R``. It writes ``d`` to the row-code memory and
``m`` to the per-sample memory, for the output stage's scaling.
"""

from __future__ import annotations

from amaranth import Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from memrl.rtl.crossbar.config import (
    CrossbarEngineConfig,
    read_port,
    shift_add_signature,
    write_port,
)
from memrl.rtl.crossbar.shiftadd import round_shift

__all__ = ["DacScaler"]


class DacScaler(wiring.Component):
    """Row DAC codes of ``count`` samples (see the module docstring).

    Members:

    * ``start`` (in): one cycle while idle: scale samples 0 .. ``count`` - 1;
      ``done`` (out) is high in the cycle the last sample's codes are written;
    * ``count``, ``n_in`` (in): samples, and inputs per sample, held while busy;
    * ``bank`` (in): the activation bank holding the inputs;
    * ``kept`` (in): take each sample's ``m`` from ``kept_m`` instead of a scan;
    * ``act`` (read port): the activations, two banks of ``max_batch`` x
      ``width`` words (sample ``s``'s input ``j`` of bank ``b`` at
      ``b * max_batch * width + s * width + j``);
    * ``kept_m`` (read port): the kept ``m`` of each sample;
    * ``codes`` (write port): the row codes, sample ``s``'s at ``s * width + j``;
    * ``mags`` (write port): each sample's ``m``;
    * ``mul`` (with ``serial_products``): the shift-and-add unit that computes
      ``a * r``.

    Timing: ``n_in + 1`` cycles of scan (1 cycle, and 1 more, with ``kept``),
    one cycle per bit of the numerator, then ``n_in + 3`` cycles of products
    (3 per input with the shift-and-add unit, plus its cycles).
    """

    def __init__(self, config: CrossbarEngineConfig) -> None:
        self.config = c = config
        MB, W = c.max_batch, c.width
        members = {
            "start": In(1),
            "done": Out(1),
            "count": In(c.count_bits),
            "n_in": In(range(W + 1)),
            "bank": In(1),
            "kept": In(1),
            "act": read_port(2 * MB * W, signed(c.act_bits)),
            "kept_m": read_port(MB, unsigned(c.mag_bits)),
            "codes": write_port(MB * W, signed(c.dac_bits)),
            "mags": write_port(MB, unsigned(c.mag_bits)),
        }
        if c.serial_products:
            members["mul"] = Out(shift_add_signature(c))
        super().__init__(members)

    def elaborate(self, platform: object) -> Module:  # noqa: C901, PLR0915 - one state machine
        c = self.config
        m = Module()
        MB, W = c.max_batch, c.width
        wb = W.bit_length() - 1
        m_bits = c.mag_bits
        R = c.recip_bits
        n_num = c.dac_max << R
        n_num_bits = n_num.bit_length()
        serial = c.serial_products

        s = Signal(range(MB + 1))
        j = Signal(range(W + 3))  # the products run three past the inputs
        mval = Signal(m_bits)
        rem = Signal(m_bits + 1)
        quo = Signal(n_num_bits)
        bit = Signal(range(n_num_bits + 1))
        a_reg = Signal(signed(c.act_bits))
        dprod = Signal(signed(c.act_bits + n_num_bits + 2))
        ph = Signal(2)  # the serial products' phase
        a_in = self.act.data
        n_in, count = self.n_in, self.count

        def act_addr(j_: object) -> object:
            return Mux(self.bank, MB * W, 0) + (s << wb) + j_

        def sample_scaled() -> None:
            """Sample s's row codes are written: its m kept, on to the next."""
            m.d.comb += [self.mags.addr.eq(s), self.mags.data.eq(mval), self.mags.en.eq(1)]
            m.d.sync += [j.eq(0), s.eq(s + 1)]
            with m.If(s == count - 1):
                m.d.sync += s.eq(0)
                m.d.comb += self.done.eq(1)
                m.next = "IDLE"
            with m.Else():
                m.next = "MAX"

        with m.FSM(name="dac"):
            with m.State("IDLE"):
                with m.If(self.start):
                    m.next = "MAX"

            # m = max |a| (j runs one past the inputs: the read port answers a
            # cycle after its address); with kept, m is read in KEPT instead.
            with m.State("MAX"):
                m.d.comb += self.act.addr.eq(act_addr(j))
                m.d.comb += self.kept_m.addr.eq(s)
                with m.If(self.kept):
                    m.next = "KEPT"
                with m.If(j == 0):
                    m.d.sync += mval.eq(0)
                with m.Else():
                    mag = Mux(a_in < 0, -a_in, a_in)
                    with m.If(mag > mval):
                        m.d.sync += mval.eq(mag)
                m.d.sync += j.eq(j + 1)
                with m.If(j == n_in):
                    m.d.sync += [j.eq(0), rem.eq(0), quo.eq(0), bit.eq(n_num_bits)]
                    m.next = "DIV"

            with m.State("KEPT"):  # the read port answers the address of MAX
                m.d.comb += self.kept_m.addr.eq(s)
                m.d.sync += [mval.eq(self.kept_m.data), j.eq(0), rem.eq(0), quo.eq(0),
                             bit.eq(n_num_bits)]  # fmt: skip
                m.next = "DIV"

            # r = floor(D * 2**R / max(m, 1)), restoring division over the
            # constant numerator's bits; r = 0 for m = 0.
            with m.State("DIV"):
                divisor = Mux(mval == 0, 1, mval)
                num_bit = Const(n_num, n_num_bits).bit_select((bit - 1)[: len(bit)], 1)
                trial = Signal(m_bits + 2)
                m.d.comb += trial.eq((rem << 1) | num_bit)
                with m.If(bit == 0):
                    with m.If(mval == 0):
                        m.d.sync += quo.eq(0)
                    m.next = "MUL"
                with m.Else():
                    m.d.sync += bit.eq(bit - 1)
                    with m.If(trial >= divisor):
                        m.d.sync += [rem.eq(trial - divisor), quo.eq((quo << 1) | 1)]
                    with m.Else():
                        m.d.sync += [rem.eq(trial), quo.eq(quo << 1)]

            # d = (a * r + half) >> R, one input per cycle: address j, input j - 1
            # registered, product of input j - 2 registered, code of input j - 3
            # written. Serial products: input j's address (phase 0), a * r
            # started (1), d written once the unit is done (2).
            with m.State("MUL"):
                m.d.comb += self.act.addr.eq(act_addr(j))
                if serial:
                    mul = self.mul
                    m.d.comb += [mul.a.eq(quo), mul.b.eq(a_in)]
                    with m.Switch(ph):
                        with m.Case(0):
                            m.d.sync += ph.eq(1)
                        with m.Case(1):
                            m.d.sync += ph.eq(2)
                            m.d.comb += mul.start.eq(1)
                        with m.Default():
                            with m.If(mul.idle):
                                m.d.comb += [
                                    self.codes.addr.eq((s << wb) + j),
                                    self.codes.data.eq(round_shift(mul.p, R)),
                                    self.codes.en.eq(1),
                                ]
                                m.d.sync += [ph.eq(0), j.eq(j + 1)]
                                with m.If(j == n_in - 1):
                                    sample_scaled()
                else:
                    m.d.sync += [a_reg.eq(a_in), dprod.eq(a_reg * quo + (1 << (R - 1)))]
                    m.d.comb += [
                        self.codes.addr.eq((s << wb) + j - 3),
                        self.codes.data.eq(dprod >> R),
                        self.codes.en.eq(j >= 3),
                    ]
                    m.d.sync += j.eq(j + 1)
                    with m.If(j == n_in + 2):
                        sample_scaled()
        return m
