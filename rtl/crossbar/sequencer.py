"""The programming sequencer: a list of device writes, RESETs first, then SETs.

It stores a list of entries (:func:`memrl.rtl.crossbar.config.program_entry`:
a device, whether to RESET it first and its SET gate-voltage code), RESETs
the flagged devices in list order, then SETs every device in list order:
the order of :meth:`CrossbarQNet.pulse <memrl.sim.crossbar.golden.CrossbarQNet.pulse>`,
which both write schemes use (the paper's RESET-then-SET of a falling gate
voltage, and the improved scheme's RESET of both devices of a re-centred
pair). The RESET words are one run of the crossbar port (``last`` on the
last flagged entry), the SET words another.
"""

from __future__ import annotations

from amaranth import Module, Signal, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from memrl.rtl.crossbar.config import CrossbarEngineConfig, request_signature
from memrl.rtl.crossbar.port import XbarOp

__all__ = ["ProgramSequencer"]


class ProgramSequencer(wiring.Component):
    """A PROGRAM of up to ``max_program`` entries (see the module docstring).

    Members:

    * ``start`` (in): one cycle while idle: a PROGRAM of ``count`` (>= 1)
      entries, ``count`` (in) held while busy; ``done`` (out) is high in the
      cycle the last SET word is taken;
    * ``entries`` (in): the entries, ``count`` of them, one per cycle at most;
    * ``req`` (out): the crossbar port's request stream.

    Timing: one cycle per entry in, 1 cycle, one per entry (a cycle per RESET
    word taken, or per unflagged entry), again only if an entry is flagged,
    then 1 cycle and one per SET word taken.
    """

    def __init__(self, config: CrossbarEngineConfig) -> None:
        self.config = c = config
        super().__init__(
            {
                "start": In(1),
                "done": Out(1),
                "count": In(c.count_bits),
                "entries": In(stream.Signature(unsigned(c.entry_bits))),
                "req": Out(request_signature(c)),
            }
        )

    def elaborate(self, platform: object) -> Module:
        c = self.config
        m = Module()
        port = c.port_signature()
        m.submodules.pmem = pmem = Memory(
            shape=unsigned(c.entry_bits), depth=c.max_program, init=[]
        )
        p_r, p_w = pmem.read_port(), pmem.write_port()
        din, req, count = self.entries, self.req, self.count
        rp = req.payload
        fire = Signal()
        m.d.comb += fire.eq(req.valid & req.ready)
        j = Signal(range(c.max_program + 1))
        any_reset = Signal()
        last_reset = Signal(range(c.max_program))

        entry = p_r.data
        e_code = entry[: c.vg_bits]
        e_flag = entry[c.vg_bits]
        e_col = entry[c.vg_bits + 1 : c.vg_bits + 1 + port.col_bits]
        e_row = entry[c.vg_bits + 1 + port.col_bits :]

        with m.FSM(name="program"):
            with m.State("IDLE"):
                with m.If(self.start):
                    m.d.sync += [any_reset.eq(0), last_reset.eq(0)]
                    m.next = "LOAD"

            with m.State("LOAD"):
                flag_bit = din.payload[c.vg_bits]
                m.d.comb += [
                    din.ready.eq(1),
                    p_w.addr.eq(j),
                    p_w.data.eq(din.payload),
                    p_w.en.eq(din.valid),
                ]
                with m.If(din.valid):
                    m.d.sync += j.eq(j + 1)
                    with m.If(flag_bit):
                        m.d.sync += [any_reset.eq(1), last_reset.eq(j)]
                    with m.If(j == count - 1):
                        m.d.sync += j.eq(0)
                        with m.If(any_reset | flag_bit):
                            m.next = "RESET_PRIME"
                        with m.Else():
                            m.next = "SET_PRIME"

            with m.State("RESET_PRIME"):
                m.d.comb += p_r.addr.eq(0)
                m.next = "RESET"

            with m.State("RESET"):
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
                    with m.If(j == count - 1):
                        m.d.sync += j.eq(0)
                        m.next = "SET_PRIME"

            with m.State("SET_PRIME"):
                m.d.comb += p_r.addr.eq(0)
                m.next = "SET"

            with m.State("SET"):
                m.d.comb += [
                    req.valid.eq(1),
                    rp.op.eq(XbarOp.SET),
                    rp.row.eq(e_row),
                    rp.col.eq(e_col),
                    rp.arg.eq(e_code),
                    rp.last.eq(j == count - 1),
                    p_r.addr.eq(j + fire),
                ]
                with m.If(fire):
                    m.d.sync += j.eq(j + 1)
                    with m.If(j == count - 1):
                        m.d.sync += j.eq(0)
                        m.d.comb += self.done.eq(1)
                        m.next = "IDLE"
        return m
