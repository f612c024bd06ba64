"""A cocotb bus-functional model of the RRAM port (``memrl.rtl.rram_port``).

The generated Verilog of a core carries the port as six flat signals
(Amaranth's naming): ``<prefix>__req__valid``, ``__req__ready``,
``__req__payload`` (op in the low 3 bits, then the address, then the level),
``__resp__valid``, ``__resp__ready`` and ``__resp__payload`` (``lanes`` codes,
lane ``i`` in bits ``[8i, 8i + 8)``).

* :class:`RRAMBus` finds those signals on a DUT and decodes a request.
* :class:`RRAMDevice` is the memory side: it serves every request from a
  :class:`~memrl.sim.devices.DevicePort` (READ, SET, RESET, and READ_ROW as
  ``lanes`` READs in address order), answers in order ``latency`` cycles after
  the cycle following acceptance, and can refuse requests at random
  (back-pressure) from a seeded Generator. Its ``log`` has one
  ``(op, addr, level, result)`` entry per device operation, the format of the
  golden model's per-agent log.

Timing: the model acts at each falling clock edge. The core's outputs are
settled then (they do not depend combinationally on the port's inputs), so a
transfer at the next rising edge is decided by what the model reads and drives
at the falling edge before it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from memrl.sim.devices import DevicePort, Op

__all__ = ["READ_ROW", "RRAMBus", "RRAMDevice", "value_of"]

READ_ROW = 4
OP_BITS = 3


def value_of(handle: object) -> int:
    """A signal's value as an integer; 0 while it is unresolved (X or Z, as Icarus
    shows combinational outputs before their first evaluation)."""
    v = handle.value
    return int(v) if v.is_resolvable else 0


@dataclass
class RRAMBus:
    """The port's signals on ``dut`` (names ``<prefix>__req__valid`` and so on)."""

    dut: object
    prefix: str = "rram"
    addr_width: int = 0  # 0: from the payload width and ``level_width``
    level_width: int = 4
    code_width: int = 8

    def __post_init__(self) -> None:
        p = self.prefix

        def sig(name: str):  # noqa: ANN202
            try:
                return getattr(self.dut, f"{p}__{name}")
            except AttributeError as exc:
                raise AttributeError(f"the DUT has no RRAM port signal {p}__{name}") from exc

        self.req_valid, self.req_ready = sig("req__valid"), sig("req__ready")
        self.req_payload = sig("req__payload")
        self.resp_valid, self.resp_ready = sig("resp__valid"), sig("resp__ready")
        self.resp_payload = sig("resp__payload")
        width = len(self.req_payload)
        if not self.addr_width:
            self.addr_width = width - OP_BITS - self.level_width
        if OP_BITS + self.addr_width + self.level_width != width:
            raise ValueError(
                f"{p}__req__payload has {width} bits, not 3 + {self.addr_width} + "
                f"{self.level_width}"
            )
        self.lanes = len(self.resp_payload) // self.code_width

    def decode(self, payload: int) -> tuple[int, int, int]:
        """(op, address, level) of a request payload."""
        op = payload & ((1 << OP_BITS) - 1)
        addr = (payload >> OP_BITS) & ((1 << self.addr_width) - 1)
        level = payload >> (OP_BITS + self.addr_width)
        return op, addr, level


class RRAMDevice:
    """The memory side of ``bus``, served from ``device``.

    ``latency``: extra cycles before a response (0: offered the cycle after the
    request is accepted). ``ready_prob``: the chance that the model takes a
    request in a given cycle (1: always), drawn from ``rng``.
    Start it with ``cocotb.start_soon(model.run())``.
    """

    def __init__(
        self,
        bus: RRAMBus,
        clk: object,
        device: DevicePort,
        latency: int = 0,
        ready_prob: float = 1.0,
        rng: np.random.Generator | None = None,
    ) -> None:
        if not isinstance(latency, int) or latency < 0:
            raise ValueError(f"latency must be a non-negative integer (got {latency!r})")
        if not 0.0 < ready_prob <= 1.0:
            raise ValueError(f"ready_prob must be in (0, 1] (got {ready_prob!r})")
        if ready_prob < 1.0 and rng is None:
            raise ValueError("random back-pressure needs a seeded numpy Generator (rng)")
        self.bus, self.clk, self.device = bus, clk, device
        self.latency, self.ready_prob, self.rng = latency, ready_prob, rng
        self.log: list[tuple[int, int, int, int]] = []
        self.requests = 0
        self.stalls = 0  # cycles in which a request was offered and refused

    def _apply(self, op: int, addr: int, level: int) -> int:
        """Apply one request to the device model and log it; the response payload."""
        w = self.bus.code_width
        if op == READ_ROW and self.bus.lanes > 1:
            codes = [int(v) for v in self.device.read(list(range(addr, addr + self.bus.lanes)))]
            self.log.extend((int(Op.READ), addr + i, 0, c) for i, c in enumerate(codes))
            return sum(c << (i * w) for i, c in enumerate(codes))
        if op == Op.READ:
            code = int(self.device.read([addr])[0])
            self.log.append((int(Op.READ), addr, level, code))
            return code
        if op == Op.SET:
            self.device.set([addr], level)
        elif op == Op.RESET:
            self.device.reset([addr], level)
        else:
            raise ValueError(f"unknown RRAM operation code {op} at address {addr}")
        self.log.append((op, addr, level, -1))
        return 0

    async def run(self) -> None:
        from cocotb.triggers import FallingEdge

        bus = self.bus
        queue: deque[tuple[int, int]] = deque()  # (cycle due, payload)
        cycle = 0
        bus.req_ready.value = 0
        bus.resp_valid.value = 0
        while True:
            await FallingEdge(self.clk)
            cycle += 1
            # The core's outputs are settled for this cycle: what is offered now and
            # accepted is transferred at the next rising edge.
            ready = self.ready_prob >= 1.0 or bool(self.rng.random() < self.ready_prob)
            bus.req_ready.value = int(ready)
            if value_of(bus.req_valid):
                if ready:
                    self.requests += 1
                    op, addr, level = bus.decode(value_of(bus.req_payload))
                    queue.append((cycle + 1 + self.latency, self._apply(op, addr, level)))
                else:
                    self.stalls += 1
            offered = bool(queue) and queue[0][0] <= cycle
            bus.resp_valid.value = int(offered)
            if offered:
                bus.resp_payload.value = queue[0][1]
                if value_of(bus.resp_ready):
                    queue.popleft()
