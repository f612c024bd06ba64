"""The host side of the link's framing: COBS, the CRC and frames (memrl.rtl.link.protocol).

:func:`encode_frame` turns a :class:`Frame` into wire bytes; a
:class:`FrameReader` takes wire bytes as they come (any chunking) and yields
frames, or :class:`LinkError` for what it had to drop, resynchronising at
every 0x00. The CRC is :data:`memrl.rtl.link.protocol.CRC`, the same definition the
firmware builds its CRC unit from.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from memrl.rtl.link.protocol import CRC, CRC_BYTES, HEADER_BYTES, MAX_PAYLOAD, VERSION

__all__ = ["Frame", "LinkError", "FrameReader", "cobs_encode", "cobs_decode", "crc16",
           "encode_frame", "decode_frame"]  # fmt: skip

_CRC8 = CRC(8)


def crc16(data: bytes) -> int:
    """CRC-16/IBM-3740 of ``data`` (the firmware's ``amaranth.lib.crc`` definition)."""
    return _CRC8.compute(data)


def cobs_encode(data: bytes) -> bytes:
    """COBS: ``data`` without 0x00 bytes (one code byte per run of up to 254 bytes)."""
    out = bytearray()
    block = bytearray()
    for b in data:
        if b == 0:
            out.append(len(block) + 1)
            out += block
            block.clear()
        else:
            block.append(b)
            if len(block) == 254:
                out.append(255)
                out += block
                block.clear()
    out.append(len(block) + 1)
    out += block
    return bytes(out)


class LinkError(ValueError):
    """A frame that had to be dropped: bad COBS, a short frame, a CRC mismatch."""


def cobs_decode(data: bytes) -> bytes:
    """The inverse of :func:`cobs_encode`; :class:`LinkError` on a malformed block."""
    out = bytearray()
    i, n = 0, len(data)
    while i < n:
        code = data[i]
        if code == 0:
            raise LinkError(f"COBS: a 0x00 inside a frame at byte {i}")
        end = i + code
        if end > n:
            raise LinkError(f"COBS: the block at byte {i} runs {end - n} bytes past the end")
        block = data[i + 1 : end]
        if 0 in block:
            raise LinkError(f"COBS: a 0x00 inside the block at byte {i}")
        out += block
        i = end
        if code != 255 and i < n:
            out.append(0)
    return bytes(out)


@dataclass(frozen=True)
class Frame:
    """One frame: ``type`` (a Cmd, ``Cmd | REPLY`` or ERROR), ``seq`` and ``payload``."""

    type: int
    seq: int
    payload: bytes = b""
    version: int = VERSION

    def __post_init__(self) -> None:
        for name, v, hi in (("type", self.type, 255), ("seq", self.seq, 255),
                            ("version", self.version, 255)):  # fmt: skip
            if not isinstance(v, int) or not 0 <= v <= hi:
                raise ValueError(f"frame {name} must be an integer in [0, {hi}] (got {v!r})")
        if len(self.payload) > MAX_PAYLOAD:
            raise ValueError(f"payload of {len(self.payload)} bytes exceeds {MAX_PAYLOAD}")

    def raw(self) -> bytes:
        """Header, payload and CRC: the frame before COBS."""
        n = len(self.payload)
        body = bytes([self.version, self.type, self.seq, n & 0xFF, n >> 8]) + bytes(self.payload)
        return body + crc16(body).to_bytes(CRC_BYTES, "big")


def encode_frame(frame: Frame) -> bytes:
    """The wire bytes of ``frame``: COBS of :meth:`Frame.raw` and a 0x00."""
    return cobs_encode(frame.raw()) + b"\x00"


def decode_frame(raw: bytes) -> Frame:
    """A frame from its bytes before COBS; :class:`LinkError` if they do not form one."""
    if len(raw) < HEADER_BYTES + CRC_BYTES:
        raise LinkError(f"frame of {len(raw)} bytes is shorter than a header and a CRC")
    if crc16(raw) != 0:
        raise LinkError("CRC mismatch")
    n = raw[3] | raw[4] << 8
    if len(raw) != HEADER_BYTES + n + CRC_BYTES:
        raise LinkError(f"length field says {n} payload bytes, the frame holds "
                        f"{len(raw) - HEADER_BYTES - CRC_BYTES}")  # fmt: skip
    return Frame(raw[1], raw[2], raw[HEADER_BYTES : HEADER_BYTES + n], raw[0])


class FrameReader:
    """Wire bytes in, frames (or the LinkError of each dropped frame) out."""

    def __init__(self, max_bytes: int = 2 * (HEADER_BYTES + MAX_PAYLOAD + CRC_BYTES)) -> None:
        self._buf = bytearray()
        self._max = max_bytes
        self._overflow = False

    def feed(self, data: bytes) -> Iterator[Frame | LinkError]:
        for b in data:
            if b != 0:
                if len(self._buf) < self._max:
                    self._buf.append(b)
                else:
                    self._overflow = True
                continue
            buf, over = bytes(self._buf), self._overflow
            self._buf.clear()
            self._overflow = False
            if not buf:
                continue  # back-to-back delimiters: an empty frame is a resync
            if over:
                yield LinkError(f"frame longer than {self._max} bytes")
                continue
            try:
                yield decode_frame(cobs_decode(buf))
            except LinkError as exc:
                yield exc
