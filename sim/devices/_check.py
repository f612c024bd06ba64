"""Parameter validation shared by the device models.

Every check raises ``ValueError`` naming the parameter and its allowed range, so
a bad configuration fails where it is made, not deep inside a simulation.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["check_finite", "check_range", "check_int_range", "check_shape", "per_device"]


def check_finite(name: str, value: object) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (got {_show(value)})")
    return arr


def check_range(
    name: str,
    value: object,
    lo: float = -math.inf,
    hi: float = math.inf,
    *,
    lo_open: bool = False,
    unit: str = "",
) -> np.ndarray:
    """Check that every element of ``value`` is finite and within [lo, hi] (or (lo, hi])."""
    arr = np.asarray(value, dtype=np.float64)
    bad = ~np.isfinite(arr)
    bad |= (arr <= lo) if lo_open else (arr < lo)
    bad |= arr > hi
    if np.any(bad):
        left = "(" if lo_open else "["
        rng = f"{left}{_fmt(lo)}, {_fmt(hi)}]{(' ' + unit) if unit else ''}"
        first = arr[bad].flat[0] if arr.ndim else arr
        raise ValueError(f"{name} must be within {rng} (got {_show(first)})")
    return arr


def check_int_range(name: str, value: object, lo: int, hi: int) -> np.ndarray:
    """Check integer codes: an integer dtype (or integral floats) within [lo, hi]."""
    arr = np.asarray(value)
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
            raise ValueError(f"{name} must be integer codes in [{lo}, {hi}] (got {_show(value)})")
        arr = arr.astype(np.int64)
    elif arr.dtype.kind not in "iub":
        raise ValueError(f"{name} must be integer codes in [{lo}, {hi}] (got dtype {arr.dtype})")
    if arr.size and (arr.min() < lo or arr.max() > hi):
        bad = arr[(arr < lo) | (arr > hi)].flat[0]
        raise ValueError(f"{name} must be integer codes in [{lo}, {hi}] (got {int(bad)})")
    return arr.astype(np.int64, copy=False)


def check_shape(name: str, value: np.ndarray, shape: tuple[int, ...]) -> None:
    if tuple(value.shape) != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)} (got {tuple(value.shape)})")


def per_device(name: str, values: np.ndarray, n: int) -> np.ndarray:
    """A scalar broadcast to ``n`` devices, or exactly one value per device (flattened)."""
    if values.ndim == 0:
        return np.full(n, values.item())
    if values.size != n:
        raise ValueError(f"{name} must be a scalar or have shape ({n},) (got {values.shape})")
    return values.reshape(-1)


def _fmt(x: float) -> str:
    if x == math.inf:
        return "inf"
    if x == -math.inf:
        return "-inf"
    return f"{x:g}"


def _show(value: object) -> str:
    if isinstance(value, np.generic) or (isinstance(value, np.ndarray) and value.ndim == 0):
        value = value.item()
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
