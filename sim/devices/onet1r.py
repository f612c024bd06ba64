"""A 1T1R hafnium-oxide array after Wang et al., Nature Electronics 2, 115 (2019).

Each device is one transistor and one resistive switch. The transistor's gate
voltage ``v_gate`` sets the SET compliance, so a SET pulse programs a
conductance that rises linearly with ``v_gate``; a RESET pulse (1.7 V, gate at
5 V) brings the device back to a low conductance. Reads happen at 0.2 V.

Physics modelled, all vectorised over the whole array:

* SET characteristic ``g = g_set_ref + slope * (v_gate - vg_ref)`` with a
  per-device slope and offset (device-to-device spread, drawn once) and
  Gaussian cycle-to-cycle noise on every pulse. A SET pulse does not lower a
  device that already conducts more than the compliance allows: the new
  conductance is ``max(g_now, g_target)``. That is why the paper decreases a
  weight by a RESET followed by a SET at a lower gate voltage.
* RESET to ``g_reset`` plus cycle-to-cycle noise.
* Multiplicative read noise on every read and every VMM.
* Hard bounds ``[g_min, g_max]``.
* Stuck-at-SET (``g_max``) and stuck-at-RESET (``g_reset``) faults drawn at
  construction with the given rates; stuck devices ignore programming.
* A pulse ledger; with ``endurance_pulses`` set, a device whose pulse count
  exceeds it freezes at its present conductance (worn out).
* Optional power-law drift ``g(t) = g_prog * ((t - t_prog + t0) / t0) ** -nu``
  over a device clock that the caller advances (``advance(dt_s)``).

Conductances are in microsiemens (``_us``), voltages in volts, currents in
amperes. Every random draw comes from the Generator handed to the array.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from memrl.sim.devices._check import check_int_range, check_range, per_device
from memrl.sim.devices.ledger import PulseLedger

__all__ = ["OneT1RParams", "OneT1RArray", "Stuck", "PairMap", "as_generator"]


def as_generator(rng: np.random.Generator | int) -> np.random.Generator:
    """A numpy Generator, or one seeded from an integer. No global state."""
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise ValueError(f"rng must be a numpy Generator or an integer seed (got {rng!r})")


class Stuck(enum.IntEnum):
    """Why a device no longer responds to programming."""

    NONE = 0
    SET = 1  # stuck at high conductance (g_max)
    RESET = 2  # stuck at low conductance (g_reset)
    WORN = 3  # past its endurance, frozen where it was


@dataclass(frozen=True)
class OneT1RParams:
    """Parameters of the 1T1R array model.

    Sources (see the project's reference facts, section A): the SET line and
    its window are the software array model in the history of the authors'
    code (SET -> 100 uS + 98 uS/V (Vg - 0.7 V), Vg in [0.6, 1.5] V); the
    published training scripts assume 100-125 uS/V, which the default
    device-to-device slope spread covers. The initial state U(50, 100) uS and
    the cycle-to-cycle noise (the noisy variant's U(0, 10) uS spread, standard
    deviation 10 / sqrt(12) = 2.9 uS) come from the same code. Values marked
    "inferred" have no published figure.
    """

    g_set_ref_us: float = 100.0  # SET conductance at vg_ref (code history model)
    vg_ref: float = 0.7  # V
    slope_us_per_v: float = 98.0  # dG/dVg (code history model; scripts assume 100-125)
    vg_min: float = 0.6  # V, lowest usable SET gate voltage (paper)
    vg_max: float = 1.5  # V, highest usable SET gate voltage (paper)
    g_reset_us: float = 40.0  # inferred: below the SET window so every SET programs upward
    g_init_lo_us: float = 50.0  # initial state U(50, 100) uS (code)
    g_init_hi_us: float = 100.0
    d2d_slope_frac: float = 0.10  # inferred: slope sigma, covers the 98-125 uS/V spread of the code
    d2d_offset_us: float = 5.0  # inferred: sigma of a per-device offset of the SET line
    c2c_set_us: float = 2.9  # SET noise sigma: U(0, 10) uS of the code's noisy variant
    c2c_reset_us: float = 2.0  # inferred: RESET noise sigma
    read_noise_frac: float = 0.005  # inferred: relative sigma of a read
    v_read: float = 0.2  # V (paper)
    g_min_us: float = 0.5
    g_max_us: float = 250.0  # one unit weight at s = 250 uS (paper)
    p_stuck_set: float = 0.0  # no published figure: faults are opt-in
    p_stuck_reset: float = 0.0
    endurance_pulses: int | None = None  # None: unlimited
    drift_nu: float = 0.0  # power-law drift exponent; 0 disables drift
    drift_t0_s: float = 1.0

    def __post_init__(self) -> None:
        check_range("vg_min", self.vg_min, 0.0, 5.0, unit="V")
        check_range("vg_max", self.vg_max, self.vg_min, 5.0, lo_open=True, unit="V")
        check_range("vg_ref", self.vg_ref, 0.0, 5.0, unit="V")
        check_range("slope_us_per_v", self.slope_us_per_v, 0.0, 1e4, lo_open=True, unit="uS/V")
        check_range("g_min_us", self.g_min_us, 0.0, unit="uS")
        check_range("g_max_us", self.g_max_us, self.g_min_us, 1e5, lo_open=True, unit="uS")
        for name in ("g_set_ref_us", "g_reset_us", "g_init_lo_us", "g_init_hi_us"):
            check_range(name, getattr(self, name), self.g_min_us, self.g_max_us, unit="uS")
        check_range("g_init_hi_us", self.g_init_hi_us, self.g_init_lo_us, self.g_max_us, unit="uS")
        check_range("d2d_slope_frac", self.d2d_slope_frac, 0.0, 1.0)
        for name in ("d2d_offset_us", "c2c_set_us", "c2c_reset_us"):
            check_range(name, getattr(self, name), 0.0, self.g_max_us, unit="uS")
        check_range("read_noise_frac", self.read_noise_frac, 0.0, 1.0)
        check_range("v_read", self.v_read, 0.0, 1.0, lo_open=True, unit="V")
        check_range("p_stuck_set", self.p_stuck_set, 0.0, 1.0)
        check_range("p_stuck_reset", self.p_stuck_reset, 0.0, 1.0 - self.p_stuck_set)
        if self.endurance_pulses is not None:
            check_int_range("endurance_pulses", self.endurance_pulses, 1, 2**62)
        check_range("drift_nu", self.drift_nu, 0.0, 1.0)
        check_range("drift_t0_s", self.drift_t0_s, 0.0, lo_open=True, unit="s")

    @classmethod
    def ideal(cls, **overrides: object) -> OneT1RParams:
        """No spread, no noise, no faults, no drift: the nominal characteristic."""
        base = cls(
            d2d_slope_frac=0.0,
            d2d_offset_us=0.0,
            c2c_set_us=0.0,
            c2c_reset_us=0.0,
            read_noise_frac=0.0,
        )
        return replace(base, **overrides)  # type: ignore[arg-type]

    def g_set_nominal_us(self, v_gate: object) -> np.ndarray:
        """The nominal SET conductance at a gate voltage (no spread, no noise, no bounds)."""
        vg = check_range("v_gate", v_gate, self.vg_min, self.vg_max, unit="V")
        return self.g_set_ref_us + self.slope_us_per_v * (vg - self.vg_ref)

    def v_gate_for(self, g_us: object) -> np.ndarray:
        """The nominal gate voltage that SETs a conductance, clipped to [vg_min, vg_max]."""
        g = np.asarray(g_us, dtype=np.float64)
        vg = self.vg_ref + (g - self.g_set_ref_us) / self.slope_us_per_v
        return np.clip(vg, self.vg_min, self.vg_max)


@dataclass
class OneT1RArray:
    """A rows x cols 1T1R array. Devices are addressed by flat index ``r * cols + c``.

    ``rng`` is a numpy Generator or an integer seed; it draws the device-to-device
    spread and the faults at construction and every noise sample afterwards.
    """

    rows: int
    cols: int
    params: OneT1RParams = field(default_factory=OneT1RParams)
    rng: np.random.Generator | int = 0

    def __post_init__(self) -> None:
        check_int_range("rows", self.rows, 1, 1 << 16)
        check_int_range("cols", self.cols, 1, 1 << 16)
        if not isinstance(self.params, OneT1RParams):
            raise ValueError(f"params must be OneT1RParams (got {type(self.params).__name__})")
        self.rng = as_generator(self.rng)
        p, shape = self.params, (self.rows, self.cols)
        rng = self.rng
        self.slope_us_per_v = p.slope_us_per_v * (
            1.0 + p.d2d_slope_frac * rng.standard_normal(shape)
        )
        self.offset_us = p.d2d_offset_us * rng.standard_normal(shape)
        u = rng.random(shape)
        self.stuck = np.full(shape, Stuck.NONE, dtype=np.int8)
        self.stuck[u < p.p_stuck_set] = Stuck.SET
        self.stuck[(u >= p.p_stuck_set) & (u < p.p_stuck_set + p.p_stuck_reset)] = Stuck.RESET
        self.g_prog_us = rng.uniform(p.g_init_lo_us, p.g_init_hi_us, shape)
        self.g_prog_us[self.stuck == Stuck.SET] = p.g_max_us
        self.g_prog_us[self.stuck == Stuck.RESET] = p.g_reset_us
        self.t_prog_s = np.zeros(shape)
        self.clock_s = 0.0
        self.ledger = PulseLedger(shape)

    # -- addressing ---------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int]:
        return (self.rows, self.cols)

    @property
    def size(self) -> int:
        return self.rows * self.cols

    def _flat(self, idx: object | None) -> np.ndarray:
        if idx is None:
            return np.arange(self.size)
        flat = check_int_range("idx", np.asarray(idx).reshape(-1), 0, self.size - 1)
        return flat

    # -- state --------------------------------------------------------------
    def conductance_us(self) -> np.ndarray:
        """True conductances now (drift applied, no read noise), rows x cols."""
        p = self.params
        if p.drift_nu == 0.0:
            return self.g_prog_us.copy()
        age = self.clock_s - self.t_prog_s
        g = self.g_prog_us * ((age + p.drift_t0_s) / p.drift_t0_s) ** (-p.drift_nu)
        return np.clip(g, p.g_min_us, p.g_max_us)

    def _conductance_flat(self, flat: np.ndarray) -> np.ndarray:
        p = self.params
        g = self.g_prog_us.reshape(-1)[flat]
        if p.drift_nu == 0.0:
            return g
        age = self.clock_s - self.t_prog_s.reshape(-1)[flat]
        g = g * ((age + p.drift_t0_s) / p.drift_t0_s) ** (-p.drift_nu)
        return np.clip(g, p.g_min_us, p.g_max_us)

    def advance(self, dt_s: float) -> None:
        """Advance the device clock (drift acts over it)."""
        check_range("dt_s", dt_s, 0.0, unit="s")
        self.clock_s += float(dt_s)

    # -- programming ----------------------------------------------------------
    def set(self, idx: object | None, v_gate: object) -> None:
        """One SET pulse per listed device at gate voltage ``v_gate`` (scalar or per device).

        ``idx`` are flat device indices (None: every device). Repeated indices
        are pulsed once per appearance; the last one decides the conductance.
        """
        flat = self._flat(idx)
        p = self.params
        vg = check_range("v_gate", v_gate, p.vg_min, p.vg_max, unit="V")
        vg = per_device("v_gate", vg, flat.size)
        slope = self.slope_us_per_v.reshape(-1)[flat]
        offset = self.offset_us.reshape(-1)[flat]
        target = p.g_set_ref_us + offset + slope * (vg - p.vg_ref)
        if p.c2c_set_us:
            target = target + p.c2c_set_us * self.rng.standard_normal(flat.shape)
        g_new = np.clip(np.maximum(self._conductance_flat(flat), target), p.g_min_us, p.g_max_us)
        self._write(flat, g_new)
        self.ledger.add_set(flat)
        self._wear(flat)

    def reset(self, idx: object | None) -> None:
        """One RESET pulse per listed device (None: every device)."""
        flat = self._flat(idx)
        p = self.params
        g_new = np.full(flat.shape, p.g_reset_us)
        if p.c2c_reset_us:
            g_new = g_new + p.c2c_reset_us * self.rng.standard_normal(flat.shape)
        self._write(flat, np.clip(g_new, p.g_min_us, p.g_max_us))
        self.ledger.add_reset(flat)
        self._wear(flat)

    def _write(self, flat: np.ndarray, g_new: np.ndarray) -> None:
        live = self.stuck.reshape(-1)[flat] == Stuck.NONE
        self.g_prog_us.reshape(-1)[flat[live]] = g_new[live]
        self.t_prog_s.reshape(-1)[flat[live]] = self.clock_s

    def _wear(self, flat: np.ndarray) -> None:
        limit = self.params.endurance_pulses
        if limit is None:
            return
        total = self.ledger.set_count.reshape(-1)[flat] + self.ledger.reset_count.reshape(-1)[flat]
        worn = flat[(total > limit) & (self.stuck.reshape(-1)[flat] == Stuck.NONE)]
        if worn.size:
            # Freeze where it is now, drift included, so a worn device keeps its last value.
            g = self._conductance_flat(worn)
            self.g_prog_us.reshape(-1)[worn] = g
            self.t_prog_s.reshape(-1)[worn] = self.clock_s
            self.stuck.reshape(-1)[worn] = Stuck.WORN

    # -- reading ------------------------------------------------------------
    def read_us(self, idx: object | None = None) -> np.ndarray:
        """Conductances as read at ``v_read`` with read noise; flat order of ``idx``.

        With ``idx`` None, the whole array comes back as rows x cols.
        """
        flat = self._flat(idx)
        g = self._conductance_flat(flat)
        if self.params.read_noise_frac:
            g = g * (1.0 + self.params.read_noise_frac * self.rng.standard_normal(g.shape))
        return g.reshape(self.shape) if idx is None else g

    def vmm(
        self, v_rows: object, rows: slice = slice(None), cols: slice = slice(None)
    ) -> np.ndarray:
        """Column currents (A) for row voltages (V) on a sub-array.

        ``v_rows`` has shape (n_rows,) or (batch, n_rows) for the rows selected by
        ``rows``; the result has shape (n_cols,) or (batch, n_cols). Each device's
        read noise is independent Gaussian; its sum on a column is drawn exactly
        as one Gaussian per column with the summed variance.
        """
        g = self.conductance_us()[rows, cols]
        v = check_range("v_rows", v_rows, -self.params.v_read, self.params.v_read, unit="V")
        if v.ndim not in (1, 2) or v.shape[-1] != g.shape[0]:
            raise ValueError(
                f"v_rows must have shape ({g.shape[0]},) or (batch, {g.shape[0]}) (got {v.shape})"
            )
        i_a = (v @ g) * 1e-6
        sigma = self.params.read_noise_frac
        if sigma:
            spread = np.sqrt((v * v) @ (g * g)) * 1e-6 * sigma
            i_a = i_a + spread * self.rng.standard_normal(i_a.shape)
        return i_a


@dataclass(frozen=True)
class PairMap:
    """Where a logical weight matrix lives on a 1T1R array as differential pairs.

    A weight ``w[i, j]`` (n_in inputs, n_out outputs) is ``(G+ - G-) / s_us``.
    ``vertical`` puts the pair on adjacent rows (``G+`` on row ``row0 + 2i``,
    ``G-`` on the row below, column ``col0 + j``): rows driven with +V and -V
    make the column current the difference. ``horizontal`` puts it on adjacent
    columns (row ``row0 + i``, ``G+`` on column ``col0 + 2j``, ``G-`` on the next).
    The paper uses vertical pairs for layers 1-2 and horizontal for layer 3,
    with s = 250 uS per unit weight.
    """

    n_in: int
    n_out: int
    row0: int = 0
    col0: int = 0
    orientation: Literal["vertical", "horizontal"] = "vertical"
    s_us: float = 250.0

    def __post_init__(self) -> None:
        check_int_range("n_in", self.n_in, 1, 1 << 16)
        check_int_range("n_out", self.n_out, 1, 1 << 16)
        check_int_range("row0", self.row0, 0, 1 << 16)
        check_int_range("col0", self.col0, 0, 1 << 16)
        if self.orientation not in ("vertical", "horizontal"):
            raise ValueError(
                f"orientation must be 'vertical' or 'horizontal' (got {self.orientation!r})"
            )
        check_range("s_us", self.s_us, 0.0, lo_open=True, unit="uS")

    @property
    def footprint(self) -> tuple[int, int]:
        """Device rows x columns the pairs occupy."""
        if self.orientation == "vertical":
            return (2 * self.n_in, self.n_out)
        return (self.n_in, 2 * self.n_out)

    def rows(self) -> slice:
        return slice(self.row0, self.row0 + self.footprint[0])

    def cols(self) -> slice:
        return slice(self.col0, self.col0 + self.footprint[1])

    def indices(self, array_cols: int) -> tuple[np.ndarray, np.ndarray]:
        """Flat device indices (n_in x n_out) of the G+ and G- devices."""
        i = np.arange(self.n_in)[:, None]
        j = np.arange(self.n_out)[None, :]
        if self.orientation == "vertical":
            r_pos, r_neg = self.row0 + 2 * i, self.row0 + 2 * i + 1
            c_pos = c_neg = self.col0 + j
        else:
            r_pos = r_neg = self.row0 + i
            c_pos, c_neg = self.col0 + 2 * j, self.col0 + 2 * j + 1
        pos = np.broadcast_to(r_pos * array_cols + c_pos, (self.n_in, self.n_out))
        neg = np.broadcast_to(r_neg * array_cols + c_neg, (self.n_in, self.n_out))
        return pos.copy(), neg.copy()

    def check_fits(self, array: OneT1RArray) -> None:
        r, c = self.footprint
        if self.row0 + r > array.rows or self.col0 + c > array.cols:
            raise ValueError(
                f"pair map of footprint {r}x{c} at ({self.row0}, {self.col0}) does not fit "
                f"a {array.rows}x{array.cols} array"
            )

    def weights(self, g_us: np.ndarray) -> np.ndarray:
        """Weights from a rows x cols conductance map (e.g. ``array.read_us()``)."""
        pos, neg = self.indices(g_us.shape[1])
        flat = g_us.reshape(-1)
        return (flat[pos] - flat[neg]) / self.s_us

    def row_voltages(self, v_in: np.ndarray) -> np.ndarray:
        """Row voltages that make a vertical map's column currents the pair differences."""
        if self.orientation != "vertical":
            raise ValueError("row_voltages needs a vertical pair map")
        v = np.asarray(v_in, dtype=np.float64)
        out = np.empty(v.shape[:-1] + (2 * self.n_in,))
        out[..., 0::2] = v
        out[..., 1::2] = -v
        return out
