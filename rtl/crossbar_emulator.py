"""On-chip 1T1R crossbar emulator: the array side of the crossbar port for boards without one.

Each device is a ``G_BITS``-bit conductance code in block RAM; the port's
transactions are integer arithmetic on the codes, with one noise sample per
converted or programmed value from the 16-bit LFSR of
:mod:`memrl.rtl.rram_emulator`. :mod:`memrl.sim.devices.xbar_emulator` is the
Python model, equal bit for bit, and documents the arithmetic; it also
derives the constants from a 1T1R device model
(``XbarEmulatorModel.from_params``), which this core takes as they are (any
object with the model's fields).

Timing. The core takes one word at a time. ROW and GAIN words are stored
(at most ``rows`` and ``cols`` of them per VMM), RESET takes one cycle, SET
two (it reads the device, as a SET does not lower it). READ answers two
cycles after its word. A VMM computes its output codes one after another:
``n + 9`` cycles for a code over ``n`` devices (``n`` = rows, twice that for
a differential pair), one multiply-accumulate per cycle; the core takes the
next word when the VMM's last code has been taken. Devices are addressed
``row * 2**col_bits + col``, so the block RAM holds ``rows << col_bits``
codes.
"""

from __future__ import annotations

from amaranth import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In

from .crossbar import CrossbarEngine, CrossbarEngineConfig
from .crossbar_port import CrossbarPortSignature, XbarOp
from .rram_emulator import _lfsr8

__all__ = ["G_BITS", "SET_SHIFT", "VMM_SHIFT", "CrossbarEmulator", "CrossbarSystem",
           "emulator_signature"]  # fmt: skip

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

    def __init__(self, model: object, gain_bits: int = 5) -> None:
        missing = [f for f in _FIELDS if not hasattr(model, f)]
        if missing:
            self._MustUse__silence = True
            raise ValueError(f"the emulator model lacks {missing}")
        self.m = {f: int(getattr(model, f)) for f in _FIELDS}
        m = self.m
        if m["read_bits"] < G_BITS:
            self._MustUse__silence = True
            raise ValueError(f"read_bits must be at least {G_BITS} (got {m['read_bits']})")
        if not 1 <= m["lfsr_seed"] <= 0xFFFF:
            self._MustUse__silence = True
            raise ValueError(f"lfsr_seed must be in [1, 65535] (got {m['lfsr_seed']})")
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

        gmem = Memory(shape=unsigned(G_BITS), depth=p["rows"] << sig.col_bits,
                      init=[p["init_code"]] * (p["rows"] << sig.col_bits))  # fmt: skip
        rowbuf = Memory(shape=signed(p["dac_bits"]), depth=p["rows"], init=[])
        colbuf = Memory(shape=unsigned(sig.col_bits + sig.gain_bits), depth=p["cols"], init=[])
        mod.submodules.gmem, mod.submodules.rowbuf, mod.submodules.colbuf = gmem, rowbuf, colbuf
        g_rd, g_wr = gmem.read_port(), gmem.write_port()
        r_rd, r_wr = rowbuf.read_port(), rowbuf.write_port()
        c_rd, c_wr = colbuf.read_port(), colbuf.write_port()

        # Noise: one LFSR draw, n * spread >> 6 with the spread of the current state.
        lfsr = Signal(16, init=p["lfsr_seed"])
        nxt = Signal(16)
        mod.d.comb += nxt.eq(_lfsr8(mod, lfsr))
        n = Signal(signed(6))
        mod.d.comb += n.eq(nxt[0:4] + nxt[4:8] - 15)
        spread = Signal(16)
        noise = Signal(signed(23))
        mod.d.comb += noise.eq((n * spread) >> 6)

        def clamp(v, lo: int, hi: int):  # noqa: ANN001, ANN202 - Amaranth values
            return Mux(v < lo, lo, Mux(v > hi, hi, v))

        payload = req.payload
        addr = Signal(len(g_wr.addr))  # the device of a READ or SET
        level = Signal(p["vg_bits"])
        nr = Signal(range(p["rows"] + 1))  # ROW words since the last VMM
        nc = Signal(range(p["cols"] + 1))  # GAIN words since the last VMM
        r0 = Signal(sig.row_bits)
        pairs = Signal()
        j = Signal(range(p["cols"] + 1))  # output code being computed
        col = Signal(sig.col_bits)
        gain = Signal(sig.gain_bits)
        k = Signal(range(p["rows"] + 1))  # next row to multiply
        s = Signal()  # 1: the pair's second column
        acc = Signal(signed(acc_bits))
        prod1 = Signal(signed(acc_bits + sig.gain_bits + 1))
        prod2 = Signal(signed(acc_bits + sig.gain_bits + 18))
        code = Signal(signed(max(p["adc_bits"], p["read_bits"] + 1)))
        vmm = Signal()  # the answer belongs to a VMM (more codes may follow)

        # The multiply-accumulate pipeline: issue -> data (stage 1) -> product -> acc.
        issue = Signal()
        s1_valid, s1_neg = Signal(), Signal()
        s2_valid, s2_neg = Signal(), Signal()
        s2_prod = Signal(signed(p["dac_bits"] + G_BITS + 1))
        mod.d.sync += [s1_valid.eq(issue), s1_neg.eq(s), s2_valid.eq(s1_valid), s2_neg.eq(s1_neg)]
        mod.d.sync += s2_prod.eq(r_rd.data * g_rd.data)
        with mod.If(s2_valid):
            mod.d.sync += acc.eq(acc + Mux(s2_neg, -s2_prod, s2_prod))

        mod.d.comb += [
            g_rd.addr.eq(Cat((col + s)[: sig.col_bits], (r0 + k)[: sig.row_bits])),
            r_rd.addr.eq(k),
            c_rd.addr.eq(j),
            g_wr.addr.eq(addr),
            r_wr.addr.eq(nr),
            r_wr.data.eq(payload.arg[: p["dac_bits"]]),
            c_wr.addr.eq(nc),
            c_wr.data.eq(Cat(payload.col, payload.arg[: sig.gain_bits])),
            resp.payload.eq(code),
        ]

        with mod.FSM():
            with mod.State("IDLE"):
                mod.d.comb += [req.ready.eq(1), g_rd.addr.eq(Cat(payload.col, payload.row))]
                with mod.If(req.valid):
                    mod.d.sync += [addr.eq(Cat(payload.col, payload.row)),
                                   level.eq(payload.arg[: p["vg_bits"]])]  # fmt: skip
                    with mod.Switch(payload.op):
                        with mod.Case(XbarOp.ROW):
                            mod.d.comb += r_wr.en.eq(1)
                            mod.d.sync += nr.eq(nr + 1)
                            with mod.If(nr == 0):
                                mod.d.sync += r0.eq(payload.row)
                        with mod.Case(XbarOp.GAIN):
                            mod.d.comb += c_wr.en.eq(1)
                            mod.d.sync += nc.eq(nc + 1)
                        with mod.Case(XbarOp.VMM):
                            mod.d.sync += [pairs.eq(payload.arg[0]), j.eq(0), vmm.eq(1)]
                            with mod.If(nc == 0):  # no output codes
                                mod.d.sync += nr.eq(0)
                            with mod.Else():
                                mod.next = "COL"
                        with mod.Case(XbarOp.READ):
                            mod.d.sync += vmm.eq(0)
                            mod.next = "READ"
                        with mod.Case(XbarOp.SET):
                            mod.next = "SET"
                        with mod.Case(XbarOp.RESET):
                            mod.d.comb += [
                                spread.eq(p["reset_spread"]),
                                g_wr.addr.eq(Cat(payload.col, payload.row)),
                                g_wr.data.eq(clamp(p["reset_code"] + noise, 0, gmax)),
                                g_wr.en.eq(1),
                            ]
                            mod.d.sync += lfsr.eq(nxt)
            with mod.State("READ"):  # g_rd.data: the device
                mod.d.comb += spread.eq(p["read_spread"])
                value = (g_rd.data << (p["read_bits"] - G_BITS)) + noise
                mod.d.sync += [code.eq(clamp(value, 0, rmax)), lfsr.eq(nxt)]
                mod.next = "ANSWER"
            with mod.State("SET"):  # g_rd.data: the device
                mod.d.comb += spread.eq(p["set_spread"])
                line = (Const(p["set_a"], 26) + Const(p["set_b"], 17) * level) >> SET_SHIFT
                target = Signal(G_BITS)
                mod.d.comb += [
                    target.eq(clamp(line + noise, 0, gmax)),
                    g_wr.data.eq(Mux(target > g_rd.data, target, g_rd.data)),
                    g_wr.en.eq(1),
                ]
                mod.d.sync += lfsr.eq(nxt)
                mod.next = "IDLE"
            with mod.State("COL"):  # c_rd latches GAIN word j
                mod.next = "COL2"
            with mod.State("COL2"):
                mod.d.sync += [
                    col.eq(c_rd.data[: sig.col_bits]),
                    gain.eq(c_rd.data[sig.col_bits :]),
                    k.eq(0),
                    s.eq(0),
                    acc.eq(0),
                ]
                with mod.If(nr == 0):  # no rows: the sum is 0
                    mod.next = "DRAIN"
                with mod.Else():
                    mod.next = "MAC"
            with mod.State("MAC"):
                mod.d.comb += issue.eq(1)
                last_k = k == nr - 1
                with mod.If(pairs & ~s):
                    mod.d.sync += s.eq(1)
                with mod.Else():
                    mod.d.sync += [s.eq(0), k.eq(k + 1)]
                    with mod.If(last_k):
                        mod.next = "DRAIN"
            with mod.State("DRAIN"):
                with mod.If(~s1_valid & ~s2_valid):
                    mod.next = "NOISE"
            with mod.State("NOISE"):
                mod.d.comb += spread.eq(p["vmm_spread"])
                mod.d.sync += [acc.eq(acc + noise), lfsr.eq(nxt)]
                mod.next = "MUL1"
            with mod.State("MUL1"):
                mod.d.sync += prod1.eq(acc * gain)
                mod.next = "MUL2"
            with mod.State("MUL2"):
                mod.d.sync += prod2.eq(prod1 * Const(p["vmm_k"], 17))
                mod.next = "ROUND"
            with mod.State("ROUND"):
                rounded = (prod2 + (1 << (VMM_SHIFT - 1))) >> VMM_SHIFT
                mod.d.sync += code.eq(clamp(rounded, -amax, amax))
                mod.next = "ANSWER"
            with mod.State("ANSWER"):
                mod.d.comb += resp.valid.eq(1)
                with mod.If(resp.ready):
                    with mod.If(vmm & (j + 1 < nc)):
                        mod.d.sync += j.eq(j + 1)
                        mod.next = "COL"
                    with mod.Else():
                        with mod.If(vmm):
                            mod.d.sync += [nr.eq(0), nc.eq(0)]
                        mod.next = "IDLE"
        return mod


class CrossbarSystem(wiring.Component):
    """A crossbar engine with its array emulated on chip: the engine's streams
    (``cmd``, ``din``, ``dout``, ``busy``) outside, its crossbar port wired to a
    :class:`CrossbarEmulator` of ``model``."""

    def __init__(self, config: CrossbarEngineConfig, model: object) -> None:
        self.config, self.model = config, model
        sig = emulator_signature(model, config.port_signature().gain_bits)
        if sig != config.port_signature():
            self._MustUse__silence = True
            raise ValueError(
                f"the emulator's port {sig!r} differs from the engine's {config.port_signature()!r}"
            )
        engine = CrossbarEngine(config)
        engine._MustUse__silence = True  # built only for its signature
        members = engine.signature.members
        super().__init__({name: members[name] for name in ("cmd", "din", "dout", "busy")})

    def elaborate(self, platform: object) -> Module:
        m = Module()
        m.submodules.engine = engine = CrossbarEngine(self.config)
        m.submodules.array = array = CrossbarEmulator(self.model, engine.xbar.signature.gain_bits)
        wiring.connect(m, engine.xbar, array.port)
        wiring.connect(m, wiring.flipped(self.cmd), engine.cmd)
        wiring.connect(m, wiring.flipped(self.din), engine.din)
        wiring.connect(m, engine.dout, wiring.flipped(self.dout))
        m.d.comb += self.busy.eq(engine.busy)
        return m
