"""Row words of bit planes: a bit per place of a grid, read a whole row at a time.

A :class:`RowPlanes` memory holds ``depth`` rows; a row word is ``planes`` bit
planes of ``width`` bits (plane ``k`` in bits ``k * width`` up, column ``c`` at
bit ``c`` of its plane). A write sets some planes of one place (or of every
place of a row) and leaves the rest of the row as it was. A read gives a whole
row word the cycle after its address; it sees every write issued before the
cycle of its address (a write in the same cycle is not seen).

Two forms, the same at the ports cycle for cycle:

* ``rmw=False``: a memory with a write enable per bit (the iCE40's block RAM
  has a bit mask, so a row word takes ``planes * width / 16`` of them);
* ``rmw=True``: a memory written a whole word at a time, each write a
  read-modify-write: the row is read when the write is issued and written back,
  merged, the cycle after; a read or merge of a row written the cycle before
  takes the merged word from a register. For block RAMs with byte enables only
  (the ECP5's): with a bit mask a 128-column row word of three planes takes 96
  ECP5 block RAMs, whole words (and a second read port) 22.
"""

from __future__ import annotations

from amaranth import Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

__all__ = ["RowPlanes"]


def _bits(n: int) -> int:
    return max(1, int(n).bit_length())


class RowPlanes(wiring.Component):
    """``depth`` row words of ``planes`` planes of ``width`` bits.

    Ports:

    * ``w_en`` (strobe): a write, of row ``w_row``: column ``w_col``'s bit of each
      plane ``k`` whose ``w_pen[k]`` is set becomes ``w_pval[k]`` (with
      ``w_all``: every column's bit);
    * ``r_addr``: the row to read; ``r_data``: its word, the cycle after.
    """

    def __init__(self, planes: int, width: int, depth: int, rmw: bool = False) -> None:
        if planes < 1 or width < 1 or depth < 1:
            raise ValueError(f"RowPlanes needs planes, width, depth >= 1 (got {planes}, "
                             f"{width}, {depth})")  # fmt: skip
        self.planes, self.width, self.depth, self.rmw = planes, width, depth, rmw
        rb, cb = _bits(depth - 1), _bits(width - 1)
        super().__init__(
            {
                "w_en": In(1),
                "w_row": In(rb),
                "w_col": In(cb),
                "w_all": In(1),
                "w_pen": In(planes),
                "w_pval": In(planes),
                "r_addr": In(rb),
                "r_data": Out(planes * width),
            }
        )

    def _expand(self, m: Module, col, every, pen, pval):  # noqa: ANN001, ANN202
        """A write's bit mask and data as row words."""
        W = self.width
        hot = Signal(W)
        m.d.comb += hot.eq(Mux(every, Const((1 << W) - 1, W), Const(1, W) << col))
        mask = Cat(*(Mux(pen[k], hot, 0) for k in range(self.planes)))
        data = Cat(*(Mux(pval[k], hot, 0) for k in range(self.planes)))
        return mask, data

    def elaborate(self, platform: object) -> Module:
        m = Module()
        n = self.planes * self.width
        m.submodules.mem = mem = Memory(shape=n, depth=self.depth, init=[])
        rd = mem.read_port()
        m.d.comb += rd.addr.eq(self.r_addr)
        if not self.rmw:
            wr = mem.write_port(granularity=1)
            mask, data = self._expand(m, self.w_col, self.w_all, self.w_pen, self.w_pval)
            m.d.comb += [
                wr.addr.eq(self.w_row),
                wr.data.eq(data),
                wr.en.eq(Mux(self.w_en, mask, 0)),
                self.r_data.eq(rd.data),
            ]
            return m

        wr = mem.write_port()
        old = mem.read_port()
        # The write issued: its row is read now, merged and written the cycle after.
        p_en = Signal()
        p_row = Signal.like(self.w_row)
        p_col = Signal.like(self.w_col)
        p_all = Signal()
        p_pen = Signal.like(self.w_pen)
        p_pval = Signal.like(self.w_pval)
        m.d.comb += old.addr.eq(self.w_row)
        m.d.sync += [
            p_en.eq(self.w_en),
            p_row.eq(self.w_row),
            p_col.eq(self.w_col),
            p_all.eq(self.w_all),
            p_pen.eq(self.w_pen),
            p_pval.eq(self.w_pval),
        ]
        # The word written the cycle before (its read did not see it).
        last_en = Signal()
        last_row = Signal.like(self.w_row)
        last_word = Signal(n)
        mask, data = self._expand(m, p_col, p_all, p_pen, p_pval)
        base = Mux(last_en & (last_row == p_row), last_word, old.data)
        merged = Signal(n)
        m.d.comb += [
            merged.eq((base & ~mask) | (data & mask)),
            wr.addr.eq(p_row),
            wr.data.eq(merged),
            wr.en.eq(p_en),
        ]
        m.d.sync += [last_en.eq(p_en), last_row.eq(p_row), last_word.eq(merged)]
        # A read addressed while its row is written: the merged word.
        fresh = Signal()
        m.d.sync += fresh.eq(p_en & (p_row == self.r_addr))
        m.d.comb += self.r_data.eq(Mux(fresh, last_word, rd.data))
        return m
