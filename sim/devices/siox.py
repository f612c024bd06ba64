"""SiOx RRAM after Bianchi et al., Nature Communications 14, 1565 (2023).

A one-transistor-one-resistor SiOx cell programmed with a compliance current
``ic_ua`` on SET and a stop voltage ``v_stop`` on RESET. The model draws a fresh
state on every programming pulse:

* SET: a low-resistance state whose mean follows the measured table of LRS
  against compliance current (means of 26 runs, 50-170 uA), interpolated
  linearly in Ic, with a standard deviation that shrinks from 1.37 kOhm at
  50 uA to 0.06 kOhm at 170 uA (log-linear between the two measured ends).
* RESET: a high-resistance state whose mean rises linearly from ~112 kOhm at
  -1.0 V to ~374 kOhm at -1.6 V, with a standard deviation from ~40 to
  ~110 kOhm over the same range.
* Both are lognormal with the measured mean and standard deviation, so a
  resistance is always positive.
* Initial state as in the authors' behavioural model: LRS with probability 0.9,
  log-uniform in [0.9, 1.1] x 10 kOhm, else log-uniform in [0.6, 1.3] x 300 kOhm.
* Reads at ``v_read`` with multiplicative read noise.

All in the project's reference facts, section B ("SiOx RRAM device"). Resistances
in kilo-ohms (``_kohm``), conductances in microsiemens (``_us``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
from numba import njit

from memrl.sim.devices import streams
from memrl.sim.devices._check import check_int_range, check_range, per_device
from memrl.sim.devices.ledger import PulseLedger
from memrl.sim.devices.onet1r import as_generator

__all__ = [
    "SiOxParams",
    "SiOxArray",
    "LRS_TABLE_IC_UA",
    "LRS_TABLE_KOHM",
    "lognormal",
    "lognormal1",
    "occurrence",
    "PROGRAM_LANE",
    "READ_LANE",
]

# Normal streams of a batch array's draws (memrl.sim.devices.streams).
PROGRAM_LANE, READ_LANE = 1, 2

# Bianchi et al. 2023 source data: LRS against compliance current, means of 26 runs.
LRS_TABLE_IC_UA = (50.0, 62.0, 74.0, 86.0, 98.0, 110.0, 122.0, 134.0, 146.0, 158.0, 170.0)
LRS_TABLE_KOHM = (12.1, 10.8, 9.8, 8.3, 7.6, 7.0, 6.8, 6.5, 6.15, 6.0, 5.74)


@dataclass(frozen=True)
class SiOxParams:
    lrs_table_ic_ua: tuple[float, ...] = LRS_TABLE_IC_UA
    lrs_table_kohm: tuple[float, ...] = LRS_TABLE_KOHM
    lrs_sigma_at_min_ic_kohm: float = 1.37  # measured, at 50 uA
    lrs_sigma_at_max_ic_kohm: float = 0.06  # measured, at 170 uA
    v_stop_min: float = -1.6  # V, deepest reset (measured range)
    v_stop_max: float = -1.0  # V, shallowest reset
    hrs_mean_at_shallow_kohm: float = 112.0  # at -1.0 V (measured, approximate)
    hrs_mean_at_deep_kohm: float = 374.0  # at -1.6 V
    hrs_sigma_at_shallow_kohm: float = 40.0
    hrs_sigma_at_deep_kohm: float = 110.0
    p_init_lrs: float = 0.9  # behavioural model's initial state
    init_lrs_kohm: float = 10.0
    init_lrs_span: tuple[float, float] = (0.9, 1.1)
    init_hrs_kohm: float = 300.0
    init_hrs_span: tuple[float, float] = (0.6, 1.3)
    v_read: float = 0.1  # V, inferred: a non-disturbing read below the set threshold
    read_noise_frac: float = 0.01  # inferred

    def __post_init__(self) -> None:
        ic = np.asarray(self.lrs_table_ic_ua, dtype=np.float64)
        r = np.asarray(self.lrs_table_kohm, dtype=np.float64)
        if ic.ndim != 1 or ic.shape != r.shape or ic.size < 2:
            raise ValueError(
                "lrs_table_ic_ua and lrs_table_kohm must be 1-D of equal length >= 2 "
                f"(got {ic.shape} and {r.shape})"
            )
        check_range("lrs_table_ic_ua", ic, 0.0, 1e4, lo_open=True, unit="uA")
        if np.any(np.diff(ic) <= 0):
            raise ValueError("lrs_table_ic_ua must be strictly increasing")
        check_range("lrs_table_kohm", r, 0.0, lo_open=True, unit="kOhm")
        for name in ("lrs_sigma_at_min_ic_kohm", "lrs_sigma_at_max_ic_kohm"):
            check_range(name, getattr(self, name), 0.0, lo_open=True, unit="kOhm")
        check_range("v_stop_min", self.v_stop_min, -5.0, 0.0, unit="V")
        check_range("v_stop_max", self.v_stop_max, self.v_stop_min, 0.0, lo_open=True, unit="V")
        for name in (
            "hrs_mean_at_shallow_kohm",
            "hrs_mean_at_deep_kohm",
            "hrs_sigma_at_shallow_kohm",
            "hrs_sigma_at_deep_kohm",
            "init_lrs_kohm",
            "init_hrs_kohm",
        ):
            check_range(name, getattr(self, name), 0.0, lo_open=True, unit="kOhm")
        check_range("p_init_lrs", self.p_init_lrs, 0.0, 1.0)
        for name in ("init_lrs_span", "init_hrs_span"):
            lo, hi = getattr(self, name)
            check_range(f"{name}[0]", lo, 0.0, lo_open=True)
            check_range(f"{name}[1]", hi, lo)
        check_range("v_read", self.v_read, 0.0, 0.5, lo_open=True, unit="V")
        check_range("read_noise_frac", self.read_noise_frac, 0.0, 1.0)

    @classmethod
    def ideal(cls, **overrides: object) -> SiOxParams:
        """Programming lands on the mean, reads are exact: for directed tests."""
        base = cls(
            lrs_sigma_at_min_ic_kohm=1e-12,
            lrs_sigma_at_max_ic_kohm=1e-12,
            hrs_sigma_at_shallow_kohm=1e-12,
            hrs_sigma_at_deep_kohm=1e-12,
            read_noise_frac=0.0,
        )
        return replace(base, **overrides)  # type: ignore[arg-type]

    @property
    def ic_min_ua(self) -> float:
        return float(self.lrs_table_ic_ua[0])

    @property
    def ic_max_ua(self) -> float:
        return float(self.lrs_table_ic_ua[-1])

    def lrs_mean_kohm(self, ic_ua: object) -> np.ndarray:
        ic = check_range("ic_ua", ic_ua, self.ic_min_ua, self.ic_max_ua, unit="uA")
        return np.interp(ic, self.lrs_table_ic_ua, self.lrs_table_kohm)

    def lrs_sigma_kohm(self, ic_ua: object) -> np.ndarray:
        ic = check_range("ic_ua", ic_ua, self.ic_min_ua, self.ic_max_ua, unit="uA")
        frac = (ic - self.ic_min_ua) / (self.ic_max_ua - self.ic_min_ua)
        lo, hi = np.log(self.lrs_sigma_at_min_ic_kohm), np.log(self.lrs_sigma_at_max_ic_kohm)
        return np.exp(lo + frac * (hi - lo))

    def _depth(self, v_stop: object) -> np.ndarray:
        v = check_range("v_stop", v_stop, self.v_stop_min, self.v_stop_max, unit="V")
        return (self.v_stop_max - v) / (self.v_stop_max - self.v_stop_min)

    def hrs_mean_kohm(self, v_stop: object) -> np.ndarray:
        d = self._depth(v_stop)
        return self.hrs_mean_at_shallow_kohm + d * (
            self.hrs_mean_at_deep_kohm - self.hrs_mean_at_shallow_kohm
        )

    def hrs_sigma_kohm(self, v_stop: object) -> np.ndarray:
        d = self._depth(v_stop)
        return self.hrs_sigma_at_shallow_kohm + d * (
            self.hrs_sigma_at_deep_kohm - self.hrs_sigma_at_shallow_kohm
        )


@njit(cache=True)
def lognormal1(mean, sigma, z):  # noqa: ANN001, ANN201
    """One lognormal value with arithmetic mean ``mean`` and standard deviation
    ``sigma`` from the standard normal draw ``z`` (compiled: the one definition
    that array code and compiled kernels share)."""
    q = sigma / mean
    s2 = math.log1p(q * q)
    mu = math.log(mean) - 0.5 * s2
    return math.exp(mu + math.sqrt(s2) * z)


@njit(cache=True)
def _lognormal_many(mean, sigma, z, out):  # noqa: ANN001, ANN202
    for i in range(out.size):
        out[i] = lognormal1(mean[i], sigma[i], z[i])


def lognormal(mean: object, sigma: object, z: object) -> np.ndarray:
    """Lognormal values with the given arithmetic mean and standard deviation, from
    standard normal draws ``z``."""
    shape = np.broadcast_shapes(np.shape(mean), np.shape(sigma), np.shape(z))
    m, s, zz = (
        np.ascontiguousarray(np.broadcast_to(np.asarray(x, dtype=np.float64), shape).reshape(-1))
        for x in (mean, sigma, z)
    )
    out = np.empty(m.size, dtype=np.float64)
    _lognormal_many(m, s, zz, out)
    return out.reshape(shape)


def occurrence(flat: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """For each element, how many earlier elements of ``flat`` name the same device,
    and whether it is that device's last mention (None when every element is
    distinct). A device named twice in one call is operated twice, in order: its
    second draw uses the next counter value and its last operation decides its state."""
    n = flat.size
    if n < 2:
        return None
    order = np.argsort(flat, kind="stable")
    s = flat[order]
    new = np.empty(n, dtype=bool)
    new[0] = True
    np.not_equal(s[1:], s[:-1], out=new[1:])
    if new.all():
        return None
    pos = np.arange(n)
    rank, last = np.empty(n, dtype=np.int64), np.empty(n, dtype=bool)
    rank[order] = pos - np.maximum.accumulate(np.where(new, pos, 0))
    last[order] = np.append(new[1:], True)
    return rank, last


@dataclass
class SiOxArray:
    """``n`` SiOx devices addressed by flat index.

    ``rng`` (a Generator or a seed) draws every random value in call order. For
    a batch of independent agents use :meth:`batch` instead: each agent's
    devices then draw from counter-based streams keyed by its own seed, so an
    agent's results do not depend on the batch it runs in, nor on how its
    operations are grouped into calls.
    """

    n: int
    params: SiOxParams = field(default_factory=SiOxParams)
    rng: np.random.Generator | int = 0

    def __post_init__(self) -> None:
        check_int_range("n", self.n, 1, 1 << 30)
        if not isinstance(self.params, SiOxParams):
            raise ValueError(f"params must be SiOxParams (got {type(self.params).__name__})")
        self.rng = as_generator(self.rng)
        self._keys: np.ndarray | None = None
        self._init_state()

    @classmethod
    def batch(cls, seeds: object, n_per_agent: int, params: SiOxParams | None = None) -> SiOxArray:
        """``len(seeds) * n_per_agent`` devices; agent k owns addresses
        ``k * n_per_agent ...`` and draws from streams keyed by ``seeds[k]``."""
        seeds = [int(s) for s in np.atleast_1d(np.asarray(seeds))]
        check_int_range("n_per_agent", n_per_agent, 1, 1 << 30)
        self = cls.__new__(cls)
        self.n, self.params, self.rng = len(seeds) * n_per_agent, params or SiOxParams(), None
        check_int_range("n", self.n, 1, 1 << 30)
        keys = np.array([streams.agent_key(s) for s in seeds], dtype=np.uint64)
        self.agent_keys, self.n_per_agent = keys, n_per_agent
        self._keys = np.repeat(keys, n_per_agent)
        self._local = np.tile(np.arange(n_per_agent, dtype=np.uint64), len(seeds))
        self._init_state()
        return self

    def _init_state(self) -> None:
        p = self.params
        self.ledger = PulseLedger((self.n,))
        self.read_count = np.zeros(self.n, dtype=np.int64)
        everyone = np.arange(self.n)
        lrs = self._uniform(everyone, lane=1) < p.p_init_lrs
        span = np.where(lrs[:, None], p.init_lrs_span, p.init_hrs_span)
        nominal = np.where(lrs, p.init_lrs_kohm, p.init_hrs_kohm)
        lo, hi = span[:, 0] * nominal, span[:, 1] * nominal
        u = self._uniform(everyone, lane=2)
        self.r_kohm = np.exp(np.log(lo) + u * (np.log(hi) - np.log(lo)))

    # -- random draws: call order (Generator) or counter-based (batch) ------
    def _uniform(self, flat: np.ndarray, lane: int) -> np.ndarray:
        if self._keys is None:
            return self.rng.random(flat.shape)
        zero = np.zeros(flat.shape, dtype=np.int64)
        return streams.uniform(self._keys[flat], self._local[flat], zero, lane)

    def _program_normal(self, flat: np.ndarray, rank: np.ndarray | None) -> np.ndarray:
        """One normal per programmed device, keyed by its pulse count so far."""
        if self._keys is None:
            return self.rng.standard_normal(flat.shape)
        count = self.ledger.set_count[flat] + self.ledger.reset_count[flat]
        if rank is not None:
            count = count + rank
        return streams.normal(self._keys[flat], self._local[flat], count, PROGRAM_LANE)

    def _read_normal(self, flat: np.ndarray) -> np.ndarray:
        if self._keys is None:
            return self.rng.standard_normal(flat.shape)
        count = self.read_count[flat]
        dup = occurrence(flat)
        if dup is not None:
            count = count + dup[0]
        z = streams.normal(self._keys[flat], self._local[flat], count, READ_LANE)
        np.add.at(self.read_count, flat, 1)
        return z

    def _flat(self, idx: object | None) -> np.ndarray:
        if idx is None:
            return np.arange(self.n)
        return check_int_range("idx", np.asarray(idx).reshape(-1), 0, self.n - 1)

    def set(self, idx: object | None, ic_ua: object) -> None:
        """One SET per listed device with compliance ``ic_ua`` (scalar or per device)."""
        flat = self._flat(idx)
        ic = per_device("ic_ua", np.asarray(ic_ua, dtype=np.float64), flat.size)
        self._redraw(flat, self.params.lrs_mean_kohm(ic), self.params.lrs_sigma_kohm(ic))
        self.ledger.add_set(flat)

    def reset(self, idx: object | None, v_stop: object) -> None:
        """One RESET per listed device with stop voltage ``v_stop`` (scalar or per device)."""
        flat = self._flat(idx)
        vs = per_device("v_stop", np.asarray(v_stop, dtype=np.float64), flat.size)
        self._redraw(flat, self.params.hrs_mean_kohm(vs), self.params.hrs_sigma_kohm(vs))
        self.ledger.add_reset(flat)

    def _redraw(self, flat: np.ndarray, mean: np.ndarray, sigma: np.ndarray) -> None:
        # Draw before the ledger counts this pulse: the counter is the pulse's index.
        # A device pulsed twice in one call ends in the state of its last pulse.
        dup = occurrence(flat) if self._keys is not None else None
        r = lognormal(mean, sigma, self._program_normal(flat, None if dup is None else dup[0]))
        if dup is None:
            self.r_kohm[flat] = r
        else:
            self.r_kohm[flat[dup[1]]] = r[dup[1]]

    def conductance_us(self) -> np.ndarray:
        """True conductances (no read noise)."""
        return 1e3 / self.r_kohm

    def read_us(self, idx: object | None = None) -> np.ndarray:
        """Conductances as read at ``v_read``, with read noise, in the order of ``idx``."""
        flat = self._flat(idx)
        g = 1e3 / self.r_kohm[flat]
        if self.params.read_noise_frac:
            g = g * (1.0 + self.params.read_noise_frac * self._read_normal(flat))
        return np.maximum(g, 0.0)
