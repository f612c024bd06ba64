"""The trajectory of a trial: a ring of its last places, replayed oldest first.

The learning rule rewards the last ``reward_k`` places of a trial that ends
on a goal; the ring holds each place's threshold-device address ``9p + 8``.
"""

from __future__ import annotations

from amaranth import Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from memrl.rtl.navigator.config import bits

__all__ = ["Trajectory"]


class Trajectory(wiring.Component):
    """A ring of the last ``depth`` entries of ``width`` bits.

    Ports (strobes are one cycle each):

    * ``restart``: hold one entry, ``data``;
    * ``push``: append ``data`` (when full, the oldest entry drops out);
    * ``rewind``, then ``wrap`` the cycle after: the replay starts at the
      oldest entry (two registered stages);
    * ``next``: the replay goes on to the next entry;
    * ``entry``: the replayed entry, the cycle after its index is set (one
      cycle after ``wrap`` or ``next``);
    * ``done``: every entry is replayed.
    """

    def __init__(self, depth: int, width: int) -> None:
        self.depth = depth
        super().__init__(
            {
                "restart": In(1),
                "push": In(1),
                "data": In(width),
                "rewind": In(1),
                "wrap": In(1),
                "next": In(1),
                "entry": Out(width),
                "done": Out(1),
            }
        )

    def elaborate(self, platform: object) -> Module:
        m = Module()
        K = self.depth
        m.submodules.traj = traj = Memory(shape=len(self.data), depth=K, init=[])
        traj_w, traj_r = traj.write_port(), traj.read_port()

        wp = Signal(bits(K - 1))  # next write index
        tlen = Signal(bits(K))  # entries held (at most K)
        rw = Signal(bits(K - 1))  # replay index
        rw_left = Signal(bits(K))
        start = Signal(signed(bits(K) + 2))  # the oldest entry, before wrapping

        m.d.comb += traj_w.data.eq(self.data)
        with m.If(self.restart):
            m.d.comb += [traj_w.addr.eq(0), traj_w.en.eq(1)]
            m.d.sync += [wp.eq(1 % K), tlen.eq(1)]
        with m.If(self.push):
            m.d.comb += [traj_w.addr.eq(wp), traj_w.en.eq(1)]
            m.d.sync += [
                wp.eq(Mux(wp == K - 1, 0, wp + 1)),
                tlen.eq(Mux(tlen == K, K, tlen + 1)),
            ]

        with m.If(self.rewind):
            m.d.sync += [start.eq(wp - tlen), rw_left.eq(tlen)]
        with m.If(self.wrap):
            m.d.sync += rw.eq(Mux(start < 0, start + K, start))
        with m.If(self.next):
            m.d.sync += [rw.eq(Mux(rw == K - 1, 0, rw + 1)), rw_left.eq(rw_left - 1)]
        m.d.comb += [
            traj_r.addr.eq(rw),
            self.entry.eq(traj_r.data),
            self.done.eq(rw_left == 0),
        ]
        return m
