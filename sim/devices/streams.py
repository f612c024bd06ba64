"""Counter-based random streams: draws that depend on (key, address, counter) only.

A vectorised golden model runs many agents in one numpy call, while an RTL
co-simulation serves the same agent's device operations one at a time. For the
two to agree bit for bit, a device's random draws must not depend on how
operations were grouped into calls or on which other agents share the array.
Here every draw is a pure function of the device's key (derived from its
agent's seed), its address and a per-device counter (how many pulses or reads
it has had), mixed with SplitMix64. The keys themselves are drawn from a numpy
Generator seeded with the agent's seed, so seeding stays explicit.
"""

from __future__ import annotations

import numpy as np

__all__ = ["agent_key", "uniform", "normal"]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_LANE = np.uint64(0xD6E8FEB86659FD93)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)


def agent_key(seed: int) -> np.uint64:
    """The stream key of one agent, drawn from a Generator seeded with ``seed``."""
    return np.uint64(np.random.default_rng(seed).integers(0, 2**63, dtype=np.int64))


def _mix(z: np.ndarray) -> np.ndarray:
    # uint64 array arithmetic wraps modulo 2**64 silently, as SplitMix64 needs.
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


def _hash(key: np.ndarray, addr: np.ndarray, counter: np.ndarray, lane: int) -> np.ndarray:
    key = np.asarray(key, dtype=np.uint64).reshape(-1)
    addr = np.asarray(addr).astype(np.uint64).reshape(-1)
    counter = np.asarray(counter).astype(np.uint64).reshape(-1)
    x = _mix(key + _GOLDEN * (addr + np.uint64(1)))
    lane_word = np.uint64((lane * int(_LANE)) % 2**64)
    return _mix(x ^ (counter * _GOLDEN + lane_word))


def uniform(key: np.ndarray, addr: np.ndarray, counter: np.ndarray, lane: int = 0) -> np.ndarray:
    """Uniform in (0, 1), 53 bits, one per element."""
    shape = np.broadcast_shapes(np.shape(key), np.shape(addr), np.shape(counter))
    h = _hash(*np.broadcast_arrays(key, addr, counter), lane)
    return (((h >> _S11).astype(np.float64) + 0.5) * 2.0**-53).reshape(shape)


def normal(key: np.ndarray, addr: np.ndarray, counter: np.ndarray, lane: int = 0) -> np.ndarray:
    """Standard normal (Box-Muller on two lanes), one per element."""
    u1 = uniform(key, addr, counter, 2 * lane + 100)
    u2 = uniform(key, addr, counter, 2 * lane + 101)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)
