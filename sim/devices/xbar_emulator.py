"""Python model of the on-chip 1T1R crossbar emulator (``memrl.rtl.crossbar.emulator``).

A stand-in for boards without a crossbar: every device is a ``G_BITS``-bit
conductance code ``g`` (``g * g_lsb_us`` microsiemens) in block RAM, and the
port's four transactions are integer arithmetic on the codes. Every operation
that converts or programs draws one noise sample from a 16-bit Galois LFSR
(polynomial 0xB400, the navigator emulator's) advanced eight steps per draw:

    n = (lfsr & 15) + ((lfsr >> 4) & 15) - 15     # -15 .. 15, std 6.5
    noise(spread) = (n * spread) >> 6             # arithmetic shift

The transactions (``clamp`` to the code range; ``>>`` arithmetic):

=======  ==================================================================
SET      ``t = clamp(((set_a + set_b * L) >> 16) + noise(set_spread))`` at
         gate code ``L``; ``g = max(g, t)``: a SET does not lower a device,
         as the 1T1R model's compliance rule says
RESET    ``g = clamp(reset_code + noise(reset_spread))``
READ     ``clamp((g << read_shift) + noise(read_spread))`` on ``read_bits``
VMM      per output code: ``acc = sum_r d_r * g[r, c]`` (minus the same sum
         on column ``c + 1`` for a differential pair), then
         ``acc += noise(vmm_spread)`` and
         ``code = clamp((acc * gain * vmm_k + 2**23) >> 24)`` on the signed
         column ADC
=======  ==================================================================

Draws happen in the order of the operations: a run of devices in its order,
a VMM pass sample by sample and, within a sample, in the order of its output
codes. The constants come from a 1T1R device model and its port
(:meth:`XbarEmulatorModel.from_params`): the nominal SET line, the RESET
level and the cycle-to-cycle noise, in codes. Device-to-device spread, faults
and drift are not emulated. The VMM's read noise is one draw per output code,
whose spread is that of a reference column (``VMM_NOISE_ROWS`` devices at the
SET line's reference conductance driven at half scale): a fixed spread, where
the physics model's grows with the column's signal.

The RTL core matches this model bit for bit.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass

import numpy as np

from memrl.rtl.crossbar.emulator import G_BITS, SET_SHIFT, VMM_SHIFT
from memrl.sim.devices._check import check_int_range
from memrl.sim.devices.converters import ADC, DAC
from memrl.sim.devices.emulator import NOISE_STD, lfsr_advance
from memrl.sim.devices.ledger import PulseLedger
from memrl.sim.devices.onet1r import OneT1RParams
from memrl.sim.devices.port import OneT1RPort, OneT1RPortConfig

__all__ = [
    "G_BITS",
    "SET_SHIFT",
    "VMM_SHIFT",
    "VMM_NOISE_ROWS",
    "XbarEmulatorModel",
    "XbarEmulatorArray",
    "XbarEmulatorPort",
    "lfsr_noise",
]

VMM_NOISE_ROWS = 64  # rows of the reference column for the VMM's read noise
LFSR_PERIOD = 0xFFFF


@functools.lru_cache(maxsize=8)
def lfsr_noise(seed: int) -> np.ndarray:
    """``n`` of the first ``LFSR_PERIOD`` draws from ``seed`` (the sequence repeats)."""
    check_int_range("lfsr_seed", seed, 1, 0xFFFF)
    out = np.empty(LFSR_PERIOD, dtype=np.int64)
    state = seed
    for k in range(LFSR_PERIOD):
        state = lfsr_advance(state)
        out[k] = (state & 15) + ((state >> 4) & 15) - 15
    out.flags.writeable = False
    return out


@dataclass(frozen=True)
class XbarEmulatorModel:
    """Size, converter widths and integer constants of one emulator instance."""

    rows: int = 128
    cols: int = 64
    dac_bits: int = 8
    adc_bits: int = 10
    vg_bits: int = 10
    read_bits: int = 10
    g_lsb_us: float = 250.0 / 255
    init_code: int = 77  # every device's code at power-up
    set_a: int = 0
    set_b: int = 0
    set_spread: int = 0
    reset_code: int = 41
    reset_spread: int = 0
    read_spread: int = 0
    vmm_k: int = 1
    vmm_spread: int = 0
    lfsr_seed: int = 0xACE1

    def __post_init__(self) -> None:
        check_int_range("rows", self.rows, 1, 1 << 12)
        check_int_range("cols", self.cols, 1, 1 << 12)
        check_int_range("dac_bits", self.dac_bits, 2, 12)
        check_int_range("adc_bits", self.adc_bits, 2, 16)
        check_int_range("vg_bits", self.vg_bits, 1, 16)
        check_int_range("read_bits", self.read_bits, G_BITS, 16)
        gmax = (1 << G_BITS) - 1
        check_int_range("init_code", self.init_code, 0, gmax)
        check_int_range("reset_code", self.reset_code, 0, gmax)
        check_int_range("set_a", self.set_a, 0, (gmax + 2) << SET_SHIFT)
        check_int_range("set_b", self.set_b, 0, 1 << SET_SHIFT)
        for name in ("set_spread", "reset_spread", "read_spread"):
            check_int_range(name, getattr(self, name), 0, 1023)
        check_int_range("vmm_k", self.vmm_k, 1, (1 << 16) - 1)
        check_int_range("vmm_spread", self.vmm_spread, 0, (1 << 16) - 1)
        check_int_range("lfsr_seed", self.lfsr_seed, 1, 0xFFFF)
        if not self.g_lsb_us > 0:
            raise ValueError(f"g_lsb_us must be > 0 (got {self.g_lsb_us})")

    @property
    def read_shift(self) -> int:
        return self.read_bits - G_BITS

    @classmethod
    def from_params(
        cls,
        params: OneT1RParams,
        port: OneT1RPortConfig,
        rows: int = 128,
        cols: int = 64,
        lfsr_seed: int = 0xACE1,
    ) -> XbarEmulatorModel:
        """The constants of a 1T1R device model behind a port (see the module docstring)."""
        p = params
        g_lsb = p.g_max_us / ((1 << G_BITS) - 1)
        n_vg = 1 << port.vg_bits
        vg_lsb = (p.vg_max - p.vg_min) / (n_vg - 1)
        g_at_min = p.g_set_ref_us + p.slope_us_per_v * (p.vg_min - p.vg_ref)
        # ``set_a`` holds half an LSB, so the shift rounds to the nearest code.
        set_a = int(round(max(g_at_min, 0.0) / g_lsb * (1 << SET_SHIFT))) + (1 << (SET_SHIFT - 1))
        set_b = int(round(p.slope_us_per_v * vg_lsb / g_lsb * (1 << SET_SHIFT)))

        def spread(sigma_codes: float, top: int = 1023) -> int:
            return int(min(top, round(sigma_codes * 64 / NOISE_STD)))

        row_dac = DAC(port.row_dac_bits, p.v_read, signed=True)
        col_adc = ADC(port.col_adc_bits, port.col_full_scale_a, signed=True)
        dac_max = row_dac.max_code
        # One unit of acc (a DAC code times a conductance code) as a current.
        acc_a = row_dac.lsb * g_lsb * 1e-6
        vmm_k = int(round(acc_a / col_adc.lsb * (1 << VMM_SHIFT)))
        read_shift = port.read_adc_bits - G_BITS
        g_ref = p.g_set_ref_us / g_lsb
        vmm_sigma = p.read_noise_frac * np.sqrt(VMM_NOISE_ROWS) * (dac_max / 2) * g_ref
        return cls(
            rows=rows,
            cols=cols,
            dac_bits=port.row_dac_bits,
            adc_bits=port.col_adc_bits,
            vg_bits=port.vg_bits,
            read_bits=port.read_adc_bits,
            g_lsb_us=g_lsb,
            init_code=int(round(0.5 * (p.g_init_lo_us + p.g_init_hi_us) / g_lsb)),
            set_a=set_a,
            set_b=set_b,
            set_spread=spread(p.c2c_set_us / g_lsb),
            reset_code=int(round(p.g_reset_us / g_lsb)),
            reset_spread=spread(p.c2c_reset_us / g_lsb),
            read_spread=spread(p.read_noise_frac * g_ref * (1 << read_shift)),
            vmm_k=max(1, vmm_k),
            vmm_spread=spread(vmm_sigma, (1 << 16) - 1),
            lfsr_seed=lfsr_seed,
        )

    def set_target(self, level: np.ndarray) -> np.ndarray:
        """The nominal SET code of gate-voltage codes (before noise and clamping)."""
        return (self.set_a + self.set_b * np.asarray(level, dtype=np.int64)) >> SET_SHIFT


class XbarEmulatorArray:
    """The emulator's device state: conductance codes and the LFSR's position.

    Offers the parts of :class:`~memrl.sim.devices.OneT1RArray` a network and
    its port read (shape, size, conductances, the pulse ledger, the device
    clock, and ``params``: the device model the constants came from).
    """

    def __init__(self, model: XbarEmulatorModel, params: OneT1RParams) -> None:
        self.model, self.params = model, params
        self.rows, self.cols = model.rows, model.cols
        self.g = np.full(self.size, model.init_code, dtype=np.int64)
        self._noise = lfsr_noise(model.lfsr_seed)
        self.draws = 0  # noise samples drawn so far
        self.ledger = PulseLedger(self.shape)

    @property
    def shape(self) -> tuple[int, int]:
        return (self.rows, self.cols)

    @property
    def size(self) -> int:
        return self.rows * self.cols

    def noise(self, n: int) -> np.ndarray:
        """The next ``n`` LFSR samples ``n``, in order."""
        k = (self.draws + np.arange(n)) % LFSR_PERIOD
        self.draws += n
        return self._noise[k]

    def conductance_us(self) -> np.ndarray:
        return (self.g * self.model.g_lsb_us).reshape(self.shape)

    def _conductance_flat(self, flat: np.ndarray) -> np.ndarray:
        return self.g[flat] * self.model.g_lsb_us

    def advance(self, dt_s: float) -> None:
        """The emulator does not drift: the device clock has no effect."""

    def state(self) -> dict:
        """What the next operations depend on, for comparing two runs."""
        return {"draws": self.draws, "g_sha256": hashlib.sha256(self.g.tobytes()).hexdigest()}


class XbarEmulatorPort(OneT1RPort):
    """The emulator behind the 1T1R port: its gate-voltage codes and converters
    (the read ADC at the emulator's scale), its READ, SET, RESET and VMM in
    the emulator's integer arithmetic."""

    def __init__(
        self, array: XbarEmulatorArray, config: OneT1RPortConfig, *, record: bool = False
    ) -> None:
        m = array.model
        widths = (config.row_dac_bits, config.col_adc_bits, config.vg_bits, config.read_adc_bits)
        if widths != (m.dac_bits, m.adc_bits, m.vg_bits, m.read_bits):
            raise ValueError(
                f"the port's converters {widths} (row DAC, column ADC, gate, read ADC bits) "
                f"differ from the emulator's {(m.dac_bits, m.adc_bits, m.vg_bits, m.read_bits)}"
            )
        super().__init__(array, config, record=record)  # type: ignore[arg-type]
        self.model = m
        read_lsb_a = m.g_lsb_us * 1e-6 * array.params.v_read / (1 << m.read_shift)
        self.read_adc = ADC(m.read_bits, read_lsb_a * ((1 << m.read_bits) - 1))

    def _spread(self, n: int, spread: int) -> np.ndarray:
        return (self.array.noise(n) * spread) >> 6

    def _read(self, flat: np.ndarray) -> np.ndarray:
        m = self.model
        codes = (self.array.g[flat] << m.read_shift) + self._spread(flat.size, m.read_spread)
        return np.clip(codes, 0, (1 << m.read_bits) - 1)

    def _set(self, flat: np.ndarray, level: np.ndarray) -> None:
        m = self.model
        t = m.set_target(level) + self._spread(flat.size, m.set_spread)
        t = np.clip(t, 0, (1 << G_BITS) - 1)
        np.maximum.at(self.array.g, flat, t)  # in order: repeated devices take the max
        self.array.ledger.add_set(flat)

    def _reset(self, flat: np.ndarray, level: np.ndarray) -> None:
        m = self.model
        t = np.clip(m.reset_code + self._spread(flat.size, m.reset_spread), 0, (1 << G_BITS) - 1)
        # The last RESET of a repeated device decides its code.
        last = np.unique(flat[::-1], return_index=True)[1]
        keep = flat.size - 1 - last
        self.array.g[flat[keep]] = t[keep]
        self.array.ledger.add_reset(flat)

    def _column_sums(self, row_codes: object, rows: slice, cols: slice) -> np.ndarray:
        """``acc`` of each selected column: the sum of DAC code times conductance code."""
        codes = np.asarray(row_codes)
        if codes.dtype.kind not in "iu":
            raise ValueError(f"row codes must be integers (got {codes.dtype})")
        check_int_range("row codes", codes, self.row_dac.min_code, self.row_dac.max_code)
        g = self.array.g.reshape(self.array.shape)[rows, cols]
        if codes.ndim not in (1, 2) or codes.shape[-1] != g.shape[0]:
            raise ValueError(
                f"row codes must have shape ({g.shape[0]},) or (batch, {g.shape[0]}) "
                f"(got {codes.shape})"
            )
        return codes.astype(np.int64) @ g

    def _convert_columns(self, sums: np.ndarray, gain: np.ndarray) -> np.ndarray:
        """Read noise on each sum, then the scale to column ADC codes, rounded and clamped."""
        m = self.model
        acc = sums + self._spread(sums.size, m.vmm_spread).reshape(sums.shape)
        out = (acc * gain * m.vmm_k + (1 << (VMM_SHIFT - 1))) >> VMM_SHIFT
        return np.clip(out, self.col_adc.min_code, self.col_adc.max_code)
