"""The RRAM port: the digital side's only way to its resistive memory.

A controller (the navigator's threshold-modulating interface, the crossbar
engine) sends requests and receives one response per request, in order:

* ``req`` (controller -> memory): a :class:`lib.stream <amaranth.lib.stream>`
  of :func:`request_layout` payloads: the operation, the device address and a
  level code (SET: the compliance level; RESET: the stop-voltage level; READ:
  ignored, 0 by convention);
* ``resp`` (memory -> controller): a stream of codes, one per request: the
  read ADC code for READ, 0 once a SET or RESET has been applied.

Both are valid/ready streams, so the memory side may take any number of
cycles (its latency) and may refuse requests (back-pressure). Codes, not
volts, cross the port; the device model or the on-chip emulator owns the
conversion. The operation codes equal :class:`memrl.sim.devices.Op`.
"""

from __future__ import annotations

from amaranth import unsigned
from amaranth.lib import data, enum, stream, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["RRAMOp", "request_layout", "RRAMPortSignature"]


class RRAMOp(enum.Enum, shape=2):
    READ = 0
    SET = 1
    RESET = 2


def request_layout(addr_width: int, level_width: int = 4) -> data.StructLayout:
    """Payload of a request: operation, device address, level code."""
    return data.StructLayout(
        {"op": RRAMOp, "addr": unsigned(addr_width), "level": unsigned(level_width)}
    )


class RRAMPortSignature(wiring.Signature):
    """The controller's side of the port (flip it for the memory's side)."""

    def __init__(self, addr_width: int, code_width: int = 8, level_width: int = 4) -> None:
        for name, v in (
            ("addr_width", addr_width),
            ("code_width", code_width),
            ("level_width", level_width),
        ):
            if not isinstance(v, int) or not 1 <= v <= 32:
                raise ValueError(f"{name} must be an integer in [1, 32] (got {v!r})")
        self.addr_width, self.code_width, self.level_width = addr_width, code_width, level_width
        super().__init__(
            {
                "req": Out(stream.Signature(request_layout(addr_width, level_width))),
                "resp": In(stream.Signature(unsigned(code_width))),
            }
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RRAMPortSignature) and (
            self.addr_width,
            self.code_width,
            self.level_width,
        ) == (other.addr_width, other.code_width, other.level_width)

    def __hash__(self) -> int:
        return hash((self.addr_width, self.code_width, self.level_width))

    def __repr__(self) -> str:
        return f"RRAMPortSignature({self.addr_width}, {self.code_width}, {self.level_width})"
