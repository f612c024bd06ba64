"""On-chip RRAM emulator: the memory side of the RRAM port for boards without RRAM.

Each device is an 8-bit READ code in block RAM. READ returns it; SET at level
``L`` writes ``set_code[L]`` plus variability, RESET at level ``L``
``reset_code[L]`` plus variability, from a 16-bit Galois LFSR (taps 0xB400)
advanced eight steps per programming operation:

    n    = lfsr[0:4] + lfsr[4:8] - 15
    code = clamp(mean + ((n * spread) >>> 6), 0, 255)

``memrl.sim.devices.emulator`` is the Python model, equal bit for bit, and
builds the tables from the SiOx model. One request at a time; ``latency``
extra cycles before each response.
"""

from __future__ import annotations

from collections.abc import Sequence

from amaranth import Array, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In

from .rram_port import RRAMOp, RRAMPortSignature

__all__ = ["RRAMEmulator"]

LFSR_TAPS = 0xB400


def _lfsr8(state):  # noqa: ANN001, ANN202 - Amaranth values
    """Eight Galois steps of the LFSR as combinational logic."""
    for _ in range(8):
        state = Mux(state[0], (state >> 1) ^ LFSR_TAPS, state >> 1)[:16]
    return state


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
    ) -> None:
        try:
            self._check(
                init_codes, set_code, set_spread, reset_code, reset_spread, lfsr_seed, latency
            )
        except ValueError:
            self._MustUse__silence = True  # a refused core is not an unused one
            raise
        n = len(init_codes)
        self.n_devices = n
        self.addr_width = addr_width or max(1, (n - 1).bit_length())
        if (n - 1).bit_length() > self.addr_width:
            self._MustUse__silence = True
            raise ValueError(f"addr_width {self.addr_width} cannot address {n} devices")
        self._init = [int(v) for v in init_codes]
        self._tables = (
            [int(v) for v in set_code],
            [int(v) for v in set_spread],
            [int(v) for v in reset_code],
            [int(v) for v in reset_spread],
        )
        self.lfsr_seed, self.latency = lfsr_seed, latency
        super().__init__({"port": In(RRAMPortSignature(self.addr_width))})

    @staticmethod
    def _check(init_codes, set_code, set_spread, reset_code, reset_spread, lfsr_seed, latency):  # noqa: ANN001, ANN205, PLR0913
        if len(init_codes) < 1:
            raise ValueError("init_codes needs at least one device")
        if not 1 <= lfsr_seed <= 0xFFFF:
            raise ValueError(f"lfsr_seed must be in [1, 65535] (got {lfsr_seed})")
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

    def elaborate(self, platform: object) -> Module:
        m = Module()
        req, resp = self.port.req, self.port.resp
        m.submodules.cells = cells = Memory(
            shape=unsigned(8), depth=self.n_devices, init=self._init
        )
        rd, wr = cells.read_port(), cells.write_port()
        set_code, set_spread, reset_code, reset_spread = (
            Array(Const(v, 10) for v in t) for t in self._tables
        )

        lfsr = Signal(16, init=self.lfsr_seed)
        op = Signal(RRAMOp)
        addr = Signal(self.addr_width)
        level = Signal(4)
        wait = Signal(range(self.latency + 1))
        result = Signal(8)

        nxt = Signal(16)
        m.d.comb += nxt.eq(_lfsr8(lfsr))
        noise = Signal(signed(6))
        m.d.comb += noise.eq(nxt[0:4] + nxt[4:8] - 15)
        is_set = op == RRAMOp.SET
        mean = Mux(is_set, set_code[level], reset_code[level])
        spread = Mux(is_set, set_spread[level], reset_spread[level])
        prod = Signal(signed(18))
        m.d.comb += prod.eq(noise * spread)
        value = Signal(signed(12))
        m.d.comb += value.eq(mean + (prod >> 6))
        clamped = Mux(value < 0, 0, Mux(value > 255, 255, value[:8]))

        m.d.comb += [rd.addr.eq(addr), wr.addr.eq(addr), wr.data.eq(clamped)]

        with m.FSM(name="emu"):
            with m.State("IDLE"):
                m.d.comb += req.ready.eq(1)
                with m.If(req.valid):
                    m.d.sync += [
                        op.eq(req.payload.op),
                        addr.eq(req.payload.addr),
                        level.eq(req.payload.level),
                    ]
                    m.next = "APPLY"
            with m.State("APPLY"):  # the read port has the address since this cycle
                m.next = "FETCH"
            with m.State("FETCH"):
                with m.If(op == RRAMOp.READ):
                    m.d.sync += result.eq(rd.data)
                with m.Else():
                    m.d.comb += wr.en.eq(1)
                    m.d.sync += [lfsr.eq(nxt), result.eq(0)]
                m.d.sync += wait.eq(self.latency)
                m.next = "WAIT"
            with m.State("WAIT"):
                with m.If(wait == 0):
                    m.next = "RESPOND"
                with m.Else():
                    m.d.sync += wait.eq(wait - 1)
            with m.State("RESPOND"):
                m.d.comb += [resp.valid.eq(1), resp.payload.eq(result)]
                with m.If(resp.ready):
                    m.next = "IDLE"
        return m
