"""The crossbar engine: forward passes of a Q-network whose weights live on a 1T1R array.

The digital side of :class:`memrl.sim.crossbar.golden.CrossbarQNet` in logic, bit
for bit: per layer and sample, the DAC scaling of the input vector
(``m = max |a|``, ``r = floor(D * 2**R / m)``, ``d = (a * r + 2**(R-1)) >> R``),
the VMM over the layer's sub-array through the crossbar port
(:mod:`memrl.rtl.crossbar.port`), the autoranging of saturated columns, the
summing of ``2**n`` conversions, the output scaling
``z = (c * m * k + 2**(K+n-1)) >> (K + n)``, the bias, saturation, ReLU and,
on the last layer, the argmax.

PROGRAM is the programming sequencer: it stores a list of entries (a device,
its SET gate-voltage code and whether to RESET it first), RESETs the flagged
devices in list order, then SETs every device in list order: the order of
:meth:`CrossbarQNet.pulse <memrl.sim.crossbar.golden.CrossbarQNet.pulse>`, which
both write schemes use (the paper's RESET-then-SET of a falling gate
voltage, and the improved scheme's RESET of both devices of a re-centred
pair). READ reads devices back through the port's READ; READ_ROWS reads whole
rows by one-hot VMMs (the row alone at the DAC's full-scale code, the used
columns at ``readback_gain``), in one pass.

The engine works through a batch layer by layer, and each layer in the
golden model's passes: one conversion of every sample at the top gain; while
a column reached the ADC's end code below its lowest gain, a pass over the
samples that have one, with those columns' gains halved; then ``2**n - 1``
passes over every sample at the final gains. Within a pass it sends a
sample's words as soon as the previous sample's are sent and takes the codes
as they come back (two machines share the pass): an array may answer each
VMM at once, and a model of it may answer the whole pass at once (the
``last`` bit of the pass's final VMM tells it where the pass ends).

Interfaces (``lib.stream``, valid/ready):

* ``cmd``: ``op`` FORWARD (``count`` samples, ``reads_log2`` = n), BIAS,
  PROGRAM (``count`` entries), READ (``count`` devices) or READ_ROWS
  (``count`` rows);
* ``din``: FORWARD: the inputs, sample by sample (Q-format integers of
  ``act_bits``); BIAS: every layer's biases, layer by layer; PROGRAM: the
  entries (:func:`program_entry`); READ: the devices (:func:`device_word`);
  READ_ROWS: the rows, ascending;
* ``dout``: FORWARD: layer by layer, every sample's outputs (after ReLU on
  hidden layers); on the last layer each sample's Q-values are followed by
  its greedy action (the first index of the largest); READ: the read codes;
  READ_ROWS: per row, the codes of columns 0 .. ``readback_cols`` - 1;
* ``xbar``: the crossbar port;
* ``busy``: a command is being carried out.
"""

from __future__ import annotations

from amaranth import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from memrl.rtl.crossbar.config import (
    MAX_PROGRAM,
    CrossbarEngineConfig,
    EngineOp,
    PassKind,
    XbarLayer,
    command_layout,
    device_word,
    program_entry,
)
from memrl.rtl.crossbar.port import XbarOp
from memrl.rtl.crossbar.shiftadd import times_const

__all__ = [
    "MAX_PROGRAM",
    "XbarLayer",
    "CrossbarEngineConfig",
    "EngineOp",
    "CrossbarEngine",
    "command_layout",
    "program_entry",
    "device_word",
    "times_const",
    "SPRAM_PREFIX",
]

#: Name prefix of the memories built single-port without initial contents for
#: the iCE40 UP5K's SPRAM (``spram=True``); a build drops their all-zero initial
#: contents, which SPRAM cannot hold.
SPRAM_PREFIX = "spram_"


def spram_memory(m: Module, name: str, shape: object, depth: int) -> Memory:
    """A memory Yosys maps to iCE40 SPRAM (address it with :func:`address_ports`)."""
    mem = Memory(shape=shape, depth=depth, init=[], attrs={"ram_style": "huge"})
    m.submodules[SPRAM_PREFIX + name] = mem
    return mem


def address_ports(  # noqa: ANN201
    m: Module,
    rd,
    wr,
    raddr,
    waddr,
    ren=None,
    spram: bool = False,
    name: str = "addr",  # noqa: ANN001
):
    """Drive a memory's read and write ports' addresses (and the read enable
    ``ren``, if given). With ``spram`` (a :func:`spram_memory`) they share one
    address, the write's while ``wr.en``, and the read is off while writing: no
    user of it reads and writes in the same cycle."""
    if spram:
        addr = Signal(len(rd.addr), name=name)
        m.d.comb += [addr.eq(Mux(wr.en, waddr, raddr)), rd.addr.eq(addr), wr.addr.eq(addr),
                     rd.en.eq(~wr.en if ren is None else ren & ~wr.en)]  # fmt: skip
    else:
        m.d.comb += [rd.addr.eq(raddr), wr.addr.eq(waddr)]
        if ren is not None:
            m.d.comb += rd.en.eq(ren)


class CrossbarEngine(wiring.Component):
    """Forward passes through the crossbar (see the module docstring). ``spram``:
    the activations in single-port memory (the iCE40 UP5K's SPRAM)."""

    def __init__(self, config: CrossbarEngineConfig, spram: bool = False) -> None:
        self.config = c = config
        self.spram = spram
        super().__init__(
            {
                "cmd": In(stream.Signature(command_layout(c))),
                "din": In(stream.Signature(signed(c.act_bits))),
                "dout": Out(stream.Signature(signed(c.act_bits))),
                "xbar": Out(c.port_signature()),
                "busy": Out(1),
            }
        )

    def elaborate(self, platform) -> Module:  # noqa: ANN001, C901, PLR0915
        c = self.config
        m = Module()
        L = len(c.layers)
        W = c.width
        wb = W.bit_length() - 1
        MB = c.max_batch
        e_bits = max(1, max(ly.e_max for ly in c.layers).bit_length())
        c_bits = c.code_bits
        m_bits = c.act_bits - 1
        R, K = c.recip_bits, c.scale_bits
        n_num = c.dac_max << R
        n_num_bits = n_num.bit_length()
        port = self.xbar.signature  # widths of the crossbar port's fields

        # -- memories -------------------------------------------------------
        if self.spram:
            act = spram_memory(m, "act", signed(c.act_bits), 2 * MB * W)
        else:
            m.submodules.act = act = Memory(shape=signed(c.act_bits), depth=2 * MB * W, init=[])
        m.submodules.dmem = dmem = Memory(shape=signed(c.dac_bits), depth=MB * W, init=[])
        m.submodules.cmem = cmem = Memory(shape=signed(c_bits), depth=MB * W, init=[])
        m.submodules.emem = emem = Memory(shape=unsigned(e_bits), depth=MB * W, init=[])
        m.submodules.mmem = mmem = Memory(shape=unsigned(m_bits), depth=MB, init=[])
        # one spare word: the action slot of the output pipeline reads past the biases
        m.submodules.bmem = bmem = Memory(shape=signed(c.act_bits), depth=c.n_bias + 1, init=[])
        act_r, act_w = act.read_port(), act.write_port()
        act_ra, act_wa = Signal(len(act_r.addr)), Signal(len(act_w.addr))  # set by the states
        address_ports(m, act_r, act_w, act_ra, act_wa, spram=self.spram, name="act_addr1")
        d_r, d_w = dmem.read_port(), dmem.write_port()
        c_r, c_r2, c_w = cmem.read_port(), cmem.read_port(), cmem.write_port()
        e_r, e_r2, e_w = emem.read_port(), emem.read_port(), emem.write_port()
        mm_r, mm_w = mmem.read_port(), mmem.write_port()
        b_r, b_w = bmem.read_port(), bmem.write_port()
        e_w_bits = port.row_bits + port.col_bits + c.vg_bits + 1
        m.submodules.pmem = pmem = Memory(shape=unsigned(e_w_bits), depth=c.max_program, init=[])
        p_r, p_w = pmem.read_port(), pmem.write_port()
        # max |y| of each sample's hidden-layer outputs: the next layer's m
        m.submodules.nxmem = nxmem = Memory(shape=unsigned(m_bits), depth=MB, init=[])
        nx_r, nx_w = nxmem.read_port(), nxmem.write_port()

        # -- the current layer's constants -------------------------------------
        li = Signal(range(max(L, 2)))
        n_in = Signal(range(W + 1))
        n_out = Signal(range(W + 1))
        row0 = Signal(port.row_bits)
        col0 = Signal(port.col_bits)
        vertical = Signal()
        top = Signal(port.gain_bits)
        e_max = Signal(e_bits)
        k_max = max(ly.k for ly in c.layers)
        k = Signal(range(k_max + 1))
        b_off = Signal(range(c.n_bias + 1))
        last_layer = Signal()
        with m.Switch(li):
            off = 0
            for i, ly in enumerate(c.layers):
                with m.Case(i):
                    m.d.comb += [
                        n_in.eq(ly.n_in),
                        n_out.eq(ly.n_out),
                        row0.eq(ly.row0),
                        col0.eq(ly.col0),
                        vertical.eq(ly.vertical),
                        top.eq(ly.gain),
                        e_max.eq(ly.e_max),
                        k.eq(ly.k),
                        b_off.eq(off),
                        last_layer.eq(i == L - 1),
                    ]
                off += ly.n_out

        # -- registers shared by the two machines ---------------------------------
        batch = Signal(c.count_bits)  # samples, or PROGRAM / READ words
        rl = Signal(3)  # reads_log2
        kind = Signal(PassKind)
        rk = Signal(range(1 << c.max_reads_log2))  # read passes done
        in_bank = Signal()
        pflag = Signal(MB)  # samples of the coming RANGE pass
        plast = Signal(range(MB))
        nflag = Signal(MB)  # written by the collector
        nlast = Signal(range(MB))
        nany = Signal()
        pass_go = Signal()
        pass_done = Signal()
        pass_ack = Signal()

        def sample_base(s: Signal) -> object:
            return s << wb

        def act_addr(bank: object, s: Signal, j: object) -> object:
            return Mux(bank, MB * W, 0) + (s << wb) + j

        def saturated(code: object, e: object) -> object:
            """A column reached the ADC's end code and has a lower gain to go to."""
            return ((code >= c.adc_end) | (code <= -c.adc_end)) & (e < e_max)

        # -- the issuing machine ------------------------------------------------
        s = Signal(range(max(MB, c.max_program) + 1))
        j = Signal(range(max(W, c.max_program) + 1))
        sub = Signal()
        mval = Signal(m_bits)
        rem = Signal(m_bits + 1)
        quo = Signal(n_num_bits)
        bit = Signal(range(n_num_bits + 1))
        a_reg = Signal(signed(c.act_bits))
        dprod = Signal(signed(c.act_bits + n_num_bits + 2))
        p1 = Signal(signed(c_bits + m_bits + 1))
        p2 = Signal(signed(c_bits + m_bits + k_max.bit_length() + 2))
        best = Signal(signed(c.act_bits))
        best_i = Signal(range(W))
        in_out = Signal()  # the FSM is in OUT
        # READ and READ_ROWS forward the array's codes to dout (READ_ROWS's signed)
        fwd = Signal()
        fwd_signed = Signal()
        fwd_n = Signal(range(max(MB, c.max_program) * c.readback_cols + 1))
        fwd_take = Signal()
        fetch_done = Signal()
        v1, v2, v3, v4, v5 = (Signal(name=f"out_v{i}") for i in range(1, 6))
        sb_ = range(max(MB, c.max_program) + 1)
        t1_s, t2_s, t3_s, t4_s, t5_s = (Signal(sb_, name=f"out_s{i}") for i in range(1, 6))
        t1_j, t2_j, t3_j, t4_j, t5_j = (Signal(range(W + 1), name=f"out_j{i}") for i in range(1, 6))
        t1_a, t2_a, t3_a, t4_a, t5_a = (Signal(name=f"out_a{i}") for i in range(1, 6))
        x2 = Signal(signed(c_bits))
        m2 = Signal(m_bits)
        b2, b3, b4 = (Signal(signed(c.act_bits), name=f"out_b{i}") for i in range(2, 5))
        y5 = Signal(signed(c.act_bits))
        req = self.xbar.req
        rp = req.payload

        a_in = act_r.data
        m.d.comb += [d_r.addr.eq(0), c_r.addr.eq(0), e_r.addr.eq(0)]
        any_reset = Signal()
        last_reset = Signal(range(c.max_program))
        fire = Signal()
        m.d.comb += fire.eq(req.valid & req.ready)

        def begin_pass(k_: PassKind) -> list:
            return [kind.eq(k_), s.eq(0), pass_go.eq(1)]

        m.d.sync += pass_go.eq(0)

        # -- the shift-and-add unit (serial_products): a * b, one bit of b per
        # cycle (its sign bit subtracted), sm_steps cycles, then sm_x more that
        # shift the product right. The sum's high part (sm_hi) adds a or not and
        # shifts right; the bits shifted out replace b's in sm_lo, so the product
        # ends as Cat(sm_lo, sm_hi).
        serial = c.serial_products
        sm_steps = c.act_bits
        sm_a = Signal(signed(max(n_num_bits + 1, m_bits + 1, len(p1))))
        sm_hi = Signal(signed(len(sm_a) + 1))
        sm_lo = Signal(sm_steps)
        sm_n = Signal(range(sm_steps + 1))
        sm_x = Signal(len(rl))
        sm_p = Signal(signed(len(sm_hi) + sm_steps))
        sm_idle = Signal()
        m.d.comb += [sm_p.eq(Cat(sm_lo, sm_hi)), sm_idle.eq((sm_n == 0) & (sm_x == 0))]
        ph = Signal(2)  # DAC_MUL's phase
        oph = Signal(3)  # the serial output stage's phase
        out_drained = Signal()  # OUT has nothing left in flight
        if serial:
            take = Signal()
            total = Signal(signed(len(sm_hi) + 1))
            m.d.comb += [take.eq(sm_lo[0] & (sm_n != 0)),
                         total.eq(Mux(sm_n == 1, sm_hi - Mux(take, sm_a, 0),
                                      sm_hi + Mux(take, sm_a, 0)))]  # fmt: skip
            with m.If(~sm_idle):
                m.d.sync += [sm_hi.eq(total >> 1), sm_lo.eq(Cat(sm_lo[1:], total[0]))]
                with m.If(sm_n != 0):
                    m.d.sync += sm_n.eq(sm_n - 1)
                with m.Else():
                    m.d.sync += sm_x.eq(sm_x - 1)

        def sm_start(a: object, b: object, shift: object = 0) -> list:
            return [sm_hi.eq(0), sm_a.eq(a), sm_lo.eq(b), sm_n.eq(sm_steps), sm_x.eq(shift)]

        def round_shift(p: object, sh: int) -> object:
            """(p + 2**(sh - 1)) >> sh, as ((p >> (sh - 1)) + 1) >> 1."""
            return ((p >> (sh - 1)) + 1) >> 1

        def sample_scaled() -> None:
            """Sample s's row codes are written: its m kept, on to the next."""
            m.d.comb += [mm_w.addr.eq(s), mm_w.data.eq(mval), mm_w.en.eq(1)]
            m.d.sync += [j.eq(0), s.eq(s + 1)]
            with m.If(s == batch - 1):
                m.d.sync += [s.eq(0), rk.eq(0)]
                m.d.sync += begin_pass(PassKind.FIRST)
                m.next = "ISSUE_NEXT"
            with m.Else():
                m.next = "DAC_MAX"

        with m.FSM(name="engine") as fsm:
            with m.State("IDLE"):
                m.d.comb += self.cmd.ready.eq(1)
                with m.If(self.cmd.valid):
                    m.d.sync += [
                        batch.eq(self.cmd.payload.count),
                        rl.eq(self.cmd.payload.reads_log2),
                        fwd_n.eq(0),
                        s.eq(0),
                        j.eq(0),
                        li.eq(0),
                        in_bank.eq(0),
                    ]
                    with m.If(self.cmd.payload.op == EngineOp.BIAS):
                        m.next = "BIAS"
                    with m.Elif(self.cmd.payload.count == 0):
                        pass
                    with m.Elif(self.cmd.payload.op == EngineOp.PROGRAM):
                        m.d.sync += [any_reset.eq(0), last_reset.eq(0)]
                        m.next = "PROG_LOAD"
                    with m.Elif(self.cmd.payload.op == EngineOp.READ):
                        m.next = "READ"
                    with m.Elif(self.cmd.payload.op == EngineOp.READ_ROWS):
                        m.next = "RB_ROW"
                    with m.Else():
                        m.next = "LOAD"

            with m.State("BIAS"):
                m.d.comb += [
                    self.din.ready.eq(1),
                    b_w.addr.eq(j),
                    b_w.data.eq(self.din.payload),
                    b_w.en.eq(self.din.valid),
                ]
                with m.If(self.din.valid):
                    m.d.sync += j.eq(j + 1)
                    with m.If(j == c.n_bias - 1):
                        m.d.sync += j.eq(0)
                        m.next = "IDLE"

            with m.State("LOAD"):
                m.d.comb += [
                    self.din.ready.eq(1),
                    act_wa.eq(act_addr(0, s, j)),
                    act_w.data.eq(self.din.payload),
                    act_w.en.eq(self.din.valid),
                ]
                with m.If(self.din.valid):
                    m.d.sync += j.eq(j + 1)
                    with m.If(j == n_in - 1):
                        m.d.sync += [j.eq(0), s.eq(s + 1)]
                        with m.If(s == batch - 1):
                            m.d.sync += s.eq(0)
                            m.next = "DAC_MAX"

            # -- PROGRAM: store the entries, RESET the flagged ones, SET every one -----
            with m.State("PROG_LOAD"):
                flag_bit = self.din.payload[c.vg_bits]
                m.d.comb += [
                    self.din.ready.eq(1),
                    p_w.addr.eq(j),
                    p_w.data.eq(self.din.payload),
                    p_w.en.eq(self.din.valid),
                ]
                with m.If(self.din.valid):
                    m.d.sync += j.eq(j + 1)
                    with m.If(flag_bit):
                        m.d.sync += [any_reset.eq(1), last_reset.eq(j)]
                    with m.If(j == batch - 1):
                        m.d.sync += j.eq(0)
                        with m.If(any_reset | flag_bit):
                            m.next = "PROG_RESET_PRIME"
                        with m.Else():
                            m.next = "PROG_SET_PRIME"

            entry = p_r.data
            e_code = entry[: c.vg_bits]
            e_flag = entry[c.vg_bits]
            e_col = entry[c.vg_bits + 1 : c.vg_bits + 1 + port.col_bits]
            e_row = entry[c.vg_bits + 1 + port.col_bits :]

            with m.State("PROG_RESET_PRIME"):
                m.d.comb += p_r.addr.eq(0)
                m.next = "PROG_RESET"

            with m.State("PROG_RESET"):
                m.d.comb += [
                    req.valid.eq(e_flag),
                    rp.op.eq(XbarOp.RESET),
                    rp.row.eq(e_row),
                    rp.col.eq(e_col),
                    rp.last.eq(j == last_reset),
                ]
                adv = fire | ~e_flag
                m.d.comb += p_r.addr.eq(j + adv)
                with m.If(adv):
                    m.d.sync += j.eq(j + 1)
                    with m.If(j == batch - 1):
                        m.d.sync += j.eq(0)
                        m.next = "PROG_SET_PRIME"

            with m.State("PROG_SET_PRIME"):
                m.d.comb += p_r.addr.eq(0)
                m.next = "PROG_SET"

            with m.State("PROG_SET"):
                m.d.comb += [
                    req.valid.eq(1),
                    rp.op.eq(XbarOp.SET),
                    rp.row.eq(e_row),
                    rp.col.eq(e_col),
                    rp.arg.eq(e_code),
                    rp.last.eq(j == batch - 1),
                    p_r.addr.eq(j + fire),
                ]
                with m.If(fire):
                    m.d.sync += j.eq(j + 1)
                    with m.If(j == batch - 1):
                        m.d.sync += j.eq(0)
                        m.next = "IDLE"

            # -- READ: device words out, read codes back (forwarded below) -----------
            with m.State("READ"):
                more = j != batch
                m.d.comb += [
                    req.valid.eq(self.din.valid & more),
                    self.din.ready.eq(req.ready & more),
                    rp.op.eq(XbarOp.READ),
                    rp.row.eq(self.din.payload[port.col_bits :]),
                    rp.col.eq(self.din.payload[: port.col_bits]),
                    rp.last.eq(j == batch - 1),
                ]
                with m.If(fire):
                    m.d.sync += j.eq(j + 1)
                with m.If(fwd_take & (fwd_n == batch - 1)):
                    m.d.sync += j.eq(0)
                    m.next = "IDLE"

            # -- READ_ROWS: per row, that row alone at full scale, the used columns
            # at the read-back gain; the codes are forwarded as they come (below).
            with m.State("RB_ROW"):
                m.d.comb += [
                    req.valid.eq(self.din.valid),
                    self.din.ready.eq(req.ready),
                    rp.op.eq(XbarOp.ROW),
                    rp.row.eq(self.din.payload),
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
                    rp.last.eq(s == batch - 1),
                ]
                with m.If(fire):
                    m.d.sync += s.eq(s + 1)
                    m.next = "RB_ROW"
                    with m.If(s == batch - 1):
                        m.d.sync += s.eq(0)
                        m.next = "RB_DRAIN"

            with m.State("RB_DRAIN"):
                with m.If(fwd_n == times_const(batch, c.readback_cols, serial)):
                    m.next = "IDLE"

            # DAC scaling of sample s: m = max |a| (j runs one past the inputs:
            # the read port answers a cycle after its address). A hidden layer's
            # output stage has kept its samples' maxima: no scan after layer 1.
            with m.State("DAC_MAX"):
                m.d.comb += act_ra.eq(act_addr(in_bank, s, j))
                m.d.comb += nx_r.addr.eq(s)
                with m.If(li != 0):
                    m.next = "DAC_KEPT"
                with m.If(j == 0):
                    m.d.sync += mval.eq(0)
                with m.Else():
                    mag = Mux(a_in < 0, -a_in, a_in)
                    with m.If(mag > mval):
                        m.d.sync += mval.eq(mag)
                m.d.sync += j.eq(j + 1)
                with m.If(j == n_in):
                    m.d.sync += [j.eq(0), rem.eq(0), quo.eq(0), bit.eq(n_num_bits)]
                    m.next = "DAC_DIV"

            with m.State("DAC_KEPT"):  # the read port answers the address of DAC_MAX
                m.d.comb += nx_r.addr.eq(s)
                m.d.sync += [mval.eq(nx_r.data), j.eq(0), rem.eq(0), quo.eq(0),
                             bit.eq(n_num_bits)]  # fmt: skip
                m.next = "DAC_DIV"

            # r = floor(D * 2**R / max(m, 1)), restoring division over the
            # constant numerator's bits; r = 0 for m = 0.
            with m.State("DAC_DIV"):
                divisor = Mux(mval == 0, 1, mval)
                num_bit = Const(n_num, n_num_bits).bit_select((bit - 1)[: len(bit)], 1)
                trial = Signal(m_bits + 2)
                m.d.comb += trial.eq((rem << 1) | num_bit)
                with m.If(bit == 0):
                    with m.If(mval == 0):
                        m.d.sync += quo.eq(0)
                    m.next = "DAC_MUL"
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
            with m.State("DAC_MUL"):
                m.d.comb += act_ra.eq(act_addr(in_bank, s, j))
                if serial:
                    with m.Switch(ph):
                        with m.Case(0):
                            m.d.sync += ph.eq(1)
                        with m.Case(1):
                            m.d.sync += [ph.eq(2), *sm_start(quo, a_in)]
                        with m.Default():
                            with m.If(sm_idle):
                                m.d.comb += [
                                    d_w.addr.eq(sample_base(s) + j),
                                    d_w.data.eq(round_shift(sm_p, R)),
                                    d_w.en.eq(1),
                                ]
                                m.d.sync += [ph.eq(0), j.eq(j + 1)]
                                with m.If(j == n_in - 1):
                                    sample_scaled()
                else:
                    m.d.sync += [a_reg.eq(a_in), dprod.eq(a_reg * quo + (1 << (R - 1)))]
                    m.d.comb += [
                        d_w.addr.eq(sample_base(s) + j - 3),
                        d_w.data.eq(dprod >> R),
                        d_w.en.eq(j >= 3),
                    ]
                    m.d.sync += j.eq(j + 1)
                    with m.If(j == n_in + 2):
                        sample_scaled()

            # -- a pass: the words of each of its samples -------------------------
            with m.State("ISSUE_NEXT"):
                with m.If(s == batch):
                    m.next = "WAIT_PASS"
                with m.Elif((kind == PassKind.RANGE) & ~pflag.bit_select(s, 1)):
                    m.d.sync += s.eq(s + 1)
                with m.Else():
                    m.d.sync += [j.eq(0), sub.eq(0)]
                    m.next = "ROWS_PRIME"

            with m.State("ROWS_PRIME"):
                m.d.comb += d_r.addr.eq(sample_base(s))
                m.next = "ROWS"

            with m.State("ROWS"):
                dcode = d_r.data
                neg = vertical & sub
                m.d.comb += [
                    req.valid.eq(1),
                    rp.op.eq(XbarOp.ROW),
                    rp.row.eq(row0 + Mux(vertical, (j << 1) | sub, j)),
                    rp.arg.eq(Mux(neg, -dcode, dcode)),
                ]
                step = fire & (~vertical | sub)
                m.d.comb += d_r.addr.eq(sample_base(s) + j + step)
                with m.If(fire):
                    with m.If(vertical & ~sub):
                        m.d.sync += sub.eq(1)
                    with m.Else():
                        m.d.sync += [sub.eq(0), j.eq(j + 1)]
                        with m.If(j == n_in - 1):
                            m.d.sync += j.eq(0)
                            m.next = "GAINS_PRIME"

            with m.State("GAINS_PRIME"):
                m.d.comb += [
                    c_r.addr.eq(sample_base(s)),
                    e_r.addr.eq(sample_base(s)),
                ]
                m.next = "GAINS"

            with m.State("GAINS"):
                e_old = Mux(kind == PassKind.FIRST, 0, e_r.data)
                c_old = c_r.data
                e_new = Signal(e_bits)
                m.d.comb += e_new.eq(
                    Mux(kind == PassKind.RANGE, e_old + saturated(c_old, e_old), e_old)
                )
                m.d.comb += [
                    req.valid.eq(1),
                    rp.op.eq(XbarOp.GAIN),
                    rp.col.eq(col0 + Mux(vertical, j, j << 1)),
                    rp.arg.eq(top >> e_new),
                    e_w.addr.eq(sample_base(s) + j),
                    e_w.data.eq(e_new),
                    e_w.en.eq(fire),
                ]
                nxt = sample_base(s) + j + fire
                m.d.comb += [c_r.addr.eq(nxt), e_r.addr.eq(nxt)]
                with m.If(fire):
                    m.d.sync += j.eq(j + 1)
                    with m.If(j == n_out - 1):
                        m.d.sync += j.eq(0)
                        m.next = "VMM"

            with m.State("VMM"):
                last_s = Mux(kind == PassKind.RANGE, plast, batch - 1)
                m.d.comb += [
                    req.valid.eq(1),
                    rp.op.eq(XbarOp.VMM),
                    rp.arg.eq(~vertical),
                    rp.last.eq(s == last_s),
                ]
                with m.If(fire):
                    m.d.sync += s.eq(s + 1)
                    m.next = "ISSUE_NEXT"

            with m.State("WAIT_PASS"):
                with m.If(pass_done):
                    m.d.comb += pass_ack.eq(1)
                    m.d.sync += [pflag.eq(nflag), plast.eq(nlast)]
                    with m.If(Const(c.autorange) & nany & (kind != PassKind.READ)):
                        m.d.sync += begin_pass(PassKind.RANGE)
                        m.next = "ISSUE_NEXT"
                    with m.Elif(rk + 1 < (Const(1, 8) << rl)):
                        m.d.sync += rk.eq(rk + 1)
                        m.d.sync += begin_pass(PassKind.READ)
                        m.next = "ISSUE_NEXT"
                    with m.Else():
                        m.d.sync += [s.eq(0), j.eq(0)]
                        m.next = "OUT"

            # -- outputs (the output stage below): y = sat(((c * m * k + half) >>
            # (K + n)) + b), ReLU. On the last layer a slot after each sample's
            # Q-values carries its greedy action.
            with m.State("OUT"):
                with m.If(out_drained):
                    m.next = "LAYER_DONE"

            with m.State("LAYER_DONE"):
                m.d.sync += [in_bank.eq(~in_bank), li.eq(li + 1), s.eq(0), j.eq(0)]
                m.next = "DAC_MAX"
                with m.If(last_layer):
                    m.d.sync += li.eq(0)
                    m.next = "IDLE"

        # Derived from the state: every state but IDLE serves a command; READ and
        # the READ_ROWS states forward the array's codes (READ_ROWS's signed).
        rb = fsm.ongoing("RB_ROW") | fsm.ongoing("RB_GAIN") | fsm.ongoing("RB_VMM")
        rb |= fsm.ongoing("RB_DRAIN")
        m.d.comb += [
            self.busy.eq(~fsm.ongoing("IDLE")),
            fwd.eq(fsm.ongoing("READ") | rb),
            fwd_signed.eq(rb),
            in_out.eq(fsm.ongoing("OUT")),
        ]

        # -- the output stage (state OUT) ----------------------------------------------
        slots = n_out + last_layer  # the action slot follows the Q-values
        fetching = in_out & ~fetch_done
        x_top = Signal(signed(c_bits))  # the fetched code at the top gain's scale
        m.d.comb += x_top.eq(Mux(rl == 0, c_r.data << e_r.data, c_r.data))

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
                    with m.If(s == batch - 1):
                        m.d.sync += fetch_done.eq(1)

        fetch_en = Signal()
        with m.If(in_out):
            m.d.comb += [
                c_r.addr.eq(sample_base(s) + j),
                e_r.addr.eq(sample_base(s) + j),
                b_r.addr.eq(b_off + j),
                mm_r.addr.eq(s),
                c_r.en.eq(fetch_en),
                e_r.en.eq(fetch_en),
                b_r.en.eq(fetch_en),
                mm_r.en.eq(fetch_en),
            ]
        if serial:
            # One output at a time: fetch (c, e, bias, m); c * m; (c * m) * k;
            # y, rounded as round_shift does; held until dout takes it.
            m.d.comb += [fetch_en.eq(oph == 0), out_drained.eq(fetch_done & (oph == 0))]
            z_serial = round_shift(sm_p, K)  # sm_p is c * m * k >> n
            with m.If(in_out):
                with m.Switch(oph):
                    with m.Case(0):
                        with m.If(fetching):
                            fetch_next()
                            m.d.sync += oph.eq(1)
                    with m.Case(1):
                        m.d.sync += [oph.eq(2), b4.eq(b_r.data), *sm_start(mm_r.data, x_top)]
                    with m.Case(2):
                        with m.If(sm_idle):
                            m.d.sync += [oph.eq(3), *sm_start(sm_p, k, rl)]
                    with m.Case(3):
                        with m.If(sm_idle):
                            m.d.sync += [oph.eq(4), v5.eq(1), t5_s.eq(t1_s), t5_j.eq(t1_j),
                                         t5_a.eq(t1_a), y5.eq(output(z_serial, b4))]  # fmt: skip
                    with m.Default():
                        with m.If(self.dout.ready):
                            m.d.sync += [oph.eq(0), v5.eq(0)]
        else:
            # One output per cycle through five stages (stalled by dout): fetch;
            # c scaled by its gain step; c * m; (c * m) * k + half; y.
            half = Const(1 << (K - 1), K + 8) << rl
            adv = Signal()
            m.d.comb += [adv.eq(~v5 | self.dout.ready), fetch_en.eq(adv),
                         out_drained.eq(fetch_done & ~(v1 | v2 | v3 | v4 | v5))]  # fmt: skip
            with m.If(in_out & adv):
                # stage 1: the memories' outputs, for the element fetched now
                m.d.sync += v1.eq(fetching)
                fetch_next()
                # stage 2: the code at the top gain's scale
                m.d.sync += [v2.eq(v1), t2_s.eq(t1_s), t2_j.eq(t1_j), t2_a.eq(t1_a),
                             x2.eq(x_top), m2.eq(mm_r.data), b2.eq(b_r.data)]  # fmt: skip
                # stage 3, 4: the two products
                m.d.sync += [v3.eq(v2), t3_s.eq(t2_s), t3_j.eq(t2_j), t3_a.eq(t2_a),
                             p1.eq(x2 * m2), b3.eq(b2)]  # fmt: skip
                m.d.sync += [v4.eq(v3), t4_s.eq(t3_s), t4_j.eq(t3_j), t4_a.eq(t3_a),
                             p2.eq(p1 * k + half), b4.eq(b3)]  # fmt: skip
                # stage 5: bias, saturation, ReLU
                m.d.sync += [v5.eq(v4), t5_s.eq(t4_s), t5_j.eq(t4_j), t5_a.eq(t4_a),
                             y5.eq(output((p2 >> K) >> rl, b4))]  # fmt: skip
        out_fire = in_out & v5 & self.dout.ready
        with m.If(in_out & v5):
            m.d.comb += [
                self.dout.valid.eq(1),
                self.dout.payload.eq(Mux(t5_a, best_i, y5)),
                act_wa.eq(act_addr(~in_bank, t5_s, t5_j)),
                act_w.data.eq(y5),
                act_w.en.eq(out_fire & ~t5_a),
            ]
        with m.If(out_fire & ~t5_a & ((t5_j == 0) | (y5 > best))):
            m.d.sync += [best.eq(y5), best_i.eq(t5_j)]
        # hidden outputs are >= 0 (ReLU): their maximum is the next layer's m
        peak = Mux((t5_j == 0) | (y5 > best), y5, best)
        m.d.comb += [
            nx_w.addr.eq(t5_s),
            nx_w.data.eq(peak),
            nx_w.en.eq(out_fire & ~last_layer & (t5_j == n_out - 1)),
        ]
        with m.If(~in_out):
            m.d.sync += [fetch_done.eq(0), v1.eq(0), v2.eq(0), v3.eq(0), v4.eq(0), v5.eq(0),
                         oph.eq(0)]  # fmt: skip

        # -- READ and READ_ROWS: the array's codes out as they come ---------------------
        codes = self.xbar.resp.payload
        m.d.comb += fwd_take.eq(fwd & self.xbar.resp.valid & self.dout.ready)
        with m.If(fwd):
            m.d.comb += [
                self.dout.valid.eq(self.xbar.resp.valid),
                self.dout.payload.eq(Mux(fwd_signed, codes[: c.adc_bits].as_signed(), codes)),
                self.xbar.resp.ready.eq(self.dout.ready),
            ]
        with m.If(fwd_take):
            m.d.sync += fwd_n.eq(fwd_n + 1)

        # -- the collecting machine: one code per GAIN word --------------------------
        cs = Signal(range(MB + 1))
        cj = Signal(range(W + 1))
        flag = Signal()
        resp = self.xbar.resp
        code = resp.payload[: c.adc_bits].as_signed()
        take = Signal()
        m.d.comb += take.eq(resp.valid & resp.ready)
        m.d.comb += [c_r2.addr.eq(sample_base(cs)), e_r2.addr.eq(sample_base(cs))]
        with m.FSM(name="collect"):
            with m.State("IDLE"):
                with m.If(pass_go):
                    m.d.sync += [cs.eq(0), nflag.eq(0), nlast.eq(0), nany.eq(0)]
                    m.next = "NEXT"

            with m.State("NEXT"):
                with m.If(cs == batch):
                    m.next = "DONE"
                with m.Elif((kind == PassKind.RANGE) & ~pflag.bit_select(cs, 1)):
                    m.d.sync += cs.eq(cs + 1)
                with m.Else():
                    m.d.sync += [cj.eq(0), flag.eq(0)]
                    m.next = "PRIME"

            with m.State("PRIME"):
                m.next = "RECV"

            with m.State("RECV"):
                m.d.comb += resp.ready.eq(1)
                nxt = sample_base(cs) + cj + take
                m.d.comb += [c_r2.addr.eq(nxt), e_r2.addr.eq(nxt)]
                e_cur = Mux(kind == PassKind.FIRST, 0, e_r2.data)
                sat = saturated(code, e_cur)
                old = Mux(rk == 1, c_r2.data << e_cur, c_r2.data)
                m.d.comb += [
                    c_w.addr.eq(sample_base(cs) + cj),
                    c_w.data.eq(Mux(kind == PassKind.READ, old + (code << e_cur), code)),
                    c_w.en.eq(take),
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
                                nany.eq(1),
                            ]
                        m.d.sync += cs.eq(cs + 1)
                        m.next = "NEXT"

            with m.State("DONE"):
                m.d.comb += pass_done.eq(1)
                with m.If(pass_ack):
                    m.next = "IDLE"

        return m
