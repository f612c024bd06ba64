"""On-chip 1T1R crossbar emulator: the array side of the crossbar port for boards without one.

Each device is a ``G_BITS``-bit conductance code in block RAM; the port's
transactions are integer arithmetic on the codes, with one noise sample per
converted or programmed value from the 16-bit LFSR of :mod:`memrl.rtl.lib.lfsr`
(the RRAM emulator's). :mod:`memrl.sim.devices.xbar_emulator` is the Python
model, equal bit for bit, and documents the arithmetic; it also derives the
constants from a 1T1R device model (``XbarEmulatorModel.from_params``), which
this core takes as they are (any object with the model's fields).

Timing. The core takes one word at a time. ROW and GAIN words are stored
(at most ``rows`` and ``cols`` of them per VMM), RESET takes one cycle, SET
two (it reads the device, as a SET does not lower it). READ answers two
cycles after its word. A VMM multiplies ``lanes`` rows per cycle, its codes
one after another without a gap: ``ceil(n / lanes)`` cycles for a code over
``n`` rows (twice that for a differential pair), while a five-stage back end
adds each code's noise, scales, rounds and answers it; the last code answers
seven cycles after its last multiply, and the core takes the next word when
it has been taken. An answer the port does not take holds the whole core.
The codes sit in ``lanes`` interleaved banks (:mod:`memrl.rtl.lib.banks`: row
``r`` in bank ``r mod lanes``, word ``(r // lanes) * 2**col_bits + col``), so
the banks hold ``ceil(rows / lanes) << col_bits`` codes each.

``spram=True`` keeps each bank in a single-port memory without initial
contents (one read or write per cycle, at one address), which Yosys maps to
the iCE40 UP5K's SPRAM (:data:`SPRAM_PREFIX` names these memories; a build
drops their all-zero initial contents, which SPRAM cannot hold). The core
then writes every device's initial code after reset, one word per cycle,
before it takes its first word.
"""

from __future__ import annotations

from amaranth import Array, Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In

from memrl.rtl.crossbar.engine import (
    SPRAM_PREFIX,
    CrossbarEngine,
    CrossbarEngineConfig,
    address_ports,
    spram_memory,
)
from memrl.rtl.crossbar.port import CrossbarPortSignature, XbarOp
from memrl.rtl.lib.arith import clamp
from memrl.rtl.lib.banks import bank_of, check_lanes, rotate_lanes
from memrl.rtl.lib.lfsr import check_lfsr_seed, lfsr_draw, scaled_noise

__all__ = ["G_BITS", "SET_SHIFT", "SPRAM_PREFIX", "VMM_SHIFT", "CrossbarEmulator",
           "CrossbarSystem", "emulator_signature"]  # fmt: skip

G_BITS = 8  # conductance code width
SET_SHIFT = 16  # fraction bits of the SET line (set_a, set_b)
VMM_SHIFT = 24  # fraction bits of the VMM scale (vmm_k)

_FIELDS = ("rows", "cols", "dac_bits", "adc_bits", "vg_bits", "read_bits", "init_code",
           "set_a", "set_b", "set_spread", "reset_code", "reset_spread", "read_spread",
           "vmm_k", "vmm_spread", "lfsr_seed")  # fmt: skip


def emulator_signature(model: object, gain_bits: int = 5) -> CrossbarPortSignature:
    """The crossbar port (controller's side) of an emulator model's array."""
    return CrossbarPortSignature(
        int(model.rows), int(model.cols), dac_bits=int(model.dac_bits),
        adc_bits=int(model.adc_bits), vg_bits=int(model.vg_bits),
        read_bits=int(model.read_bits), gain_bits=gain_bits,
    )  # fmt: skip


class CrossbarEmulator(wiring.Component):
    """The array side of a crossbar port over ``model.rows`` x ``model.cols`` devices."""

    def __init__(
        self, model: object, gain_bits: int = 5, lanes: int = 1, spram: bool = False
    ) -> None:
        try:
            check_lanes(lanes)
            missing = [f for f in _FIELDS if not hasattr(model, f)]
            if missing:
                raise ValueError(f"the emulator model lacks {missing}")
            self.m = {f: int(getattr(model, f)) for f in _FIELDS}
            if self.m["read_bits"] < G_BITS:
                raise ValueError(f"read_bits must be at least {G_BITS} (got {self.m['read_bits']})")
            check_lfsr_seed(self.m["lfsr_seed"])
        except ValueError:
            self._MustUse__silence = True  # a refused core is not an unused one
            raise
        self.lanes, self.spram = lanes, spram
        self.signature_ = emulator_signature(model, gain_bits)
        super().__init__({"port": In(self.signature_)})

    def elaborate(self, platform: object) -> Module:  # noqa: PLR0915 - one state machine
        mod = Module()
        p = self.m
        sig = self.signature_
        req, resp = self.port.req, self.port.resp
        gmax = (1 << G_BITS) - 1
        amax = (1 << (p["adc_bits"] - 1)) - 1
        rmax = (1 << p["read_bits"]) - 1
        row_bits = max(1, (p["rows"] - 1).bit_length())
        acc_bits = max(p["dac_bits"] + G_BITS + row_bits + 2, 18)

        # The codes in ``L`` banks: row r in bank r mod L, word (r // L, col); the
        # ROW codes of a VMM likewise by position. A lane per bank.
        L = self.lanes
        lb = L.bit_length() - 1
        rows_per_bank = -(-p["rows"] // L)
        words = rows_per_bank << sig.col_bits
        g_rds, g_wrs, r_rds, r_wrs = [], [], [], []
        for b in range(L):
            if self.spram:
                gm = spram_memory(mod, f"gmem{b}", unsigned(G_BITS), words)
            else:
                gm = Memory(shape=unsigned(G_BITS), depth=words, init=[p["init_code"]] * words)
                mod.submodules[f"gmem{b}"] = gm
            rm = Memory(shape=signed(p["dac_bits"]), depth=rows_per_bank, init=[])
            mod.submodules[f"rowbuf{b}"] = rm
            g_rds.append(gm.read_port())
            g_wrs.append(gm.write_port())
            r_rds.append(rm.read_port())
            r_wrs.append(rm.write_port())
        colbuf = Memory(shape=unsigned(sig.col_bits + sig.gain_bits), depth=p["cols"], init=[])
        mod.submodules.colbuf = colbuf
        c_rd, c_wr = colbuf.read_port(), colbuf.write_port()

        def word_of(row, col):  # noqa: ANN001, ANN202
            return Cat(col, row[lb:])

        # Noise: one LFSR draw, n * spread >> 6 with the spread of the current state.
        lfsr, nxt, n = lfsr_draw(mod, p["lfsr_seed"])
        spread = Signal(16)
        noise = scaled_noise(mod, n, spread)

        payload = req.payload
        dev_row, dev_col = Signal(sig.row_bits), Signal(sig.col_bits)  # a READ's or SET's device
        level = Signal(p["vg_bits"])
        nr = Signal(range(p["rows"] + 1))  # ROW words since the last VMM
        nc = Signal(range(p["cols"] + 1))  # GAIN words since the last VMM
        r0 = Signal(sig.row_bits)
        pairs = Signal()
        j = Signal(range(p["cols"] + 1))  # output code being multiplied
        k = Signal(range(rows_per_bank + 1))  # next group of L rows to multiply
        s = Signal()  # 1: the pair's second column
        acc = Signal(signed(acc_bits))
        vmm = Signal()  # the answer belongs to a VMM (more codes may follow)

        # The back end: a code's sum -> (1) the sum -> (2) + noise -> (3) * gain ->
        # (4) * vmm_k -> (5) rounded and clamped, the answer. The whole core holds
        # while the answer waits to be taken.
        stall = Signal()
        v1, v2, v3, v4, v5 = (Signal(name=f"v{i}") for i in range(1, 6))
        a1, a2 = Signal(signed(acc_bits)), Signal(signed(acc_bits))
        g1, g2 = Signal(sig.gain_bits), Signal(sig.gain_bits)
        prod1 = Signal(signed(acc_bits + sig.gain_bits + 1))
        prod2 = Signal(signed(acc_bits + sig.gain_bits + 18))
        code = Signal(signed(max(p["adc_bits"], p["read_bits"] + 1)))
        mod.d.comb += [stall.eq(v5 & ~resp.ready), resp.valid.eq(v5), resp.payload.eq(code)]

        # The multiply-accumulate pipeline, L rows at a time: issue -> data
        # (stage 1) -> the products' sum (stage 2) -> acc. Lane i is row r0 + k*L + i,
        # held in bank (r0 + i) mod L: bank b's word is k + r0 // L, one more below
        # r0 mod L, and the banks' data are rotated into lane order. Codes follow
        # each other without a gap: the column buffer is read for the next code as
        # the last group of a code issues, and each stage carries its code's gain
        # and whether it ends the code.
        issue = Signal()
        done_code = Signal()  # this issue is the code's last group
        s1_valid, s1_neg, s1_last = Signal(), Signal(), Signal()
        s2_valid, s2_neg, s2_last = Signal(), Signal(), Signal()
        s1_gain, s2_gain = Signal(sig.gain_bits), Signal(sig.gain_bits)
        mask = Signal(L)  # the lanes of the group within the VMM's rows
        s1_mask = Signal(L)
        r0_lo = bank_of(r0, L)
        col = Signal(sig.col_bits)
        gain = Signal(sig.gain_bits)
        mod.d.comb += [col.eq(c_rd.data[: sig.col_bits]), gain.eq(c_rd.data[sig.col_bits :]),
                       mask.eq(Cat((k * L + i) < nr for i in range(L))),
                       c_rd.addr.eq(Mux(issue & done_code, j + 1, j))]  # fmt: skip
        for rd in (*r_rds, c_rd):
            mod.d.comb += rd.en.eq(~stall)
        g_data = Cat(rd.data for rd in g_rds)
        lanes_g = Signal(8 * L)
        mod.d.comb += lanes_g.eq(rotate_lanes(g_data, r0_lo, L))
        s2_prod = Signal(signed(p["dac_bits"] + G_BITS + 1 + lb))
        terms = [Mux(s1_mask[i], r_rds[i].data * lanes_g[8 * i : 8 * i + 8], 0) for i in range(L)]
        total = terms[0]
        for t_ in terms[1:]:
            total = total + t_
        total_sum = acc + Mux(s2_neg, -s2_prod, s2_prod)
        with mod.If(~stall):
            mod.d.sync += [s1_valid.eq(issue), s1_neg.eq(s), s1_mask.eq(mask),
                           s1_last.eq(done_code), s1_gain.eq(gain),
                           s2_valid.eq(s1_valid), s2_neg.eq(s1_neg), s2_last.eq(s1_last),
                           s2_gain.eq(s1_gain), s2_prod.eq(total)]  # fmt: skip
            mod.d.sync += [v1.eq(s2_valid & s2_last), v2.eq(v1), v3.eq(v2), v4.eq(v3),
                           v5.eq(v4)]  # fmt: skip
            with mod.If(s2_valid):
                mod.d.sync += acc.eq(Mux(s2_last, 0, total_sum))
                with mod.If(s2_last):
                    mod.d.sync += [a1.eq(total_sum), g1.eq(s2_gain)]
            # Noise: one LFSR draw per code, in the order of the codes.
            with mod.If(v1):
                mod.d.comb += spread.eq(p["vmm_spread"])
                mod.d.sync += [a2.eq(a1 + noise), g2.eq(g1), lfsr.eq(nxt)]
            mod.d.sync += [prod1.eq(a2 * g2), prod2.eq(prod1 * Const(p["vmm_k"], 17))]
            with mod.If(v4):
                rounded = (prod2 + (1 << (VMM_SHIFT - 1))) >> VMM_SHIFT
                mod.d.sync += code.eq(clamp(rounded, -amax, amax))
        busy_back = Cat(s1_valid, s2_valid, v1, v2, v3, v4, v5).any()

        # Bank b: in the MAC, its lane's row; otherwise the device on the port (a
        # READ or SET reads it the cycle its word is taken).
        mac_col = (col + s)[: sig.col_bits]
        r0_hi = r0[lb:]
        dev_bank = Signal(max(lb, 1))
        dev_data = Signal(G_BITS)  # the addressed device's code, the cycle after
        mod.d.comb += dev_data.eq(Array(rd.data for rd in g_rds)[dev_bank] if lb else g_rds[0].data)
        g_w_row, g_w_col = Signal(sig.row_bits), Signal(sig.col_bits)
        g_w_data, g_w_en = Signal(G_BITS), Signal()
        mod.d.comb += [g_w_row.eq(dev_row), g_w_col.eq(dev_col)]
        # Each bank's read address (the MAC's, or the port's device in IDLE), and
        # its write: the port's device, or every word's initial code while clearing.
        g_ra = [Signal(len(g_rds[b].addr), name=f"g_ra{b}") for b in range(L)]
        clearing = Signal()
        clear_n = Signal(range(words))
        for b in range(L):
            below = Const(b, lb) < r0_lo if b < L - 1 else Const(0, 1)  # never below the last
            w_en = Signal(name=f"g_we{b}")
            mod.d.comb += [
                g_ra[b].eq(Cat(mac_col, (k + r0_hi + below)[: len(r0_hi) + 1])),
                w_en.eq(clearing | (g_w_en & (bank_of(g_w_row, L) == b))),
                g_wrs[b].en.eq(w_en),
                g_wrs[b].data.eq(Mux(clearing, p["init_code"], g_w_data)),
                r_rds[b].addr.eq(k),
                r_wrs[b].addr.eq(nr >> lb),
                r_wrs[b].data.eq(payload.arg[: p["dac_bits"]]),
            ]
            w_addr = Mux(clearing, clear_n, word_of(g_w_row, g_w_col))
            address_ports(mod, g_rds[b], g_wrs[b], g_ra[b], w_addr, ~stall, self.spram,
                          f"g_addr{b}")  # fmt: skip
        mod.d.comb += [
            c_wr.addr.eq(nc),
            c_wr.data.eq(Cat(payload.col, payload.arg[: sig.gain_bits])),
        ]

        with mod.FSM(init="CLEAR" if self.spram else "IDLE"):
            if self.spram:
                with mod.State("CLEAR"):  # every word's initial code, then IDLE
                    mod.d.comb += clearing.eq(1)
                    mod.d.sync += clear_n.eq(clear_n + 1)
                    with mod.If(clear_n == words - 1):
                        mod.next = "IDLE"
            with mod.State("IDLE"):
                mod.d.comb += [req.ready.eq(1), c_rd.addr.eq(0)]
                for ra in g_ra:
                    mod.d.comb += ra.eq(word_of(payload.row, payload.col))
                with mod.If(req.valid):
                    mod.d.sync += [dev_row.eq(payload.row), dev_col.eq(payload.col),
                                   dev_bank.eq(bank_of(payload.row, L)),
                                   level.eq(payload.arg[: p["vg_bits"]])]  # fmt: skip
                    with mod.Switch(payload.op):
                        with mod.Case(XbarOp.ROW):
                            for b, wr in enumerate(r_wrs):
                                mod.d.comb += wr.en.eq(bank_of(nr, L) == b)
                            mod.d.sync += nr.eq(nr + 1)
                            with mod.If(nr == 0):
                                mod.d.sync += r0.eq(payload.row)
                        with mod.Case(XbarOp.GAIN):
                            mod.d.comb += c_wr.en.eq(1)
                            mod.d.sync += nc.eq(nc + 1)
                        with mod.Case(XbarOp.VMM):
                            mod.d.sync += [pairs.eq(payload.arg[0]), j.eq(0), k.eq(0), s.eq(0),
                                           acc.eq(0), vmm.eq(1)]  # fmt: skip
                            with mod.If(nc == 0):  # no output codes
                                mod.d.sync += nr.eq(0)
                            with mod.Else():
                                mod.next = "MAC"
                        with mod.Case(XbarOp.READ):
                            mod.d.sync += vmm.eq(0)
                            mod.next = "READ"
                        with mod.Case(XbarOp.SET):
                            mod.next = "SET"
                        with mod.Case(XbarOp.RESET):
                            mod.d.comb += [
                                spread.eq(p["reset_spread"]),
                                g_w_row.eq(payload.row),
                                g_w_col.eq(payload.col),
                                g_w_data.eq(clamp(p["reset_code"] + noise, 0, gmax)),
                                g_w_en.eq(1),
                            ]
                            mod.d.sync += lfsr.eq(nxt)
            with mod.State("READ"):  # dev_data: the device; the answer goes out as stage 5
                mod.d.comb += spread.eq(p["read_spread"])
                value = (dev_data << (p["read_bits"] - G_BITS)) + noise
                mod.d.sync += [code.eq(clamp(value, 0, rmax)), v5.eq(1), lfsr.eq(nxt)]
                mod.next = "FLUSH"
            with mod.State("SET"):  # dev_data: the device
                mod.d.comb += spread.eq(p["set_spread"])
                line = (Const(p["set_a"], 26) + Const(p["set_b"], 17) * level) >> SET_SHIFT
                target = Signal(G_BITS)
                mod.d.comb += [
                    target.eq(clamp(line + noise, 0, gmax)),
                    g_w_data.eq(Mux(target > dev_data, target, dev_data)),
                    g_w_en.eq(1),
                ]
                mod.d.sync += lfsr.eq(nxt)
                mod.next = "IDLE"
            with mod.State("MAC"):  # c_rd: GAIN word j
                last_k = (k + 1) * L >= nr  # the group holds the VMM's last row
                mod.d.comb += [issue.eq(~stall), done_code.eq(last_k & ~(pairs & ~s))]
                with mod.If(issue):
                    with mod.If(pairs & ~s):
                        mod.d.sync += s.eq(1)
                    with mod.Elif(~last_k):
                        mod.d.sync += [s.eq(0), k.eq(k + 1)]
                    with mod.Else():
                        mod.d.sync += [s.eq(0), k.eq(0), j.eq(j + 1)]
                        with mod.If(j + 1 == nc):
                            mod.next = "FLUSH"
            with mod.State("FLUSH"):  # the last answers go out
                with mod.If(~busy_back):
                    with mod.If(vmm):
                        mod.d.sync += [nr.eq(0), nc.eq(0)]
                    mod.next = "IDLE"
        return mod


class CrossbarSystem(wiring.Component):
    """A crossbar engine with its array emulated on chip: the engine's streams
    (``cmd``, ``din``, ``dout``, ``busy``) outside, its crossbar port wired to a
    :class:`CrossbarEmulator` of ``model`` with ``lanes`` multiply-accumulate lanes
    (its codes, and the engine's activations, in SPRAM with ``spram``)."""

    def __init__(
        self, config: CrossbarEngineConfig, model: object, lanes: int = 8, spram: bool = False
    ) -> None:
        self.config, self.model, self.lanes = config, model, lanes
        sig = emulator_signature(model, config.port_signature().gain_bits)
        if sig != config.port_signature():
            self._MustUse__silence = True
            raise ValueError(
                f"the emulator's port {sig!r} differs from the engine's {config.port_signature()!r}"
            )
        self.engine = CrossbarEngine(config, spram)
        self.array = CrossbarEmulator(model, sig.gain_bits, lanes, spram)
        members = self.engine.signature.members
        super().__init__({name: members[name] for name in ("cmd", "din", "dout", "busy")})

    def elaborate(self, platform: object) -> Module:
        m = Module()
        m.submodules.engine = engine = self.engine
        m.submodules.array = array = self.array
        wiring.connect(m, engine.xbar, array.port)
        wiring.connect(m, wiring.flipped(self.cmd), engine.cmd)
        wiring.connect(m, wiring.flipped(self.din), engine.din)
        wiring.connect(m, engine.dout, wiring.flipped(self.dout))
        m.d.comb += self.busy.eq(engine.busy)
        return m
