"""The crossbar port: how the crossbar engine reaches a 1T1R array.

A crossbar macro offers the device operations of the RRAM port
(:mod:`memrl.rtl.navigator.port`) plus the array's analogue one, the
vector-matrix multiply (VMM). The controller sends words on ``req`` (a
:mod:`lib.stream <amaranth.lib.stream>` of :func:`crossbar_request_layout`);
the array answers on ``resp``, in order:

=======  ===============================  ===================================
op       word                             response
=======  ===============================  ===================================
READ     ``row``, ``col``                 the read ADC code (unsigned)
SET      ``row``, ``col``; ``arg``: the   none
         gate-voltage DAC code
RESET    ``row``, ``col``                 none
ROW      ``row``; ``arg``: the row's      none
         signed DAC code (two's
         complement in ``dac_bits``)
GAIN     ``col``; ``arg``: the gain of    none
         the column's transimpedance
         stage (a power of two)
VMM      ``arg`` bit 0: columns read as   one signed column ADC code (two's
         differential pairs; ``last``:    complement over the response's
         the last VMM of a pass           width) per GAIN word since the
                                          previous VMM
=======  ===============================  ===================================

``last`` also ends a run of READ, SET or RESET words (a run holds one of
the three), which a model may apply at once; its READ codes may come when
the run has ended.

A VMM converts the rows named by the ROW words since the previous VMM (in
ascending order, consecutive; every other row is held at 0 V) onto the
columns the GAIN words name, in their order: with pairs, a GAIN word names
the first column of a pair (``col``, ``col + 1``) and its code is of
``gain * (I[col] - I[col + 1])``. A controller may send the next VMM's words
before it has taken the previous VMM's codes; ``last`` marks where one batch
of independent VMMs (a *pass*) ends, so a model of the array may evaluate
the pass at once (:class:`memrl.sim.crossbar.port_server.CrossbarServer`).

Both streams are valid/ready, so the array may take any number of cycles.
A response comes at the earliest in the cycle after its word is accepted.
"""

from __future__ import annotations

from amaranth import unsigned
from amaranth.lib import data, enum, stream, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["XbarOp", "crossbar_request_layout", "CrossbarPortSignature"]


class XbarOp(enum.Enum, shape=3):
    READ = 0
    SET = 1
    RESET = 2
    VMM = 3
    ROW = 4
    GAIN = 5


def crossbar_request_layout(row_bits: int, col_bits: int, arg_bits: int) -> data.StructLayout:
    """Payload of a request word."""
    return data.StructLayout(
        {
            "op": XbarOp,
            "row": unsigned(row_bits),
            "col": unsigned(col_bits),
            "arg": unsigned(arg_bits),
            "last": unsigned(1),
        }
    )


class CrossbarPortSignature(wiring.Signature):
    """The controller's side of the crossbar port (flip it for the array's side).

    ``rows`` x ``cols`` devices; ``dac_bits`` row DAC codes, ``adc_bits`` column
    ADC codes (both signed), ``vg_bits`` gate-voltage codes, ``read_bits`` read
    ADC codes, ``gain_bits`` the width of a column gain.
    """

    def __init__(
        self,
        rows: int = 128,
        cols: int = 64,
        *,
        dac_bits: int = 8,
        adc_bits: int = 10,
        vg_bits: int = 10,
        read_bits: int = 10,
        gain_bits: int = 5,
    ) -> None:
        for name, v, lo, hi in (
            ("rows", rows, 1, 1 << 16),
            ("cols", cols, 1, 1 << 16),
            ("dac_bits", dac_bits, 2, 24),
            ("adc_bits", adc_bits, 2, 24),
            ("vg_bits", vg_bits, 1, 24),
            ("read_bits", read_bits, 1, 24),
            ("gain_bits", gain_bits, 1, 16),
        ):
            if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
                raise ValueError(f"{name} must be an integer in [{lo}, {hi}] (got {v!r})")
        self.rows, self.cols = rows, cols
        self.dac_bits, self.adc_bits = dac_bits, adc_bits
        self.vg_bits, self.read_bits, self.gain_bits = vg_bits, read_bits, gain_bits
        self.row_bits = max(1, (rows - 1).bit_length())
        self.col_bits = max(1, (cols - 1).bit_length())
        self.arg_bits = max(dac_bits, vg_bits, gain_bits, 1)
        self.code_bits = max(adc_bits, read_bits)
        super().__init__(
            {
                "req": Out(
                    stream.Signature(
                        crossbar_request_layout(self.row_bits, self.col_bits, self.arg_bits)
                    )
                ),
                "resp": In(stream.Signature(unsigned(self.code_bits))),
            }
        )

    def _key(self) -> tuple[int, ...]:
        return (
            self.rows,
            self.cols,
            self.dac_bits,
            self.adc_bits,
            self.vg_bits,
            self.read_bits,
            self.gain_bits,
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CrossbarPortSignature) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return "CrossbarPortSignature({}, {}, dac_bits={}, adc_bits={}, vg_bits={}, " \
            "read_bits={}, gain_bits={})".format(*self._key())  # fmt: skip
