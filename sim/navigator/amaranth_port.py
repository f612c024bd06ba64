"""A device model on the RRAM port of an Amaranth design, as a simulator process.

:class:`RRAMResponder` serves the requests of a core's RRAM port
(:mod:`memrl.rtl.navigator.port`) from a :class:`~memrl.sim.devices.DevicePort`
(for example a :class:`~memrl.sim.devices.SiOxPort` of one agent) inside
``amaranth.sim``: it accepts a request, applies it to the device model, waits
``latency`` cycles and returns the response, one request at a time, or
(``pipelined``) accepts a request every cycle and answers in order. Every
device operation is logged as ``(op, addr, level, result)`` with ``result``
the READ code or -1 for SET and RESET, the format of the navigator golden
model's per-agent log; a READ_ROW of a port of ``lanes`` lanes is served and
logged as its ``lanes`` READs, in address order.
"""

from __future__ import annotations

from collections import deque

from amaranth.lib import wiring

from memrl.sim.devices import DevicePort, Op
from memrl.sim.navigator.port_server import READ_ROW, RRAMServer, check_timing

__all__ = ["RRAMResponder", "RRAMMonitor"]


def _port_shape(port: wiring.PureInterface) -> tuple[int, int]:
    """(lanes, code width) of an RRAM port interface."""
    sig = port.signature
    return getattr(sig, "lanes", 1), getattr(sig, "code_width", len(port.resp.payload))


class RRAMResponder:
    """Serve ``port`` (the core's ``rram`` interface) from ``device``.

    Add it with ``sim.add_process(responder.process)``. ``latency`` is the
    number of clock cycles between accepting a request and offering its
    response (0: the next cycle). ``log`` collects the operations.
    """

    def __init__(
        self,
        port: wiring.PureInterface,
        device: DevicePort,
        latency: int = 0,
        pipelined: bool = False,
    ) -> None:
        check_timing(latency)
        self.port, self.device, self.latency = port, device, latency
        self.pipelined = pipelined
        lanes, code_width = _port_shape(port)
        self._server = RRAMServer(device, code_width, lanes)
        self.log = self._server.log

    def _apply(self, op: int, addr: int, level: int) -> int:
        """Apply one request to the device model and log it; the response payload."""
        return self._server.serve([(int(op), int(addr), int(level))])[0]

    async def process(self, ctx) -> None:  # noqa: ANN001 - amaranth.sim context
        if self.pipelined:
            await self._pipelined(ctx)
            return
        req, resp = self.port.req, self.port.resp
        ctx.set(req.ready, 1)
        fields = (req.valid, req.payload.op.as_value(), req.payload.addr, req.payload.level)
        while True:
            # A plain loop rather than ``until``: the simulator closes this background
            # process at the end of a run, which ``until`` does not survive quietly.
            _, _, valid, op, addr, level = await ctx.tick().sample(*fields)
            if not valid:
                continue
            ctx.set(req.ready, 0)
            code = self._apply(op, addr, level)
            for _ in range(self.latency):
                await ctx.tick()
            ctx.set(resp.payload, code)
            ctx.set(resp.valid, 1)
            await ctx.tick().until(resp.ready)
            ctx.set(resp.valid, 0)
            ctx.set(req.ready, 1)

    async def _pipelined(self, ctx) -> None:  # noqa: ANN001
        """Accept a request every cycle; answer in order, ``latency`` cycles later."""
        req, resp = self.port.req, self.port.resp
        fields = (
            req.valid,
            req.payload.op.as_value(),
            req.payload.addr,
            req.payload.level,
            resp.valid,
            resp.ready,
        )
        ctx.set(req.ready, 1)
        queue: deque[tuple[int, int]] = deque()  # (cycle due, code)
        now = 0
        while True:
            _, _, valid, op, addr, level, offered, taken = await ctx.tick().sample(*fields)
            now += 1
            if offered and taken:
                queue.popleft()
            if valid:
                queue.append((now + self.latency, self._apply(op, addr, level)))
            due = bool(queue) and queue[0][0] <= now
            ctx.set(resp.valid, due)
            if due:
                ctx.set(resp.payload, queue[0][1])


class RRAMMonitor:
    """Log the transactions on an RRAM port driven by RTL on both sides.

    Add it with ``sim.add_process(monitor.process)``; ``log`` gets
    ``(op, addr, level, result)`` per request (result: the response code of a
    READ, -1 for SET and RESET), in the port's order.
    """

    def __init__(self, port: wiring.PureInterface) -> None:
        self.port = port
        self.lanes, self.code_width = _port_shape(port)
        self.log: list[tuple[int, int, int, int]] = []
        self._pending: deque[list[int]] = deque()

    async def process(self, ctx) -> None:  # noqa: ANN001 - amaranth.sim context
        req, resp = self.port.req, self.port.resp
        fields = (
            req.valid,
            req.ready,
            req.payload.op.as_value(),
            req.payload.addr,
            req.payload.level,
            resp.valid,
            resp.ready,
            resp.payload,
        )
        while True:
            _, _, qv, qr, op, addr, level, sv, sr, code = await ctx.tick().sample(*fields)
            if sv and sr:
                entry = self._pending.popleft()
                if entry[0] == READ_ROW and self.lanes > 1:
                    mask = (1 << self.code_width) - 1
                    self.log.extend(
                        (int(Op.READ), entry[1] + i, 0, (int(code) >> (i * self.code_width)) & mask)
                        for i in range(self.lanes)
                    )
                else:
                    if entry[0] == Op.READ:
                        entry[3] = int(code)
                    self.log.append((entry[0], entry[1], entry[2], entry[3]))
            if qv and qr:
                self._pending.append([int(op), int(addr), int(level), -1])
