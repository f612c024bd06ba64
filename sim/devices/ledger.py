"""Per-device pulse ledger: how often each device was SET and RESET.

The ledger is what endurance and write-energy figures are computed from. It is
an integer count per device, kept by the array models on every programming
operation, including pulses sent to stuck or worn-out devices (the pulse is
still spent even if the device does not respond).
"""

from __future__ import annotations

import numpy as np

__all__ = ["PulseLedger"]


class PulseLedger:
    def __init__(self, shape: tuple[int, ...]) -> None:
        self.set_count = np.zeros(shape, dtype=np.int64)
        self.reset_count = np.zeros(shape, dtype=np.int64)

    @property
    def total(self) -> np.ndarray:
        """SET plus RESET pulses per device."""
        return self.set_count + self.reset_count

    @property
    def n_set(self) -> int:
        return int(self.set_count.sum())

    @property
    def n_reset(self) -> int:
        return int(self.reset_count.sum())

    def add_set(self, flat_idx: np.ndarray) -> None:
        np.add.at(self.set_count.reshape(-1), flat_idx, 1)

    def add_reset(self, flat_idx: np.ndarray) -> None:
        np.add.at(self.reset_count.reshape(-1), flat_idx, 1)

    def clear(self) -> None:
        self.set_count[...] = 0
        self.reset_count[...] = 0
