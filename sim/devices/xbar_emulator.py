"""Python model of the on-chip 1T1R crossbar emulator (``memrl.rtl.crossbar_emulator``).

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

from memrl.rtl.crossbar_emulator import G_BITS, SET_SHIFT, VMM_SHIFT

from ._check import check_int_range
from .converters import ADC, DAC
from .emulator import NOISE_STD, lfsr_advance
from .ledger import PulseLedger
from .onet1r import OneT1RParams
from .port import DevicePort, OneT1RPortConfig

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

        dac_max = (1 << (port.row_dac_bits - 1)) - 1
        col_lsb_a = port.col_full_scale_a / ((1 << (port.col_adc_bits - 1)) - 1)
        # One unit of acc (a DAC code times a conductance code) as a current.
        acc_a = (p.v_read / dac_max) * g_lsb * 1e-6
        vmm_k = int(round(acc_a / col_lsb_a * (1 << VMM_SHIFT)))
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

    Offers the parts of :class:`~memrl.sim.devices.OneT1RArray` a network reads
    (shape, size, conductances, the pulse ledger, the device clock).
    """

    def __init__(self, model: XbarEmulatorModel) -> None:
        self.model = model
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


class XbarEmulatorPort(DevicePort):
    """The emulator behind the device port, with the VMM transaction.

    The converters (``row_dac``, ``col_adc``, ``read_adc``) have the emulator's
    scales, so a network converts codes to physical values as it does on the
    1T1R port.
    """

    n_reset_levels = 1

    def __init__(
        self,
        array: XbarEmulatorArray,
        config: OneT1RPortConfig,
        params: OneT1RParams,
        *,
        record: bool = False,
    ) -> None:
        super().__init__(array.size, record=record)
        self.array = array
        self.model = m = array.model
        self.config = config
        self.params = params
        self.n_set_levels = 1 << m.vg_bits
        self.vg_lsb = (params.vg_max - params.vg_min) / (self.n_set_levels - 1)
        self.row_dac = DAC(m.dac_bits, params.v_read, signed=True)
        self.col_adc = ADC(m.adc_bits, config.col_full_scale_a, signed=True)
        read_lsb_a = m.g_lsb_us * 1e-6 * params.v_read / (1 << m.read_shift)
        self.read_adc = ADC(m.read_bits, read_lsb_a * ((1 << m.read_bits) - 1))

    def level_for(self, v_gate: object) -> np.ndarray:
        """Nearest SET level code of a gate voltage (clipped to the DAC range)."""
        vg = np.asarray(v_gate, dtype=np.float64)
        codes = np.rint((vg - self.params.vg_min) / self.vg_lsb)
        return np.clip(codes, 0, self.n_set_levels - 1).astype(np.int64)

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

    def vmm(
        self,
        row_codes: object,
        rows: slice = slice(None),
        cols: slice = slice(None),
        gain: object = 1,
        col_pairs: bool = False,
    ) -> np.ndarray:
        """Signed row DAC codes in, signed column ADC codes out (batch-first allowed);
        ``gain`` and ``col_pairs`` as :meth:`~memrl.sim.devices.OneT1RPort.vmm`."""
        m = self.model
        codes = np.asarray(row_codes)
        if codes.dtype.kind not in "iu":
            raise ValueError(f"row codes must be integers (got {codes.dtype})")
        dmax = (1 << (m.dac_bits - 1)) - 1
        check_int_range("row codes", codes, -dmax, dmax)
        g = self.array.g.reshape(self.array.shape)[rows, cols]
        if codes.ndim not in (1, 2) or codes.shape[-1] != g.shape[0]:
            raise ValueError(
                f"row codes must have shape ({g.shape[0]},) or (batch, {g.shape[0]}) "
                f"(got {codes.shape})"
            )
        acc = codes.astype(np.int64) @ g
        if col_pairs:
            if acc.shape[-1] % 2:
                raise ValueError("col_pairs needs an even number of columns")
            acc = acc[..., 0::2] - acc[..., 1::2]
        gn = self._vmm_gain(gain, acc.shape)
        acc = acc + self._spread(acc.size, m.vmm_spread).reshape(acc.shape)
        amax = (1 << (m.adc_bits - 1)) - 1
        out = (acc * gn * m.vmm_k + (1 << (VMM_SHIFT - 1))) >> VMM_SHIFT
        out = np.clip(out, -amax, amax)
        self._note_vmm(codes, rows, gn, out)
        return out
