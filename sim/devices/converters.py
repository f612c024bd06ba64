"""DAC and ADC quantisation, as components of their own.

Both map between physical values (volts, amperes) and integer codes. Codes are
``int64`` numpy arrays. A signed converter with ``bits`` b uses the symmetric
code range [-(2**(b-1) - 1), 2**(b-1) - 1] so that zero is exact and the scale
is the same for both signs (the differential crossbar reads need that); an
unsigned one uses [0, 2**b - 1]. Rounding is half-to-even (``numpy.rint``),
values beyond full scale saturate at the end codes.

The full scale is the value of the largest code: ``value = code * lsb`` with
``lsb = full_scale / max_code``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from memrl.sim.devices._check import check_finite, check_int_range, check_range

__all__ = ["Quantizer", "DAC", "ADC"]

MAX_BITS = 24


@dataclass(frozen=True)
class Quantizer:
    """A uniform quantiser between a physical value and an integer code.

    bits: resolution, 1 to 24 (signed converters need at least 2).
    full_scale: the value of the largest code, > 0 (volts for a DAC, amperes
        or siemens for an ADC; the owner of the converter says which).
    signed: symmetric signed codes, or unsigned codes from 0.
    """

    bits: int
    full_scale: float
    signed: bool = False

    def __post_init__(self) -> None:
        lo = 2 if self.signed else 1
        check_int_range("bits", self.bits, lo, MAX_BITS)
        check_range("full_scale", self.full_scale, 0.0, lo_open=True)

    @property
    def max_code(self) -> int:
        return (1 << (self.bits - 1)) - 1 if self.signed else (1 << self.bits) - 1

    @property
    def min_code(self) -> int:
        return -self.max_code if self.signed else 0

    @property
    def lsb(self) -> float:
        return self.full_scale / self.max_code

    def quantize(self, value: object) -> np.ndarray:
        """Physical value(s) to code(s); NaN or infinity raise ValueError."""
        arr = check_finite("value", value)
        codes = np.rint(arr / self.lsb)
        return np.clip(codes, self.min_code, self.max_code).astype(np.int64)

    def value(self, code: object) -> np.ndarray:
        """Code(s) to physical value(s); a code outside the range raises ValueError."""
        codes = check_int_range("code", code, self.min_code, self.max_code)
        return codes * self.lsb


class DAC(Quantizer):
    """Digital-to-analogue converter: ``volts(code)`` drives a line."""

    def volts(self, code: object) -> np.ndarray:
        return self.value(code)


class ADC(Quantizer):
    """Analogue-to-digital converter: ``convert(x)`` samples a line."""

    def convert(self, value: object) -> np.ndarray:
        return self.quantize(value)
