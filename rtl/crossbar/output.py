"""The output stage: a layer's column codes to activations, and the greedy action.

Per sample ``s`` and output ``j`` of a layer, with the column's summed code
``c`` (at its gain step ``e`` after one read: scaled to the top gain's by
``c << e``), the sample's ``m``, the layer's constant ``k`` and ``2**n``
reads: ``z = (c * m * k + 2**(K+n-1)) >> (K + n)``, ``y = sat(z + b)`` with
the output's bias ``b``, saturated to the activations' range, and on hidden
layers ReLU. It sends every ``y`` out and writes it to the other activation
bank; on a hidden layer it keeps each sample's largest ``y`` (the next layer's
``m``), on the last layer it sends after each sample's Q-values its greedy
action (the first index of the largest).
"""

from __future__ import annotations

from amaranth import Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from memrl.rtl.crossbar.config import (
    CrossbarEngineConfig,
    read_port,
    shift_add_signature,
    write_port,
)
from memrl.rtl.crossbar.shiftadd import round_shift

__all__ = ["OutputStage"]


class OutputStage(wiring.Component):
    """A layer's outputs (see the module docstring).

    Members:

    * ``en`` (in): high from the layer's last pass to its last output; low, the
      stage is cleared; ``drained`` (out): every output is out;
    * ``count``, ``reads_log2`` (in): the samples, and ``n`` of the ``2**n``
      reads summed;
    * ``n_out``, ``k``, ``b_off``, ``last`` (in): the layer's outputs, output
      constant, first bias and whether it is the last layer;
    * ``bank`` (in): the bank of the layer's inputs (outputs go to the other);
    * ``sums``, ``steps`` (read ports): the column codes and their gain steps,
      sample ``s``'s at ``s * width + j``; ``bias`` (read port): the biases;
      ``mags`` (read port): each sample's ``m``;
    * ``act`` (write port): the activations (bank ``b``'s sample ``s``, output
      ``j`` at ``b * max_batch * width + s * width + j``);
    * ``kept_m`` (write port): each sample's largest output (hidden layers);
    * ``dout`` (out): the outputs, sample by sample; on the last layer each
      sample's are followed by its greedy action;
    * ``mul`` (with ``serial_products``): the shift-and-add unit for ``c * m``
      and ``(c * m) * k``.

    Timing: with multipliers, a five-stage pipeline of one output per cycle
    (fetch; ``c`` at the top gain's scale; ``c * m``; ``(c * m) * k`` plus the
    rounding; bias, saturation, ReLU), stalled while ``dout`` is not ready.
    With ``serial_products``, one output at a time: fetch; ``c * m``;
    ``(c * m) * k``, shifted ``n`` more; ``y``; held until ``dout`` takes it.
    """

    def __init__(self, config: CrossbarEngineConfig) -> None:
        self.config = c = config
        MB, W = c.max_batch, c.width
        members = {
            "en": In(1),
            "drained": Out(1),
            "count": In(c.count_bits),
            "reads_log2": In(3),
            "n_out": In(range(W + 1)),
            "k": In(range(c.k_max + 1)),
            "b_off": In(range(c.n_bias + 1)),
            "last": In(1),
            "bank": In(1),
            "sums": read_port(MB * W, signed(c.code_bits)),
            "steps": read_port(MB * W, unsigned(c.step_bits)),
            "bias": read_port(c.n_bias + 1, signed(c.act_bits)),
            "mags": read_port(MB, unsigned(c.mag_bits)),
            "act": write_port(2 * MB * W, signed(c.act_bits)),
            "kept_m": write_port(MB, unsigned(c.mag_bits)),
            "dout": Out(stream.Signature(signed(c.act_bits))),
        }
        if c.serial_products:
            members["mul"] = Out(shift_add_signature(c))
        super().__init__(members)

    def elaborate(self, platform: object) -> Module:  # noqa: PLR0915 - one pipeline
        c = self.config
        m = Module()
        MB, W = c.max_batch, c.width
        wb = W.bit_length() - 1
        K = c.scale_bits
        c_bits, m_bits = c.code_bits, c.mag_bits
        active, rl, n_out, last_layer = self.en, self.reads_log2, self.n_out, self.last
        dout = self.dout

        s = Signal(range(MB + 1))
        j = Signal(range(W + 1))
        fetch_done = Signal()
        v1, v2, v3, v4, v5 = (Signal(name=f"v{i}") for i in range(1, 6))
        t1_s, t2_s, t3_s, t4_s, t5_s = (Signal(range(MB + 1), name=f"s{i}") for i in range(1, 6))
        t1_j, t2_j, t3_j, t4_j, t5_j = (Signal(range(W + 1), name=f"j{i}") for i in range(1, 6))
        t1_a, t2_a, t3_a, t4_a, t5_a = (Signal(name=f"a{i}") for i in range(1, 6))
        x2 = Signal(signed(c_bits))
        m2 = Signal(m_bits)
        p1 = Signal(signed(c_bits + m_bits + 1))
        p2 = Signal(signed(c_bits + m_bits + c.k_max.bit_length() + 2))
        b2, b3, b4 = (Signal(signed(c.act_bits), name=f"b{i}") for i in range(2, 5))
        y5 = Signal(signed(c.act_bits))
        best = Signal(signed(c.act_bits))
        best_i = Signal(range(W))
        oph = Signal(3)  # the serial stage's phase

        slots = n_out + last_layer  # the action slot follows the Q-values
        fetching = active & ~fetch_done
        x_top = Signal(signed(c_bits))  # the fetched code at the top gain's scale
        m.d.comb += x_top.eq(Mux(rl == 0, self.sums.data << self.steps.data, self.sums.data))

        def output(z: object, b: object) -> Signal:
            """y = sat(z + b), ReLU on hidden layers; z = (c*m*k + half) >> (K + n)."""
            zb = Signal(signed(max(len(z), len(b)) + 1))
            m.d.comb += zb.eq(z + b)
            lo = Mux(last_layer, -c.act_max, 0)
            y = Signal(signed(c.act_bits))
            with m.If(zb > c.act_max):
                m.d.comb += y.eq(c.act_max)
            with m.Elif(zb < lo):
                m.d.comb += y.eq(lo)
            with m.Else():
                m.d.comb += y.eq(zb)
            return y

        def fetch_next() -> None:
            m.d.sync += [t1_s.eq(s), t1_j.eq(j), t1_a.eq(j == n_out)]
            with m.If(fetching):
                m.d.sync += j.eq(j + 1)
                with m.If(j == slots - 1):
                    m.d.sync += [j.eq(0), s.eq(s + 1)]
                    with m.If(s == self.count - 1):
                        m.d.sync += fetch_done.eq(1)

        fetch_en = Signal()
        with m.If(active):
            m.d.comb += [
                self.sums.addr.eq((s << wb) + j),
                self.steps.addr.eq((s << wb) + j),
                self.bias.addr.eq(self.b_off + j),
                self.mags.addr.eq(s),
                self.sums.en.eq(fetch_en),
                self.steps.en.eq(fetch_en),
                self.bias.en.eq(fetch_en),
                self.mags.en.eq(fetch_en),
            ]
        if c.serial_products:
            # One output at a time: fetch (c, e, bias, m); c * m; (c * m) * k;
            # y, rounded as round_shift does; held until dout takes it.
            mul = self.mul
            m.d.comb += [fetch_en.eq(oph == 0), self.drained.eq(fetch_done & (oph == 0))]
            z_serial = round_shift(mul.p, K)  # mul.p is c * m * k >> n
            with m.If(active):
                with m.Switch(oph):
                    with m.Case(0):
                        with m.If(fetching):
                            fetch_next()
                            m.d.sync += oph.eq(1)
                    with m.Case(1):
                        m.d.sync += [oph.eq(2), b4.eq(self.bias.data)]
                        m.d.comb += [mul.start.eq(1), mul.a.eq(self.mags.data), mul.b.eq(x_top)]
                    with m.Case(2):
                        m.d.comb += [mul.a.eq(mul.p), mul.b.eq(self.k), mul.shift.eq(rl)]
                        with m.If(mul.idle):
                            m.d.sync += oph.eq(3)
                            m.d.comb += mul.start.eq(1)
                    with m.Case(3):
                        with m.If(mul.idle):
                            m.d.sync += [oph.eq(4), v5.eq(1), t5_s.eq(t1_s), t5_j.eq(t1_j),
                                         t5_a.eq(t1_a), y5.eq(output(z_serial, b4))]  # fmt: skip
                    with m.Default():
                        with m.If(dout.ready):
                            m.d.sync += [oph.eq(0), v5.eq(0)]
        else:
            # One output per cycle through five stages (stalled by dout): fetch;
            # c scaled by its gain step; c * m; (c * m) * k + half; y.
            half = Const(1 << (K - 1), K + 8) << rl
            adv = Signal()
            m.d.comb += [adv.eq(~v5 | dout.ready), fetch_en.eq(adv),
                         self.drained.eq(fetch_done & ~(v1 | v2 | v3 | v4 | v5))]  # fmt: skip
            with m.If(active & adv):
                # stage 1: the memories' outputs, for the element fetched now
                m.d.sync += v1.eq(fetching)
                fetch_next()
                # stage 2: the code at the top gain's scale
                m.d.sync += [v2.eq(v1), t2_s.eq(t1_s), t2_j.eq(t1_j), t2_a.eq(t1_a), x2.eq(x_top),
                             m2.eq(self.mags.data), b2.eq(self.bias.data)]  # fmt: skip
                # stage 3, 4: the two products
                m.d.sync += [v3.eq(v2), t3_s.eq(t2_s), t3_j.eq(t2_j), t3_a.eq(t2_a),
                             p1.eq(x2 * m2), b3.eq(b2)]  # fmt: skip
                m.d.sync += [v4.eq(v3), t4_s.eq(t3_s), t4_j.eq(t3_j), t4_a.eq(t3_a),
                             p2.eq(p1 * self.k + half), b4.eq(b3)]  # fmt: skip
                # stage 5: bias, saturation, ReLU
                m.d.sync += [v5.eq(v4), t5_s.eq(t4_s), t5_j.eq(t4_j), t5_a.eq(t4_a),
                             y5.eq(output((p2 >> K) >> rl, b4))]  # fmt: skip
        out_fire = active & v5 & dout.ready
        with m.If(active & v5):
            m.d.comb += [
                dout.valid.eq(1),
                dout.payload.eq(Mux(t5_a, best_i, y5)),
                self.act.addr.eq(Mux(~self.bank, MB * W, 0) + (t5_s << wb) + t5_j),
                self.act.data.eq(y5),
                self.act.en.eq(out_fire & ~t5_a),
            ]
        with m.If(out_fire & ~t5_a & ((t5_j == 0) | (y5 > best))):
            m.d.sync += [best.eq(y5), best_i.eq(t5_j)]
        # hidden outputs are >= 0 (ReLU): their maximum is the next layer's m
        peak = Mux((t5_j == 0) | (y5 > best), y5, best)
        m.d.comb += [
            self.kept_m.addr.eq(t5_s),
            self.kept_m.data.eq(peak),
            self.kept_m.en.eq(out_fire & ~last_layer & (t5_j == n_out - 1)),
        ]
        with m.If(~active):
            m.d.sync += [fetch_done.eq(0), v1.eq(0), v2.eq(0), v3.eq(0), v4.eq(0), v5.eq(0),
                         oph.eq(0), s.eq(0), j.eq(0)]  # fmt: skip
        return m
