"""Counter-based random streams: draws that depend on (key, address, counter) only.

A vectorised golden model runs many agents in one numpy call, while an RTL
co-simulation serves the same agent's device operations one at a time. For the
two to agree bit for bit, a device's random draws must not depend on how
operations were grouped into calls or on which other agents share the array.
Here every draw is a pure function of the device's key (derived from its
agent's seed), its address and a per-device counter (how many pulses or reads
it has had), mixed with SplitMix64. The keys themselves are drawn from a numpy
Generator seeded with the agent's seed, so seeding stays explicit.

The scalar draws (:func:`uniform1`, :func:`normal1`) are compiled with numba and
are the only definition: the array functions loop over them, and compiled
golden-model kernels call them directly, so every execution computes each draw
with the same instructions (no numpy-versus-libm last-bit differences in the
logarithm or cosine).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["agent_key", "uniform", "normal", "lane_word", "normal_lane", "uniform1", "normal1"]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_LANE = 0xD6E8FEB86659FD93
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_ONE = np.uint64(1)
_ATTEMPT = np.uint64(0x632BE59BD9B4E019)  # lane step between the uniforms of one draw


def agent_key(seed: int) -> np.uint64:
    """The stream key of one agent, drawn from a Generator seeded with ``seed``."""
    return np.uint64(np.random.default_rng(seed).integers(0, 2**63, dtype=np.int64))


def lane_word(lane: int) -> np.uint64:
    """The word that separates stream ``lane`` from the others."""
    return np.uint64((lane * _LANE) % 2**64)


def normal_lane(lane: int) -> np.uint64:
    """The lane word of normal stream ``lane`` (its uniforms step on from there)."""
    return lane_word(2 * lane + 100)


@njit(cache=True)
def _mix(z):  # noqa: ANN001, ANN202
    # uint64 arithmetic wraps modulo 2**64, as SplitMix64 needs.
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(cache=True)
def _site(key, addr):  # noqa: ANN001, ANN202
    # The part of the hash shared by every draw of one device.
    return _mix(key + _GOLDEN * (addr + _ONE))


@njit(cache=True)
def _bits(site, counter, lw):  # noqa: ANN001, ANN202
    return _mix(site ^ (counter * _GOLDEN + lw))


@njit(cache=True)
def _to_unit(h):  # noqa: ANN001, ANN202
    # The top 53 bits as a uniform in (0, 1).
    return (float(h >> _S11) + 0.5) * 2.0**-53


@njit(cache=True)
def _unit(site, counter, lw):  # noqa: ANN001, ANN202
    return _to_unit(_bits(site, counter, lw))


@njit(cache=True)
def uniform1(key, addr, counter, lw):  # noqa: ANN001, ANN201
    """Uniform in (0, 1), 53 bits: ``key``, ``addr``, ``counter`` and the lane word
    ``lw`` are uint64."""
    return _unit(_site(key, addr), counter, lw)


def _ziggurat(n: int = 128, r: float = 3.442619855899, v: float = 9.91256303526217e-3):  # noqa: ANN202
    """Layer edges x[0..n] and inner-box ratios x[i+1]/x[i] of the normal ziggurat
    (Marsaglia and Tsang 2000, in Doornik's 2005 formulation): n layers of area v,
    the bottom one including the tail beyond r."""
    x = [0.0] * (n + 1)
    f = math.exp(-0.5 * r * r)
    x[0], x[1] = v / f, r
    for i in range(2, n):
        x[i] = math.sqrt(-2.0 * math.log(v / x[i - 1] + f))
        f = math.exp(-0.5 * x[i] * x[i])
    ratio = [x[i + 1] / x[i] for i in range(n)]
    return np.array(x), np.array(ratio), r


_ZIG_X, _ZIG_RATIO, _ZIG_R = _ziggurat()
_LAYER_MASK = np.uint64(127)


@njit(cache=True)
def normal1(key, addr, counter, lw):  # noqa: ANN001, ANN201
    """Standard normal by the ziggurat method (exact in distribution; a logarithm
    or exponential only in the 2 % of draws outside the inner boxes). The m-th
    uniform of a draw comes from lane ``lw + m * STEP`` (``lw`` from
    :func:`normal_lane`); the first also gives the layer (its low bits)."""
    site = _site(key, addr)
    lane = lw
    while True:
        h = _bits(site, counter, lane)
        lane += _ATTEMPT
        u = 2.0 * _to_unit(h) - 1.0
        i = h & _LAYER_MASK
        if abs(u) < _ZIG_RATIO[i]:  # inside a layer's inner box: under the curve
            return u * _ZIG_X[i]
        if i == 0:  # bottom layer: the tail beyond R
            while True:
                a = math.log(_unit(site, counter, lane)) / _ZIG_R
                b = math.log(_unit(site, counter, lane + _ATTEMPT))
                lane += _ATTEMPT + _ATTEMPT
                if -2.0 * b >= a * a:
                    return a - _ZIG_R if u < 0.0 else _ZIG_R - a
        x = u * _ZIG_X[i]  # a wedge: accept under the curve
        f0 = math.exp(-0.5 * (_ZIG_X[i] * _ZIG_X[i] - x * x))
        f1 = math.exp(-0.5 * (_ZIG_X[i + 1] * _ZIG_X[i + 1] - x * x))
        w = _unit(site, counter, lane)
        lane += _ATTEMPT
        if f1 + w * (f0 - f1) < 1.0:
            return x


@njit(cache=True)
def _uniform_many(key, addr, counter, lw, out):  # noqa: ANN001, ANN202
    for i in range(out.size):
        out[i] = uniform1(key[i], addr[i], counter[i], lw)


@njit(cache=True)
def _normal_many(key, addr, counter, lw, out):  # noqa: ANN001, ANN202
    for i in range(out.size):
        out[i] = normal1(key[i], addr[i], counter[i], lw)


def _words(key: object, addr: object, counter: object) -> tuple[tuple[int, ...], list]:
    shape = np.broadcast_shapes(np.shape(key), np.shape(addr), np.shape(counter))
    arrays = [
        np.ascontiguousarray(np.broadcast_to(np.asarray(x), shape).astype(np.uint64).reshape(-1))
        for x in (key, addr, counter)
    ]
    return shape, arrays


def uniform(key: object, addr: object, counter: object, lane: int = 0) -> np.ndarray:
    """Uniform in (0, 1), 53 bits, one per element of the broadcast arguments."""
    shape, (k, a, c) = _words(key, addr, counter)
    out = np.empty(k.size, dtype=np.float64)
    _uniform_many(k, a, c, lane_word(lane), out)
    return out.reshape(shape)


def normal(key: object, addr: object, counter: object, lane: int = 0) -> np.ndarray:
    """Standard normal (ziggurat), one per element."""
    shape, (k, a, c) = _words(key, addr, counter)
    out = np.empty(k.size, dtype=np.float64)
    _normal_many(k, a, c, normal_lane(lane), out)
    return out.reshape(shape)
