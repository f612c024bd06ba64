"""On-chip RRAM emulator: the memory side of the RRAM port for boards without RRAM.

Each device is an 8-bit READ code in block RAM. READ returns it; SET at level
``L`` writes ``set_code[L]`` plus variability, RESET at level ``L``
``reset_code[L]`` plus variability, from the 16-bit Galois LFSR of
:mod:`memrl.rtl.lib.lfsr` (taps 0xB400) advanced eight steps per programming
operation:

    n    = lfsr[0:4] + lfsr[4:8] - 15
    code = clamp(mean + ((n * spread) >>> 6), 0, 255)

``memrl.sim.devices.emulator`` is the Python model, equal bit for bit, and
builds the tables from the SiOx model.

With ``lanes`` > 1 the port also serves READ_ROW: the codes sit in ``lanes``
interleaved banks (:mod:`memrl.rtl.lib.banks`: device ``a`` in bank ``a mod
lanes``, word ``a // lanes``), so any ``lanes`` consecutive devices are read in
one cycle. The emulator is a pipeline: it accepts a request every cycle and
answers in order, the cycle after (plus ``latency`` cycles); a response that
is not taken stalls it.

``serial=True`` trades speed for logic (for small FPGAs): one bank and one
request at a time. A programming operation is answered the cycle after it is
accepted, a READ two cycles after, a READ_ROW (one device per cycle) ``lanes``
+ 1 cycles after. The codes are the same.
"""

from __future__ import annotations

from collections.abc import Sequence

from amaranth import Array, Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In

from memrl.rtl.lib.arith import clamp
from memrl.rtl.lib.banks import bank_of, check_lanes, rotate_lanes
from memrl.rtl.lib.lfsr import check_lfsr_seed, lfsr_draw, scaled_noise
from memrl.rtl.navigator.port import RRAMOp, RRAMPortSignature

__all__ = ["RRAMEmulator"]


class RRAMEmulator(wiring.Component):
    """The memory side of an RRAM port over ``len(init_codes)`` emulated devices."""

    def __init__(
        self,
        init_codes: Sequence[int],
        set_code: Sequence[int],
        set_spread: Sequence[int],
        reset_code: Sequence[int],
        reset_spread: Sequence[int],
        lfsr_seed: int = 0xACE1,
        latency: int = 0,
        addr_width: int | None = None,
        lanes: int = 1,
        serial: bool = False,
    ) -> None:
        try:
            self._check(
                init_codes, set_code, set_spread, reset_code, reset_spread, lfsr_seed, latency
            )
            check_lanes(lanes)
        except ValueError:
            self._MustUse__silence = True  # a refused core is not an unused one
            raise
        n = len(init_codes)
        self.n_devices = n
        self.addr_width = addr_width or max(1, (n - 1).bit_length())
        if (n - 1).bit_length() > self.addr_width:
            self._MustUse__silence = True
            raise ValueError(f"addr_width {self.addr_width} cannot address {n} devices")
        self.lanes = lanes
        if serial and latency:
            self._MustUse__silence = True
            raise ValueError("the serial emulator has a fixed latency (latency must be 0)")
        self.serial = serial
        self._init = [int(v) for v in init_codes]
        self._tables = (
            [int(v) for v in set_code],
            [int(v) for v in set_spread],
            [int(v) for v in reset_code],
            [int(v) for v in reset_spread],
        )
        self.lfsr_seed, self.latency = lfsr_seed, latency
        super().__init__({"port": In(RRAMPortSignature(self.addr_width, lanes=lanes))})

    @classmethod
    def from_model(cls, model: object, **kwargs: object) -> RRAMEmulator:
        """The core of an emulator model: any object with ``init_codes``,
        ``set_code``, ``set_spread``, ``reset_code``, ``reset_spread`` and
        ``lfsr_seed``, as :class:`memrl.sim.devices.emulator.EmulatorModel` has."""
        return cls(
            model.init_codes, model.set_code, model.set_spread, model.reset_code,
            model.reset_spread, model.lfsr_seed, **kwargs,
        )  # fmt: skip

    @staticmethod
    def _check(init_codes, set_code, set_spread, reset_code, reset_spread, lfsr_seed, latency):  # noqa: ANN001, ANN205, PLR0913
        if len(init_codes) < 1:
            raise ValueError("init_codes needs at least one device")
        check_lfsr_seed(lfsr_seed)
        if not isinstance(latency, int) or not 0 <= latency <= 255:
            raise ValueError(f"latency must be an integer in [0, 255] (got {latency!r})")
        for name, table, top in (
            ("init_codes", init_codes, 255),
            ("set_code", set_code, 255),
            ("reset_code", reset_code, 255),
            ("set_spread", set_spread, 1023),
            ("reset_spread", reset_spread, 1023),
        ):
            if any(not 0 <= int(v) <= top for v in table):
                raise ValueError(f"{name} values must be in [0, {top}]")
        if not 1 <= len(set_code) == len(set_spread) <= 16:
            raise ValueError("set_code and set_spread need 1-16 levels each")
        if not 1 <= len(reset_code) == len(reset_spread) <= 16:
            raise ValueError("reset_code and reset_spread need 1-16 levels each")

    def _programming(self, m: Module):  # noqa: ANN202 - Amaranth values
        """The LFSR register, its next state and the clamped programming value of
        the request on the port (written when it is accepted)."""
        req = self.port.req
        set_code, set_spread, reset_code, reset_spread = (
            Array(Const(v, 10) for v in t) for t in self._tables
        )
        lfsr, nxt, n = lfsr_draw(m, self.lfsr_seed)
        op, level = req.payload.op, req.payload.level
        is_set = op == RRAMOp.SET
        mean = Mux(is_set, set_code[level], reset_code[level])
        spread = Mux(is_set, set_spread[level], reset_spread[level])
        value = Signal(signed(12))
        m.d.comb += value.eq(mean + scaled_noise(m, n, spread))
        return lfsr, nxt, clamp(value, 0, 255)[:8]

    def _elaborate_serial(self, m: Module) -> Module:
        req, resp = self.port.req, self.port.resp
        n = self.n_devices
        mem = Memory(shape=unsigned(8), depth=n, init=self._init)
        m.submodules.bank = mem
        rd, wr = mem.read_port(), mem.write_port()
        lfsr, nxt, clamped = self._programming(m)
        op = req.payload.op
        is_prog = (op == RRAMOp.SET) | (op == RRAMOp.RESET)
        addr = Signal.like(req.payload.addr)
        left = Signal(range(self.lanes + 1))  # devices of a row still to read
        row = Signal()
        acc = Signal(8 * self.lanes)  # a row's codes, shifted in from the top
        m.d.comb += [wr.addr.eq(req.payload.addr), wr.data.eq(clamped), rd.addr.eq(addr)]
        with m.FSM():
            with m.State("IDLE"):
                m.d.comb += [req.ready.eq(1), rd.addr.eq(req.payload.addr)]
                with m.If(req.valid):
                    m.d.sync += [addr.eq(req.payload.addr + 1), acc.eq(0)]
                    with m.If(is_prog):
                        m.d.comb += wr.en.eq(1)
                        m.d.sync += [lfsr.eq(nxt), row.eq(0), left.eq(0)]
                        m.next = "ANSWER"
                    with m.Else():
                        is_row = (op == RRAMOp.READ_ROW) & (self.lanes > 1)
                        m.d.sync += [row.eq(is_row), left.eq(Mux(is_row, self.lanes, 1))]
                        m.next = "READ"
            with m.State("READ"):  # ``rd.data``: the device before ``addr``
                m.d.sync += [acc.eq(Cat(acc[8:], rd.data)), addr.eq(addr + 1), left.eq(left - 1)]
                with m.If(left == 1):
                    m.next = "ANSWER"
            with m.State("ANSWER"):
                m.d.comb += [
                    resp.valid.eq(1),
                    resp.payload.eq(Mux(row, acc, acc[-8:])),
                ]
                with m.If(resp.ready):
                    m.next = "IDLE"
        return m

    def elaborate(self, platform: object) -> Module:
        m = Module()
        if self.serial:
            return self._elaborate_serial(m)
        req, resp = self.port.req, self.port.resp
        L = self.lanes
        lb = L.bit_length() - 1  # log2(lanes)
        words = -(-self.n_devices // L)
        banks = []
        for b in range(L):
            init = self._init[b::L]
            mem = Memory(shape=unsigned(8), depth=words, init=init + [0] * (words - len(init)))
            m.submodules[f"bank{b}"] = mem
            banks.append((mem.read_port(), mem.write_port()))
        lfsr, nxt, clamped = self._programming(m)
        op = req.payload.op
        is_prog = (op == RRAMOp.SET) | (op == RRAMOp.RESET)

        # The pipeline advances when its last stage is empty or being taken.
        out_valid = Signal()
        adv = Signal()
        m.d.comb += [adv.eq(~out_valid | resp.ready), req.ready.eq(adv)]
        take = req.valid & adv

        addr = req.payload.addr
        bank = bank_of(addr, L)
        word = addr >> lb
        for b, (rd, wr) in enumerate(banks):
            # Lane i of a row starting in bank ``bank`` is bank (bank + i) mod L:
            # the banks below ``bank`` hold the row's tail, one word further.
            m.d.comb += [
                rd.addr.eq(word + (Const(b, lb + 1) < bank) if lb else word),
                rd.en.eq(adv),
                wr.addr.eq(word),
                wr.data.eq(clamped),
                wr.en.eq(take & is_prog & (bank == b)),
            ]
        with m.If(take & is_prog):
            m.d.sync += lfsr.eq(nxt)

        # Stage 1 (the banks' data): valid, READ or READ_ROW, first bank.
        s1_valid, s1_row, s1_read, s1_bank = Signal(), Signal(), Signal(), Signal(max(lb, 1))
        with m.If(adv):
            m.d.sync += [
                s1_valid.eq(take),
                s1_read.eq(op == RRAMOp.READ),
                s1_row.eq((op == RRAMOp.READ_ROW) & (L > 1)),
                s1_bank.eq(bank),
            ]
        data = Cat(rd.data for rd, _ in banks)
        rotated = Signal(8 * L)
        m.d.comb += rotated.eq(rotate_lanes(data, s1_bank, L))
        payload = Mux(s1_row, rotated, Mux(s1_read, rotated[:8], 0))

        # ``latency`` register stages after stage 1; the last one is the output.
        valid, value_ = s1_valid, payload
        for k in range(self.latency):
            v, d = Signal(name=f"d{k}_valid"), Signal(8 * L, name=f"d{k}_data")
            with m.If(adv):
                m.d.sync += [v.eq(valid), d.eq(value_)]
            valid, value_ = v, d
        m.d.comb += [out_valid.eq(valid), resp.valid.eq(valid), resp.payload.eq(value_)]
        return m
