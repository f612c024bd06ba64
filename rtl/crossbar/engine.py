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

* ``cmd``: ``op`` FORWARD (``count`` samples, at most ``max_batch``,
  ``reads_log2`` = n), BIAS, PROGRAM (``count`` entries, at most
  ``max_program``), READ (``count`` devices, at most ``max_program``) or
  READ_ROWS (``count`` rows, at most ``max_batch``); a count of 0 does nothing;
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

The engine is a top over its parts, each a component of its own; it holds
the memories they share, the layer's constants and the command's state
machine, which starts one part after the other:

* :class:`~memrl.rtl.crossbar.dac.DacScaler`: the inputs' row DAC codes;
* :class:`~memrl.rtl.crossbar.issuer.PassIssuer`: a pass's words to the port;
* :class:`~memrl.rtl.crossbar.autorange.Autorange`: a pass's codes from the
  port, saturated columns flagged, reads summed;
* :class:`~memrl.rtl.crossbar.output.OutputStage`: the outputs and the action;
* :class:`~memrl.rtl.crossbar.sequencer.ProgramSequencer`: PROGRAM;
* :class:`~memrl.rtl.crossbar.readback.ReadBack`: READ and READ_ROWS;
* :class:`~memrl.rtl.crossbar.shiftadd.ShiftAdd` (``serial_products``): the
  DAC scaler's and the output stage's products.

Only one part drives a shared stream or memory port at a time (the state
machine runs them one after the other; the pass issuer and the autorange
share a pass, on the port's two streams); the others hold theirs at zero,
so the top ORs them.
"""

from __future__ import annotations

from amaranth import Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from memrl.rtl.crossbar.autorange import Autorange
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
from memrl.rtl.crossbar.dac import DacScaler
from memrl.rtl.crossbar.issuer import PassIssuer
from memrl.rtl.crossbar.output import OutputStage
from memrl.rtl.crossbar.readback import ReadBack
from memrl.rtl.crossbar.sequencer import ProgramSequencer
from memrl.rtl.crossbar.shiftadd import ShiftAdd, times_const

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


def _any(*values: object) -> object:
    """The OR of parts' outputs, each zero while its part is idle."""
    total = values[0]
    for v in values[1:]:
        total = total | v
    return total


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

    def elaborate(self, platform) -> Module:  # noqa: ANN001, PLR0915 - the top's wiring
        c = self.config
        m = Module()
        L = len(c.layers)
        W = c.width
        wb = W.bit_length() - 1
        MB = c.max_batch
        port = self.xbar.signature  # widths of the crossbar port's fields
        serial = c.serial_products

        # -- memories -------------------------------------------------------
        if self.spram:
            act = spram_memory(m, "act", signed(c.act_bits), 2 * MB * W)
        else:
            m.submodules.act = act = Memory(shape=signed(c.act_bits), depth=2 * MB * W, init=[])
        m.submodules.dmem = dmem = Memory(shape=signed(c.dac_bits), depth=MB * W, init=[])
        m.submodules.cmem = cmem = Memory(shape=signed(c.code_bits), depth=MB * W, init=[])
        m.submodules.emem = emem = Memory(shape=unsigned(c.step_bits), depth=MB * W, init=[])
        m.submodules.mmem = mmem = Memory(shape=unsigned(c.mag_bits), depth=MB, init=[])
        # one spare word: the action slot of the output pipeline reads past the biases
        m.submodules.bmem = bmem = Memory(shape=signed(c.act_bits), depth=c.n_bias + 1, init=[])
        # max |y| of each sample's hidden-layer outputs: the next layer's m
        m.submodules.nxmem = nxmem = Memory(shape=unsigned(c.mag_bits), depth=MB, init=[])
        act_r, act_w = act.read_port(), act.write_port()
        act_ra, act_wa = Signal(len(act_r.addr)), Signal(len(act_w.addr))
        address_ports(m, act_r, act_w, act_ra, act_wa, spram=self.spram, name="act_addr1")
        d_r, d_w = dmem.read_port(), dmem.write_port()
        c_r, c_r2, c_w = cmem.read_port(), cmem.read_port(), cmem.write_port()
        e_r, e_r2, e_w = emem.read_port(), emem.read_port(), emem.write_port()
        mm_r, mm_w = mmem.read_port(), mmem.write_port()
        b_r, b_w = bmem.read_port(), bmem.write_port()
        nx_r, nx_w = nxmem.read_port(), nxmem.write_port()

        # -- the parts ------------------------------------------------------
        m.submodules.dac = dac = DacScaler(c)
        m.submodules.issuer = iss = PassIssuer(c)
        m.submodules.autorange = ar = Autorange(c)
        m.submodules.output = out = OutputStage(c)
        m.submodules.sequencer = seq = ProgramSequencer(c)
        m.submodules.readback = rb = ReadBack(c)

        # -- the current layer's constants -------------------------------------
        li = Signal(range(max(L, 2)))
        n_in = Signal(range(W + 1))
        n_out = Signal(range(W + 1))
        row0 = Signal(port.row_bits)
        col0 = Signal(port.col_bits)
        vertical = Signal()
        top = Signal(port.gain_bits)
        e_max = Signal(c.step_bits)
        k = Signal(range(c.k_max + 1))
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

        # -- the command's registers ------------------------------------------
        batch = Signal(c.count_bits)  # samples, or PROGRAM / READ words
        rl = Signal(3)  # reads_log2
        kind = Signal(PassKind)
        rk = Signal(range(1 << c.max_reads_log2))  # read passes done
        in_bank = Signal()  # the bank of the layer's inputs
        pass_go = Signal()  # the autorange starts a cycle after the issuer
        s = Signal(range(MB + 1))  # LOAD's sample
        j = Signal(range(max(W, c.n_bias) + 1))  # LOAD's input, BIAS's word
        in_out = Signal()  # the FSM is in OUT
        m.d.sync += pass_go.eq(0)

        # -- the DAC scaler ------------------------------------------------------
        m.d.comb += [dac.count.eq(batch), dac.n_in.eq(n_in), dac.bank.eq(in_bank),
                     dac.kept.eq(li != 0)]  # fmt: skip
        m.d.comb += [act_ra.eq(dac.act.addr), dac.act.data.eq(act_r.data)]
        wiring.connect(m, dac.codes, d_w)
        wiring.connect(m, dac.kept_m, nx_r)
        wiring.connect(m, dac.mags, mm_w)

        # -- the pass issuer and the autorange ---------------------------------
        m.d.comb += [iss.kind.eq(kind), iss.count.eq(batch), iss.flags.eq(ar.flags),
                     iss.last.eq(ar.last), iss.n_in.eq(n_in), iss.n_out.eq(n_out),
                     iss.row0.eq(row0), iss.col0.eq(col0), iss.vertical.eq(vertical),
                     iss.gain.eq(top), iss.e_max.eq(e_max)]  # fmt: skip
        wiring.connect(m, iss.codes, d_r)
        wiring.connect(m, iss.steps_w, e_w)
        m.d.comb += [ar.start.eq(pass_go), ar.kind.eq(kind), ar.count.eq(batch),
                     ar.n_out.eq(n_out), ar.e_max.eq(e_max), ar.rescale.eq(rk == 1)]  # fmt: skip
        wiring.connect(m, ar.sums, c_r2)
        wiring.connect(m, ar.sums_w, c_w)
        wiring.connect(m, ar.steps, e_r2)

        # -- the output stage ----------------------------------------------------
        m.d.comb += [out.en.eq(in_out), out.count.eq(batch), out.reads_log2.eq(rl),
                     out.n_out.eq(n_out), out.k.eq(k), out.b_off.eq(b_off),
                     out.last.eq(last_layer), out.bank.eq(in_bank)]  # fmt: skip
        wiring.connect(m, out.bias, b_r)
        wiring.connect(m, out.mags, mm_r)
        wiring.connect(m, out.kept_m, nx_w)

        # the column codes and gain steps: the issuer's (GAINS), the output stage's
        for mem_port, users in ((c_r, (iss.sums, out.sums)), (e_r, (iss.steps, out.steps))):
            m.d.comb += [mem_port.addr.eq(_any(*(u.addr for u in users))),
                         mem_port.en.eq(users[0].en & users[1].en)]  # fmt: skip
            for u in users:
                m.d.comb += u.data.eq(mem_port.data)

        # -- PROGRAM, READ and READ_ROWS -----------------------------------------
        m.d.comb += [seq.count.eq(batch), seq.entries.valid.eq(self.din.valid),
                     seq.entries.payload.eq(self.din.payload)]  # fmt: skip
        m.d.comb += [rb.count.eq(batch), rb.din.valid.eq(self.din.valid),
                     rb.din.payload.eq(self.din.payload)]  # fmt: skip

        # -- the shift-and-add unit, the DAC scaler's or the output stage's ---------
        if serial:
            sig = dac.mul.signature
            m.submodules.shiftadd = sa = ShiftAdd(sig.a_bits, sig.steps, sig.shift_bits)
            m.d.comb += [
                sa.mul.start.eq(dac.mul.start | out.mul.start),
                sa.mul.a.eq(Mux(in_out, out.mul.a, dac.mul.a)),
                sa.mul.b.eq(Mux(in_out, out.mul.b, dac.mul.b)),
                sa.mul.shift.eq(Mux(in_out, out.mul.shift, dac.mul.shift)),
            ]
            for user in (dac, out):
                m.d.comb += [user.mul.p.eq(sa.mul.p), user.mul.idle.eq(sa.mul.idle)]

        # -- the streams -------------------------------------------------------------
        req, resp, dout = self.xbar.req, self.xbar.resp, self.dout
        reqs = (seq.req, rb.req, iss.req)
        m.d.comb += [
            req.valid.eq(_any(*(r.valid for r in reqs))),
            req.payload.eq(_any(*(r.payload.as_value() for r in reqs))),
            [r.ready.eq(req.ready) for r in reqs],
            resp.ready.eq(ar.codes.ready | rb.codes.ready),
            [x.eq(y) for p in (ar.codes, rb.codes) for x, y in ((p.valid, resp.valid),
                                                                (p.payload, resp.payload))],
            dout.valid.eq(out.dout.valid | rb.dout.valid),
            dout.payload.eq(out.dout.payload | rb.dout.payload),
            out.dout.ready.eq(dout.ready),
            rb.dout.ready.eq(dout.ready),
        ]  # fmt: skip
        load_ready = Signal()  # BIAS and LOAD take din
        m.d.comb += self.din.ready.eq(load_ready | seq.entries.ready | rb.din.ready)

        def begin_pass(k_: PassKind) -> None:
            m.d.sync += [kind.eq(k_), pass_go.eq(1)]
            m.d.comb += iss.start.eq(1)
            m.next = "PASS"

        with m.FSM(name="engine") as fsm:
            with m.State("IDLE"):
                m.d.comb += self.cmd.ready.eq(1)
                with m.If(self.cmd.valid):
                    op, count = self.cmd.payload.op, self.cmd.payload.count
                    m.d.sync += [batch.eq(count), rl.eq(self.cmd.payload.reads_log2),
                                 s.eq(0), j.eq(0), li.eq(0), in_bank.eq(0)]  # fmt: skip
                    with m.If(op == EngineOp.BIAS):
                        m.next = "BIAS"
                    with m.Elif(count == 0):
                        pass
                    with m.Elif(op == EngineOp.PROGRAM):
                        m.d.comb += seq.start.eq(1)
                        m.next = "PROGRAM"
                    with m.Elif((op == EngineOp.READ) | (op == EngineOp.READ_ROWS)):
                        m.d.comb += [rb.start.eq(1), rb.rows.eq(op == EngineOp.READ_ROWS)]
                        m.next = "READBACK"
                    with m.Else():
                        m.next = "LOAD"

            with m.State("BIAS"):
                m.d.comb += [
                    load_ready.eq(1),
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
                    load_ready.eq(1),
                    act_wa.eq((s << wb) + j),
                    act_w.data.eq(self.din.payload),
                    act_w.en.eq(self.din.valid),
                ]
                with m.If(self.din.valid):
                    m.d.sync += j.eq(j + 1)
                    with m.If(j == n_in - 1):
                        m.d.sync += [j.eq(0), s.eq(s + 1)]
                        with m.If(s == batch - 1):
                            m.d.sync += s.eq(0)
                            m.d.comb += dac.start.eq(1)
                            m.next = "SCALE"

            with m.State("PROGRAM"):
                with m.If(seq.done):
                    m.next = "IDLE"

            with m.State("READBACK"):
                with m.If(rb.done):
                    m.next = "IDLE"

            # -- FORWARD, per layer: DAC scaling, passes, outputs ----------------------
            with m.State("SCALE"):
                with m.If(dac.done):
                    m.d.sync += rk.eq(0)
                    begin_pass(PassKind.FIRST)

            with m.State("PASS"):
                with m.If(iss.done):
                    m.next = "WAIT_PASS"

            with m.State("WAIT_PASS"):
                with m.If(ar.done):
                    m.d.comb += ar.ack.eq(1)
                    with m.If(Const(c.autorange) & ar.any & (kind != PassKind.READ)):
                        begin_pass(PassKind.RANGE)
                    with m.Elif(rk + 1 < (1 << rl)):
                        m.d.sync += rk.eq(rk + 1)
                        begin_pass(PassKind.READ)
                    with m.Else():
                        m.next = "OUT"

            with m.State("OUT"):
                with m.If(out.drained):
                    m.next = "LAYER_DONE"

            with m.State("LAYER_DONE"):
                m.d.sync += [in_bank.eq(~in_bank), li.eq(li + 1)]
                with m.If(last_layer):
                    m.d.sync += li.eq(0)
                    m.next = "IDLE"
                with m.Else():
                    m.d.comb += dac.start.eq(1)
                    m.next = "SCALE"

        m.d.comb += [self.busy.eq(~fsm.ongoing("IDLE")), in_out.eq(fsm.ongoing("OUT"))]
        # the output stage writes its outputs to the other bank
        with m.If(in_out):
            m.d.comb += [act_wa.eq(out.act.addr), act_w.data.eq(out.act.data),
                         act_w.en.eq(out.act.en)]  # fmt: skip
        return m
