"""The maze and the agent's place in it: layout and visited maps, position,
the step's targets, the verdict on the winner's move, and the move.

The position is held as row, column, place and device base ``9 x place``; a
target's place, device addresses, row and column are the position's plus the
target direction's constant offsets, added once the target is chosen (one
adder per field, not one per target). The layout and visited maps are
single-port memories (one address for reading and writing, no read while
writing), so a large maze maps to single-port RAM such as iCE40 SPRAM: the
layout is written while idle and read during steps, the visited map cleared at
a trial start, written at each move (the place left) and read during steps.
"""

from __future__ import annotations

from amaranth import Array, Cat, Const, Module, Mux, Signal, Value, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from memrl.rtl.navigator.config import (
    DIRECTIONS,
    SLOTS,
    SPRAM_PLACES,
    THR,
    NavigatorConfig,
    any_of,
    offset,
    on_grid,
)

__all__ = ["MazeControl", "Verdict", "MazeState"]


class MazeControl(wiring.Signature):
    """The sequencer's side of the maze's control. Strobes (high for one
    cycle, or for each cycle of their phase):

    * ``idle``: the layout port writes the layout map;
    * ``start``: a trial starts at (``start_row``, ``start_col``);
    * ``clear``: one cycle of the trial start's sweep: clear the visited bit of
      place ``sweep``; the start place is computed meanwhile (it needs at most
      ``height`` cycles, the sweep takes every place);
    * ``step``: a step begins: register the targets' on-grid flags;
    * ``lookup``: one cycle of the read phase: look up the next target's layout
      and visited bits (nine cycles look up all eight);
    * ``looked`` (to the sequencer): every target's bits are registered by the
      end of this cycle;
    * ``integrate``: one integration tick: the per-target verdicts are
      registered (the layout bits are fixed by then);
    * ``verdict``: integration ends: register the verdict on the winner's
      move and the winner's addresses;
    * ``book``: the step ends: a move leaves the place (its visited bit set)
      for the winner's target.
    """

    def __init__(self, cell_bits: int) -> None:
        super().__init__(
            {
                "idle": Out(1),
                "start": Out(1),
                "clear": Out(1),
                "sweep": Out(cell_bits),
                "step": Out(1),
                "lookup": Out(1),
                "looked": In(1),
                "integrate": Out(1),
                "verdict": Out(1),
                "book": Out(1),
            }
        )


class Verdict(wiring.Signature):
    """The maze's verdict on the step's winner (registered at the end of
    integration; all zero when no neuron fired): ``moved`` (a free target),
    ``hit_wall`` (the target is a wall), ``hit_corner`` (a diagonal past a wall
    beside it)."""

    def __init__(self) -> None:
        super().__init__({"moved": Out(1), "hit_wall": Out(1), "hit_corner": Out(1)})


class MazeState(wiring.Component):
    """Layout and visited maps, position and targets of one agent.

    Ports:

    * ``ctl``: :class:`MazeControl` (from the sequencer);
    * ``layout_we``, ``layout_addr``, ``layout_data``: write a place of the
      layout (bit 0 wall, bit 1 goal), while ``ctl.idle``; ``cost_we``
      (terrain): write its entry cost (``layout_data`` above the flags);
    * ``start_row``, ``start_col``: the trial's start, taken at ``ctl.start``;
    * ``win``: the winner of the last tick (one-hot), from the neurons;
    * ``pos``: the place (after the move, in the ``book`` cycle);
    * ``here9``: the position's device base ``9 x place``; ``here_thr``: its
      threshold device (registered at ``step``);
    * ``on_grid``: the eight targets of the position lie on the grid
      (combinational), ``targets``: the same, registered at ``step``;
    * ``visited``: the targets' visited bits, registered during the lookups;
    * ``verdict``: :class:`Verdict`; ``win_goal``: the winner's target is a
      goal; ``win_thr``, ``win_syn``: the winner's target's threshold device
      and the synapse towards it.
    * for the default rule: ``here``, ``pos_row``, ``pos_col``: the position
      (before the move, in the ``book`` cycle);
      ``look``, ``look_cell``: the target being looked up (index, place) and
      ``look_hot``: the target whose bits land this cycle (one-hot);
      ``win_row``, ``win_col``, ``win_cell``: the winner's target;
      ``win_visited``: it was left during this trial; ``sweep_goal``: the goal
      bit of the place the trial start's sweep addressed a cycle before;
      ``win_cost`` (terrain): the entry cost of the winner's target.
    """

    def __init__(self, config: NavigatorConfig) -> None:
        self.config = c = config
        ab = c.addr_bits
        super().__init__(
            {
                "ctl": In(MazeControl(c.cell_bits)),
                "layout_we": In(1),
                "layout_addr": In(c.cell_bits),
                "layout_data": In(c.layout_bits),
                "cost_we": In(1),
                "start_row": In(c.row_bits),
                "start_col": In(c.col_bits),
                "win": In(8),
                "pos": Out(c.cell_bits),
                "here9": Out(ab),
                "here_thr": Out(ab),
                "on_grid": Out(8),
                "targets": Out(8),
                "visited": Out(8),
                "verdict": Out(Verdict()),
                "win_goal": Out(1),
                "win_thr": Out(ab),
                "win_syn": Out(ab),
                # for the default rule's knowledge and planner
                "here": Out(c.cell_bits),
                "pos_row": Out(c.row_bits),
                "pos_col": Out(c.col_bits),
                "look": Out(4),
                "look_cell": Out(c.cell_bits),
                "look_hot": Out(8),
                "win_row": Out(c.row_bits),
                "win_col": Out(c.col_bits),
                "win_cell": Out(c.cell_bits),
                "win_visited": Out(1),
                "sweep_goal": Out(1),
                "win_cost": Out(max(c.cost_bits, 1)),
            }
        )

    def elaborate(self, platform: object) -> Module:
        m = Module()
        c = self.config
        ctl = self.ctl
        H, W, P = c.height, c.width, c.places
        ab, cb = c.addr_bits, c.cell_bits

        # Maps of SPRAM_PLACES places or more ask for single-port "huge" RAM (iCE40
        # SPRAM); the attribute is a synthesis hint, ignored where there is none.
        big = {"ram_style": "huge"} if P >= SPRAM_PLACES else None
        m.submodules.layout = layout = Memory(shape=unsigned(2), depth=P, init=[], attrs=big)
        maze_w, maze_r = layout.write_port(), layout.read_port()
        if c.terrain:  # the entry costs, written apart from the flags
            m.submodules.costs = cmem = Memory(
                shape=unsigned(c.cost_bits), depth=P, init=[], attrs=big
            )
            cost_w, cost_r = cmem.write_port(), cmem.read_port()
        m.submodules.visited = visited = Memory(shape=unsigned(1), depth=P, init=[], attrs=big)
        vis_w, vis_r = visited.write_port(), visited.read_port()

        # -- position, held as row, column, place and 9 x place ----------------------
        pos_r = Signal(c.row_bits)
        pos_c = Signal(c.col_bits)
        here = Signal(cb)
        here9 = self.here9
        rows_left = Signal(c.row_bits)  # trial start: rows still to add to ``here``
        m.d.comb += self.pos.eq(here)
        tgt_valid = self.targets
        here_thr = self.here_thr
        m.d.comb += self.on_grid.eq(Cat(on_grid(pos_r, pos_c, *o, H, W) for o in DIRECTIONS))
        # Offsets of the eight targets from the position: place dr * W + dc, device
        # base 9 (dr * W + dc), threshold device, and the synapse towards each.
        off_cell = [dr * W + dc for dr, dc in DIRECTIONS]
        off_base = [SLOTS * o for o in off_cell]
        off_thr = [o + THR for o in off_base]
        off_row = [dr for dr, _ in DIRECTIONS]
        off_col = [dc for _, dc in DIRECTIONS]
        off_syn = list(range(8))

        # -- the targets' layout and visited bits ------------------------------------
        wall_bits = Signal(8)
        goal_bits = Signal(8)
        vis_bits = self.visited
        cb_ = c.cost_bits
        costs = Signal(8 * cb_) if cb_ else None  # terrain: the targets' entry costs
        look = Signal(4)  # layout and visited lookups: address of target ``look``
        lk_head = Signal(cb)  # the place of target ``look`` (direction order)
        m.d.comb += ctl.looked.eq(look >= 8)

        # Per target, what a move there would be (registered during integration:
        # the layout bits are fixed by then), so the verdict is an AND-OR with the
        # one-hot winner (zero when no neuron fired), registered as integration ends.
        t_move = Signal(8)  # a free target: no wall, no corner cut
        t_wall = Signal(8)
        t_corner = Signal(8)  # a diagonal past a wall beside it
        corner_of = Cat(
            (wall_bits[(d - 1) % 8] | wall_bits[(d + 1) % 8]) if d % 2 else Const(0, 1)
            for d in range(8)
        )

        def pick(bits: Value) -> Value:
            return (bits & self.win).any()

        # -- the winner --------------------------------------------------------------
        moved = self.verdict.moved
        win_cell = self.win_cell
        win9 = Signal(ab)
        win_row = self.win_row
        win_col = self.win_col
        m.d.comb += [
            self.here.eq(here),
            self.pos_row.eq(pos_r),
            self.pos_col.eq(pos_c),
            self.look.eq(look),
            self.look_cell.eq(lk_head),
            self.win_visited.eq(pick(vis_bits)),
            self.sweep_goal.eq(maze_r.data[1]),
        ]
        with m.If(ctl.lookup & (look >= 1) & (look <= 8)):
            m.d.comb += self.look_hot.eq(Const(1, 8) << (look - 1)[:3])

        m.d.comb += [maze_w.data.eq(self.layout_data[:2]), vis_w.addr.eq(lk_head)]

        with m.If(ctl.step):
            m.d.sync += [
                here_thr.eq(here9 + THR),
                look.eq(0),
                tgt_valid.eq(self.on_grid),
                lk_head.eq(here + off_cell[0]),
            ]

        with m.If(ctl.idle):
            m.d.comb += maze_w.en.eq(self.layout_we)
            if c.terrain:
                m.d.comb += cost_w.en.eq(self.cost_we)
        with m.If(ctl.start):
            m.d.sync += [
                pos_r.eq(self.start_row),
                pos_c.eq(self.start_col),
                here.eq(self.start_col),
                rows_left.eq(self.start_row),
            ]

        # Trial start: clear the visited map. The start place, row * W + column, by
        # adding W row times (the sweep of P >= 2H places outlasts it), and 9 x place
        # from it.
        with m.If(ctl.clear):
            m.d.comb += [vis_w.addr.eq(ctl.sweep), vis_w.data.eq(0), vis_w.en.eq(1)]
            with m.If(rows_left != 0):
                m.d.sync += [here.eq(here + W), rows_left.eq(rows_left - 1)]
            m.d.sync += here9.eq((here << 3) + here)

        # Lookups during the reads: one target per cycle, in direction order; the
        # next lookup's place is registered a cycle ahead (the last one holds).
        with m.If(ctl.lookup):
            nxt = Array(Const(o % (1 << cb), cb) for o in off_cell)
            m.d.sync += lk_head.eq(here + nxt[Mux(look >= 7, 7, look + 1)])
            with m.If(look < 9):
                m.d.sync += look.eq(look + 1)
            with m.If((look >= 1) & (look <= 8)):
                k = (look - 1)[:3]
                m.d.sync += [
                    wall_bits.bit_select(k, 1).eq(maze_r.data[0]),
                    goal_bits.bit_select(k, 1).eq(maze_r.data[1]),
                    vis_bits.bit_select(k, 1).eq(vis_r.data),
                ]
                if cb_:
                    m.d.sync += costs.word_select(k, cb_).eq(cost_r.data)

        with m.If(ctl.integrate):
            m.d.sync += [
                t_move.eq(~wall_bits & ~corner_of),
                t_wall.eq(wall_bits),
                t_corner.eq(~wall_bits & corner_of),
            ]
        with m.If(ctl.verdict):
            m.d.sync += [
                # the maze's verdict on the winner's move
                moved.eq(pick(t_move)),
                self.verdict.hit_wall.eq(pick(t_wall)),
                self.verdict.hit_corner.eq(pick(t_corner)),
                self.win_goal.eq(pick(goal_bits)),
                # the winner's target: the position plus its offset
                win_cell.eq(here + offset(self.win, off_cell, cb)),
                win9.eq(here9 + offset(self.win, off_base, ab)),
                self.win_thr.eq(here9 + offset(self.win, off_thr, ab)),
                self.win_syn.eq(here9 + offset(self.win, off_syn, ab)),
                win_row.eq(pos_r + offset(self.win, off_row, c.row_bits)),
                win_col.eq(pos_c + offset(self.win, off_col, c.col_bits)),
            ]
            if cb_:  # the winner's target's entry cost (an AND-OR with the one-hot winner)
                m.d.sync += self.win_cost.eq(
                    any_of([Mux(self.win[d], costs.word_select(d, cb_), 0) for d in range(8)])
                )

        # A move: leave the place (homeostasis) for the winner's target.
        with m.If(ctl.book & moved):
            m.d.comb += [vis_w.addr.eq(here), vis_w.data.eq(1), vis_w.en.eq(1)]
            m.d.sync += [
                pos_r.eq(win_row),
                pos_c.eq(win_col),
                here.eq(win_cell),
                here9.eq(win9),
            ]
            # The step's outputs show the place after the move.
            m.d.comb += self.pos.eq(win_cell)

        m.d.comb += [
            maze_w.addr.eq(Mux(ctl.idle, self.layout_addr, Mux(ctl.clear, ctl.sweep, lk_head))),
            maze_r.addr.eq(maze_w.addr),
            vis_r.addr.eq(vis_w.addr),
            # no read while writing: the read data holds (single-port RAM semantics)
            maze_r.en.eq(~maze_w.en),
            vis_r.en.eq(~vis_w.en),
        ]
        if c.terrain:  # the costs share the flags' address
            m.d.comb += [
                cost_w.addr.eq(maze_w.addr),
                cost_w.data.eq(self.layout_data[2:]),
                cost_r.addr.eq(maze_w.addr),
                cost_r.en.eq(~cost_w.en),
            ]
        return m
