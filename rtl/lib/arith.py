"""Small arithmetic helpers on Amaranth values."""

from __future__ import annotations

from amaranth import Mux

__all__ = ["clamp"]


def clamp(value, lo: int, hi: int):  # noqa: ANN001, ANN201 - Amaranth values
    """``value`` limited to [lo, hi]."""
    return Mux(value < lo, lo, Mux(value > hi, hi, value))
