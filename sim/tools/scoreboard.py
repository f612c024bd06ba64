"""Compare two transaction streams: what a core did against what was expected.

The expected stream is handed in (a golden model's log, for instance); this
module never builds it, so ``memrl.sim`` stays free of golden models.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["Mismatch", "first_mismatch", "check_streams"]


class Mismatch(AssertionError):
    """Two streams differ; the message names the stream, the index and both items."""


def first_mismatch(got: Sequence, want: Sequence) -> int | None:
    """Index of the first differing item (or of the shorter stream's end), None if equal.

    Two numpy arrays are compared row by row (along the first axis) in numpy."""
    if isinstance(got, np.ndarray) and isinstance(want, np.ndarray):
        n = min(len(got), len(want))
        g, w = got[:n].reshape(n, -1), want[:n].reshape(n, -1)
        if g.shape != w.shape:
            return 0
        diff = np.flatnonzero((g != w).any(axis=1))
        if diff.size:
            return int(diff[0])
        return None if len(got) == len(want) else n

    def norm(x):  # noqa: ANN001, ANN202 - JSON turns tuples into lists
        return tuple(x) if isinstance(x, (list, tuple)) else x

    for i, (g, w) in enumerate(zip(got, want, strict=False)):
        if norm(g) != norm(w):
            return i
    return None if len(got) == len(want) else min(len(got), len(want))


def check_streams(name: str, got: Sequence, want: Sequence, context: int = 2) -> None:
    """Raise :class:`Mismatch` at the first difference, with ``context`` items before it."""
    i = first_mismatch(got, want)
    if i is None:
        return
    lo = max(0, i - context)
    lines = [f"{name}: first difference at item {i} (got {len(got)} items, expected {len(want)})"]
    for j in range(lo, i + 1):
        g = _item(got, j)
        w = _item(want, j)
        mark = ">" if j == i else " "
        lines.append(f"{mark} {j}: got {g!r}, expected {w!r}")
    raise Mismatch("\n".join(lines))


def _item(stream: Sequence, j: int) -> object:
    if j >= len(stream):
        return "<end>"
    x = stream[j]
    return tuple(x.tolist()) if isinstance(x, np.ndarray) else x
