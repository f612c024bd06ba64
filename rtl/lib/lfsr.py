"""The on-chip emulators' noise source: a 16-bit Galois LFSR (taps 0xB400).

A draw advances the register eight steps and takes the sample
``n = lfsr[0:4] + lfsr[4:8] - 15`` (in [-15, 15]) from the new state; a value's
noise is ``(n * spread) >>> 6``. Both emulators
(:mod:`memrl.rtl.navigator.emulator`, :mod:`memrl.rtl.crossbar.emulator`) draw
from it; :func:`memrl.sim.devices.emulator.lfsr_advance` is the Python model.
"""

from __future__ import annotations

from amaranth import Module, Mux, Signal, signed

__all__ = ["LFSR_TAPS", "NOISE_SHIFT", "check_lfsr_seed", "lfsr_draw", "scaled_noise"]

LFSR_TAPS = 0xB400
#: Fraction bits of a spread: the noise is ``(n * spread) >>> NOISE_SHIFT``.
NOISE_SHIFT = 6


def check_lfsr_seed(seed: int) -> None:
    """Refuse a seed the register cannot start from (zero stays zero)."""
    if not 1 <= seed <= 0xFFFF:
        raise ValueError(f"lfsr_seed must be in [1, 65535] (got {seed})")


def _lfsr8(m: Module, state):  # noqa: ANN001, ANN202 - Amaranth values
    """Eight Galois steps of the LFSR as combinational logic, a signal per step (as
    one expression, each step would copy the previous one three times: 3**8 terms
    in the Verilog)."""
    for k in range(8):
        step = Signal(16, name=f"lfsr_step{k}")
        m.d.comb += step.eq(Mux(state[0], (state >> 1) ^ LFSR_TAPS, state >> 1))
        state = step
    return state


def lfsr_draw(m: Module, seed: int):  # noqa: ANN201 - Amaranth values
    """The LFSR register (initial ``seed``), its state eight steps on (``nxt``; a
    draw assigns it to the register) and that state's sample
    ``n = nxt[0:4] + nxt[4:8] - 15``, in [-15, 15]."""
    lfsr = Signal(16, init=seed)
    nxt = Signal(16)
    m.d.comb += nxt.eq(_lfsr8(m, lfsr))
    n = Signal(signed(6))
    m.d.comb += n.eq(nxt[0:4] + nxt[4:8] - 15)
    return lfsr, nxt, n


def scaled_noise(m: Module, n, spread) -> Signal:  # noqa: ANN001 - Amaranth values
    """The noise of a sample ``n`` at ``spread`` (unsigned): ``(n * spread) >>> 6``."""
    noise = Signal(signed(len(n) + len(spread) + 1))
    m.d.comb += noise.eq((n * spread) >> NOISE_SHIFT)
    return noise
