"""The protocol client: requests with timeouts and retries over any byte transport.

A :class:`Transport` moves bytes (a serial port, a pseudo-terminal, an
in-process simulation). :class:`LinkClient` sends a request as a frame, waits
for the reply with the same sequence number and returns its payload:

* it retries (same sequence number) on a timeout, up to ``retries`` times. The
  firmware does not execute a request again when its sequence number equals
  the previous request's; it re-sends the previous reply. A retried RUN_TRIAL
  therefore runs once;
* it ignores damaged frames and replies to other sequence numbers (late
  duplicates), so no reply is applied twice;
* an error reply raises :class:`ErrorReply` with its code; running out of
  retries raises :class:`LinkTimeout`.

:class:`FaultyTransport` wraps a transport and damages bytes in both directions
at given rates, from a seeded Generator: the link's tests run through it.
"""

from __future__ import annotations

import time
from typing import Protocol

import numpy as np

from memrl.host.link.frames import Frame, FrameReader, LinkError, encode_frame
from memrl.rtl.link.protocol import ERROR, REPLY, Cmd, Err

__all__ = ["Transport", "LinkClient", "ErrorReply", "LinkTimeout", "FaultyTransport"]


class Transport(Protocol):
    """Moves bytes. A transport may have ``now()``, the clock (seconds) its
    timeouts run on: a simulation's time; wall-clock time otherwise."""

    def write(self, data: bytes) -> None: ...

    def read(self, timeout_s: float) -> bytes:
        """Bytes received within ``timeout_s`` (may be empty)."""
        ...


class ErrorReply(RuntimeError):
    """The firmware answered with an error reply."""

    def __init__(self, cmd: int, code: int) -> None:
        self.cmd, self.code = cmd, code
        name = Err(code).name if code in Err._value2member_map_ else f"code {code}"
        what = Cmd(cmd).name if cmd in Cmd._value2member_map_ else f"command 0x{cmd:02x}"
        super().__init__(f"{what}: the firmware answered {name}")


class LinkTimeout(TimeoutError):
    """No valid reply after every retry."""


class LinkClient:
    """Requests over ``transport``; see the module text."""

    def __init__(self, transport: Transport, timeout_s: float = 0.5, retries: int = 8) -> None:
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive (got {timeout_s!r})")
        if not isinstance(retries, int) or retries < 0:
            raise ValueError(f"retries must be a non-negative integer (got {retries!r})")
        self.transport, self.timeout_s, self.retries = transport, timeout_s, retries
        self.reader = FrameReader()
        self.seq = 0
        self.stats = {"requests": 0, "retries": 0, "dropped": 0, "stale": 0}

    def request(self, cmd: int, payload: bytes = b"", timeout_s: float | None = None) -> bytes:
        """Send ``cmd`` with ``payload``; the reply's payload. ``timeout_s``: this
        request's timeout per attempt (the client's by default)."""
        timeout_s = self.timeout_s if timeout_s is None else timeout_s
        self.seq = (self.seq + 1) % 256
        wire = encode_frame(Frame(int(cmd), self.seq, bytes(payload)))
        self.stats["requests"] += 1
        for attempt in range(self.retries + 1):
            if attempt:
                self.stats["retries"] += 1
            self.transport.write(wire)
            reply = self._await(self.seq, timeout_s)
            if reply is None:
                continue
            if reply.type == ERROR:
                cmd_echo, code = (reply.payload + b"\0\0")[:2]
                raise ErrorReply(cmd_echo, code)
            if reply.type != (int(cmd) | REPLY):
                raise LinkError(
                    f"reply type 0x{reply.type:02x} to command 0x{int(cmd):02x} (seq {self.seq})"
                )
            return reply.payload
        raise LinkTimeout(
            f"no reply to command 0x{int(cmd):02x} after {self.retries + 1} attempts "
            f"of {timeout_s} s"
        )

    def _await(self, seq: int, timeout_s: float) -> Frame | None:
        now = getattr(self.transport, "now", time.monotonic)
        deadline = now() + timeout_s
        while (left := deadline - now()) > 0:
            for item in self.reader.feed(self.transport.read(left)):
                if isinstance(item, LinkError):
                    self.stats["dropped"] += 1
                elif item.seq != seq:
                    self.stats["stale"] += 1
                else:
                    return item
        return None


class FaultyTransport:
    """``inner`` with byte flips and drops at ``flip`` / ``drop`` per byte, and a
    burst of ``burst_len`` damaged bytes at ``burst`` per byte, both ways."""

    def __init__(
        self,
        inner: Transport,
        rng: np.random.Generator,
        flip: float = 1e-3,
        drop: float = 1e-3,
        burst: float = 0.0,
        burst_len: int = 8,
    ) -> None:
        for name, v in (("flip", flip), ("drop", drop), ("burst", burst)):
            if not 0.0 <= v < 1.0:
                raise ValueError(f"{name} must be in [0, 1) (got {v!r})")
        self.inner, self.rng = inner, rng
        self.flip, self.drop, self.burst, self.burst_len = flip, drop, burst, burst_len
        self.damaged = 0

    def _damage(self, data: bytes) -> bytes:
        out = bytearray()
        hurt = 0
        for b in data:
            r = self.rng.random()
            if hurt or r < self.burst:
                hurt = hurt - 1 if hurt else self.burst_len - 1
                out.append(int(self.rng.integers(256)))
                self.damaged += 1
            elif r < self.burst + self.drop:
                self.damaged += 1
            elif r < self.burst + self.drop + self.flip:
                out.append(b ^ int(self.rng.integers(1, 256)))
                self.damaged += 1
            else:
                out.append(b)
        return bytes(out)

    def now(self) -> float:
        return getattr(self.inner, "now", time.monotonic)()

    def write(self, data: bytes) -> None:
        self.inner.write(self._damage(data))

    def read(self, timeout_s: float) -> bytes:
        return self._damage(self.inner.read(timeout_s))
