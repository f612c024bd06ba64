"""The device port: the digital/analogue boundary every consumer shares.

The RTL talks to resistive memory only through transactions an RRAM macro with
DACs and ADCs offers, and so do the golden models, the Amaranth testbenches and
the cocotb bus models. Codes cross the port, never volts:

========  ==========================  =================================
op        request                     response
========  ==========================  =================================
READ      device address              ADC code of the read current
SET       address, level code         (none)
RESET     address, level code         (none)
VMM       row DAC codes (signed)      column ADC codes (signed)
========  ==========================  =================================

A SiOx port's SET level is a compliance-current code and its RESET level a
stop-voltage code; a 1T1R port's SET level is a gate-voltage DAC code and its
RESET has the single level 0. Each port owns the conversion tables. Every call
takes scalar or array addresses (vectorised over devices); with ``record=True``
the port keeps a log of every operation, one ``PortOp`` per device access, in
issue order, which is what scoreboards compare.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np

from memrl.sim.devices._check import check_int_range, check_range
from memrl.sim.devices.converters import ADC, DAC
from memrl.sim.devices.onet1r import OneT1RArray
from memrl.sim.devices.siox import LRS_TABLE_IC_UA, SiOxArray

__all__ = [
    "Op",
    "PortOp",
    "DevicePort",
    "SiOxPortConfig",
    "SiOxPort",
    "OneT1RPortConfig",
    "OneT1RPort",
]


class Op(enum.IntEnum):
    READ = 0
    SET = 1
    RESET = 2
    VMM = 3


@dataclass(frozen=True)
class PortOp:
    """One logged device access. For VMM, ``addr`` is the first row, ``code``/``result``
    are tuples of the row and column codes and ``gain`` the column gains (one per
    output code)."""

    op: Op
    addr: int
    code: int | tuple[int, ...] = 0
    result: int | tuple[int, ...] | None = None
    gain: tuple[int, ...] | None = None


class DevicePort(ABC):
    """Common validation and logging; subclasses convert codes for one device model."""

    n_set_levels: int
    n_reset_levels: int
    read_adc: ADC

    def __init__(self, n_devices: int, *, record: bool = False) -> None:
        self.n_devices = n_devices
        self.log: list[PortOp] | None = [] if record else None
        self.counts = {op: 0 for op in Op}

    # -- the four transactions ---------------------------------------------
    def read(self, addr: object) -> np.ndarray:
        flat = self._addr(addr)
        codes = self._read(flat)
        self._note(Op.READ, flat, np.zeros_like(flat), codes)
        return codes.reshape(np.shape(addr))

    def set(self, addr: object, level: object) -> None:
        flat = self._addr(addr)
        lv = self._level("set level", level, self.n_set_levels, flat.shape)
        self._set(flat, lv)
        self._note(Op.SET, flat, lv, None)

    def reset(self, addr: object, level: object = 0) -> None:
        flat = self._addr(addr)
        lv = self._level("reset level", level, self.n_reset_levels, flat.shape)
        self._reset(flat, lv)
        self._note(Op.RESET, flat, lv, None)

    def vmm(
        self,
        row_codes: object,
        rows: slice = slice(None),
        cols: slice = slice(None),
        gain: object = 1,
        col_pairs: bool = False,
    ) -> np.ndarray:
        raise ValueError(f"{type(self).__name__} has no VMM transaction")

    # -- helpers -------------------------------------------------------------
    def _addr(self, addr: object) -> np.ndarray:
        return check_int_range("address", np.asarray(addr).reshape(-1), 0, self.n_devices - 1)

    @staticmethod
    def _level(name: str, level: object, n: int, shape: tuple[int, ...]) -> np.ndarray:
        lv = check_int_range(name, np.asarray(level).reshape(-1), 0, n - 1)
        if lv.size == 1:
            return np.full(shape, lv[0], dtype=np.int64)
        if lv.shape != shape:
            raise ValueError(f"{name} must be a scalar or one per address {shape} (got {lv.shape})")
        return lv

    def _note(
        self, op: Op, flat: np.ndarray, codes: np.ndarray, results: np.ndarray | None
    ) -> None:
        self.counts[op] += int(flat.size)
        if self.log is None:
            return
        res = [None] * flat.size if results is None else results.tolist()
        self.log.extend(
            PortOp(op, a, c, r) for a, c, r in zip(flat.tolist(), codes.tolist(), res, strict=True)
        )

    @abstractmethod
    def _read(self, flat: np.ndarray) -> np.ndarray: ...

    @abstractmethod
    def _set(self, flat: np.ndarray, level: np.ndarray) -> None: ...

    @abstractmethod
    def _reset(self, flat: np.ndarray, level: np.ndarray) -> None: ...


def _v_stop_levels() -> tuple[float, ...]:
    return tuple(round(-1.0 - 0.05 * k, 2) for k in range(13))


@dataclass(frozen=True)
class SiOxPortConfig:
    """Level tables and read ADC of a SiOx macro.

    The 11 compliance levels are the measured table (50-170 uA in 12 uA steps)
    and the 13 stop voltages -1.0 ... -1.6 V in 50 mV steps: the "about 11 Ic
    levels and 13 V_STOP levels" of Bianchi et al. 2023. The read ADC is
    unsigned; its full scale is the current of a 4 kOhm device at ``v_read``
    (0.1 V), below the lowest measured LRS (5.7 kOhm), so an LRS never clips.
    """

    ic_levels_ua: tuple[float, ...] = LRS_TABLE_IC_UA
    v_stop_levels: tuple[float, ...] = field(default_factory=_v_stop_levels)
    read_adc_bits: int = 8
    read_full_scale_a: float = 25e-6

    def __post_init__(self) -> None:
        if len(self.ic_levels_ua) < 1 or len(self.v_stop_levels) < 1:
            raise ValueError("ic_levels_ua and v_stop_levels need at least one level each")
        check_int_range("read_adc_bits", self.read_adc_bits, 1, 24)
        check_range("read_full_scale_a", self.read_full_scale_a, 0.0, 1.0, lo_open=True, unit="A")


class SiOxPort(DevicePort):
    """A SiOx array behind the port: SET level = compliance code, RESET level = stop code."""

    def __init__(
        self, array: SiOxArray, config: SiOxPortConfig | None = None, *, record: bool = False
    ) -> None:
        super().__init__(array.n, record=record)
        self.array = array
        self.config = config or SiOxPortConfig()
        p = array.params
        self._ic = check_range("ic_levels_ua", self.config.ic_levels_ua, p.ic_min_ua, p.ic_max_ua)
        self._vs = check_range(
            "v_stop_levels", self.config.v_stop_levels, p.v_stop_min, p.v_stop_max
        )
        self.n_set_levels = self._ic.size
        self.n_reset_levels = self._vs.size
        self.read_adc = ADC(self.config.read_adc_bits, self.config.read_full_scale_a)

    def _read(self, flat: np.ndarray) -> np.ndarray:
        i_a = self.array.read_us(flat) * 1e-6 * self.array.params.v_read
        return self.read_adc.convert(i_a)

    def level_tables(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Mean and standard deviation (kOhm) of the state each SET level and each
        RESET level programs: what a compiled model needs to program by level code."""
        p = self.array.params
        return (
            np.asarray(p.lrs_mean_kohm(self._ic), dtype=np.float64),
            np.asarray(p.lrs_sigma_kohm(self._ic), dtype=np.float64),
            np.asarray(p.hrs_mean_kohm(self._vs), dtype=np.float64),
            np.asarray(p.hrs_sigma_kohm(self._vs), dtype=np.float64),
        )

    def _set(self, flat: np.ndarray, level: np.ndarray) -> None:
        self.array.set(flat, self._ic[level])

    def _reset(self, flat: np.ndarray, level: np.ndarray) -> None:
        self.array.reset(flat, self._vs[level])


@dataclass(frozen=True)
class OneT1RPortConfig:
    """DACs and ADCs around a 1T1R crossbar (inferred: no published converter figures).

    SET level codes are gate-voltage DAC codes spanning [vg_min, vg_max] of the
    device in ``vg_bits``. VMM rows are driven by signed DACs of ``row_dac_bits``
    whose full scale is the read voltage; columns are read by signed ADCs of
    ``col_adc_bits`` with full scale ``col_full_scale_a``. READ of one device uses
    an unsigned ADC whose full scale is the current of a ``g_max`` device.
    """

    vg_bits: int = 10
    row_dac_bits: int = 8
    col_adc_bits: int = 10
    col_full_scale_a: float = 1e-3
    read_adc_bits: int = 10

    def __post_init__(self) -> None:
        for name in ("vg_bits", "row_dac_bits", "col_adc_bits", "read_adc_bits"):
            check_int_range(name, getattr(self, name), 2, 24)
        check_range("col_full_scale_a", self.col_full_scale_a, 0.0, 1.0, lo_open=True, unit="A")


class OneT1RPort(DevicePort):
    """A 1T1R crossbar behind the port, with the VMM transaction."""

    n_reset_levels = 1

    def __init__(
        self, array: OneT1RArray, config: OneT1RPortConfig | None = None, *, record: bool = False
    ) -> None:
        super().__init__(array.size, record=record)
        self.array = array
        self.config = c = config or OneT1RPortConfig()
        p = array.params
        self.n_set_levels = 1 << c.vg_bits
        self.vg_lsb = (p.vg_max - p.vg_min) / (self.n_set_levels - 1)
        self.read_adc = ADC(c.read_adc_bits, p.v_read * p.g_max_us * 1e-6)
        self.row_dac = DAC(c.row_dac_bits, p.v_read, signed=True)
        self.col_adc = ADC(c.col_adc_bits, c.col_full_scale_a, signed=True)

    def v_gate(self, level: object) -> np.ndarray:
        """Gate voltage of a SET level code."""
        lv = check_int_range("set level", level, 0, self.n_set_levels - 1)
        return self.array.params.vg_min + lv * self.vg_lsb

    def level_for(self, v_gate: object) -> np.ndarray:
        """Nearest SET level code of a gate voltage (clipped to the DAC range)."""
        vg = np.asarray(v_gate, dtype=np.float64)
        codes = np.rint((vg - self.array.params.vg_min) / self.vg_lsb)
        return np.clip(codes, 0, self.n_set_levels - 1).astype(np.int64)

    def _read(self, flat: np.ndarray) -> np.ndarray:
        i_a = self.array.read_us(flat) * 1e-6 * self.array.params.v_read
        return self.read_adc.convert(i_a)

    def _set(self, flat: np.ndarray, level: np.ndarray) -> None:
        self.array.set(flat, self.v_gate(level))

    def _reset(self, flat: np.ndarray, level: np.ndarray) -> None:
        self.array.reset(flat)

    def vmm(
        self,
        row_codes: object,
        rows: slice = slice(None),
        cols: slice = slice(None),
        gain: object = 1,
        col_pairs: bool = False,
    ) -> np.ndarray:
        """Signed row DAC codes in, signed column ADC codes out (batch-first allowed).

        ``gain`` is the transimpedance gain ahead of the column ADCs, positive
        integers: one for every column, one per output code, or one per sample
        and output code (shape of the result); the ADC samples ``gain`` times the
        column current. With ``col_pairs`` adjacent columns are read
        differentially: one code per pair, of ``gain * (I[2j] - I[2j + 1])``.
        """
        sums = self._column_sums(row_codes, rows, cols)
        if col_pairs:
            if sums.shape[-1] % 2:
                raise ValueError("col_pairs needs an even number of columns")
            sums = sums[..., 0::2] - sums[..., 1::2]
        g = self._vmm_gain(gain, sums.shape)
        out = self._convert_columns(sums, g)
        self._note_vmm(row_codes, rows, g, out)
        return out

    def _column_sums(self, row_codes: object, rows: slice, cols: slice) -> np.ndarray:
        """What each selected column carries: its current (A)."""
        return self.array.vmm(self.row_dac.volts(row_codes), rows, cols)

    def _convert_columns(self, sums: np.ndarray, gain: np.ndarray) -> np.ndarray:
        """Column (or pair) sums at their gains to column ADC codes."""
        return self.col_adc.convert(sums * gain)

    @staticmethod
    def _vmm_gain(gain: object, shape: tuple[int, ...]) -> np.ndarray:
        """A VMM's gains (positive integers) broadcast to its output codes."""
        g = np.asarray(gain)
        if g.dtype.kind not in "iu" or np.any(g < 1):
            raise ValueError(f"gain must hold positive integers (got {gain!r})")
        try:
            return np.broadcast_to(g, shape)
        except ValueError:
            raise ValueError(
                f"gain of shape {g.shape} does not fit {shape[-1]} output codes"
            ) from None

    def _note_vmm(self, row_codes: object, rows: slice, gain: np.ndarray, out: np.ndarray) -> None:
        """Count a VMM (one per sample) and log it, one ``PortOp`` per sample."""
        self.counts[Op.VMM] += 1 if out.ndim == 1 else out.shape[0]
        if self.log is not None:
            r0 = rows.start or 0
            rc, oc, gc = np.atleast_2d(row_codes), np.atleast_2d(out), np.atleast_2d(gain)
            self.log.extend(
                PortOp(Op.VMM, r0, tuple(a), tuple(b), tuple(c))
                for a, b, c in zip(rc.tolist(), oc.tolist(), gc.tolist(), strict=True)
            )
