"""Python model of the on-chip RRAM emulator (``memrl.rtl.navigator.emulator``).

A stand-in for boards without resistive memory: every device is an 8-bit
READ code held in block RAM. READ returns the code. SET at compliance level
``L`` stores ``set_code[L]`` plus programming variability; RESET at stop
level ``L`` stores ``reset_code[L]`` plus variability. The variability comes
from one 16-bit Galois LFSR (polynomial 0xB400) advanced eight steps per
programming operation:

    n    = (lfsr & 15) + ((lfsr >> 4) & 15) - 15      # -15 .. 15, std 6.5
    code = clamp(mean + ((n * spread) >> 6), 0, 255)  # arithmetic shift

so ``spread`` is the code standard deviation times 64 / 6.5. The tables and the
initial codes come from the SiOx model (:func:`EmulatorModel.from_siox`): a
level's mean code is the READ code of its mean resistance, its spread the
code's standard deviation there. The model is integer-exact; the RTL core
matches it bit for bit (the LFSR sequence depends on the order of programming
operations, which the golden model and the RTL share).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from memrl.sim.devices._check import check_int_range
from memrl.sim.devices.port import DevicePort, SiOxPort
from memrl.sim.devices.siox import SiOxArray, SiOxParams

__all__ = ["LFSR_TAPS", "RRAM_DEVICES", "check_device", "emulator_for", "lfsr_advance",
           "EmulatorModel", "EmulatorPort"]  # fmt: skip

#: The devices a run can use (``--device``): the SiOx physics model, or the
#: on-chip emulator (its Python model for the golden model).
RRAM_DEVICES = ("siox", "emulator")


def check_device(device: str) -> None:
    if device not in RRAM_DEVICES:
        raise ValueError(f"device must be one of {RRAM_DEVICES} (got {device!r})")


LFSR_TAPS = 0xB400
NOISE_STD = 6.5  # standard deviation of n


def lfsr_advance(state: int, steps: int = 8) -> int:
    """``steps`` Galois steps of the 16-bit LFSR."""
    for _ in range(steps):
        lsb = state & 1
        state >>= 1
        if lsb:
            state ^= LFSR_TAPS
    return state


@dataclass(frozen=True)
class EmulatorModel:
    """Tables, initial codes and LFSR seed of one emulator instance."""

    init_codes: tuple[int, ...]
    set_code: tuple[int, ...]
    set_spread: tuple[int, ...]
    reset_code: tuple[int, ...]
    reset_spread: tuple[int, ...]
    lfsr_seed: int = 0xACE1

    def __post_init__(self) -> None:
        check_int_range("lfsr_seed", self.lfsr_seed, 1, 0xFFFF)
        for name in ("init_codes", "set_code", "reset_code"):
            check_int_range(name, np.asarray(getattr(self, name)), 0, 255)
        for name in ("set_spread", "reset_spread"):
            check_int_range(name, np.asarray(getattr(self, name)), 0, 1023)
        if len(self.set_code) != len(self.set_spread) or not self.set_code:
            raise ValueError("set_code and set_spread need one entry per SET level")
        if len(self.reset_code) != len(self.reset_spread) or not self.reset_code:
            raise ValueError("reset_code and reset_spread need one entry per RESET level")
        if len(self.set_code) > 16 or len(self.reset_code) > 16:
            raise ValueError("at most 16 SET and 16 RESET levels (4-bit level codes)")

    @classmethod
    def from_siox(
        cls, n_devices: int, seed: int, params: SiOxParams | None = None
    ) -> EmulatorModel:
        """Tables from the SiOx model's level statistics; initial codes are the READ
        codes of the SiOx model's initial state, drawn with a numpy Generator
        seeded by ``seed`` (which then draws the LFSR seed)."""
        check_int_range("n_devices", n_devices, 1, 1 << 24)
        rng = np.random.default_rng(seed)
        # The SiOx model's own initial state, drawn from ``rng`` in call order.
        port = SiOxPort(SiOxArray(n_devices, params or SiOxParams(), rng))
        p = port.array.params

        def code(r_kohm: np.ndarray) -> np.ndarray:
            # The READ code of a resistance, without read noise.
            return port.read_adc.convert(p.v_read / (np.asarray(r_kohm) * 1e3))

        lrs_m, lrs_s, hrs_m, hrs_s = port.level_tables()

        def spread(mean: np.ndarray, sigma: np.ndarray) -> np.ndarray:
            # d code / d R = -code / R: the code's standard deviation at the mean.
            sd = code(mean) * sigma / mean
            return np.clip(np.rint(sd * 64 / NOISE_STD), 0, 1023)

        as_tuple = lambda a: tuple(int(v) for v in a)  # noqa: E731
        return cls(
            init_codes=as_tuple(code(port.array.r_kohm)),
            set_code=as_tuple(code(lrs_m)),
            set_spread=as_tuple(spread(lrs_m, lrs_s)),
            reset_code=as_tuple(code(hrs_m)),
            reset_spread=as_tuple(spread(hrs_m, hrs_s)),
            lfsr_seed=int(rng.integers(1, 0x10000)),
        )


class EmulatorPort(DevicePort):
    """The emulator behind the device port; operations apply in the order given
    (the LFSR steps once per programming operation)."""

    def __init__(self, model: EmulatorModel, *, record: bool = False) -> None:
        super().__init__(len(model.init_codes), record=record)
        self.model = model
        self.codes = np.array(model.init_codes, dtype=np.int64)
        self.lfsr = model.lfsr_seed
        self.n_set_levels = len(model.set_code)
        self.n_reset_levels = len(model.reset_code)

    def _program(self, flat: np.ndarray, level: np.ndarray, mean, spread) -> None:  # noqa: ANN001
        for a, lv in zip(flat.tolist(), level.tolist(), strict=True):
            self.lfsr = lfsr_advance(self.lfsr)
            n = (self.lfsr & 15) + ((self.lfsr >> 4) & 15) - 15
            self.codes[a] = min(255, max(0, mean[lv] + ((n * spread[lv]) >> 6)))

    def _read(self, flat: np.ndarray) -> np.ndarray:
        return self.codes[flat].copy()

    def _set(self, flat: np.ndarray, level: np.ndarray) -> None:
        self._program(flat, level, self.model.set_code, self.model.set_spread)

    def _reset(self, flat: np.ndarray, level: np.ndarray) -> None:
        self._program(flat, level, self.model.reset_code, self.model.reset_spread)


def emulator_for(
    device: str, n_devices: int, seed: int, params: SiOxParams | None = None
) -> EmulatorModel | None:
    """The emulator model a run on ``device`` uses (``emulator``: built from the SiOx
    model of ``seed``), or None for ``siox``; refuses other names."""
    check_device(device)
    return EmulatorModel.from_siox(n_devices, seed, params) if device == "emulator" else None
