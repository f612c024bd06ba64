"""Device-model benchmarks: programming and VMM throughput of whole arrays."""

from __future__ import annotations

import numpy as np

from memrl.host.bench.registry import bench, seeded
from memrl.sim.devices import OneT1RArray, OneT1RParams, SiOxArray

ROWS, COLS = 128, 64  # the paper's array


@bench("onet1r_set_array", "device updates")
def _set_array():
    """SET every device of a 128x64 1T1R array at random gate voltages."""
    arr = OneT1RArray(ROWS, COLS, OneT1RParams(), rng=seeded(1))
    vg = seeded(2).uniform(0.6, 1.5, arr.size)
    return (lambda: arr.set(None, vg)), arr.size


@bench("onet1r_reset_set_array", "device updates")
def _reset_set_array():
    """RESET then SET every device of a 128x64 1T1R array (the paper's decrease step)."""
    arr = OneT1RArray(ROWS, COLS, OneT1RParams(), rng=seeded(3))
    vg = seeded(4).uniform(0.6, 1.5, arr.size)

    def work() -> None:
        arr.reset(None)
        arr.set(None, vg)

    return work, arr.size


@bench("onet1r_vmm", "VMMs")
def _vmm():
    """One 128-row x 64-column VMM with read noise (one input vector per call)."""
    arr = OneT1RArray(ROWS, COLS, OneT1RParams(), rng=seeded(5))
    v = seeded(6).uniform(-0.2, 0.2, ROWS)
    return (lambda: arr.vmm(v)), 1


@bench("onet1r_vmm_batch80", "VMMs")
def _vmm_batch():
    """128x64 VMMs in a batch of 80 input vectors (the paper's replay batch)."""
    arr = OneT1RArray(ROWS, COLS, OneT1RParams(), rng=seeded(7))
    v = seeded(8).uniform(-0.2, 0.2, (80, ROWS))
    return (lambda: arr.vmm(v)), 80


@bench("siox_set_read", "device updates")
def _siox():
    """SET then READ 8192 SiOx devices at random compliance currents."""
    arr = SiOxArray(8192, rng=seeded(9))
    ic = seeded(10).uniform(50, 170, arr.n)

    def work() -> np.ndarray:
        arr.set(None, ic)
        return arr.read_us()

    return work, arr.n
