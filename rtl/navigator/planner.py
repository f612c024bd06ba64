"""The planner: breadth-first searches over the places the rule may use.

Two searches, both the golden model's (docs/navigator/golden-model.md):

* the reward path (``frontier`` low): a breadth-first search from every
  usable goal, then the path from the trial's start, each move to the lowest
  direction whose place is one closer to a goal;
* the frontier search (``frontier`` high): a breadth-first search from the
  position that stops at the first usable place not yet seen, taken from the
  queue in the order the golden model takes it (neighbours in direction order);
  the path follows the search tree back to the position.

A move x -(d)-> y may be planned when y is usable and, for a diagonal, when
the agent has taken it before or both places it passes between are usable.
The search reads the rule's knowledge (:class:`~memrl.rtl.navigator.places.
Knowledge`) a 3 x 3 window at a time: three row words of the usable, seen and
goal planes and the place's diagonal bits. Its own memories: ``bfs`` (row
words of the discovered plane and the distance to the sources modulo 3, one
place written at a time: :class:`~memrl.rtl.lib.rowplanes.RowPlanes`),
``par`` (the direction each place was discovered from) and ``queue`` (the
search's queue, a place as its column and row; then the frontier path's stack,
a place as its index in the same bits).

Distances modulo 3 suffice: two usable places a planned move apart are at
most one apart, so the place one closer is the neighbour whose distance is
one less modulo 3; the sources (distance 0) are the usable goals.

On terrain (``cost_bits``) the reward path is the cheapest over the learned
entry costs (``cost``, read a place at a time, the cycle after ``cost_cell``):
a label-correcting search from the usable goals (labels 0) with the queue
used as a circular first-in-first-out queue. A place taken from it relabels
each neighbour it may be entered from, to its own label plus its entry cost,
when that is lower, and queues the neighbour unless it is queued. The labels
settle at the cheapest costs to a goal whatever the order the places are taken
in, so the path equals the golden model's Dijkstra search: from the start, each
move to the lowest direction whose place's label plus its entry cost is the
place's label. Its own memory: ``lbl`` (per place the label, ``dist_bits``
wide, and whether the place is queued).

The path goes out as a stream (``path``) of places with the direction to the
next (``last`` marks the final place); the planner is ``idle`` once the last
is taken, or when there is no path (no entry at all).

Cycles: ``height`` to clear the search, then for the reward search three per
grid row and one per goal; seven per place taken from the queue plus one per
place discovered; six per place of a reward path; three per place of a
frontier path. The cheapest path: one per place to clear the labels, the
sources as above, seven per place taken from the queue plus one per neighbour it
may be entered from; seven plus one per direction tried per place of the path.
"""

from __future__ import annotations

from amaranth import Array, Cat, Const, Module, Mux, Signal, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from memrl.rtl.lib.arith import lowest_one, onehot_index
from memrl.rtl.lib.onehot import OneHotFSM
from memrl.rtl.lib.rowplanes import RowPlanes
from memrl.rtl.navigator.config import DIRECTIONS, NavigatorConfig

__all__ = ["PathEntry", "Planner"]


def PathEntry(cell_bits: int) -> data.StructLayout:  # noqa: N802 - a layout, named as one
    """A place of a planned path: its index, the direction to the next, the last flag."""
    return data.StructLayout({"cell": unsigned(cell_bits), "d": unsigned(3), "last": unsigned(1)})


class Planner(wiring.Component):
    """Breadth-first searches and the path they give.

    Ports:

    * ``start`` (strobe): a search begins; ``frontier``: it is the frontier
      search (else the reward path's);
    * ``src_row``, ``src_col``, ``src_cell``: the position (frontier source);
      ``ex_row``, ``ex_col``, ``ex_cell``: the trial's start (the reward path's
      first place); both held during the search;
    * ``rd_row``, ``rows``, ``rd_cell``, ``diag``: reads of the knowledge
      (row words of the U, S, G planes and a place's diagonal bits, each the
      cycle after its address);
    * ``path``: the path, a stream of :func:`PathEntry`;
    * ``idle``: no search under way.
    """

    def __init__(self, config: NavigatorConfig, rmw_rows: bool = False) -> None:
        self.config = c = config
        self.rmw_rows = rmw_rows
        cb, rb, colb = c.cell_bits, c.row_bits, c.col_bits
        super().__init__(
            {
                "start": In(1),
                "frontier": In(1),
                "src_row": In(rb),
                "src_col": In(colb),
                "src_cell": In(cb),
                "ex_row": In(rb),
                "ex_col": In(colb),
                "ex_cell": In(cb),
                "rd_row": Out(rb),
                "rows": In(3 * c.width),
                "rd_cell": Out(cb),
                "diag": In(4),
                "path": Out(stream.Signature(PathEntry(cb))),
                "idle": Out(1),
                # terrain: reads of the learned entry costs (the cycle after)
                "cost_cell": Out(cb),
                "cost": In(max(c.cost_bits, 1)),
            }
        )

    def elaborate(self, platform: object) -> Module:  # noqa: C901 - one state machine
        m = Module()
        c = self.config
        H, W, P = c.height, c.width, c.places
        cb, rb, colb = c.cell_bits, c.row_bits, c.col_bits
        # A queue entry: a place of the search as its column and row, or a place of the
        # frontier path's stack as its index (``cell`` fits the same bits).
        entry = data.StructLayout(
            {"col": unsigned(colb), "row": unsigned(rb), "d": unsigned(3), "last": unsigned(1)}
        )
        m.submodules.bfs = bfs = RowPlanes(3, W, H, rmw=self.rmw_rows)
        m.submodules.par = par = Memory(shape=unsigned(3), depth=P, init=[])
        par_w, par_r = par.write_port(), par.read_port()
        m.submodules.queue = queue = Memory(shape=entry, depth=P, init=[])
        q_w, q_r = queue.write_port(), queue.read_port()
        q_got = data.View(entry, q_r.data)
        got_cell = Signal(cb)  # the place taken from the queue
        if c.terrain:  # per place: the cheapest cost to a goal found so far, queued
            qn = Signal(cb + 1)  # places in the (circular) queue
            label = data.StructLayout({"dist": unsigned(c.dist_bits), "inq": unsigned(1)})
            m.submodules.lbl = lbl = Memory(shape=label, depth=P, init=[])
            lbl_w, lbl_r = lbl.write_port(), lbl.read_port()

        frontier = Signal()
        qh = Signal(cb + 1)
        qt = Signal(cb + 1)
        x_r = Signal(rb)
        x_c = Signal(colb)
        x_cell = Signal(cb)
        # The 3 x 3 window around x: index 3 * (dr + 1) + (dc + 1).
        win_u = Signal(9)
        win_d = Signal(9)
        win_m = [Signal(2, name=f"win_m{k}") for k in range(9)]
        x_s = Signal()  # x is seen
        x_g = Signal()  # x is a goal
        x_diag = Signal(4)
        new = Signal(8)  # discovered from x, still to queue

        def at(dr: int, dc: int) -> int:
            return 3 * (dr + 1) + (dc + 1)

        # A planned move from x in each direction.
        step_ok = []
        for d, (dr, dc) in enumerate(DIRECTIONS):
            ok = win_u[at(dr, dc)]
            if dr and dc:
                ok = ok & (x_diag[d // 2] | (win_u[at(dr, 0)] & win_u[at(0, dc)]))
            step_ok.append(ok)
        step_ok_v = Cat(*step_ok)
        x_m = win_m[at(0, 0)]
        m_prev = Mux(x_m == 0, 2, x_m - 1)
        m_next = Mux(x_m == 2, 0, x_m + 1)
        discovered = Cat(*(win_d[at(dr, dc)] for dr, dc in DIRECTIONS))
        closer = Cat(*(win_d[at(dr, dc)] & (win_m[at(dr, dc)] == m_prev) for dr, dc in DIRECTIONS))
        source = x_g & win_u[at(0, 0)]  # a usable goal: distance 0

        # Offsets of each direction: row, column, place.
        d_row = Array(Const(dr % (1 << rb), rb) for dr, _ in DIRECTIONS)
        d_col = Array(Const(dc % (1 << colb), colb) for _, dc in DIRECTIONS)
        d_cell = Array(Const((dr * W + dc) % (1 << cb), cb) for dr, dc in DIRECTIONS)

        # -- writes ---------------------------------------------------------------------
        # One place marked per cycle: one column decoder for every state that marks.
        def mark(row, col, m_val) -> None:  # noqa: ANN001
            """Discovered, at distance ``m_val`` modulo 3."""
            m.d.comb += [bfs.w_en.eq(1), bfs.w_row.eq(row), bfs.w_col.eq(col),
                         bfs.w_pen.eq(0b111), bfs.w_pval.eq(Cat(Const(1, 1), m_val))]  # fmt: skip

        def push(addr, row, col) -> None:  # noqa: ANN001
            """Queue a place of the search."""
            m.d.comb += [q_w.addr.eq(addr), q_w.en.eq(1), q_w.data.row.eq(row),
                         q_w.data.col.eq(col)]  # fmt: skip

        def stack(addr, cell, d, last) -> None:  # noqa: ANN001
            """Stack a place of the frontier path."""
            m.d.comb += [
                q_w.addr.eq(addr),
                q_w.en.eq(1),
                q_w.data.as_value()[: rb + colb].eq(cell),
                q_w.data.d.eq(d),
                q_w.data.last.eq(last),
            ]

        def cell_of(row, col):  # noqa: ANN001, ANN202
            """The index of the place at ``row``, ``col``."""
            return (row * W + col)[:cb]

        m.d.comb += got_cell.eq(cell_of(q_got.row, q_got.col))

        # -- the window: three rows, read one per cycle --------------------------------
        row_addr = Signal(rb)
        row_live = Signal()  # the row read lies on the grid, registered with the read
        row_live_next = Signal()
        m.d.comb += [self.rd_row.eq(row_addr), bfs.r_addr.eq(row_addr), self.rd_cell.eq(x_cell)]
        m.d.sync += row_live.eq(row_live_next)

        def around(word, k: int):  # noqa: ANN001, ANN202
            """Columns c - 1, c, c + 1 of plane ``k`` of a row word (0 off the grid)."""
            return Cat(Const(0, 1), word[k * W : (k + 1) * W], Const(0, 1)).bit_select(x_c, 3)

        u_w, s_w, g_w = (around(self.rows, k) for k in range(3))
        d_w, m0_w, m1_w = (around(bfs.r_data, k) for k in range(3))

        def take_row(k: int) -> None:
            """The window's row ``k`` lands (zero off the grid)."""
            live = row_live
            m.d.sync += [
                win_u[3 * k : 3 * k + 3].eq(Mux(live, u_w, 0)),
                win_d[3 * k : 3 * k + 3].eq(Mux(live, d_w, 0)),
            ]
            for j in range(3):
                m.d.sync += win_m[3 * k + j].eq(Cat(m0_w[j], m1_w[j]))
            if k == 1:
                m.d.sync += [x_s.eq(s_w[1]), x_g.eq(g_w[1]), x_diag.eq(self.diag)]

        # -- the sources' sweep ---------------------------------------------------------
        s_row = Signal(rb + 1)
        s_base = Signal(cb + 1)  # s_row * W
        s_mask = Signal(W)
        s_low = lowest_one(s_mask)
        s_col = onehot_index(s_low, W, colb)

        # -- the output ------------------------------------------------------------------
        out = Signal(PathEntry(cb))
        m.d.comb += [
            self.path.payload.cell.eq(out.cell),
            self.path.payload.d.eq(out.d),
            self.path.payload.last.eq(out.last),
        ]
        sp = Signal(cb + 1)  # the frontier path's stack pointer
        y_cell = Signal(cb)

        with OneHotFSM(m, "plan", reset="IDLE") as fsm:
            with fsm.State("IDLE"):
                m.d.comb += self.idle.eq(1)
                with m.If(self.start):
                    m.d.sync += [frontier.eq(self.frontier), s_row.eq(0), qh.eq(0), qt.eq(0)]
                    fsm.next = "CLR"
                    if c.terrain:  # the reward path is the cheapest
                        m.d.sync += [s_base.eq(0), qn.eq(0)]
                        with m.If(~self.frontier):
                            fsm.next = "C_CLR"

            with fsm.State("CLR"):  # the discovered plane clears, a row per cycle
                m.d.comb += [bfs.w_en.eq(1), bfs.w_row.eq(s_row), bfs.w_all.eq(1),
                             bfs.w_pen.eq(0b111), bfs.w_pval.eq(0)]  # fmt: skip
                m.d.sync += s_row.eq(s_row + 1)
                with m.If(s_row == H - 1):
                    m.d.sync += [s_row.eq(0), s_base.eq(0)]
                    with m.If(frontier):
                        fsm.next = "SRC_HERE"
                    with m.Else():
                        fsm.next = "SRC_RD"

            with fsm.State("SRC_HERE"):  # the frontier search starts at the position
                mark(self.src_row, self.src_col, Const(0, 2))
                push(0, self.src_row, self.src_col)
                m.d.sync += qt.eq(1)
                fsm.next = "POP"

            def sources(prefix: str, take, then: str) -> None:  # noqa: ANN001
                """Every usable goal, row by row (three cycles a row, one a goal): each
                is queued, with ``take`` (its other updates); then ``then``."""
                with fsm.State(prefix + "SRC_RD"):
                    m.d.comb += row_addr.eq(s_row)
                    fsm.next = prefix + "SRC_GOT"
                with fsm.State(prefix + "SRC_GOT"):
                    m.d.sync += s_mask.eq(self.rows[:W] & self.rows[2 * W :])
                    fsm.next = prefix + "SRC_SCAN"
                with fsm.State(prefix + "SRC_SCAN"):
                    with m.If(s_mask.any()):
                        push(qt, s_row, s_col)
                        m.d.sync += s_mask.eq(s_mask & ~s_low)
                        take()
                    with m.Else():
                        m.d.sync += [s_row.eq(s_row + 1), s_base.eq(s_base + W)]
                        with m.If(s_row == H - 1):
                            fsm.next = then
                        with m.Else():
                            fsm.next = prefix + "SRC_RD"

            def bfs_source() -> None:
                mark(s_row, s_col, Const(0, 2))
                m.d.sync += qt.eq(qt + 1)

            # The reward search starts at every usable goal.
            sources("", bfs_source, "POP")

            # -- the search: take a place from the queue, read its window, queue the
            # places it discovers in direction order ----------------------------------------
            with fsm.State("POP"):
                m.d.comb += q_r.addr.eq(qh)
                with m.If(qh == qt):
                    with m.If(frontier):
                        fsm.next = "IDLE"  # no place left to explore
                    with m.Else():
                        m.d.sync += [x_r.eq(self.ex_row), x_c.eq(self.ex_col),
                                     x_cell.eq(self.ex_cell)]  # fmt: skip
                        fsm.next = "X0"
                with m.Else():
                    m.d.sync += qh.eq(qh + 1)
                    fsm.next = "POP_GOT"

            def read_first_row(row) -> None:  # noqa: ANN001
                m.d.comb += [row_addr.eq(Mux(row != 0, row - 1, 0)), row_live_next.eq(row != 0)]

            with fsm.State("POP_GOT"):  # the place's row r - 1 is read at once
                m.d.sync += [x_r.eq(q_got.row), x_c.eq(q_got.col), x_cell.eq(got_cell)]
                read_first_row(q_got.row)
                fsm.next = "W1"

            def window(prefix: str, then: str, first: bool = True) -> None:
                """Read rows r - 1, r, r + 1, take the last (four states; three
                when the state before reads row r - 1)."""
                if first:
                    with fsm.State(prefix + "0"):
                        read_first_row(x_r)
                        fsm.next = prefix + "1"
                with fsm.State(prefix + "1"):
                    m.d.comb += [row_addr.eq(x_r), row_live_next.eq(1)]
                    take_row(0)
                    fsm.next = prefix + "2"
                with fsm.State(prefix + "2"):
                    last_row = x_r == H - 1
                    m.d.comb += [
                        row_addr.eq(Mux(last_row, x_r, x_r + 1)),
                        row_live_next.eq(~last_row),
                    ]
                    take_row(1)
                    fsm.next = prefix + "3"
                with fsm.State(prefix + "3"):
                    take_row(2)
                    fsm.next = then

            window("W", "EXPAND", first=False)
            with fsm.State("EXPAND"):
                with m.If(frontier & win_u[at(0, 0)] & ~x_s):  # the nearest unseen place
                    stack(0, x_cell, 0, 1)
                    m.d.sync += [sp.eq(1), y_cell.eq(x_cell)]
                    fsm.next = "CH"
                with m.Else():
                    m.d.sync += new.eq(step_ok_v & ~discovered)
                    fsm.next = "ENQ"
            with fsm.State("ENQ"):
                low = lowest_one(new)
                d = onehot_index(low, 8, 3)
                y_r = x_r + d_row[d]
                y_c = x_c + d_col[d]
                with m.If(new.any()):
                    mark(y_r[:rb], y_c[:colb], m_next)
                    push(qt, y_r, y_c)
                    m.d.comb += [par_w.addr.eq(x_cell + d_cell[d]), par_w.data.eq(d),
                                 par_w.en.eq(1)]  # fmt: skip
                    m.d.sync += [qt.eq(qt + 1), new.eq(new & ~low)]
                with m.Else():
                    fsm.next = "POP"

            # -- the reward path: from the start, one place closer at each move --------
            window("X", "EXTRACT")
            with fsm.State("EXTRACT"):
                cand = step_ok_v & closer
                d = onehot_index(lowest_one(cand), 8, 3)
                m.d.sync += [out.cell.eq(x_cell), out.d.eq(d), out.last.eq(source)]
                with m.If(~win_d[at(0, 0)] | (~source & ~cand.any())):
                    fsm.next = "IDLE"  # no path (the start is not reachable)
                with m.Else():
                    fsm.next = "X_OUT"

            def offer(name: str, then: str, more=()) -> None:  # noqa: ANN001
                """Offer the path place ``out``; once taken, the end or ``then``."""
                with fsm.State(name):
                    m.d.comb += self.path.valid.eq(1)
                    with m.If(self.path.ready):
                        with m.If(out.last):
                            fsm.next = "IDLE"
                        with m.Else():
                            m.d.sync += list(more)
                            fsm.next = then

            offer("X_OUT", "X0", [
                x_r.eq(x_r + d_row[out.d]),
                x_c.eq(x_c + d_col[out.d]),
                x_cell.eq(x_cell + d_cell[out.d]),
            ])  # fmt: skip

            # -- the frontier path: back along the search tree onto a stack, then out ---
            with fsm.State("CH"):
                m.d.comb += par_r.addr.eq(y_cell)
                with m.If(y_cell == self.src_cell):
                    fsm.next = "ST"
                with m.Else():
                    fsm.next = "CH_GOT"
            with fsm.State("CH_GOT"):
                d = par_r.data
                p_cell = y_cell - d_cell[d]
                stack(sp, p_cell, d, 0)
                m.d.sync += [sp.eq(sp + 1), y_cell.eq(p_cell)]
                fsm.next = "CH"
            with fsm.State("ST"):
                m.d.comb += q_r.addr.eq(sp - 1)
                m.d.sync += sp.eq(sp - 1)
                fsm.next = "ST_GOT"
            with fsm.State("ST_GOT"):
                m.d.sync += [out.cell.eq(q_got.as_value()[:cb]), out.d.eq(q_got.d),
                             out.last.eq(q_got.last)]  # fmt: skip
                fsm.next = "ST_OUT"
            offer("ST_OUT", "ST")

            # -- terrain: the cheapest path over the learned entry costs ---------------
            if c.terrain:
                db = c.dist_bits
                inf = (1 << db) - 1  # not reached
                x_dist = Signal(db)
                nd = Signal(db + 1)  # the cost of entering x from a neighbour
                yc_r = Signal(rb)
                yc_c = Signal(colb)
                yc_cell = Signal(cb)
                yc_d = Signal(3)
                lbl_got = data.View(label, lbl_r.data)

                def wrap(i):  # noqa: ANN001, ANN202 - the circular queue's next index
                    return Mux(i == P - 1, 0, i + 1)

                def label_write(cell, dist, inq) -> None:  # noqa: ANN001
                    m.d.comb += [lbl_w.addr.eq(cell), lbl_w.data.dist.eq(dist),
                                 lbl_w.data.inq.eq(inq), lbl_w.en.eq(1)]  # fmt: skip

                def address_next(then: str, none: str) -> None:
                    """Read the label and cost of the next direction of ``new``."""
                    low = lowest_one(new)
                    d = onehot_index(low, 8, 3)
                    with m.If(new.any()):
                        cell = x_cell + d_cell[d]
                        m.d.comb += [lbl_r.addr.eq(cell), self.cost_cell.eq(cell)]
                        m.d.sync += [
                            yc_r.eq(x_r + d_row[d]), yc_c.eq(x_c + d_col[d]), yc_cell.eq(cell),
                            yc_d.eq(d), new.eq(new & ~low),
                        ]  # fmt: skip
                        fsm.next = then
                    with m.Else():
                        fsm.next = none

                with fsm.State("C_CLR"):  # every place unreached, a place per cycle
                    label_write(s_base, inf, 0)
                    m.d.sync += s_base.eq(s_base + 1)
                    with m.If(s_base == P - 1):
                        m.d.sync += s_base.eq(0)
                        fsm.next = "C_SRC_RD"

                def cost_source() -> None:  # a usable goal costs nothing to reach
                    label_write(s_base + s_col, 0, 1)
                    m.d.sync += [qt.eq(wrap(qt)), qn.eq(qn + 1)]

                sources("C_", cost_source, "C_POP")

                # A place from the queue: its label and cost, its window; each planned move
                # to a neighbour that lowers the neighbour's label relabels it (and queues it
                # unless it is queued), one neighbour per cycle.
                with fsm.State("C_POP"):
                    m.d.comb += q_r.addr.eq(qh)
                    with m.If(qn == 0):
                        m.d.sync += [x_r.eq(self.ex_row), x_c.eq(self.ex_col),
                                     x_cell.eq(self.ex_cell)]  # fmt: skip
                        fsm.next = "C_X0"
                    with m.Else():
                        m.d.sync += [qh.eq(wrap(qh)), qn.eq(qn - 1)]
                        fsm.next = "C_POP_GOT"
                with fsm.State("C_POP_GOT"):
                    m.d.sync += [x_r.eq(q_got.row), x_c.eq(q_got.col), x_cell.eq(got_cell)]
                    m.d.comb += [lbl_r.addr.eq(got_cell), self.cost_cell.eq(got_cell)]
                    read_first_row(q_got.row)
                    fsm.next = "C_W1"
                with m.If(fsm.ongoing("C_W1")):  # x's label and cost land: x leaves the queue
                    m.d.sync += nd.eq(lbl_got.dist + self.cost)
                    label_write(x_cell, lbl_got.dist, 0)
                window("C_W", "C_REL", first=False)
                with fsm.State("C_REL"):
                    m.d.sync += new.eq(step_ok_v)
                    fsm.next = "C_REL_NEXT"
                with fsm.State("C_REL_NEXT"):
                    address_next("C_REL_GOT", "C_POP")
                with fsm.State("C_REL_GOT"):  # y's label landed; the next is addressed
                    with m.If(nd < lbl_got.dist):
                        label_write(yc_cell, nd, 1)
                        with m.If(~lbl_got.inq):
                            push(qt, yc_r, yc_c)
                            m.d.sync += [qt.eq(wrap(qt)), qn.eq(qn + 1)]
                    address_next("C_REL_GOT", "C_POP")

                # The path: from its first place, to the lowest direction whose place's
                # label plus its entry cost is the place's label.
                window("C_X", "C_EXT")
                with m.If(fsm.ongoing("C_X0")):
                    m.d.comb += lbl_r.addr.eq(x_cell)
                with m.If(fsm.ongoing("C_X1")):
                    m.d.sync += x_dist.eq(lbl_got.dist)
                with fsm.State("C_EXT"):
                    m.d.sync += [
                        new.eq(step_ok_v),
                        out.cell.eq(x_cell),
                        out.d.eq(0),
                        out.last.eq(1),
                    ]
                    with m.If(x_dist == inf):
                        fsm.next = "IDLE"  # no path (the start is not reachable)
                    with m.Elif(x_dist == 0):
                        fsm.next = "C_OUT"  # a goal: the last place
                    with m.Else():
                        fsm.next = "C_EXT_NEXT"
                with fsm.State("C_EXT_NEXT"):
                    address_next("C_EXT_GOT", "IDLE")
                with fsm.State("C_EXT_GOT"):
                    with m.If(lbl_got.dist + self.cost == x_dist):
                        m.d.sync += [out.d.eq(yc_d), out.last.eq(0)]
                        fsm.next = "C_OUT"
                    with m.Else():
                        address_next("C_EXT_GOT", "IDLE")
                offer("C_OUT", "C_X0", [
                    x_r.eq(x_r + d_row[out.d]),
                    x_c.eq(x_c + d_col[out.d]),
                    x_cell.eq(x_cell + d_cell[out.d]),
                ])  # fmt: skip
        return m
