"""Serving RRAM port requests from a device model: what every bus model shares.

:class:`RRAMServer` decodes nothing and times nothing: it applies ``(op, addr,
level)`` requests to a :class:`~memrl.sim.devices.DevicePort` in order, keeps
the device-operation log (``(op, addr, level, result)``, ``result`` the READ
code or -1 for SET and RESET: the navigator golden model's per-agent format)
and returns each request's response payload. A READ_ROW of a port of ``lanes``
lanes is served and logged as its ``lanes`` READs in address order, its codes
packed lane ``i`` at bits ``[i * code_width, (i + 1) * code_width)``.

The amaranth.sim responder (:mod:`memrl.sim.navigator.amaranth_port`) and the cocotb bus
models (:mod:`memrl.sim.navigator.cocotb_port`) are timing around it.
"""

from __future__ import annotations

from memrl.rtl.navigator.port import RRAMOp
from memrl.sim.devices import DevicePort, Op

__all__ = ["OP_BITS", "READ_ROW", "RRAMServer", "check_timing"]

#: Width of the request payload's op field (``memrl.rtl.navigator.port.RRAMOp``).
OP_BITS = RRAMOp.as_shape().width
#: The port's READ_ROW operation code.
READ_ROW = RRAMOp.READ_ROW.value


def check_timing(latency: int, ready_prob: float = 1.0, rng: object | None = None) -> None:
    """Refuse a bus model's timing: ``latency`` cycles before a response,
    ``ready_prob`` the chance of taking an offered request, drawn from ``rng``."""
    if not isinstance(latency, int) or latency < 0:
        raise ValueError(f"latency must be a non-negative integer (got {latency!r})")
    if not 0.0 < ready_prob <= 1.0:
        raise ValueError(f"ready_prob must be in (0, 1] (got {ready_prob!r})")
    if ready_prob < 1.0 and rng is None:
        raise ValueError("random back-pressure needs a seeded numpy Generator (rng)")


class RRAMServer:
    """Serves decoded requests from ``device`` and logs them (see the module text)."""

    def __init__(self, device: DevicePort, code_width: int, lanes: int) -> None:
        self.device, self.code_width, self.lanes = device, code_width, lanes
        self.log: list[tuple[int, int, int, int]] = []

    def serve(self, requests: list[tuple[int, int, int]]) -> list[int]:
        """Apply ``(op, addr, level)`` requests in order; their response payloads.

        A run of READs and READ_ROWs goes to the device model as one read of all
        their addresses, in order (the model draws its read noise per device in
        address order, so this equals one call per request)."""
        out: list[int] = []
        w, lanes = self.code_width, self.lanes
        i = 0
        while i < len(requests):
            op = requests[i][0]
            if op == Op.READ or (op == READ_ROW and lanes > 1):
                j, addrs = i, []
                while j < len(requests) and requests[j][0] in (Op.READ, READ_ROW):
                    _, addr, _ = requests[j]
                    n = lanes if requests[j][0] == READ_ROW else 1
                    addrs.extend(range(addr, addr + n))
                    j += 1
                codes = [int(v) for v in self.device.read(addrs)]
                k = 0
                for op_j, addr, level in requests[i:j]:
                    if op_j == READ_ROW:
                        row = codes[k : k + lanes]
                        self.log.extend((int(Op.READ), addr + d, 0, c) for d, c in enumerate(row))
                        out.append(sum(c << (d * w) for d, c in enumerate(row)))
                        k += lanes
                    else:
                        self.log.append((int(Op.READ), addr, level, codes[k]))
                        out.append(codes[k])
                        k += 1
                i = j
                continue
            _, addr, level = requests[i]
            if op == Op.SET:
                self.device.set([addr], level)
            elif op == Op.RESET:
                self.device.reset([addr], level)
            else:
                raise ValueError(f"unknown RRAM operation code {op} at address {addr}")
            self.log.append((op, addr, level, -1))
            out.append(0)
            i += 1
        return out
