"""Small arithmetic helpers on Amaranth values."""

from __future__ import annotations

from amaranth import Const, Mux, Value

__all__ = ["clamp", "lowest_one", "onehot_index"]


def clamp(value, lo: int, hi: int):  # noqa: ANN001, ANN201 - Amaranth values
    """``value`` limited to [lo, hi]."""
    return Mux(value < lo, lo, Mux(value > hi, hi, value))


def lowest_one(bits: Value) -> Value:
    """The lowest set bit of ``bits``, one-hot (zero when none is set)."""
    return (bits & (~bits + 1))[: len(bits)]


def onehot_index(hot: Value, n: int, width: int) -> Value:
    """The index of the set bit of one-hot ``hot`` (its low ``n`` bits): an OR of
    constants, zero when none is set."""
    out = Const(0, width)
    for i in range(n):
        out = out | Mux(hot[i], Const(i, width), 0)
    return out
