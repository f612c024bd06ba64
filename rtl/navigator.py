"""The eight-neuron navigator as one core: neurons, threshold interface, maze FSM.

The behaviour is the golden model's (docs/navigator.md, ``memrl.host.navigator``)
with the ``paper`` learning rule: per step, READ the eight synapses of the
current place and the threshold devices of the on-grid targets; integrate one
tick per clock cycle until a neuron reaches its target's threshold; the maze
state machine applies the winner's move; then the learning rule programs the
devices in the golden model's order (forgetting sweep, penalty, potentiation,
stuck fallback, reward of the last K places). Every device access goes through
the RRAM port (:mod:`memrl.rtl.rram_port`), in the golden model's order.

Device addresses: place ``p`` owns ``9p + d`` (synapse of direction ``d``,
0 N, 1 NE, ... 7 NW) and ``9p + 8`` (threshold device).
"""

from __future__ import annotations

from dataclasses import dataclass

from amaranth import Array, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .rram_port import RRAMOp, RRAMPortSignature

__all__ = ["DIRECTIONS", "NavigatorConfig", "NavigatorCore"]

#: (row, column) offsets of the eight directions N, NE, E, SE, S, SW, W, NW.
DIRECTIONS = ((-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1))
SLOTS = 9
THR = 8


@dataclass(frozen=True)
class NavigatorConfig:
    """Constructor parameters of :class:`NavigatorCore` (defaults: the paper rule).

    Thresholds are in integrator units (sums of synapse READ codes); code
    boundaries classify a threshold device's READ code; levels are SET
    compliance codes and RESET stop-voltage codes of the port.
    """

    height: int = 30
    width: int = 30
    th0: int = 400
    recall_th: int = 320
    homeo_th: int = 1200
    penalty_th: int = 4000
    max_ticks: int = 4095
    code_reward_min: int = 160
    code_recall_min: int = 120
    code_nominal_min: int = 40
    lvl_reward: int = 10
    lvl_recall: int = 5
    lvl_nominal: int = 0
    lvl_potentiate: int = 2
    rst_penalty: int = 12
    rst_depress: int = 12
    reward_k: int = 50
    stuck_steps: int = 8
    exploit_limit: int = 50  # 0: off
    init_synapses: bool = False
    max_steps_bits: int = 16

    def __post_init__(self) -> None:
        def need(name: str, lo: int, hi: int) -> None:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
                raise ValueError(
                    f"NavigatorConfig.{name} must be an integer in [{lo}, {hi}] (got {v!r})"
                )

        need("height", 2, 1024)
        need("width", 2, 1024)
        for name in ("th0", "recall_th", "homeo_th", "penalty_th"):
            need(name, 0, (1 << 20) - 1)
        need("max_ticks", 1, (1 << 20) - 1)
        need("code_nominal_min", 1, 255)
        need("code_recall_min", self.code_nominal_min + 1, 255)
        need("code_reward_min", self.code_recall_min + 1, 255)
        for name in ("lvl_reward", "lvl_recall", "lvl_nominal", "lvl_potentiate"):
            need(name, 0, 15)
        need("rst_penalty", 0, 15)
        need("rst_depress", 0, 15)
        need("reward_k", 1, 1 << 16)
        need("stuck_steps", 1, (1 << 16) - 1)
        need("exploit_limit", 0, (1 << 16) - 2)
        need("max_steps_bits", 1, 32)

    @property
    def places(self) -> int:
        return self.height * self.width


def _bits(n: int) -> int:
    """Bits of an unsigned counter holding 0 .. n."""
    return max(1, int(n).bit_length())


class NavigatorCore(wiring.Component):
    """Navigator for one agent on an ``height x width`` maze.

    Ports:

    * ``rram``: the RRAM port (controller side).
    * ``layout_we``, ``layout_addr``, ``layout_data``: write a place of the maze
      layout (bit 0 wall, bit 1 goal); take effect between trials.
    * ``init``: pulse while idle: the run start (every threshold device SET to
      NOMINAL, then with ``init_synapses`` the eight synapses to level
      ``lvl_potentiate``, place by place).
    * ``start``: pulse while idle: a trial from (``start_row``, ``start_col``) of at
      most ``max_steps`` steps.
    * ``busy``; ``done``: one cycle at the end of an init or a trial.
    * ``step_valid``: one cycle per step, with ``pos`` (the place after the
      step) and ``step_ticks`` (integration ticks of the step).
    * per-trial counters ``steps``, ``ticks``, ``moves``, ``hits``, ``reads``,
      ``sets``, ``resets`` and ``reached`` (the trial ended on a goal).
    """

    def __init__(self, config: NavigatorConfig | None = None) -> None:
        self.config = c = config or NavigatorConfig()
        p = c.places
        self.cell_bits = _bits(p - 1)
        self.addr_bits = _bits(SLOTS * p - 1)
        self.row_bits = _bits(c.height - 1)
        self.col_bits = _bits(c.width - 1)
        self.tick_bits = _bits(c.max_ticks)
        super().__init__(
            {
                "rram": Out(RRAMPortSignature(self.addr_bits)),
                "layout_we": In(1),
                "layout_addr": In(self.cell_bits),
                "layout_data": In(2),
                "init": In(1),
                "start": In(1),
                "start_row": In(self.row_bits),
                "start_col": In(self.col_bits),
                "max_steps": In(c.max_steps_bits),
                "busy": Out(1),
                "done": Out(1),
                "step_valid": Out(1),
                "pos": Out(self.cell_bits),
                "step_ticks": Out(self.tick_bits),
                "steps": Out(c.max_steps_bits),
                "reached": Out(1),
                "ticks": Out(32),
                "moves": Out(c.max_steps_bits),
                "hits": Out(c.max_steps_bits),
                "reads": Out(32),
                "sets": Out(32),
                "resets": Out(32),
            }
        )

    def elaborate(self, platform: object) -> Module:  # noqa: C901, PLR0915 - one state machine
        m = Module()
        c = self.config
        H, W, P, K = c.height, c.width, c.places, c.reward_k
        req, resp = self.rram.req, self.rram.resp
        ab = self.addr_bits

        # -- memories ----------------------------------------------------------
        m.submodules.maze = maze = Memory(shape=unsigned(2), depth=P, init=[])
        maze_w, maze_r = maze.write_port(), maze.read_port()
        m.submodules.visited = visited = Memory(shape=unsigned(1), depth=P, init=[])
        vis_w, vis_r = visited.write_port(), visited.read_port()
        # The trajectory holds each place's threshold-device base address 9p.
        m.submodules.traj = traj = Memory(shape=unsigned(ab), depth=K, init=[])
        traj_w, traj_r = traj.write_port(), traj.read_port()

        # -- position, held as row, column, place and 9 x place ----------------------
        pos_r = Signal(self.row_bits)
        pos_c = Signal(self.col_bits)
        here = Signal(self.cell_bits)
        here9 = Signal(ab)
        m.d.comb += self.pos.eq(here)
        # The eight targets, registered at the start of each step: on the grid,
        # place, and threshold-device address (place offsets are constants: dr * W + dc).
        tgt_valid = Signal(8)
        tgt_cell = Array(Signal(self.cell_bits, name=f"tgt_cell{d}") for d in range(8))
        tgt_thr = Array(Signal(ab, name=f"tgt_thr{d}") for d in range(8))  # 9 x target + 8
        syn_addr = Signal(ab)
        dir_dr = Array(Const(dr, signed(2)) for dr, _ in DIRECTIONS)
        dir_dc = Array(Const(dc, signed(2)) for _, dc in DIRECTIONS)

        def on_grid(dr: int, dc: int):  # noqa: ANN202
            """The place at offset (dr, dc) from the position lies on the grid."""
            ok = Const(1)
            if dr:
                ok = ok & (pos_r != (0 if dr < 0 else H - 1))
            if dc:
                ok = ok & (pos_c != (0 if dc < 0 else W - 1))
            return ok

        def thr_addr(dr: int, dc: int):  # noqa: ANN202
            """Address of the threshold device at offset (dr, dc): 9 x place + 8."""
            return here9 + (SLOTS * (dr * W + dc) + THR)

        # -- per-step state ---------------------------------------------------------
        syn = Array(Signal(8, name=f"syn{d}") for d in range(8))
        th = Array(Signal(20, name=f"th{d}") for d in range(8))
        active = Signal(8)  # on the grid and a nonzero synapse code: the neuron can fire
        cls_reward = Signal(8)  # target threshold device read REWARD
        wall_bits = Signal(8)
        goal_bits = Signal(8)
        vis_bits = Signal(8)
        acc_bits = _bits(c.max_ticks * 255) + 1
        acc = [Signal(acc_bits, name=f"acc{d}") for d in range(8)]
        tick = Signal(self.tick_bits)
        i_req = Signal(4)
        i_resp = Signal(4)
        look = Signal(4)

        steps, moves, hits = self.steps, self.moves, self.hits
        exploit = Signal(_bits(c.exploit_limit + 1))
        stay = Signal(_bits(c.stuck_steps))
        max_steps = Signal.like(self.max_steps)

        # Decision of a step.
        win = Signal(3)
        fired = Signal()
        moved = Signal()
        hit_wall = Signal()
        hit_corner = Signal()
        forget = Signal()
        stuck = Signal()
        at_goal = Signal()
        t_reward = Signal()  # the winner's target read REWARD
        win_cell = Signal(self.cell_bits)
        win9 = Signal(ab)
        win_row = Signal(self.row_bits)
        win_col = Signal(self.col_bits)

        # Sweeps.
        q = Signal(self.cell_bits + 1)
        q9 = Signal(ab + 4)  # 9 q
        slot = Signal(4)
        nb = Signal(4)  # 3x3 neighbourhood index, row-major
        wp = Signal(_bits(K - 1))  # trajectory ring buffer: next write index
        tlen = Signal(_bits(K))  # entries held (at most K)
        rw = Signal(_bits(K - 1))  # reward read index
        rw_left = Signal(_bits(K))

        def count(op: RRAMOp) -> None:
            ctr = {RRAMOp.READ: self.reads, RRAMOp.SET: self.sets, RRAMOp.RESET: self.resets}[op]
            m.d.sync += ctr.eq(ctr + 1)

        op_addr = Signal(ab)
        op_level = Signal(4)

        def op_states(name: str, op: RRAMOp, addr, level, then: str, on_code=None) -> None:  # noqa: ANN001
            """Three states: register the request, issue it, wait for its response."""
            with m.State(name):
                m.d.sync += [op_addr.eq(addr), op_level.eq(level)]
                m.next = name + "_ISSUE"
            with m.State(name + "_ISSUE"):
                m.d.comb += [
                    req.valid.eq(1),
                    req.payload.op.eq(op),
                    req.payload.addr.eq(op_addr),
                    req.payload.level.eq(op_level),
                ]
                with m.If(req.ready):
                    count(op)
                    m.next = name + "_WAIT"
            with m.State(name + "_WAIT"):
                m.d.comb += resp.ready.eq(1)
                with m.If(resp.valid):
                    m.next = then
                    if on_code is not None:
                        on_code(resp.payload)

        m.d.comb += [
            maze_w.addr.eq(self.layout_addr),
            maze_w.data.eq(self.layout_data),
            self.busy.eq(1),
        ]

        # Neurons: ``acc`` holds the integral after ``tick`` ticks; a neuron fires
        # when it reaches its target's threshold.
        fires = Signal(8)
        for d in range(8):
            m.d.comb += fires[d].eq(active[d] & (acc[d] >= th[d]))
        # Winner-take-all: ``beats[d][e]`` (registered once per step, synapse codes
        # are fixed during integration) says neuron d wins over e when both fire:
        # a larger synapse code, or an equal one and a lower direction.
        beats = [
            [Signal(name=f"beats{d}_{e}") if d != e else None for e in range(8)] for d in range(8)
        ]
        # The comparison is registered (``fired_at`` holds the neurons that reached
        # their threshold at tick ``fired_tick``); the winner is taken a cycle later.
        fired_at = Signal(8)
        fired_tick = Signal(self.tick_bits)
        win_hot = Signal(8)
        for d in range(8):
            term = fired_at[d]
            for e in range(8):
                if e != d:
                    term = term & (~fired_at[e] | beats[d][e])
            m.d.comb += win_hot[d].eq(term)
        any_fires = Signal()  # registered with fired_at: fired_at.any()
        at_max = Signal()  # registered with fired_tick: fired_tick == max_ticks
        best = Signal(3)
        for d in range(8):  # one-hot to binary (exactly one bit set when any fires)
            with m.If(win_hot[d]):
                m.d.comb += best.eq(d)

        # Threshold of a target from its device code and the homeostasis bit.
        def threshold(code, vis):  # noqa: ANN001, ANN202
            cls_th = Mux(
                code >= c.code_reward_min,
                0,
                Mux(
                    code >= c.code_recall_min,
                    c.recall_th,
                    Mux(code >= c.code_nominal_min, c.th0, c.penalty_th),
                ),
            )
            return Mux(vis, c.homeo_th, cls_th)

        with m.FSM(name="nav"):
            with m.State("IDLE"):
                m.d.comb += [self.busy.eq(0), maze_w.en.eq(self.layout_we)]
                with m.If(self.init):
                    m.d.sync += [q.eq(0), q9.eq(0), slot.eq(THR)]
                    m.next = "INIT"
                with m.Elif(self.start):
                    m.d.sync += [
                        pos_r.eq(self.start_row),
                        pos_c.eq(self.start_col),
                        here.eq(self.start_row * W + self.start_col),
                        max_steps.eq(self.max_steps),
                        q.eq(0),
                        steps.eq(0),
                        moves.eq(0),
                        hits.eq(0),
                        self.ticks.eq(0),
                        self.reads.eq(0),
                        self.sets.eq(0),
                        self.resets.eq(0),
                        self.reached.eq(0),
                        exploit.eq(0),
                        stay.eq(0),
                    ]
                    m.next = "CLEAR"

            # -- run start: thresholds to NOMINAL (and synapses to an LRS) -------------
            init_level = Mux(slot == THR, c.lvl_nominal, c.lvl_potentiate)

            def init_next(_code) -> None:  # noqa: ANN001
                last_slot = (slot == 7) if c.init_synapses else (slot == THR)
                with m.If(last_slot):
                    m.d.sync += [q.eq(q + 1), q9.eq(q9 + SLOTS), slot.eq(THR)]
                    with m.If(q == P - 1):
                        m.next = "DONE"
                    with m.Else():
                        m.next = "INIT"
                with m.Else():
                    m.d.sync += slot.eq(Mux(slot == THR, 0, slot + 1))
                    m.next = "INIT"

            op_states("INIT", RRAMOp.SET, q9 + slot, init_level, "INIT", init_next)

            # -- trial start: clear the visited map, the trajectory holds the start -----
            with m.State("CLEAR"):
                m.d.comb += [vis_w.addr.eq(q), vis_w.data.eq(0), vis_w.en.eq(1)]
                m.d.sync += [q.eq(q + 1), here9.eq(here * SLOTS)]
                with m.If(q == P - 1):
                    m.next = "CLEAR_TRAJ"
            with m.State("CLEAR_TRAJ"):
                m.d.comb += [traj_w.addr.eq(0), traj_w.data.eq(here9), traj_w.en.eq(1)]
                m.d.sync += [wp.eq(1 % K), tlen.eq(1)]
                m.next = "STEP"

            with m.State("STEP"):
                m.d.sync += [i_req.eq(0), i_resp.eq(0), look.eq(0)]
                for d, (dr, dc) in enumerate(DIRECTIONS):
                    m.d.sync += [
                        tgt_valid[d].eq(on_grid(dr, dc)),
                        tgt_cell[d].eq(here + (dr * W + dc)),
                        tgt_thr[d].eq(thr_addr(dr, dc)),
                    ]
                m.d.sync += syn_addr.eq(here9)
                m.next = "SYN"

            # -- 1. READ the eight synapses; meanwhile look up the targets' layout
            # and visited bits ------------------------------------------------------------
            with m.State("SYN"):
                with m.If(i_req < 8):
                    m.d.comb += [
                        req.valid.eq(1),
                        req.payload.op.eq(RRAMOp.READ),
                        req.payload.addr.eq(syn_addr),
                    ]
                    with m.If(req.ready):
                        count(RRAMOp.READ)
                        m.d.sync += [i_req.eq(i_req + 1), syn_addr.eq(syn_addr + 1)]
                m.d.comb += resp.ready.eq(i_resp < i_req)
                with m.If(resp.valid & (i_resp < i_req)):
                    m.d.sync += [syn[i_resp[:3]].eq(resp.payload), i_resp.eq(i_resp + 1)]
                m.d.comb += [
                    maze_r.addr.eq(tgt_cell[look[:3]]),
                    vis_r.addr.eq(tgt_cell[look[:3]]),
                ]
                with m.If(look < 9):
                    m.d.sync += look.eq(look + 1)
                with m.If((look >= 1) & (look <= 8)):
                    k = (look - 1)[:3]
                    m.d.sync += [
                        wall_bits.bit_select(k, 1).eq(maze_r.data[0]),
                        goal_bits.bit_select(k, 1).eq(maze_r.data[1]),
                        vis_bits.bit_select(k, 1).eq(vis_r.data),
                    ]
                with m.If((i_resp == 8) & (look == 9)):
                    m.d.sync += [i_req.eq(0), i_resp.eq(0)]
                    m.next = "THR"

            # -- READ the threshold devices of on-grid targets, in direction order -----
            with m.State("THR"):
                dq, dr = i_req[:3], i_resp[:3]
                with m.If(i_req < 8):
                    with m.If(tgt_valid.bit_select(dq, 1)):
                        m.d.comb += [
                            req.valid.eq(1),
                            req.payload.op.eq(RRAMOp.READ),
                            req.payload.addr.eq(tgt_thr[dq]),
                        ]
                        with m.If(req.ready):
                            count(RRAMOp.READ)
                            m.d.sync += i_req.eq(i_req + 1)
                    with m.Else():
                        m.d.sync += i_req.eq(i_req + 1)
                with m.If(i_resp < i_req):
                    with m.If(tgt_valid.bit_select(dr, 1)):
                        m.d.comb += resp.ready.eq(1)
                        with m.If(resp.valid):
                            code = resp.payload
                            m.d.sync += [
                                th[dr].eq(threshold(code, vis_bits.bit_select(dr, 1))),
                                cls_reward.bit_select(dr, 1).eq(code >= c.code_reward_min),
                                i_resp.eq(i_resp + 1),
                            ]
                    with m.Else():
                        m.d.sync += [th[dr].eq(0), cls_reward.bit_select(dr, 1).eq(0)]
                        m.d.sync += i_resp.eq(i_resp + 1)
                with m.If(i_resp == 8):
                    m.d.sync += [
                        tick.eq(1),
                        fired_at.eq(0),
                        fired_tick.eq(0),
                        any_fires.eq(0),
                        at_max.eq(0),
                    ]
                    for d in range(8):
                        for e in range(8):
                            if e != d:
                                beat = syn[d] > syn[e] if d > e else syn[d] >= syn[e]
                                m.d.sync += beats[d][e].eq(beat)
                    for d in range(8):
                        m.d.sync += [
                            acc[d].eq(syn[d]),
                            active[d].eq(tgt_valid[d] & (syn[d] != 0)),
                        ]
                    m.next = "INTEGRATE"

            # -- 3. one tick per cycle; winner-take-all -------------------------------
            with m.State("INTEGRATE"):
                for d in range(8):
                    m.d.sync += acc[d].eq(acc[d] + syn[d])
                m.d.sync += [
                    tick.eq(tick + 1),
                    fired_at.eq(fires),
                    fired_tick.eq(tick),
                    any_fires.eq(fires.any()),
                    at_max.eq(tick == c.max_ticks),
                ]
                with m.If(any_fires | at_max):
                    m.d.sync += [win.eq(best), fired.eq(any_fires), self.step_ticks.eq(fired_tick)]
                    m.next = "DECIDE"

            # -- 4. the maze applies the move; 5. what the learning rule will do --------
            with m.State("DECIDE"):  # the maze's verdict on the winner's move
                wall = wall_bits.bit_select(win, 1)
                side1 = wall_bits.bit_select((win - 1)[:3], 1)
                side2 = wall_bits.bit_select((win + 1)[:3], 1)
                corner = win[0] & (side1 | side2)
                m.d.sync += [
                    moved.eq(fired & ~wall & ~corner),
                    hit_wall.eq(fired & wall),
                    hit_corner.eq(fired & ~wall & corner),
                    t_reward.eq(cls_reward.bit_select(win, 1)),
                    at_goal.eq(fired & ~wall & ~corner & goal_bits.bit_select(win, 1)),
                    win_cell.eq(tgt_cell[win]),
                    win9.eq(tgt_thr[win] - THR),
                    win_row.eq(pos_r + dir_dr[win]),
                    win_col.eq(pos_c + dir_dc[win]),
                    self.ticks.eq(self.ticks + self.step_ticks),
                    q.eq(0),
                    q9.eq(0),
                ]
                m.next = "RULE"

            with m.State("RULE"):  # what the learning rule will do
                is_hit = hit_wall | hit_corner
                exploit_next = Mux(moved & t_reward, exploit + 1, 0)
                on_path_stuck = (exploit_next > c.exploit_limit) if c.exploit_limit else 0
                do_forget = (is_hit & t_reward) | on_path_stuck
                stay_next = Mux(moved, 0, stay + 1)
                m.d.sync += [
                    forget.eq(do_forget),
                    exploit.eq(Mux(do_forget, 0, exploit_next)),
                    stuck.eq(stay_next >= c.stuck_steps),
                    stay.eq(Mux(stay_next >= c.stuck_steps, 0, stay_next)),
                    steps.eq(steps + 1),
                    moves.eq(moves + moved),
                    hits.eq(hits + is_hit),
                ]
                m.next = "LEARN"

            with m.State("LEARN"):
                with m.If(forget):
                    m.next = "FORGET"
                with m.Else():
                    m.next = "PENALTY"

            # Forgetting: sweep every threshold device, REWARD -> RECALL.
            def forget_advance() -> None:
                with m.If(q == P - 1):
                    m.next = "PENALTY"
                with m.Else():
                    m.d.sync += [q.eq(q + 1), q9.eq(q9 + SLOTS)]
                    m.next = "FORGET"

            def forget_code(code) -> None:  # noqa: ANN001
                with m.If(code >= c.code_reward_min):
                    m.next = "FORGET_SET"
                with m.Else():
                    forget_advance()

            op_states("FORGET", RRAMOp.READ, q9 + THR, 0, "PENALTY", forget_code)
            op_states(
                "FORGET_SET",
                RRAMOp.SET,
                q9 + THR,
                c.lvl_recall,
                "PENALTY",
                lambda _code: forget_advance(),
            )

            # Penalty: a wall hit RESETs the wall's threshold device, a corner hit the
            # synapse that tried the diagonal.
            with m.State("PENALTY"):
                with m.If(hit_wall):
                    m.next = "WALL"
                with m.Elif(hit_corner):
                    m.next = "CORNER"
                with m.Elif(moved):
                    m.next = "POT"
                with m.Else():
                    m.next = "CHECK_STUCK"

            op_states("WALL", RRAMOp.RESET, win9 + THR, c.rst_penalty, "CHECK_STUCK")
            op_states("CORNER", RRAMOp.RESET, here9 + win, c.rst_depress, "CHECK_STUCK")
            op_states("POT", RRAMOp.SET, here9 + win, c.lvl_potentiate, "CHECK_STUCK")

            # Stuck fallback: the on-grid 3x3 neighbourhood, row-major, to NOMINAL.
            nbs = [(dr, dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1)]
            nb_ok = Signal()
            nb_addr = Signal(ab)
            m.d.comb += [
                nb_ok.eq(Array(on_grid(dr, dc) for dr, dc in nbs)[nb]),
                nb_addr.eq(Array(thr_addr(dr, dc) for dr, dc in nbs)[nb]),
            ]
            with m.State("CHECK_STUCK"):
                m.d.sync += nb.eq(0)
                with m.If(stuck):
                    m.next = "NBR"
                with m.Else():
                    m.next = "BOOK"
            with m.State("NBR"):
                with m.If(nb == 9):
                    m.next = "BOOK"
                with m.Elif(nb_ok):
                    m.next = "NBR_SET"
                with m.Else():
                    m.d.sync += nb.eq(nb + 1)

            def nbr_next(_code) -> None:  # noqa: ANN001
                m.d.sync += nb.eq(nb + 1)

            op_states("NBR_SET", RRAMOp.SET, nb_addr, c.lvl_nominal, "NBR", nbr_next)

            # Bookkeeping: leave the place (homeostasis), move, extend the trajectory.
            with m.State("BOOK"):
                m.d.comb += self.step_valid.eq(1)
                with m.If(moved):
                    m.d.comb += [vis_w.addr.eq(here), vis_w.data.eq(1), vis_w.en.eq(1)]
                    m.d.comb += [traj_w.addr.eq(wp), traj_w.data.eq(win9), traj_w.en.eq(1)]
                    m.d.sync += [
                        pos_r.eq(win_row),
                        pos_c.eq(win_col),
                        here.eq(win_cell),
                        here9.eq(win9),
                        wp.eq(Mux(wp == K - 1, 0, wp + 1)),
                        tlen.eq(Mux(tlen == K, K, tlen + 1)),
                    ]
                    # The step's outputs show the place after the move.
                    m.d.comb += self.pos.eq(win_cell)
                with m.If(at_goal):
                    m.d.sync += self.reached.eq(1)
                    m.next = "REWARD"
                with m.Elif(steps == max_steps):
                    m.next = "DONE"
                with m.Else():
                    m.next = "STEP"

            # Reward: SET the thresholds of the last K places, oldest first.
            with m.State("REWARD"):
                start = Signal(signed(_bits(K) + 2))
                m.d.comb += start.eq(wp - tlen)
                m.d.sync += [rw.eq(Mux(start < 0, start + K, start)), rw_left.eq(tlen)]
                m.next = "RW_ADDR"
            m.d.comb += traj_r.addr.eq(rw)
            with m.State("RW_ADDR"):
                with m.If(rw_left == 0):
                    m.next = "DONE"
                with m.Else():
                    m.next = "RW_SET"

            def rw_next(_code) -> None:  # noqa: ANN001
                m.d.sync += [rw.eq(Mux(rw == K - 1, 0, rw + 1)), rw_left.eq(rw_left - 1)]

            op_states("RW_SET", RRAMOp.SET, traj_r.data + THR, c.lvl_reward, "RW_ADDR", rw_next)

            with m.State("DONE"):
                m.d.comb += self.done.eq(1)
                m.next = "IDLE"

        return m
