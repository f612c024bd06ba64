"""A cocotb bus-functional model of the RRAM port (``memrl.rtl.navigator.port``).

The generated Verilog of a core carries the port as six flat signals
(Amaranth's naming): ``<prefix>__req__valid``, ``__req__ready``,
``__req__payload`` (op in the low 3 bits, then the address, then the level),
``__resp__valid``, ``__resp__ready`` and ``__resp__payload`` (``lanes`` codes,
lane ``i`` in bits ``[8i, 8i + 8)``).

* :class:`RRAMBus` finds those signals on a DUT and decodes a request.
* :class:`RRAMDevice` is the memory side, cycle by cycle: it serves every
  request from a :class:`~memrl.sim.devices.DevicePort` (READ, SET, RESET, and
  READ_ROW as ``lanes`` READs in address order), answers in order ``latency``
  cycles after the cycle following acceptance, and can refuse requests at
  random (back-pressure) from a seeded Generator.
* :class:`RRAMBatchDevice` is the memory side of a
  :class:`~memrl.sim.navigator.batch_port.BatchPortTop`: it wakes once per batch of
  requests instead of once per cycle, the fast way to run long simulations.

Both keep a ``log`` with one ``(op, addr, level, result)`` entry per device
operation, the format of the golden model's per-agent log, and serve the same
requests with the same device-model calls (consecutive reads as one call), so
they draw the same noise.

Timing: :class:`RRAMDevice` acts at falling clock edges. The core's outputs are
settled then (they do not depend combinationally on the port's inputs), so a
transfer at the next rising edge is decided by what the model reads and drives
at the falling edge before it. While nothing is offered or owed it sleeps until
``req.valid`` rises, so idle cycles cost no Python.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from memrl.sim.devices import DevicePort
from memrl.sim.navigator.port_server import OP_BITS, RRAMServer, check_timing

__all__ = ["RRAMBatchDevice", "RRAMBus", "RRAMDevice", "value_of"]


_TO_BITS = str.maketrans("XZUW-LHxzuwlh", "0000000100001")


def value_of(handle: object) -> int:
    """A signal's value as an integer, unresolved bits (X, Z: Icarus shows
    combinational outputs so before their first evaluation) read as 0.

    Reads the simulator's bit string directly: building a ``LogicArray`` for
    every read costs more than the simulation of a cycle."""
    raw = getattr(handle, "_handle", None)
    if raw is None or not hasattr(raw, "get_signal_val_binstr"):
        v = handle.value
        return int(v) if v.is_resolvable else 0
    bits = raw.get_signal_val_binstr()
    try:
        return int(bits, 2)
    except ValueError:
        return int(bits.translate(_TO_BITS), 2)


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
        return decode(payload, self.addr_width)


def decode(payload: int, addr_width: int) -> tuple[int, int, int]:
    """(op, address, level) of a request payload with ``addr_width`` address bits."""
    op = payload & ((1 << OP_BITS) - 1)
    addr = (payload >> OP_BITS) & ((1 << addr_width) - 1)
    level = payload >> (OP_BITS + addr_width)
    return op, addr, level


class RRAMDevice(RRAMServer):
    """The memory side of ``bus``, served from ``device`` cycle by cycle.

    ``latency``: extra cycles before a response (0: offered the cycle after the
    request is accepted). ``ready_prob``: the chance that the model takes an
    offered request in a given cycle (1: always), drawn from ``rng``.
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
        check_timing(latency, ready_prob, rng)
        super().__init__(device, bus.code_width, bus.lanes)
        self.bus, self.clk = bus, clk
        self.latency, self.ready_prob, self.rng = latency, ready_prob, rng
        self.requests = 0
        self.stalls = 0  # cycles in which a request was offered and refused
        self.queue: deque[tuple[int, int]] = deque()  # (cycle due, payload)

    def clear(self) -> None:
        """Drop the answers still owed (the core was reset)."""
        self.queue.clear()

    async def run(self) -> None:
        from cocotb.triggers import FallingEdge, RisingEdge

        bus, queue = self.bus, self.queue
        cycle = 0
        offered = False
        bus.req_ready.value = 0
        bus.resp_valid.value = 0
        while True:
            # Sleep when nothing is owed, nothing is on offer for the coming edge and
            # the core offers nothing.
            if not queue and not offered and not value_of(bus.req_valid):
                await RisingEdge(bus.req_valid)
            await FallingEdge(self.clk)
            cycle += 1
            # The core's outputs are settled for this cycle: what is offered now and
            # accepted is transferred at the next rising edge.
            valid = value_of(bus.req_valid)
            ready = self.ready_prob >= 1.0 or bool(self.rng.random() < self.ready_prob)
            bus.req_ready.value = int(ready)
            if valid:
                if ready:
                    self.requests += 1
                    req = bus.decode(value_of(bus.req_payload))
                    queue.append((cycle + 1 + self.latency, self.serve([req])[0]))
                else:
                    self.stalls += 1
            offered = bool(queue) and queue[0][0] <= cycle
            bus.resp_valid.value = int(offered)
            if offered:
                bus.resp_payload.value = queue[0][1]
                if value_of(bus.resp_ready):
                    queue.popleft()


class RRAMBatchDevice(RRAMServer):
    """The memory side of a :class:`~memrl.sim.navigator.batch_port.BatchPortTop` ``dut``.

    ``addr_width``, ``level_width``, ``code_width`` and ``lanes`` are the core's
    port widths (``RRAMPortSignature``). Start it with
    ``cocotb.start_soon(model.run())``.
    """

    def __init__(
        self,
        dut: object,
        clk: object,
        device: DevicePort,
        addr_width: int,
        lanes: int = 1,
        level_width: int = 4,
        code_width: int = 8,
    ) -> None:
        super().__init__(device, code_width, lanes)
        self.dut, self.clk, self.addr_width = dut, clk, addr_width
        self.word_bits = code_width * lanes
        self.payload_bits = OP_BITS + addr_width + level_width
        depth, rest = divmod(len(dut.bat_req), self.payload_bits)
        if rest or len(dut.bat_resp) != depth * self.word_bits:
            raise ValueError(
                f"bat_req ({len(dut.bat_req)} bits) and bat_resp ({len(dut.bat_resp)} bits) do "
                f"not fit {self.payload_bits}-bit requests and {self.word_bits}-bit answers"
            )
        self.depth = depth
        self.requests = 0
        self.batches = 0
        self._served = 0

    def clear(self) -> None:
        """Restart the hand-over toggle with the top (the core and top were reset):
        a reset top expects ``bat_served`` at 0, and a stale 1 would hand it the
        previous batch's answers."""
        self._served = 0
        self.dut.bat_served.value = 0

    async def run(self) -> None:
        from cocotb.triggers import FallingEdge, RisingEdge

        dut, pb, wb = self.dut, self.payload_bits, self.word_bits
        mask = (1 << pb) - 1
        dut.bat_served.value = self._served
        while True:
            await RisingEdge(dut.bat_need)
            await FallingEdge(self.clk)
            n = value_of(dut.bat_count)
            flat = value_of(dut.bat_req)
            base = self.depth - n
            aw = self.addr_width
            reqs = [decode((flat >> ((base + i) * pb)) & mask, aw) for i in range(n)]
            answers = self.serve(reqs)
            dut.bat_resp.value = sum(a << (i * wb) for i, a in enumerate(answers))
            self._served ^= 1
            dut.bat_served.value = self._served
            self.requests += n
            self.batches += 1
