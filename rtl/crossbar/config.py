"""The crossbar engine's parameters and the words and layouts its parts share.

:class:`CrossbarEngineConfig` sizes :class:`memrl.rtl.crossbar.engine.CrossbarEngine`
and each of its parts (:mod:`~memrl.rtl.crossbar.dac`,
:mod:`~memrl.rtl.crossbar.issuer`, :mod:`~memrl.rtl.crossbar.autorange`,
:mod:`~memrl.rtl.crossbar.output`, :mod:`~memrl.rtl.crossbar.sequencer`,
:mod:`~memrl.rtl.crossbar.readback`, :mod:`~memrl.rtl.crossbar.shiftadd`);
:mod:`memrl.rtl.crossbar.engine` exports these names too.
"""

from __future__ import annotations

from dataclasses import dataclass

from amaranth import ShapeLike, Value, unsigned
from amaranth.lib import data, enum, stream, wiring
from amaranth.lib.memory import ReadPort, WritePort
from amaranth.lib.wiring import In
from amaranth.utils import ceil_log2

from memrl.rtl.crossbar.port import CrossbarPortSignature, crossbar_request_layout
from memrl.rtl.crossbar.shiftadd import ShiftAddSignature

__all__ = [
    "MAX_PROGRAM",
    "XbarLayer",
    "CrossbarEngineConfig",
    "EngineOp",
    "PassKind",
    "skips_sample",
    "command_layout",
    "program_entry",
    "device_word",
    "request_signature",
    "read_port",
    "write_port",
    "shift_add_signature",
]


@dataclass(frozen=True)
class XbarLayer:
    """One layer's place on the array and its converter settings.

    ``vertical``: pairs on adjacent rows (row ``row0 + 2i`` carries ``G+`` of
    input ``i``, driven with ``+d``, the next row ``G-``, driven with ``-d``);
    otherwise on adjacent columns, read as differential pairs. ``gain`` is the
    top column gain (a power of two); ``k`` the output constant with
    ``scale_bits`` fractional bits.
    """

    n_in: int
    n_out: int
    row0: int
    col0: int
    vertical: bool
    gain: int
    k: int

    @property
    def e_max(self) -> int:
        return self.gain.bit_length() - 1

    @property
    def n_rows(self) -> int:
        return 2 * self.n_in if self.vertical else self.n_in


#: PROGRAM entries an engine holds unless built for fewer.
MAX_PROGRAM = 8192


@dataclass(frozen=True)
class CrossbarEngineConfig:
    """Constructor parameters of :class:`CrossbarEngine`."""

    layers: tuple[XbarLayer, ...]
    rows: int = 128
    cols: int = 64
    dac_bits: int = 8
    adc_bits: int = 10
    vg_bits: int = 10
    read_bits: int = 10
    act_bits: int = 24
    recip_bits: int = 32
    scale_bits: int = 24
    autorange: bool = True
    max_batch: int = 128
    max_reads_log2: int = 4
    max_program: int = MAX_PROGRAM
    readback_cols: int = 64  # READ_ROWS converts columns 0 .. readback_cols - 1
    readback_gain: int = 16
    # Products by shift-and-add: the DAC scaling's and the output stage's one
    # bit per cycle in one shared unit, products by constants as sums of
    # shifts. No multiplier blocks, more cycles: for FPGAs with few of them.
    serial_products: bool = False

    def __post_init__(self) -> None:
        if not self.layers:
            raise ValueError("CrossbarEngineConfig.layers needs at least one layer")
        for name in ("max_batch", "max_program", "act_bits", "recip_bits", "scale_bits"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"CrossbarEngineConfig.{name} must be a positive integer")
        if not 0 <= self.max_reads_log2 <= 7:
            raise ValueError("CrossbarEngineConfig.max_reads_log2 must be in [0, 7]")
        prev = self.layers[0].n_in
        for i, ly in enumerate(self.layers):
            where = f"CrossbarEngineConfig.layers[{i}]"
            if ly.n_in != prev:
                raise ValueError(f"{where}.n_in is {ly.n_in}, the previous layer gives {prev}")
            prev = ly.n_out
            if ly.n_in < 1 or ly.n_out < 1:
                raise ValueError(f"{where} needs n_in and n_out >= 1")
            if ly.gain < 1 or ly.gain & (ly.gain - 1):
                raise ValueError(f"{where}.gain must be a power of two (got {ly.gain})")
            if ly.k < 1:
                raise ValueError(f"{where}.k must be >= 1 (got {ly.k})")
            n_cols = ly.n_out if ly.vertical else 2 * ly.n_out
            if ly.row0 + ly.n_rows > self.rows or ly.col0 + n_cols > self.cols:
                raise ValueError(f"{where} does not fit a {self.rows}x{self.cols} array")

        if self.serial_products:
            lim = 1 << (self.act_bits - 1)  # the shift-and-add unit's multiplier
            if max(ly.k for ly in self.layers) >= lim or self.code_bits > self.act_bits:
                raise ValueError(
                    "CrossbarEngineConfig.serial_products needs every layer's k below "
                    f"2**{self.act_bits - 1} and column sums of at most act_bits bits"
                )
        if not 1 <= self.readback_cols <= self.cols:
            raise ValueError(f"CrossbarEngineConfig.readback_cols must be in [1, {self.cols}]")
        g = self.readback_gain
        if g < 1 or g & (g - 1):
            raise ValueError(f"CrossbarEngineConfig.readback_gain must be a power of two (got {g})")
        need = self.entry_bits
        if need > self.act_bits:
            raise ValueError(
                "a PROGRAM entry (row, column, reset flag, gate-voltage code) needs "
                f"{need} bits; act_bits is {self.act_bits}"
            )

    @property
    def code_bits(self) -> int:
        """Width of a column's summed code at the top gain's scale."""
        return self.adc_bits + max(ly.e_max for ly in self.layers) + self.max_reads_log2 + 1

    @property
    def step_bits(self) -> int:
        """Width of a column's gain step (0 at the top gain, 1 a halving, ...)."""
        return max(1, max(ly.e_max for ly in self.layers).bit_length())

    @property
    def mag_bits(self) -> int:
        """Width of a sample's ``m = max |a|``."""
        return self.act_bits - 1

    @property
    def k_max(self) -> int:
        """The largest output constant ``k``."""
        return max(ly.k for ly in self.layers)

    @property
    def entry_bits(self) -> int:
        """Width of a PROGRAM entry: row, column, RESET flag, gate-voltage code."""
        sig = self.port_signature()
        return sig.row_bits + sig.col_bits + self.vg_bits + 1

    @property
    def count_bits(self) -> int:
        """Width of a command's count: a FORWARD's samples or a PROGRAM's entries."""
        return max(self.max_batch, self.max_program).bit_length()

    @property
    def width(self) -> int:
        """Words reserved per sample in the engine's memories (a power of two)."""
        n = max(max(ly.n_in, ly.n_out) for ly in self.layers)
        return 1 << max(0, (n - 1).bit_length())

    @property
    def n_bias(self) -> int:
        return sum(ly.n_out for ly in self.layers)

    @property
    def dac_max(self) -> int:
        return (1 << (self.dac_bits - 1)) - 1

    @property
    def adc_end(self) -> int:
        return (1 << (self.adc_bits - 1)) - 1

    @property
    def act_max(self) -> int:
        return (1 << (self.act_bits - 1)) - 1

    def port_signature(self) -> CrossbarPortSignature:
        return CrossbarPortSignature(
            self.rows,
            self.cols,
            dac_bits=self.dac_bits,
            adc_bits=self.adc_bits,
            vg_bits=self.vg_bits,
            read_bits=self.read_bits,
            gain_bits=max(self.readback_gain, *(ly.gain for ly in self.layers)).bit_length(),
        )


class EngineOp(enum.Enum, shape=3):
    FORWARD = 0
    BIAS = 1
    PROGRAM = 2
    READ = 3
    READ_ROWS = 4


def program_entry(config: CrossbarEngineConfig, row, col, code, reset):  # noqa: ANN001, ANN201
    """PROGRAM words: the device, whether to RESET it first (0 or 1), its SET
    code. Integers, or integer numpy arrays (one word per element)."""
    vg, cb = config.vg_bits, config.port_signature().col_bits
    return code | reset << vg | (row << cb | col) << (vg + 1)


def device_word(config: CrossbarEngineConfig, row, col):  # noqa: ANN001, ANN201
    """READ words: the device. Integers, or integer numpy arrays."""
    return row << config.port_signature().col_bits | col


def command_layout(config: CrossbarEngineConfig) -> data.StructLayout:
    """Payload of the engine's ``cmd`` stream."""
    return data.StructLayout(
        {"op": EngineOp, "count": unsigned(config.count_bits), "reads_log2": unsigned(3)}
    )


class PassKind(enum.Enum, shape=2):
    """The kind of a pass over a layer's samples."""

    FIRST = 0  # every sample at the top gain
    RANGE = 1  # the flagged samples, saturated columns one gain step down
    READ = 2  # every sample again, summed


def skips_sample(kind: Value, flags: Value, sample: Value) -> Value:
    """Whether a pass of ``kind`` leaves out ``sample``: a RANGE pass takes only
    the samples flagged as saturated. The pass issuer and the autorange both
    follow this rule, so they step over the same samples."""
    return (kind == PassKind.RANGE) & ~flags.bit_select(sample, 1)


def request_signature(config: CrossbarEngineConfig) -> stream.Signature:
    """The crossbar port's request stream (the engine's ``xbar.req``)."""
    port = config.port_signature()
    return stream.Signature(crossbar_request_layout(port.row_bits, port.col_bits, port.arg_bits))


def read_port(depth: int, shape: ShapeLike) -> wiring.Member:
    """A part's member that drives a read port of a memory of ``depth`` words."""
    return In(ReadPort.Signature(addr_width=ceil_log2(depth), shape=shape))


def write_port(depth: int, shape: ShapeLike) -> wiring.Member:
    """A part's member that drives a write port of a memory of ``depth`` words."""
    return In(WritePort.Signature(addr_width=ceil_log2(depth), shape=shape))


def shift_add_signature(config: CrossbarEngineConfig) -> ShiftAddSignature:
    """The engine's shift-and-add unit (``serial_products``): wide enough for the
    DAC scaler's ``a * r`` and the output stage's ``c * m`` and ``(c * m) * k``."""
    c = config
    n_num_bits = (c.dac_max << c.recip_bits).bit_length()
    p1_bits = c.code_bits + c.mag_bits + 1  # c * m
    return ShiftAddSignature(max(n_num_bits + 1, c.mag_bits + 1, p1_bits), c.act_bits, 3)
