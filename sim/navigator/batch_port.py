"""A simulation top that hands a core's RRAM requests to the testbench in batches.

A cocotb bus model that watches the port every clock cycle costs a Python
callback per cycle, which caps a Verilator run at a few thousand cycles per
second. :class:`BatchPortTop` wraps a core (any component with an ``rram``
member of :class:`~memrl.rtl.navigator.port.RRAMPortSignature`) and puts a small
synthesizable buffer on the memory side of its port:

* it takes every request the moment it is offered (``req.ready`` while the
  buffer has room) and keeps up to ``depth`` of them;
* once ``gap`` cycles pass without a new request (the core is waiting for
  answers), or the buffer is full, it raises ``bat_need`` and takes no more;
* the testbench wakes on ``bat_need``, reads ``bat_count`` and ``bat_req``,
  serves the requests in order from the device model, drives the answers on
  ``bat_resp`` and toggles ``bat_served``;
* the top then offers the answers on ``resp`` one per cycle, in order, and
  collects the next batch meanwhile.

So the testbench runs once per batch (about once per navigator step) instead of
once per cycle, and the core still sees a valid/ready memory whose latency
varies: at least ``gap + 2`` cycles from a request to its answer. Every other
member of the core's signature is a port of the top under the same name.

``bat_req`` packs the batch as a shift register: the newest request in the top
``payload`` bits; with ``n = bat_count``, request ``i`` (oldest first) sits at
word ``depth - n + i``. ``bat_resp`` carries answer ``i`` at word ``i`` (words
of ``code_width * lanes`` bits).
"""

from __future__ import annotations

from amaranth import Cat, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from memrl.rtl.navigator.port import RRAMPortSignature

__all__ = ["BatchPortTop"]


class BatchPortTop(wiring.Component):
    """``core`` with its RRAM port served in batches (see the module text)."""

    def __init__(self, core: wiring.Component, depth: int = 16, gap: int = 4) -> None:
        members = core.signature.members
        sig = members["rram"] if "rram" in members else None
        if sig is None or not sig.is_signature or not isinstance(sig.signature, RRAMPortSignature):
            raise ValueError("the core has no `rram` member of RRAMPortSignature")
        if not isinstance(depth, int) or not 1 <= depth <= 256:
            raise ValueError(f"depth must be an integer in [1, 256] (got {depth!r})")
        if not isinstance(gap, int) or not 1 <= gap <= 64:
            raise ValueError(f"gap must be an integer in [1, 64] (got {gap!r})")
        self.core, self.depth, self.gap = core, depth, gap
        port = sig.signature
        self.payload_bits = 3 + port.addr_width + port.level_width
        self.word_bits = port.code_width * port.lanes
        members = {n: m for n, m in core.signature.members.items() if n != "rram"}
        members.update(
            {
                "bat_need": Out(1),
                "bat_count": Out(range(depth + 1)),
                "bat_req": Out(depth * self.payload_bits),
                "bat_resp": In(depth * self.word_bits),
                "bat_served": In(1),
            }
        )
        super().__init__(members)

    def elaborate(self, platform: object) -> Module:
        m = Module()
        m.submodules.core = core = self.core
        for name, member in self.signature.members.items():
            if name.startswith("bat_"):
                continue
            if member.flow == In:
                m.d.comb += getattr(core, name).eq(getattr(self, name))
            else:
                m.d.comb += getattr(self, name).eq(getattr(core, name))

        req, resp = core.rram.req, core.rram.resp
        pb, depth = self.payload_bits, self.depth
        count = self.bat_count
        idle = Signal(range(self.gap + 1))  # cycles since the last request taken
        seen = Signal()  # bat_served as last acted on
        serving = Signal()
        n_serve = Signal(range(depth + 1))
        rptr = Signal(range(depth))
        taking = ~self.bat_need & (count < depth)

        m.d.comb += req.ready.eq(taking)
        with m.If(req.valid & taking):
            m.d.sync += [
                self.bat_req.eq(Cat(self.bat_req[pb:], req.payload.as_value())),
                count.eq(count + 1),
                idle.eq(0),
            ]
        with m.Elif(idle != self.gap):
            m.d.sync += idle.eq(idle + 1)
        # A batch is handed over once the core pauses (or the buffer is full) and
        # the previous batch's answers are all given back.
        with m.If(~self.bat_need & ~serving & (count != 0)):
            with m.If((count == depth) | (~req.valid & (idle + 1 >= self.gap))):
                m.d.sync += self.bat_need.eq(1)
        with m.If(self.bat_need & (self.bat_served != seen)):
            m.d.sync += [
                seen.eq(self.bat_served),
                self.bat_need.eq(0),
                serving.eq(1),
                n_serve.eq(count),
                rptr.eq(0),
                count.eq(0),
                idle.eq(0),
            ]
        m.d.comb += [
            resp.valid.eq(serving),
            resp.payload.eq(self.bat_resp.word_select(rptr, self.word_bits)),
        ]
        with m.If(serving & resp.ready):
            m.d.sync += rptr.eq(rptr + 1)
            with m.If(rptr + 1 == n_serve):
                m.d.sync += serving.eq(0)
        return m
