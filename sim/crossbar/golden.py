"""The crossbar Q-network of Wang et al. (Nature Electronics 2019) as a golden model.

A fully connected ReLU network (4-48-48-2 for cart-pole, 2-48-48-3 for
mountain car) whose weights are differential conductance pairs on one 128 x 64
1T1R array, ``w = (G+ - G-) / s``. Layers 1 and 2 use vertical pairs (adjacent
rows driven with +V and -V, so a column current is already the difference);
layer 3 uses horizontal pairs (adjacent columns, subtracted after the ADC).
Biases, ReLU and argmax are digital. Everything that talks to the array goes
through :class:`~memrl.sim.devices.OneT1RPort`: row DAC codes in, column ADC
codes out; SET gate-voltage codes and RESET pulses; READ codes back.

The digital side is integer-exact, so the crossbar RTL can match it bit for bit.
Formats (:class:`Datapath`):

* activations and biases are signed integers with ``frac_bits`` fractional
  bits (Q.12 by default), saturated to ``act_bits``;
* a layer's input vector ``a`` (one per sample) is scaled so its largest
  magnitude ``m`` drives the DAC's full-scale code ``D`` (127 for 8 bits, i.e.
  V_read = 0.2 V): ``r = floor(D * 2**R / m)``, ``d = (a * r + 2**(R-1)) >> R``
  (one reciprocal per vector, then a multiply and an arithmetic shift:
  round half up); ``m = 0`` gives ``d = 0``;
* every column converts at the layer's gain ``G`` (``gains``, a power of two).
  With ``autorange`` (the default) a conversion in which some column reaches
  the ADC's end code is repeated with the gain of each such column halved,
  until none does or the saturated ones are at gain 1; the last conversion
  counts. A column converted at ``G >> e`` gives ``c << e``, its code at the
  top gain's scale. With ``reads = 2**n`` the vector is then converted
  ``reads - 1`` more times at the same gains and the scaled codes are summed
  (oversampling; the greedy action can use it);
* the scaled code ``c`` (summed; for layer 3 the difference of the two columns
  of a pair) becomes ``z = (c * m * k + 2**(K+n-1)) >> (K + n)`` with the
  per-layer constant ``k = round(lsb_I / (G * V_read * s) * 2**K)``: the
  current is ``I = (V_read / m) * s * sum(a w)``, so
  ``sum(a w) = I * m / (V_read * s)``;
* ``y = sat(z + b)``, ReLU on hidden layers; the outputs are the Q-values in
  the same format; the greedy action is the first index of the largest.

The host trains in floating point (the paper's hybrid scheme) and writes the
result to the array through a *write scheme* (:mod:`memrl.host.crossbar.qlearn`): the
paper's open-loop gate-voltage increments, or this project's thresholded,
verified pair writes. :class:`FloatQNet` has the same interface with float
weights: the software baseline in the same code path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np

from memrl.sim.devices import (
    ADC,
    OneT1RArray,
    OneT1RParams,
    OneT1RPort,
    OneT1RPortConfig,
    PairMap,
)
from memrl.sim.devices.port import Op
from memrl.sim.devices.xbar_emulator import XbarEmulatorArray, XbarEmulatorModel, XbarEmulatorPort

__all__ = [
    "Datapath",
    "CrossbarConfig",
    "EnergyModel",
    "Engine",
    "EngineFactory",
    "EnginePass",
    "CrossbarQNet",
    "FloatQNet",
    "layer_maps",
    "output_constants",
    "readback_columns",
    "reset_flags",
    "program_pieces",
    "float_forward",
    "flat_views",
]

Orientation = Literal["vertical", "horizontal"]

#: The most conversions :meth:`CrossbarQNet.layer` sums (``reads``).
MAX_READS = 16


@dataclass(frozen=True)
class Datapath:
    """Integer formats of the digital side (see the module docstring)."""

    frac_bits: int = 12  # activations, biases and Q-values: Q.12
    act_bits: int = 24  # saturation width of activations
    recip_bits: int = 32  # R: reciprocal precision of the DAC scaling
    scale_bits: int = 24  # K: precision of the per-layer output constant

    def __post_init__(self) -> None:
        for name, lo, hi in (
            ("frac_bits", 0, 20),
            ("act_bits", 8, 32),
            ("recip_bits", 8, 40),
            ("scale_bits", 8, 32),
        ):
            v = getattr(self, name)
            if not isinstance(v, int) or not lo <= v <= hi:
                raise ValueError(f"Datapath.{name} must be an integer in [{lo}, {hi}] (got {v!r})")
        if self.frac_bits >= self.act_bits - 1:
            raise ValueError("Datapath.frac_bits must leave integer bits below act_bits")

    @property
    def one(self) -> int:
        return 1 << self.frac_bits

    @property
    def act_max(self) -> int:
        return (1 << (self.act_bits - 1)) - 1

    def to_fixed(self, x: np.ndarray) -> np.ndarray:
        """Floats to saturated fixed point (round half to even)."""
        q = np.rint(np.asarray(x, dtype=np.float64) * self.one)
        return np.clip(q, -self.act_max, self.act_max).astype(np.int64)


@dataclass(frozen=True)
class EnergyModel:
    """First-order write energy: ``E = V_pulse * I * t_pulse`` per pulse.

    SET: the current is the compliance current the gate allows, taken as the
    programmed conductance times ``v_on`` (the voltage across the cell at
    compliance). RESET: ohmic current of the device before the pulse at the
    RESET voltage. Pulse voltages are the paper's (2.5 V SET, 1.7 V RESET); the
    pulse width and ``v_on`` are inferred (no published figure).
    """

    v_set: float = 2.5  # V (paper)
    v_reset: float = 1.7  # V (paper)
    v_on: float = 1.0  # V across the cell at compliance (inferred)
    t_pulse_s: float = 100e-9  # inferred

    def set_j(self, g_after_us: np.ndarray) -> float:
        return float(self.v_set * self.v_on * np.sum(g_after_us) * 1e-6 * self.t_pulse_s)

    def reset_j(self, g_before_us: np.ndarray) -> float:
        return float(self.v_reset**2 * np.sum(g_before_us) * 1e-6 * self.t_pulse_s)


@dataclass(frozen=True)
class CrossbarConfig:
    """Where the network lives and how its converters are set.

    ``gains`` are the per-layer transimpedance gains (powers of two) ahead of the
    column ADCs, the highest a column uses when ``autorange`` steps a
    saturated column's gain down (see the module docstring); the paper reads
    layer 1 with gain 2 and no ranging. ``s_us`` is the conductance of one unit
    of weight (250 uS in the paper).
    """

    sizes: tuple[int, ...] = (4, 48, 48, 2)
    array_rows: int = 128
    array_cols: int = 64
    s_us: float = 250.0
    gains: tuple[int, ...] = (16, 8, 8)
    autorange: bool = True
    # Horizontal pairs read differentially (one ADC code per pair); False: each
    # column converted and the two codes subtracted, as in the paper's setup.
    differential_columns: bool = True
    # How read_back senses conductances: "read", one READ per device (the read
    # ADC); "vmm", one VMM per row with that row alone driven at full scale and
    # the used columns converted at ``readback_gain`` (the column ADCs).
    readback: Literal["read", "vmm"] = "read"
    readback_gain: int = 16
    # The array behind the port: "1t1r", the device model ``device``; "emulator",
    # the on-chip emulator's integer model built from it
    # (memrl.sim.devices.xbar_emulator), its LFSR seeded with ``emulator_seed``.
    array: Literal["1t1r", "emulator"] = "1t1r"
    emulator_seed: int = 0xACE1
    # The controller's work in pieces (an engine with less memory): a forward
    # pass over more than ``pass_samples`` samples is that many at a time, each
    # piece through every layer; a write of more than ``program_entries``
    # devices is that many at a time, each piece RESET then SET. None: whole.
    # The pieces change the order of the array's operations, so its noise.
    pass_samples: int | None = None
    program_entries: int | None = None
    device: OneT1RParams = field(default_factory=OneT1RParams)
    port: OneT1RPortConfig = field(default_factory=OneT1RPortConfig)
    datapath: Datapath = field(default_factory=Datapath)
    energy: EnergyModel = field(default_factory=EnergyModel)
    init_w: float = 0.25  # weights U(-init_w, init_w) (paper)
    init_bias: float = 0.5  # biases U(-init_bias, init_bias) (paper)
    bias_clip: float = 2.5  # (paper)
    vg_mid: float = 1.05  # V: gate voltage of an initial zero weight (paper)
    init_vg_per_w: float = 2.0  # V per unit weight at initialisation (paper)

    def __post_init__(self) -> None:
        if len(self.sizes) < 2 or any(not isinstance(n, int) or n < 1 for n in self.sizes):
            raise ValueError(f"sizes must be at least two positive integers (got {self.sizes!r})")
        if len(self.gains) != len(self.sizes) - 1:
            raise ValueError(
                f"gains needs one entry per layer ({len(self.sizes) - 1}), got {self.gains!r}"
            )
        for g in self.gains:
            if not isinstance(g, int) or g < 1 or g & (g - 1):
                raise ValueError(f"gains must be powers of two >= 1 (got {self.gains!r})")
        if self.s_us <= 0:
            raise ValueError(f"s_us must be > 0 (got {self.s_us})")
        if self.readback not in ("read", "vmm"):
            raise ValueError(f"readback must be 'read' or 'vmm' (got {self.readback!r})")
        g = self.readback_gain
        if isinstance(g, bool) or not isinstance(g, int) or g < 1 or g & (g - 1):
            raise ValueError(f"readback_gain must be a power of two >= 1 (got {g!r})")
        for name in ("pass_samples", "program_entries"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
                raise ValueError(f"{name} must be a positive integer or None (got {v!r})")
        if self.array not in ("1t1r", "emulator"):
            raise ValueError(f"array must be '1t1r' or 'emulator' (got {self.array!r})")
        if self.array == "emulator":
            emulator_model(self)  # raises if the emulator cannot hold the settings
        layer_maps(self)  # raises if the layers do not fit the array

    @property
    def n_layers(self) -> int:
        return len(self.sizes) - 1


def layer_maps(config: CrossbarConfig) -> list[PairMap]:
    """The paper's placement: layers 1..L-1 stacked as vertical pairs from row 0
    (sharing columns), the last layer as horizontal pairs to their right."""
    maps: list[PairMap] = []
    row = 0
    hidden_cols = 0
    for i in range(config.n_layers - 1):
        n_in, n_out = config.sizes[i], config.sizes[i + 1]
        maps.append(PairMap(n_in, n_out, row, 0, "vertical", config.s_us))
        row += 2 * n_in
        hidden_cols = max(hidden_cols, n_out)
    n_in, n_out = config.sizes[-2], config.sizes[-1]
    maps.append(PairMap(n_in, n_out, 0, hidden_cols, "horizontal", config.s_us))
    for i, pm in enumerate(maps):
        r, c = pm.footprint
        if pm.row0 + r > config.array_rows or pm.col0 + c > config.array_cols:
            raise ValueError(
                f"layer {i + 1} ({pm.n_in}x{pm.n_out}, {pm.orientation} pairs, {r}x{c} devices "
                f"at row {pm.row0}, column {pm.col0}) does not fit a "
                f"{config.array_rows}x{config.array_cols} array"
            )
    return maps


def emulator_model(config: CrossbarConfig) -> XbarEmulatorModel:
    """The on-chip emulator of ``config``'s array and converters. It emulates the
    nominal SET line, the RESET level and the noise; it refuses device settings
    it does not emulate (device-to-device spread, faults, drift)."""
    d = config.device
    off_values = {"d2d_slope_frac": 0.0, "d2d_offset_us": 0.0, "p_stuck_set": 0.0,
                  "p_stuck_reset": 0.0, "drift_nu": 0.0, "endurance_pulses": None}  # fmt: skip
    for name, off in off_values.items():
        if getattr(d, name) != off:
            raise ValueError(
                f"the emulator does not emulate OneT1RParams.{name} (got {getattr(d, name)!r}; "
                f"set it to {off!r})"
            )
    return XbarEmulatorModel.from_params(
        d, config.port, config.array_rows, config.array_cols, config.emulator_seed
    )


def readback_columns(config: CrossbarConfig) -> int:
    """Columns 0 .. n - 1 hold every device of the network: a row read-back's n."""
    return max(pm.col0 + pm.footprint[1] for pm in layer_maps(config))


def output_constants(config: CrossbarConfig) -> list[int]:
    """The per-layer constants ``k = round(lsb_I / (G * V_read * s) * 2**K)``."""
    lsb = ADC(config.port.col_adc_bits, config.port.col_full_scale_a, signed=True).lsb
    one = 1 << config.datapath.scale_bits
    return [
        int(round(lsb / (g * config.device.v_read * config.s_us * 1e-6) * one))
        for g in config.gains
    ]


def float_forward(
    weights: list[np.ndarray], biases: list[np.ndarray], x: np.ndarray
) -> list[np.ndarray]:
    """Activations of a float ReLU network: [input, hidden..., output]."""
    acts = [np.asarray(x, dtype=np.float64)]
    for i, (w, b) in enumerate(zip(weights, biases, strict=True)):
        z = acts[-1] @ w + b
        acts.append(np.maximum(z, 0.0) if i < len(weights) - 1 else z)
    return acts


def flat_views(flat: np.ndarray, shapes: list[tuple[int, ...]]) -> list[np.ndarray]:
    """Consecutive views of ``flat`` with the given shapes."""
    out, k = [], 0
    for shape in shapes:
        n = int(np.prod(shape))
        out.append(flat[k : k + n].reshape(shape))
        k += n
    return out


class _QNetBase:
    """What both networks share: the host's weights and biases.

    ``w_flat`` and ``b_flat`` hold every layer's weights and biases in one vector
    each (layer by layer, row-major); ``weights`` and ``biases`` are per-layer
    views of them.
    """

    config: CrossbarConfig

    def _allocate(self) -> None:
        s = self.config.sizes
        shapes = [(s[i], s[i + 1]) for i in range(self.config.n_layers)]
        self.w_flat = np.zeros(sum(a * b for a, b in shapes))
        self.weights = flat_views(self.w_flat, shapes)
        self.b_flat = np.zeros(sum(s[1:]))
        self.biases = flat_views(self.b_flat, [(n,) for n in s[1:]])

    def bias_fixed(self) -> list[np.ndarray]:
        return [self.config.datapath.to_fixed(b) for b in self.biases]

    def add_bias(self, db: np.ndarray) -> None:
        """Add a change to ``b_flat``, clipped to the bias range."""
        c = self.config.bias_clip
        np.clip(self.b_flat + db, -c, c, out=self.b_flat)


class FloatQNet(_QNetBase):
    """The same network with float weights: the software baseline.

    Initialised like the crossbar (weights U(-0.25, 0.25), biases U(-0.5, 0.5));
    forward passes are float; a weight change is applied exactly.
    """

    def __init__(self, config: CrossbarConfig, rng: np.random.Generator) -> None:
        self.config = config
        self._allocate()
        for w in self.weights:
            w[...] = rng.uniform(-config.init_w, config.init_w, w.shape)
        for b in self.biases:
            b[...] = rng.uniform(-config.init_bias, config.init_bias, b.shape)

    def forward(self, x: np.ndarray, reads: int = 1) -> list[np.ndarray]:
        return float_forward(self.weights, self.biases, np.atleast_2d(x))


def reset_flags(reset: np.ndarray, set_idx: np.ndarray, what: str = "a write") -> np.ndarray:
    """For each device of ``set_idx``, whether it is RESET first: ``reset`` must be
    a subsequence of ``set_idx`` (a ValueError names the first device that is not)."""
    reset = np.asarray(reset, dtype=np.int64).ravel()
    flags = np.zeros(np.size(set_idx), dtype=bool)
    k = 0
    for i, dev in enumerate(np.asarray(set_idx, dtype=np.int64).ravel().tolist()):
        if k < reset.size and dev == reset[k]:
            flags[i] = True
            k += 1
    if k != reset.size:
        raise ValueError(
            f"{what} RESETs only devices it then SETs, in the SET order: "
            f"RESET device {int(reset[k])} is not in the SET list in order"
        )
    return flags


def program_pieces(
    reset: np.ndarray, set_idx: np.ndarray, levels: np.ndarray, entries: int | None
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """A write (RESET ``reset``, then SET ``set_idx`` at ``levels``) as writes of at
    most ``entries`` SET devices each, in order; each piece RESETs the devices of
    ``reset`` among its own (:func:`reset_flags`). None or a short list: one piece."""
    reset, set_idx = np.asarray(reset), np.asarray(set_idx)
    levels = np.broadcast_to(np.asarray(levels), set_idx.shape)
    if entries is None or set_idx.size <= entries:
        return [(reset, set_idx, levels)]
    flags = reset_flags(reset, set_idx, "a write split into pieces")
    return [
        (set_idx[i : i + entries][flags[i : i + entries]], set_idx[i : i + entries],
         levels[i : i + entries])
        for i in range(0, set_idx.size, entries)
    ]  # fmt: skip


class EnginePass(Protocol):
    """What an engine's forward pass returns: the fixed-point activations
    [input, hidden..., Q] of the batch, batch-first."""

    @property
    def acts(self) -> list[np.ndarray]: ...


class Engine(Protocol):
    """The digital side of a :class:`CrossbarQNet` when it is not the golden
    model's own (the crossbar engine in a simulator or on a board): forward
    passes, programming and read-back, in the codes of the crossbar port.

    ``cycles`` counts the engine's clock cycles (where known), ``words_out`` and
    ``words_in`` the words sent and received, and ``history`` holds each
    command as (name, count, cycles, words out, words in), in order.
    """

    cycles: int
    words_out: int
    words_in: int
    history: list[tuple[str, int, int, int, int]]

    def forward(self, b_q: np.ndarray, x_q: np.ndarray, reads: int = 1) -> EnginePass:
        """A forward pass of fixed-point inputs ``x_q`` (batch, n_in) with every
        layer's fixed-point biases ``b_q`` (concatenated)."""
        ...

    def program(self, reset: np.ndarray, set_idx: np.ndarray, levels: np.ndarray) -> None:
        """RESET the devices ``reset``, then SET ``set_idx`` at gate codes ``levels``."""
        ...

    def read(self, devices: np.ndarray) -> np.ndarray:
        """READ codes of ``devices``."""
        ...

    def read_rows(self, rows: np.ndarray) -> np.ndarray:
        """Column codes (rows, read-back columns) of ``rows``, one one-hot VMM each."""
        ...

    def close(self) -> None:
        """Release the simulator or the link."""
        ...


#: Makes the :class:`Engine` of a network (the ``engine`` of :class:`CrossbarQNet`).
EngineFactory = Callable[["CrossbarQNet"], Engine]


class CrossbarQNet(_QNetBase):
    """The Q-network on a simulated 1T1R array behind its port.

    ``weights`` hold what the host last read back, ``(G+ - G-) / s`` from READ
    codes; :meth:`forward` uses the array itself (VMM with the devices' true
    conductances, read noise and converter quantisation). ``vg`` is the gate
    voltage of each device's last SET as the host asked for it (volts, before the
    port's quantisation to a gate-voltage code): the paper's scheme steps it in
    increments finer than one code.

    ``engine`` makes the :class:`Engine` that does the digital side (forward
    passes, programming, read-back) against the same array; None: this model's
    own datapath.
    """

    def __init__(
        self,
        config: CrossbarConfig,
        rng: np.random.Generator,
        *,
        record: bool = False,
        engine: EngineFactory | None = None,
    ) -> None:
        self.config = c = config
        self.maps = layer_maps(c)
        self.array: OneT1RArray | XbarEmulatorArray
        self.port: OneT1RPort | XbarEmulatorPort
        if c.array == "emulator":
            self.array = XbarEmulatorArray(emulator_model(c), c.device)
            self.port = XbarEmulatorPort(self.array, c.port, record=record)
        else:
            self.array = OneT1RArray(c.array_rows, c.array_cols, c.device, rng)
            self.port = OneT1RPort(self.array, c.port, record=record)
        pairs = [pm.indices(c.array_cols) for pm in self.maps]
        self.pos = [p for p, _ in pairs]
        self.neg = [n for _, n in pairs]
        self.pos_all = np.concatenate([p.ravel() for p in self.pos])
        self.neg_all = np.concatenate([n.ravel() for n in self.neg])
        self.used = np.sort(np.concatenate([self.pos_all, self.neg_all]))
        dp = c.datapath
        d_max = self.port.row_dac.max_code
        self._recip_num = d_max << dp.recip_bits
        self.k_q = output_constants(c)
        # Bound |c * m * k| (c: a pair's scaled ADC difference, summed over up to
        # MAX_READS conversions) to keep int64 exact.
        c_max = 2 * self.port.col_adc.max_code * MAX_READS
        if (
            c_max * dp.act_max * max(k * g for k, g in zip(self.k_q, c.gains, strict=True))
            >= 1 << 62
        ):
            raise ValueError(
                "datapath would overflow 64 bits: lower Datapath.act_bits or scale_bits, "
                "or raise the column ADC full scale"
            )
        # Columns a row read-back converts: every column the network uses.
        self.readback_cols = readback_columns(c)
        # The engine doing the digital side, if not this model's own datapath.
        self.engine: Engine | None = engine(self) if engine is not None else None
        self.vg = np.full(self.array.size, c.vg_mid)
        self.g_read_us = np.zeros(self.array.size)
        self._allocate()
        for b in self.biases:
            b[...] = rng.uniform(-c.init_bias, c.init_bias, b.shape)
        self.energy_j = 0.0
        self._initialise(rng)
        # The weights the host wants, for write schemes that track them; such a
        # scheme starts it from the read-back weights at its first write.
        self.shadow: np.ndarray | None = None

    # -- programming -------------------------------------------------------
    def _initialise(self, rng: np.random.Generator) -> None:
        """The paper's initialisation: RESET all, then SET each pair so that the
        device carrying the weight's sign sits at ``vg_mid + 2 V * |w|``."""
        c = self.config
        w0 = [rng.uniform(-c.init_w, c.init_w, (pm.n_in, pm.n_out)) for pm in self.maps]
        vg = np.full(self.array.size, c.vg_mid)
        for w, pos, neg in zip(w0, self.pos, self.neg, strict=True):
            vg[pos] = c.vg_mid + c.init_vg_per_w * np.maximum(w, 0.0)
            vg[neg] = c.vg_mid + c.init_vg_per_w * np.maximum(-w, 0.0)
        used = self.used
        self.pulse(
            reset=used, set_idx=used, v_gate=np.clip(vg[used], c.device.vg_min, c.device.vg_max)
        )
        self.read_back()

    def pulse(self, reset: np.ndarray, set_idx: np.ndarray, v_gate: np.ndarray) -> None:
        """RESET the devices ``reset``, then SET ``set_idx`` at ``v_gate`` (volts,
        quantised to the port's gate-voltage codes). Counts energy; records ``vg``."""
        e = self.config.energy
        levels = self.port.level_for(v_gate)
        if reset.size:
            self.energy_j += e.reset_j(self.array._conductance_flat(reset))
        for r, s, lv in program_pieces(reset, set_idx, levels, self.config.program_entries):
            if self.engine is not None:
                self.engine.program(r, s, lv)
            else:
                self.program_port(r, s, lv)
        if set_idx.size:
            self.vg[set_idx] = v_gate
            self.energy_j += e.set_j(self.array._conductance_flat(set_idx))

    def program_port(self, reset: np.ndarray, set_idx: np.ndarray, levels: np.ndarray) -> None:
        """RESET ``reset``, then SET ``set_idx`` at gate codes ``levels``, on the port."""
        if reset.size:
            self.port.reset(reset)
        if set_idx.size:
            self.port.set(set_idx, levels)

    def read_back(self, devices: np.ndarray | None = None) -> None:
        """Sense devices (default: every device the network uses; see
        ``CrossbarConfig.readback``) and refresh the host's weights from the codes."""
        c = self.config
        idx = self.used if devices is None else np.asarray(devices)
        if c.readback == "read":
            codes = self.engine.read(idx) if self.engine is not None else self.port.read(idx)
            self.g_read_us[idx] = codes * (self.port.read_adc.lsb / c.device.v_read * 1e6)
        else:
            rows, which = np.unique(idx // c.array_cols, return_inverse=True)
            row_codes = self.read_rows(rows)
            # one row at full scale (V_read): I = V_read * G, sampled at the gain
            lsb_us = self.port.col_adc.lsb / (c.readback_gain * c.device.v_read) * 1e6
            self.g_read_us[idx] = row_codes[which, idx % c.array_cols] * lsb_us
        np.subtract(self.g_read_us[self.pos_all], self.g_read_us[self.neg_all], out=self.w_flat)
        self.w_flat /= self.config.s_us

    def read_rows(self, rows: np.ndarray) -> np.ndarray:
        """Column codes of ``rows`` (ascending), one VMM each with that row alone
        at the DAC's full-scale code, in one pass over the window of the rows."""
        if self.engine is not None:
            return self.engine.read_rows(rows)
        return self.read_rows_port(rows)

    def read_rows_port(self, rows: np.ndarray) -> np.ndarray:
        """:meth:`read_rows` on the port."""
        c = self.config
        r0, r1 = int(rows[0]), int(rows[-1]) + 1
        one_hot = np.zeros((rows.size, r1 - r0), dtype=np.int64)
        one_hot[np.arange(rows.size), rows - r0] = self.port.row_dac.max_code
        return self.port.vmm(
            one_hot, slice(r0, r1), slice(0, self.readback_cols), gain=c.readback_gain
        )

    @property
    def pulses(self) -> tuple[int, int]:
        """(SET, RESET) pulses issued so far."""
        return int(self.port.counts[Op.SET]), int(self.port.counts[Op.RESET])

    # -- inference ---------------------------------------------------------
    def dac(self, a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-vector DAC codes and scale ``m`` of fixed-point activations (batch, n)."""
        rb = self.config.datapath.recip_bits
        m = np.abs(a).max(axis=1)
        r = self._recip_num // np.maximum(m, 1)
        r[m == 0] = 0
        d = (a * r[:, None] + (1 << (rb - 1))) >> rb
        return d, m

    def layer(self, i: int, a: np.ndarray, b_q: np.ndarray, reads: int = 1) -> np.ndarray:
        """One layer on fixed-point inputs (batch, n_in): the pre-activation sums."""
        if reads < 1 or reads > MAX_READS or reads & (reads - 1):
            raise ValueError(f"reads must be a power of two in [1, {MAX_READS}] (got {reads!r})")
        pm = self.maps[i]
        cfg = self.config
        d, m = self.dac(a)
        if pm.orientation == "vertical":
            rows = np.empty((d.shape[0], 2 * pm.n_in), dtype=np.int64)
            rows[:, 0::2] = d
            rows[:, 1::2] = -d
        else:
            rows = d
        pairs = pm.orientation == "horizontal" and cfg.differential_columns
        n_codes = pm.n_out if pm.orientation == "vertical" or pairs else 2 * pm.n_out
        top = cfg.gains[i]
        e = np.zeros((d.shape[0], n_codes), dtype=np.int64)  # gain of a column: top >> e

        def convert(r: np.ndarray | slice, shift: np.ndarray) -> np.ndarray:
            return self.port.vmm(rows[r], pm.rows(), pm.cols(), gain=top >> shift, col_pairs=pairs)

        c = convert(slice(None), e)
        if cfg.autorange:
            end, e_max = self.port.col_adc.max_code, top.bit_length() - 1
            sat = (np.abs(c) >= end) & (e < e_max)
            while sat.any():
                r = np.flatnonzero(sat.any(axis=1))
                e[r] += sat[r]
                c[r] = convert(r, e[r])
                sat[...] = False
                sat[r] = (np.abs(c[r]) >= end) & (e[r] < e_max)
        c = c << e
        for _ in range(reads - 1):
            c += convert(slice(None), e) << e
        if not (pm.orientation == "vertical" or pairs):
            c = c[:, 0::2] - c[:, 1::2]
        sb = cfg.datapath.scale_bits + reads.bit_length() - 1
        z = (c * m[:, None] * self.k_q[i] + (1 << (sb - 1))) >> sb
        amax = cfg.datapath.act_max
        return np.clip(z + b_q, -amax, amax)

    def forward_fixed(self, x: np.ndarray, reads: int = 1) -> list[np.ndarray]:
        """Fixed-point activations [input, hidden..., Q] of a batch of observations;
        ``reads`` conversions are summed in every layer."""
        x_q = self.config.datapath.to_fixed(np.atleast_2d(x))
        b_q = self.bias_fixed()
        b_all = np.concatenate(b_q)  # the engine takes every layer's biases at once
        n = self.config.pass_samples or len(x_q)
        pieces = []
        for k in range(0, len(x_q), n):
            if self.engine is not None:
                pieces.append(self.engine.forward(b_all, x_q[k : k + n], reads).acts)
            else:
                pieces.append(self.forward_port(x_q[k : k + n], b_q, reads))
        if len(pieces) == 1:
            return pieces[0]
        return [np.concatenate(layer) for layer in zip(*pieces, strict=True)]

    def forward_port(
        self, x_q: np.ndarray, b_q: list[np.ndarray], reads: int = 1
    ) -> list[np.ndarray]:
        """:meth:`forward_fixed` of fixed-point inputs and per-layer biases, on the port."""
        acts = [x_q]
        for i in range(self.config.n_layers):
            y = self.layer(i, acts[-1], b_q[i], reads)
            acts.append(np.maximum(y, 0) if i < self.config.n_layers - 1 else y)
        return acts

    def forward(self, x: np.ndarray, reads: int = 1) -> list[np.ndarray]:
        """The same activations as floats (for the host's backward pass)."""
        one = float(self.config.datapath.one)
        return [a / one for a in self.forward_fixed(x, reads)]
