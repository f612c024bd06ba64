"""Testbench pieces for ``amaranth.sim``: streams and UART lines.

* :func:`put`: offer payloads on a :mod:`lib.stream <amaranth.lib.stream>` input,
  each until it is taken.
* :func:`uart_levels`, :func:`uart_decode`: a UART line (8N1) as one level per
  clock cycle, and back to bytes.
* :func:`uart_write`, :func:`uart_read_byte`: the same in a running testbench,
  on a pin.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["put", "uart_bits", "uart_levels", "uart_decode", "uart_write", "uart_read_byte"]


async def put(ctx, stream, payloads: Iterable) -> None:  # noqa: ANN001 - amaranth.sim objects
    """Offer each payload on ``stream`` until it is taken; then drop ``valid``."""
    for payload in payloads:
        ctx.set(stream.payload, payload)
        ctx.set(stream.valid, 1)
        await ctx.tick().until(stream.ready)
    ctx.set(stream.valid, 0)


def uart_bits(byte: int) -> list[int]:
    """Start bit, eight data bits (least significant first), stop bit."""
    return [0, *((byte >> i) & 1 for i in range(8)), 1]


def uart_levels(data: bytes, divisor: int) -> list[int]:
    """The line carrying ``data``, one level per clock cycle."""
    return [bit for byte in data for bit in uart_bits(byte) for _ in range(divisor)]


def uart_decode(levels: list[int], divisor: int) -> bytes:
    """The bytes on a line given one level per clock cycle (sampled mid-bit)."""
    out, i = bytearray(), 0
    while i < len(levels):
        if levels[i] == 0:
            out.append(sum(levels[i + divisor // 2 + divisor * (k + 1)] << k for k in range(8)))
            i += 10 * divisor - divisor // 2
        else:
            i += 1
    return bytes(out)


async def _ticks(ctx, n: int) -> None:  # noqa: ANN001
    for _ in range(n):
        await ctx.tick()


async def uart_write(ctx, pin, data: bytes, divisor: int) -> None:  # noqa: ANN001
    """Drive ``data`` on ``pin``, ``divisor`` cycles per bit."""
    for byte in data:
        for bit in uart_bits(byte):
            ctx.set(pin, bit)
            await _ticks(ctx, divisor)


async def uart_read_byte(ctx, pin, divisor: int) -> int:  # noqa: ANN001
    """The next byte on ``pin``: wait for a start bit, sample each bit mid-bit."""
    await ctx.negedge(pin)
    await _ticks(ctx, divisor // 2)
    byte = 0
    for i in range(8):
        await _ticks(ctx, divisor)
        byte |= ctx.get(pin) << i
    await _ticks(ctx, divisor)  # the stop bit
    return byte
