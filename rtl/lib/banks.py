"""Interleaved memory banks: ``lanes`` banks, item ``a`` in bank ``a mod lanes``
at word ``a // lanes``, so any ``lanes`` consecutive items are read in one
cycle, one from each bank. Both emulators keep their devices this way."""

from __future__ import annotations

from amaranth import Array, Const

__all__ = ["LANES", "check_lanes", "bank_of", "rotate_lanes"]

#: The lane counts a banked core takes.
LANES = (1, 2, 4, 8)


def check_lanes(lanes: int) -> int:
    """Refuse a lane count outside :data:`LANES`; ``log2(lanes)`` otherwise."""
    if lanes not in LANES:
        raise ValueError(f"lanes must be 1, 2, 4 or 8 (got {lanes!r})")
    return lanes.bit_length() - 1


def bank_of(addr, lanes: int):  # noqa: ANN001, ANN201 - Amaranth values
    """The bank of item ``addr`` (a constant 0 with one bank)."""
    lb = lanes.bit_length() - 1
    return addr[:lb] if lb else Const(0, 1)


def rotate_lanes(data, first, lanes: int, width: int = 8):  # noqa: ANN001, ANN201
    """The banks' read data ``data`` (bank ``b`` in bits ``b * width`` up) in lane
    order, for a row whose lane 0 is in bank ``first``: lane ``i`` is bank
    ``(first + i) mod lanes``."""
    if lanes == 1:
        return data
    return Array(data.rotate_right(width * k) for k in range(lanes))[first]
