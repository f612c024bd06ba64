"""Products without multiplier blocks: a shift-and-add unit and products by constants.

:class:`ShiftAdd` computes ``(a * b) >> shift`` one bit of ``b`` per cycle;
the crossbar engine's DAC scaler and output stage share one
(``CrossbarEngineConfig.serial_products``). :func:`times_const` is a product
by a constant as a sum of shifts.
"""

from __future__ import annotations

from amaranth import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["ShiftAddSignature", "ShiftAdd", "times_const", "round_shift"]


def times_const(value, n: int, shifts: bool = True):  # noqa: ANN001, ANN201 - an Amaranth value
    """``value * n`` for a constant ``n >= 0``: as a sum of shifts (no multiplier
    block), or with ``shifts`` False as the plain product."""
    if not shifts:
        return value * n
    terms = [value << i for i in range(n.bit_length()) if n >> i & 1]
    if not terms:
        return Const(0, 1)
    total = terms[0]
    for t in terms[1:]:
        total = total + t
    return total


def round_shift(p: object, sh: int) -> object:
    """``(p + 2**(sh - 1)) >> sh``, as ``((p >> (sh - 1)) + 1) >> 1`` (equal for
    every integer ``p``, and no adder as wide as ``p``'s low bits)."""
    return ((p >> (sh - 1)) + 1) >> 1


class ShiftAddSignature(wiring.Signature):
    """A user's side of a :class:`ShiftAdd` unit (flip it for the unit's side).

    ``start`` (one cycle, while ``idle``) loads ``a`` (``a_bits``, signed),
    ``b`` (``steps`` bits, signed) and ``shift``; ``p`` is ``(a * b) >> shift``
    once ``idle`` is high again, and holds until the next ``start``.
    """

    def __init__(self, a_bits: int, steps: int, shift_bits: int) -> None:
        self.a_bits, self.steps, self.shift_bits = a_bits, steps, shift_bits
        super().__init__(
            {
                "start": Out(1),
                "a": Out(signed(a_bits)),
                "b": Out(signed(steps)),
                "shift": Out(shift_bits),
                "p": In(signed(a_bits + 1 + steps)),
                "idle": In(1),
            }
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ShiftAddSignature) and (
            (self.a_bits, self.steps, self.shift_bits)
            == (other.a_bits, other.steps, other.shift_bits)
        )

    def __hash__(self) -> int:
        return hash((self.a_bits, self.steps, self.shift_bits))

    def __repr__(self) -> str:
        return f"ShiftAddSignature({self.a_bits}, {self.steps}, {self.shift_bits})"


class ShiftAdd(wiring.Component):
    """``p = (a * b) >> shift`` by shift and add: ``steps`` cycles of one bit of
    ``b`` each (its sign bit subtracted), then ``shift`` cycles that shift the
    product right with nothing added.

    The sum's high part adds ``a`` or not and shifts right; the bits it sheds
    take ``b``'s place in the low part, so the product ends as ``Cat(lo, hi)``.
    A ``start`` while busy starts over.
    """

    def __init__(self, a_bits: int, steps: int, shift_bits: int) -> None:
        super().__init__({"mul": In(ShiftAddSignature(a_bits, steps, shift_bits))})

    def elaborate(self, platform: object) -> Module:
        m = Module()
        sig = self.mul.signature.flip()
        steps = sig.steps
        a = Signal(signed(sig.a_bits))
        hi = Signal(signed(sig.a_bits + 1))
        lo = Signal(steps)
        n = Signal(range(steps + 1))
        x = Signal(sig.shift_bits)
        idle = Signal()
        m.d.comb += [self.mul.p.eq(Cat(lo, hi)), idle.eq((n == 0) & (x == 0)),
                     self.mul.idle.eq(idle)]  # fmt: skip

        take = Signal()
        total = Signal(signed(len(hi) + 1))
        m.d.comb += [take.eq(lo[0] & (n != 0)),
                     total.eq(Mux(n == 1, hi - Mux(take, a, 0), hi + Mux(take, a, 0)))]  # fmt: skip
        with m.If(~idle):
            m.d.sync += [hi.eq(total >> 1), lo.eq(Cat(lo[1:], total[0]))]
            with m.If(n != 0):
                m.d.sync += n.eq(n - 1)
            with m.Else():
                m.d.sync += x.eq(x - 1)
        with m.If(self.mul.start):
            m.d.sync += [hi.eq(0), a.eq(self.mul.a), lo.eq(self.mul.b), n.eq(steps),
                         x.eq(self.mul.shift)]  # fmt: skip
        return m
