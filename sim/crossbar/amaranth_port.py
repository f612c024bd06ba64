"""A 1T1R model on the crossbar port of an Amaranth design, as a simulator process.

:class:`CrossbarResponder` accepts a word every cycle on the design's ``xbar``
port (:mod:`memrl.rtl.crossbar.port`), applies it through a
:class:`~memrl.sim.crossbar.port_server.CrossbarServer` and offers the responses it
releases in order, ``latency`` cycles later, one per cycle. With
``ready_prob`` below 1 it refuses words at random (drawn from ``rng``).
"""

from __future__ import annotations

from collections import deque

import numpy as np
from amaranth.lib import wiring

from memrl.sim.crossbar.port_server import CrossbarServer
from memrl.sim.devices import OneT1RPort
from memrl.sim.navigator.port_server import check_timing

__all__ = ["CrossbarResponder"]


class CrossbarResponder:
    """Serve ``xbar`` (the design's crossbar port interface) from ``port``.

    Add it with ``sim.add_process(responder.process)``.
    """

    def __init__(
        self,
        xbar: wiring.PureInterface,
        port: OneT1RPort,
        latency: int = 0,
        ready_prob: float = 1.0,
        rng: np.random.Generator | None = None,
    ) -> None:
        check_timing(latency, ready_prob, rng)
        self.xbar, self.latency = xbar, latency
        self.ready_prob, self.rng = ready_prob, rng
        self.server = CrossbarServer(port, xbar.signature)

    async def process(self, ctx) -> None:  # noqa: ANN001 - amaranth.sim context
        req, resp = self.xbar.req, self.xbar.resp
        p = req.payload
        fields = (
            req.valid,
            req.ready,
            p.op.as_value(),
            p.row,
            p.col,
            p.arg,
            p.last,
            resp.valid,
            resp.ready,
        )
        ctx.set(req.ready, 1)
        queue: deque[tuple[int, int]] = deque()  # (cycle due, code)
        now = 0
        while True:
            sampled = await ctx.tick().sample(*fields)
            valid, ready, op, row, col, arg, last, offered, taken = sampled[2:]
            now += 1
            if offered and taken:
                queue.popleft()
            if self.ready_prob < 1.0:
                ctx.set(req.ready, bool(self.rng.random() < self.ready_prob))
            if valid and ready:
                for code in self.server.word(op, row, col, arg, last):
                    queue.append((now + self.latency, code))
            due = bool(queue) and queue[0][0] <= now
            ctx.set(resp.valid, due)
            if due:
                ctx.set(resp.payload, queue[0][1])
