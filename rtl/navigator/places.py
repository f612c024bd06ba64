"""What the default rule knows of each place, beyond the paper rule's maps.

Per place (docs/navigator/golden-model.md): whether the agent has stood on it
(``explored``), whether it is a known wall and the trial it was last hit as
one (``known``, ``stamp``), with ``fix_walls`` the wall's ``mark`` (forgetting
doubted it; hit again since, a fixture the forgetting sweep keeps unless the
place was stood on), the diagonals taken from it (four bits, NE, SE,
SW, NW), and, in row words for the planner's 3 x 3 windows, whether the
planner may use it (``U``: (explored or optimistic) and not a known wall),
whether curiosity and the frontier count it as seen (``S``), and whether it is
a goal of the loaded layout (``G``, rewritten at each trial start).

Memories: ``ps`` (a word per place: explored, known, stamp[, mark]), on terrain
``ck`` (the learned entry cost of each place), ``tk`` (four
bits per place, a write enable per bit) and ``rows`` (a word per grid row of
three bit planes ``U``, ``S``, ``G`` of ``width`` bits each, one place written
at a time: :class:`~memrl.rtl.lib.rowplanes.RowPlanes`). Every update is one
write per memory; a move or a corner hit along a diagonal touches the diagonal
bits of two places, the second written the cycle after (nothing else writes
them then).
"""

from __future__ import annotations

from amaranth import Array, Cat, Const, Module, Mux, Signal, Value, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from memrl.rtl.lib.arith import onehot_index
from memrl.rtl.lib.rowplanes import RowPlanes
from memrl.rtl.navigator.config import DIRECTIONS, NavigatorConfig

__all__ = [
    "MARK_DOUBTED", "MARK_FIXED", "KnowledgeControl", "PlaceWord", "Knowledge", "diagonal_bits",
]  # fmt: skip


# ``mark`` of a place word (fix_walls): forgetting doubted the known wall there, then
# it was hit again (a fixture); cleared when the place is stood on.
MARK_DOUBTED, MARK_FIXED = 1, 2


def PlaceWord(stamp_bits: int, fix_walls: bool = False) -> data.StructLayout:  # noqa: N802
    """The ``ps`` word of a place (a layout, named as one); ``mark`` with ``fix_walls``."""
    fields = {"explored": unsigned(1), "known": unsigned(1), "stamp": unsigned(stamp_bits)}
    if fix_walls:
        fields["mark"] = unsigned(2)
    return data.StructLayout(fields)


def diagonal_bits(hot: object) -> object:
    """The four diagonal bits (NE, SE, SW, NW) of a one-hot direction."""
    return Cat(hot[1], hot[3], hot[5], hot[7])


class KnowledgeControl(wiring.Signature):
    """The sequencer's side of the knowledge's control. Strobes (one cycle):

    * ``sweep``: the place of the sequencer's sweep; ``sweep_start``,
      ``sweep_next``: the sweep starts at place 0, goes on to the next place
      (the knowledge follows it as row and column);
    * ``init``: run start, at the sweep's place: nothing known;
    * ``clear``: trial start, at the sweep's place: its goal bit (from the
      layout, ``sweep_goal`` a cycle later) goes to ``G``;
    * ``start_rd``, then ``start_wr``: the trial's start place is stood on;
    * ``trial_end``: a trial ends (the trial number counts on);
    * ``forget_rd``: read the sweep place's word (``old`` holds the verdict two
      cycles later, until the next ``forget_rd``); ``forget_wr``: the
      forgetting sweep's update of the place (a known wall old enough is no
      longer known);
    * ``wall``: the winner's target is a wall: known, stamped with the trial;
    * ``corner``: the winner's diagonal is blocked: not taken, either way;
    * ``book``: the step's move: the target is stood on and seen, a diagonal
      is taken (either way);
    * ``plan``: the planner reads the rows and diagonal bits (a level);
    * ``trial_start``: a trial starts (``probe_age``: whether it probes is
      decided; the trial-start sweep then writes every place's ``U`` with it);
    * ``plan_taken``: a reward path's place is written (the remembered path was
      planned probing or not).
    """

    def __init__(self, cell_bits: int) -> None:
        strobes = (
            "sweep_start", "sweep_next", "init", "clear", "start_rd", "start_wr",
            "trial_end", "forget_rd", "forget_wr", "wall", "corner", "book", "plan",
            "trial_start", "plan_taken",
        )  # fmt: skip
        super().__init__({"sweep": Out(cell_bits), **{s: Out(1) for s in strobes}})


class Knowledge(wiring.Component):
    """The default rule's per-place knowledge.

    Ports:

    * ``ctl``: :class:`KnowledgeControl` (from the sequencer);
    * ``sweep_goal``: the goal bit of the place the trial-start sweep read a
      cycle before (from the maze's layout);
    * ``look``, ``look_cell``, ``look_hot``: the maze's target lookups
      (:class:`~memrl.rtl.navigator.maze.MazeState`): the target being
      addressed (index and place) and the one whose bits land this cycle
      (one-hot);
    * ``pos_row``, ``pos_col``, ``here``: the position (at ``start_rd``, the
      trial's start); ``win``: the winner
      (one-hot); ``win_row``, ``win_col``, ``win_cell``: its target;
    * ``seen``, ``explored``: the targets' bits (registered during the
      lookups); ``win_seen``, ``win_explored``: the winner's;
    * ``old``: the forgetting sweep's place is not a known wall, or its wall
      is at least ``doubt_age`` trials old;
    * ``ex_row``, ``ex_col``, ``ex_cell``: the trial's start place (held
      from ``start_rd``);
    * ``pl_row``, ``pl_rows``: the planner's row read (``U``, ``S``, ``G``
      words, ``pl_rows`` the cycle after); ``pl_cell``, ``pl_diag``: its
      read of a place's diagonal bits (the cycle after);
    * ``probe_age``: ``probe_wall``, ``probe_side``: the remembered path was
      planned probing and the winner's target is a known wall at least
      ``probe_age`` trials old, or such a wall lies beside the winner's
      diagonal; ``probe_failed`` (from the rule): the step's hit was a failed
      probe (at ``wall`` or ``corner``: the trial is recorded; a corner stamps
      those walls beside it);
    * terrain (``cost_bits``): ``win_cost``: the winner's target's entry cost
      (from the maze), learned at ``book`` into ``ck`` (P words, ``cost_unit``
      from ``init``); ``pl_cost_cell``, ``pl_cost``: the planner's read of a
      learned cost (the cycle after);
    * ``forget_on_path_end``: ``renew`` (from the rule): the step forgets at the
      end of the remembered path; with ``renew_on_forget`` the forgetting sweep
      clears every place's ``S`` bit.
    """

    def __init__(self, config: NavigatorConfig, rmw_rows: bool = False) -> None:
        self.config = c = config
        self.rmw_rows = rmw_rows
        cb, rb, colb = c.cell_bits, c.row_bits, c.col_bits
        super().__init__(
            {
                "ctl": In(KnowledgeControl(cb)),
                "sweep_goal": In(1),
                "look": In(4),
                "look_cell": In(cb),
                "look_hot": In(8),
                "pos_row": In(rb),
                "pos_col": In(colb),
                "here": In(cb),
                "win": In(8),
                "win_row": In(rb),
                "win_col": In(colb),
                "win_cell": In(cb),
                "seen": Out(8),
                "explored": Out(8),
                "win_seen": Out(1),
                "win_explored": Out(1),
                "old": Out(1),
                "ex_row": Out(rb),
                "ex_col": Out(colb),
                "ex_cell": Out(cb),
                "pl_row": In(rb),
                "pl_rows": Out(3 * c.width),
                "pl_cell": In(cb),
                "pl_diag": Out(4),
                "probe_wall": Out(1),
                "probe_side": Out(1),
                "probe_failed": In(1),
                # terrain: learned entry costs; path-end forgetting's renewal
                "win_cost": In(max(c.cost_bits, 1)),
                "pl_cost_cell": In(cb),
                "pl_cost": Out(max(c.cost_bits, 1)),
                "renew": In(1),
            }
        )

    def elaborate(self, platform: object) -> Module:  # noqa: C901 - one write per source
        m = Module()
        c = self.config
        ctl = self.ctl
        W, P, sb = c.width, c.places, c.stamp_bits
        fix = c.fix_walls
        word = PlaceWord(sb, fix)
        m.submodules.ps = ps = Memory(shape=word, depth=P, init=[])
        ps_w, ps_r = ps.write_port(), ps.read_port()
        m.submodules.tk = tk = Memory(shape=unsigned(4), depth=P, init=[])
        tk_w, tk_r = tk.write_port(granularity=1), tk.read_port()
        m.submodules.rows = rows = RowPlanes(3, W, c.height, rmw=self.rmw_rows)
        got = data.View(word, ps_r.data)
        if c.terrain:  # the learned entry cost of each place (cost_unit until entered)
            m.submodules.ck = ck = Memory(shape=unsigned(c.cost_bits), depth=P, init=[])
            ck_w, ck_r = ck.write_port(), ck.read_port()
            m.d.comb += [ck_r.addr.eq(self.pl_cost_cell), self.pl_cost.eq(ck_r.data)]
            with m.If(ctl.init):
                m.d.comb += [ck_w.addr.eq(ctl.sweep), ck_w.data.eq(c.cost_unit),
                             ck_w.en.eq(1)]  # fmt: skip
            with m.If(ctl.book):
                m.d.comb += [ck_w.addr.eq(self.win_cell), ck_w.data.eq(self.win_cost),
                             ck_w.en.eq(1)]  # fmt: skip

        trial = Signal(sb)
        with m.If(ctl.init):
            m.d.sync += trial.eq(0)
        with m.If(ctl.trial_end):
            m.d.sync += trial.eq(trial + 1)

        # The sweep's place as row and column (the place itself is the sequencer's
        # counter); ``g_`` copies lag a cycle (the layout's goal bit of the swept
        # place lands then).
        sw_cell = ctl.sweep
        sw_row = Signal(c.row_bits)
        sw_col = Signal(c.col_bits)
        with m.If(ctl.sweep_start):
            m.d.sync += [sw_row.eq(0), sw_col.eq(0)]
        with m.Elif(ctl.sweep_next):
            last_col = sw_col == W - 1
            m.d.sync += [
                sw_col.eq(Mux(last_col, 0, sw_col + 1)),
                sw_row.eq(Mux(last_col, sw_row + 1, sw_row)),
            ]
        g_pending = Signal()
        g_row = Signal(c.row_bits)
        g_col = Signal(c.col_bits)
        m.d.sync += [g_pending.eq(ctl.clear), g_row.eq(sw_row), g_col.eq(sw_col)]

        # -- one write to the row planes: (row, column, per plane: enable, value) ----
        r_row = Signal(c.row_bits)
        r_col = Signal(c.col_bits)
        r_en = Signal(3)  # planes U, S, G
        r_val = Signal(3)
        m.d.comb += [
            rows.w_en.eq(r_en.any()),
            rows.w_row.eq(r_row),
            rows.w_col.eq(r_col),
            rows.w_pen.eq(r_en),
            rows.w_pval.eq(r_val),
        ]

        def row_write(row, col, u=None, s=None, g=None) -> None:  # noqa: ANN001
            en = [v is not None for v in (u, s, g)]
            m.d.comb += [
                r_row.eq(row),
                r_col.eq(col),
                r_en.eq(Cat(*(Const(int(e), 1) for e in en))),
                r_val.eq(Cat(*((Const(0, 1) if v is None else v) for v in (u, s, g)))),
            ]

        opt = Const(int(c.optimistic), 1)

        # -- lookups: the targets' explored and seen bits ---------------------------
        dr = Array(Const(d[0] % (1 << c.row_bits), c.row_bits) for d in DIRECTIONS)
        dc = Array(Const(d[1] % (1 << c.col_bits), c.col_bits) for d in DIRECTIONS)
        lk_col = Signal(c.col_bits)
        m.d.sync += lk_col.eq(self.pos_col + dc[self.look[:3]])
        rows_addr = Signal(c.row_bits)
        ps_addr = Signal(c.cell_bits)
        m.d.comb += [rows_addr.eq(self.pos_row + dr[self.look[:3]]), ps_addr.eq(self.look_cell)]
        padded = Cat(rows.r_data[W : 2 * W], Const(0, 1))  # S plane

        def aged(stamp) -> Value:  # noqa: ANN001
            """A wall stamp at least ``probe_age`` trials old."""
            return (trial - stamp) >= c.probe_age

        marks = Array(Signal(2, name=f"mark{d}") for d in range(8))  # fix_walls
        probeable = Signal(8)  # probe_age: the targets are walls old enough to probe
        for d in range(8):
            with m.If(self.look_hot[d]):
                m.d.sync += [
                    self.seen[d].eq(padded.bit_select(lk_col, 1)),
                    self.explored[d].eq(got.explored),
                ]
                if fix:
                    m.d.sync += marks[d].eq(got.mark)
                if c.probe_age:
                    m.d.sync += probeable[d].eq(got.known & aged(got.stamp))
        m.d.comb += [
            self.win_seen.eq((self.seen & self.win).any()),
            self.win_explored.eq((self.explored & self.win).any()),
        ]
        win_d = onehot_index(self.win, 8, 3)  # the winner's direction
        win_mark = marks[win_d]

        def place_word(explored, known, stamp, mark) -> Value:  # noqa: ANN001
            """A ``ps`` word (``mark`` dropped without ``fix_walls``)."""
            return Cat(explored, known, stamp, *([mark] if fix else []))

        # -- probes (probe_age) --------------------------------------------------------
        probing = Signal()  # this trial probes
        plan_probing = Signal()  # the remembered path was planned probing
        if c.probe_age:
            last_probe = Signal(sb)
            lp_valid = Signal()  # a probe has failed in this run
            with m.If(ctl.init):
                m.d.sync += [lp_valid.eq(0), probing.eq(0), plan_probing.eq(0)]
            with m.If(ctl.trial_start):
                m.d.sync += probing.eq(~lp_valid | ((trial - last_probe) >= c.probe_age))
            with m.If(ctl.plan_taken):
                m.d.sync += plan_probing.eq(probing)
            with m.If((ctl.wall | ctl.corner) & self.probe_failed):
                m.d.sync += [last_probe.eq(trial), lp_valid.eq(1)]
            side = Signal(8)  # per diagonal: such a wall beside it
            for d in range(1, 8, 2):
                m.d.comb += side[d].eq(probeable[d - 1] | probeable[(d + 1) % 8])
            m.d.comb += [
                self.probe_wall.eq(plan_probing & (probeable & self.win).any()),
                self.probe_side.eq(plan_probing & (side & self.win).any()),
            ]

        def usable(explored, known, stamp) -> Value:  # noqa: ANN001
            """The planner may use the place (``U``)."""
            free = ~known
            if c.probe_age:  # a wall that appeared, old enough, in a probing trial
                free = free | (probing & explored & aged(stamp))
            return (explored | opt) & free

        # -- run start: nothing known ---------------------------------------------
        with m.If(ctl.init):
            m.d.comb += [
                ps_w.addr.eq(sw_cell), ps_w.data.eq(0), ps_w.en.eq(1),
                tk_w.addr.eq(sw_cell), tk_w.data.eq(0), tk_w.en.eq(0xF),
            ]  # fmt: skip
            row_write(sw_row, sw_col, u=opt, s=Const(0, 1))

        # -- trial start: the goal plane (probes: and the usable plane), then the
        # start place stood on -------------------------------------------------------
        with m.If(ctl.clear):
            m.d.comb += ps_addr.eq(sw_cell)
        with m.If(g_pending):
            if c.probe_age:
                row_write(g_row, g_col, u=usable(got.explored, got.known, got.stamp),
                          g=self.sweep_goal)  # fmt: skip
            else:
                row_write(g_row, g_col, g=self.sweep_goal)
        with m.If(ctl.start_rd):  # the position is the trial's start
            m.d.comb += ps_addr.eq(self.here)
            m.d.sync += [
                self.ex_row.eq(self.pos_row),
                self.ex_col.eq(self.pos_col),
                self.ex_cell.eq(self.here),
            ]
        with m.If(ctl.start_wr):
            m.d.comb += [
                ps_w.addr.eq(self.ex_cell),
                ps_w.data.eq(place_word(Const(1, 1), got.known, got.stamp, got.mark if fix else 0)),
                ps_w.en.eq(1),
            ]
            row_write(self.ex_row, self.ex_col, u=~got.known, s=Const(1, 1))

        # -- the forgetting sweep ---------------------------------------------------
        held = Signal(word)  # the sweep place's word
        with m.If(ctl.forget_rd):
            m.d.comb += ps_addr.eq(sw_cell)
        fr_got = Signal()
        m.d.sync += fr_got.eq(ctl.forget_rd)
        old = ~got.known | ((trial - got.stamp) >= c.doubt_age)
        if fix:  # a fixture the agent never stood on stays a wall
            old = old & ~((got.mark == MARK_FIXED) & ~got.explored)
        with m.If(fr_got):
            m.d.sync += [held.eq(ps_r.data), self.old.eq(old)]
        # Per place of the sweep: an old wall is doubted (forget_penalties); a path
        # ending off the goal renews it, unseen (forget_on_path_end).
        doubt = Const(0, 1)
        if c.forget_penalties:
            doubt = held.known & self.old
            if c.optimistic and not c.doubt_unexplored:
                doubt = doubt & held.explored
            with m.If(ctl.forget_wr & doubt):
                m.d.comb += [
                    ps_w.addr.eq(sw_cell),
                    ps_w.data.eq(place_word(held.explored, Const(0, 1), held.stamp, MARK_DOUBTED)),
                    ps_w.en.eq(1),
                ]
        renew = self.renew if c.forget_on_path_end and c.renew_on_forget else Const(0, 1)
        with m.If(ctl.forget_wr & (doubt | renew)):
            m.d.comb += [
                r_row.eq(sw_row),
                r_col.eq(sw_col),
                r_en.eq(Cat(doubt, renew, Const(0, 1))),
                r_val.eq(Cat(held.explored | opt, Const(0, 2))),
            ]

        # -- the step's updates -----------------------------------------------------
        tk_pend = Signal()  # the second place's diagonal bit, written the cycle after
        tk_pend_cell = Signal(c.cell_bits)
        tk_pend_bit = Signal(4)
        tk_pend_val = Signal()
        m.d.sync += tk_pend.eq(0)
        with m.If(tk_pend):
            m.d.comb += [
                tk_w.addr.eq(tk_pend_cell),
                tk_w.data.eq(Mux(tk_pend_val, 0xF, 0)),
                tk_w.en.eq(tk_pend_bit),
            ]
        back = Cat(self.win[4:], self.win[:4])  # the winner's direction, reversed

        def diagonal(value: int) -> None:
            here_bit, there_bit = diagonal_bits(self.win), diagonal_bits(back)
            with m.If(here_bit.any()):
                m.d.comb += [
                    tk_w.addr.eq(self.here),
                    tk_w.data.eq(0xF if value else 0),
                    tk_w.en.eq(here_bit),
                ]
                m.d.sync += [
                    tk_pend.eq(1),
                    tk_pend_cell.eq(self.win_cell),
                    tk_pend_bit.eq(there_bit),
                    tk_pend_val.eq(value),
                ]

        with m.If(ctl.wall):
            m.d.comb += [
                ps_w.addr.eq(self.win_cell),
                ps_w.data.eq(
                    place_word(
                        self.win_explored,
                        Const(1, 1),
                        trial,
                        Mux(win_mark == MARK_DOUBTED, MARK_FIXED, win_mark),
                    )
                ),  # fmt: skip
                ps_w.en.eq(1),
            ]
            row_write(self.win_row, self.win_col, u=Const(0, 1))
        with m.If(ctl.corner):
            diagonal(0)
        if c.probe_age:  # a failed probe at a corner stamps the walls beside it
            self._stamp_beside(m, ctl, probeable, marks, win_d, trial, dr, dc, place_word,
                               row_write, ps_w)  # fmt: skip
        with m.If(ctl.book):
            m.d.comb += [ps_w.addr.eq(self.win_cell), ps_w.data.eq(1), ps_w.en.eq(1)]
            row_write(self.win_row, self.win_col, u=Const(1, 1), s=Const(1, 1))
            diagonal(1)

        # -- the planner's reads ----------------------------------------------------
        m.d.comb += [
            rows.r_addr.eq(Mux(ctl.plan, self.pl_row, rows_addr)),
            self.pl_rows.eq(rows.r_data),
            tk_r.addr.eq(self.pl_cell),
            self.pl_diag.eq(tk_r.data),
            ps_r.addr.eq(ps_addr),
        ]
        return m

    def _stamp_beside(  # noqa: PLR0913
        self,
        m,
        ctl,
        probeable,
        marks,
        win_d,
        trial,
        dr,
        dc,
        place_word,
        row_write,
        ps_w,  # noqa: ANN001
    ) -> None:
        """A failed probe at a corner: each wall old enough to probe beside the
        winner's diagonal is stamped with the trial and unusable (the first orthogonal place at
        ``corner``, the second the cycle after)."""
        c = self.config
        cb = c.cell_bits
        dcell = Array(Const((d[0] * c.width + d[1]) % (1 << cb), cb) for d in DIRECTIONS)
        side = [(win_d - 1)[:3], (win_d + 1)[:3]]
        pend = Signal()
        m.d.sync += pend.eq(0)

        def stamp(o) -> None:  # noqa: ANN001
            with m.If(probeable.bit_select(o, 1)):
                m.d.comb += [
                    ps_w.addr.eq(self.here + dcell[o]),
                    ps_w.data.eq(
                        place_word(self.explored.bit_select(o, 1), Const(1, 1), trial, marks[o])
                    ),
                    ps_w.en.eq(1),
                ]
                row_write(self.pos_row + dr[o], self.pos_col + dc[o], u=Const(0, 1))

        with m.If(ctl.corner & self.probe_failed):
            stamp(side[0])
            m.d.sync += pend.eq(1)
        with m.If(pend):
            stamp(side[1])
