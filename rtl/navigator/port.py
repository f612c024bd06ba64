"""The RRAM port: the digital side's only way to its resistive memory.

A controller (the navigator's threshold-modulating interface, the crossbar
engine) sends requests and receives one response per request, in order:

* ``req`` (controller -> memory): a :class:`lib.stream <amaranth.lib.stream>`
  of :func:`request_layout` payloads: the operation, the device address and a
  level code (SET: the compliance level; RESET: the stop-voltage level; READ:
  ignored, 0 by convention);
* ``resp`` (memory -> controller): a stream of codes, one per request: the
  read ADC code for READ, 0 once a SET or RESET has been applied.

A port of ``lanes > 1`` also serves ``READ_ROW``: the devices ``addr`` ..
``addr + lanes - 1`` sensed at once (one word line, ``lanes`` column ADCs), as
``lanes`` READs in address order. Its response carries lane ``i`` (the code of
device ``addr + i``) in bits ``[i * code_width, (i + 1) * code_width)``; every
other response carries its code in lane 0 and zeros above.

Both are valid/ready streams, so the memory side may take any number of
cycles (its latency) and may refuse requests (back-pressure). A response comes
at the earliest in the cycle after its request is accepted (the memory side
registers the request), which the controllers' read pipelines rely on. Codes, not
volts, cross the port; the device model or the on-chip emulator owns the
conversion. READ, SET, RESET and VMM equal :class:`memrl.sim.devices.Op`; the bus
models serve a READ_ROW as its READs.
"""

from __future__ import annotations

from amaranth import unsigned
from amaranth.lib import data, enum, stream, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["RRAMOp", "request_layout", "RRAMPortSignature"]


class RRAMOp(enum.Enum, shape=3):
    READ = 0
    SET = 1
    RESET = 2
    VMM = 3  # reserved for the crossbar engine
    READ_ROW = 4


def request_layout(addr_width: int, level_width: int = 4) -> data.StructLayout:
    """Payload of a request: operation, device address, level code."""
    return data.StructLayout(
        {"op": RRAMOp, "addr": unsigned(addr_width), "level": unsigned(level_width)}
    )


class RRAMPortSignature(wiring.Signature):
    """The controller's side of the port (flip it for the memory's side)."""

    def __init__(
        self, addr_width: int, code_width: int = 8, level_width: int = 4, lanes: int = 1
    ) -> None:
        for name, v in (
            ("addr_width", addr_width),
            ("code_width", code_width),
            ("level_width", level_width),
            ("lanes", lanes),
        ):
            if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 32:
                raise ValueError(f"{name} must be an integer in [1, 32] (got {v!r})")
        self.addr_width, self.code_width, self.level_width = addr_width, code_width, level_width
        self.lanes = lanes
        super().__init__(
            {
                "req": Out(stream.Signature(request_layout(addr_width, level_width))),
                "resp": In(stream.Signature(unsigned(code_width * lanes))),
            }
        )

    def _key(self) -> tuple[int, int, int, int]:
        return (self.addr_width, self.code_width, self.level_width, self.lanes)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RRAMPortSignature) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return "RRAMPortSignature({}, {}, {}, lanes={})".format(*self._key())
