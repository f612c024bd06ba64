"""The eight-neuron navigator as one core: neurons, threshold interface, maze FSM.

The behaviour is the golden model's (docs/navigator/golden-model.md, ``memrl.sim.navigator.golden``)
with the ``paper`` learning rule: per step, READ the eight synapses of the
current place (one READ_ROW) and the threshold devices of the on-grid targets;
integrate one tick per clock cycle until a neuron reaches its target's
threshold; the maze state machine applies the winner's move; then the learning
rule programs the devices in the golden model's order (forgetting sweep,
penalty, potentiation, stuck fallback, reward of the last K places). Every
device access goes through the RRAM port (:mod:`memrl.rtl.navigator.port`, eight
lanes), in the golden model's order. Requests are pipelined: up to nine READs
of a step are in flight, and a step's programming operation is posted (the
core goes on once it is accepted).

Device addresses: place ``p`` owns ``9p + d`` (synapse of direction ``d``,
0 N, 1 NE, ... 7 NW) and ``9p + 8`` (threshold device).
"""

from __future__ import annotations

from dataclasses import dataclass

from amaranth import Array, Cat, Const, Module, Mux, Signal, Value, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from memrl.rtl.lib.onehot import OneHotFSM
from memrl.rtl.navigator.port import RRAMOp, RRAMPortSignature

__all__ = ["DIRECTIONS", "NavigatorConfig", "NavigatorCore"]

#: (row, column) offsets of the eight directions N, NE, E, SE, S, SW, W, NW.
DIRECTIONS = ((-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1))
#: The 3x3 neighbourhood of the stuck fallback, row-major.
NEIGHBOURS = tuple((dr, dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1))
SLOTS = 9
THR = 8
#: Maze size (places) from which the layout and visited maps ask for SPRAM.
SPRAM_PLACES = 4096


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
                "rram": Out(RRAMPortSignature(self.addr_bits, lanes=8)),
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
        code = resp.payload[:8]  # lane 0: the code of a READ

        # -- memories ----------------------------------------------------------
        # Maps of SPRAM_PLACES places or more ask for single-port "huge" RAM (iCE40
        # SPRAM); the attribute is a synthesis hint, ignored where there is none.
        big = {"ram_style": "huge"} if P >= SPRAM_PLACES else None
        m.submodules.maze = maze = Memory(shape=unsigned(2), depth=P, init=[], attrs=big)
        maze_w, maze_r = maze.write_port(), maze.read_port()
        m.submodules.visited = visited = Memory(shape=unsigned(1), depth=P, init=[], attrs=big)
        vis_w, vis_r = visited.write_port(), visited.read_port()
        # The trajectory holds each place's threshold-device address 9p + 8.
        m.submodules.traj = traj = Memory(shape=unsigned(ab), depth=K, init=[])
        traj_w, traj_r = traj.write_port(), traj.read_port()

        # -- position, held as row, column, place and 9 x place ----------------------
        pos_r = Signal(self.row_bits)
        pos_c = Signal(self.col_bits)
        here = Signal(self.cell_bits)
        here9 = Signal(ab)
        rows_left = Signal(self.row_bits)  # trial start: rows still to add to ``here``
        m.d.comb += self.pos.eq(here)
        tgt_valid = Signal(8)  # the eight targets lie on the grid (registered per step)
        here_thr = Signal(ab)  # the current place's threshold device
        # Offsets of the eight targets from the position: place dr * W + dc, device
        # base 9 (dr * W + dc), threshold device, and the synapse towards each. A
        # target's address is the position's plus its constant offset, added once
        # the target is chosen (one adder per field, not one per target).
        off_cell = [dr * W + dc for dr, dc in DIRECTIONS]
        off_base = [SLOTS * o for o in off_cell]
        off_thr = [o + THR for o in off_base]
        off_row = [dr for dr, _ in DIRECTIONS]
        off_col = [dc for _, dc in DIRECTIONS]
        off_syn = list(range(8))

        def offset(hot, offsets, width: int):  # noqa: ANN001, ANN202
            """The constant offset of the set bit of one-hot ``hot`` (zero when
            none), modulo 2**width: an AND-OR of constants."""
            out = Const(0, width)
            for i, v in enumerate(offsets):
                out = out | Mux(hot[i], Const(v % (1 << width), width), 0)
            return out

        def on_grid(row, col, dr: int, dc: int):  # noqa: ANN001, ANN202
            """The place at offset (dr, dc) from (row, col) lies on the grid."""
            ok = Const(1)
            if dr:
                ok = ok & (row != (0 if dr < 0 else H - 1))
            if dc:
                ok = ok & (col != (0 if dc < 0 else W - 1))
            return ok

        # -- per-step state ---------------------------------------------------------
        syn = Array(Signal(8, name=f"syn{d}") for d in range(8))
        active = Signal(8)  # on the grid and a nonzero synapse code: the neuron can fire
        cls_reward = Signal(8)  # target threshold device read REWARD
        wall_bits = Signal(8)
        goal_bits = Signal(8)
        vis_bits = Signal(8)
        # Integrators, held as what is left to the threshold: ``rem = th - acc - 1``
        # after ``tick`` ticks (``acc`` the sum of the synapse codes), so a neuron has
        # reached its threshold when ``rem`` is negative: a sign bit, not a compare.
        rem_bits = max(20, _bits(c.max_ticks * 255)) + 2
        rem = [Signal(signed(rem_bits), name=f"rem{d}") for d in range(8)]
        tick = Signal(self.tick_bits)
        row_got = Signal()  # the synapse row is answered
        r_hot = Signal(9)  # next target whose threshold reading is taken (one-hot)
        look = Signal(4)  # layout and visited lookups: address of target ``look``
        r_valid = Signal(8)  # on-grid bits of the targets from ``r_hot`` on (shifted)
        lk_head = Signal(self.cell_bits)  # the place of target ``look`` (direction order)

        steps, moves, hits = self.steps, self.moves, self.hits
        exploit = Signal(_bits(c.exploit_limit + 1))
        stay = Signal(_bits(c.stuck_steps))
        max_steps = Signal.like(self.max_steps)
        max_m1 = Signal.like(self.max_steps)  # max_steps - 1 (wrapping)
        last_step = Signal()  # steps == max_steps, registered with steps

        # Decision of a step.
        moved = Signal()
        hit_wall = Signal()
        hit_corner = Signal()
        stuck = Signal()
        at_goal = Signal()
        win_cell = Signal(self.cell_bits)
        win9 = Signal(ab)
        win_thr = Signal(ab)  # the winner's target's threshold device
        win_syn = Signal(ab)  # the synapse towards it
        win_row = Signal(self.row_bits)
        win_col = Signal(self.col_bits)

        # Sweeps.
        q = Signal(self.cell_bits + 1)
        q_clr = Signal()  # sweep counter commands (one register update, below)
        q_inc = Signal()
        q_last = Signal()  # q == P - 1, registered with q
        with m.If(q_clr):
            m.d.sync += [q.eq(0), q_last.eq(P == 1)]
        with m.Elif(q_inc):
            m.d.sync += [q.eq(q + 1), q_last.eq(q == P - 2)]
        q_thr = Signal(ab + 4)  # forgetting sweep: 9 q + 8
        init_addr = Signal(ab + 4)  # run start: the device being SET
        slot = Signal(4)
        # Stuck fallback sweep over the 3x3 neighbourhood, row-major: one-hot position
        # (bit 9: past the last) and the on-grid bits from the position on (shifted).
        nb_hot = Signal(10)
        nb_on = Signal(9)
        wp = Signal(_bits(K - 1))  # trajectory ring buffer: next write index
        tlen = Signal(_bits(K))  # entries held (at most K)
        rw = Signal(_bits(K - 1))  # reward read index
        rw_left = Signal(_bits(K))

        # Programming operations of a step are posted: the core goes on once the
        # request is accepted, and ``drain`` counts the responses still to be taken
        # (they precede every later response, the port keeps order).
        drain = Signal(2)
        posted = Signal()
        drained = Signal()
        idle_resp = Signal(init=1)  # drain == 0: responses belong to the current state
        drain_next = Signal(2)
        m.d.comb += [
            resp.ready.eq(~idle_resp),
            drained.eq(~idle_resp & resp.valid),
            drain_next.eq(drain + posted - drained),
        ]
        m.d.sync += [drain.eq(drain_next), idle_resp.eq(drain_next == 0)]

        # Every request field comes from a register: the step's READs from the head
        # of the read queue, every other request from ``op_*``, prepared the cycle
        # before it is issued.
        op_op = Signal(3)  # an RRAMOp value
        op_addr = Signal(ab)
        op_level = Signal(4)
        rq_head = Signal(ab)  # the address of the queue's head
        rq_hot = Signal(9)  # which entry the head is (one-hot)
        rq_on = Signal(9)  # the queue entry is a READ to issue (on-grid target)
        rq_live = Signal(9)  # the queue entry is still to be taken from the queue
        row_sent = Signal()  # the synapse row READ_ROW is accepted
        in_reads = Signal()

        def any_of(values):  # noqa: ANN001, ANN202
            out = values[0]
            for v in values[1:]:
                out = out | v
            return out

        prepared: list[tuple] = []  # (state flag, op, address, level), one per state

        def prepare(op: RRAMOp, addr, level) -> None:  # noqa: ANN001
            """Load ``op_*`` in the current state (an AND-OR over the states, below)."""
            prepared.append((fsm.ongoing(fsm.current), op, addr, level))

        def post() -> None:
            """Drive the prepared request (the caller acts on ``req.ready``)."""
            m.d.comb += req.valid.eq(1)

        got_code = Signal(8)  # the last response of an ``op_states`` operation

        def op_states(name: str, op: RRAMOp, addr, level, then: str, on_code=None) -> None:  # noqa: ANN001
            """Register the request, issue it, take its response, act on it (a state each)."""
            with fsm.State(name):
                prepare(op, addr, level)
                fsm.next = name + "_ISSUE"
            with fsm.State(name + "_ISSUE"):
                post()
                with m.If(req.ready):
                    fsm.next = name + "_WAIT"
            with fsm.State(name + "_WAIT"):
                with m.If(idle_resp):
                    m.d.comb += resp.ready.eq(1)
                    with m.If(resp.valid):
                        m.d.sync += got_code.eq(code)
                        fsm.next = name + "_GOT"
            with fsm.State(name + "_GOT"):
                fsm.next = then
                if on_code is not None:
                    on_code(got_code)

        m.d.comb += [
            maze_w.data.eq(self.layout_data),
            vis_w.addr.eq(lk_head),
            self.busy.eq(1),
            req.payload.op.eq(Mux(in_reads, Mux(row_sent, RRAMOp.READ, RRAMOp.READ_ROW), op_op)),
            req.payload.addr.eq(Mux(in_reads, rq_head, op_addr)),
            req.payload.level.eq(Mux(in_reads, 0, op_level)),
        ]

        # Neurons: a neuron fires when its integral reaches its target's threshold.
        fires = Signal(8)
        for d in range(8):
            m.d.comb += fires[d].eq(active[d] & rem[d][-1])
        # Winner-take-all: ``beats[d][e]`` (registered while the thresholds are read;
        # synapse codes are fixed during integration) says neuron d wins over e when
        # both fire: a larger synapse code, or an equal one and a lower direction.
        beats = [
            [Signal(name=f"beats{d}_{e}") if d != e else None for e in range(8)] for d in range(8)
        ]
        # The winner of each tick is registered (``win_hot``, one-hot, zero when no
        # neuron reached its threshold at tick ``fired_tick``); the step ends a
        # cycle later.
        tick_win = Signal(8)
        for d in range(8):
            term = fires[d]
            for e in range(8):
                if e != d:
                    term = term & (~fires[e] | beats[d][e])
            m.d.comb += tick_win[d].eq(term)
        win_hot = Signal(8)
        fired_tick = Signal(self.tick_bits)
        any_fires = Signal()  # registered with win_hot: fires.any()
        at_max = Signal()  # registered with fired_tick: fired_tick == max_ticks

        # Threshold of a target, minus one, from its device code's class (the code
        # reaches the REWARD, RECALL, NOMINAL boundary) and the homeostasis bit.
        def threshold_m1(reward, recall, nominal, vis):  # noqa: ANN001, ANN202
            def k(v: int):  # noqa: ANN202
                return Const(v - 1, signed(rem_bits))

            cls_th = Mux(
                reward,
                k(0),
                Mux(recall, k(c.recall_th), Mux(nominal, k(c.th0), k(c.penalty_th))),
            )
            return Mux(vis, k(c.homeo_th), cls_th)

        # The step's verdict (DECIDE), combinational from the winner.
        # A threshold reading is staged for a cycle (code and target), then lands in
        # its integrator as the state after the first tick: th - 1 - syn.
        st_valid_next = Signal()
        st_valid = Signal()
        st_reward = Signal()  # the code's class, staged
        st_recall = Signal()
        st_nominal = Signal()
        st_hot = Signal(8)
        m.d.sync += [
            st_valid.eq(st_valid_next),
            st_reward.eq(code >= c.code_reward_min),
            st_recall.eq(code >= c.code_recall_min),
            st_nominal.eq(code >= c.code_nominal_min),
            st_hot.eq(r_hot[:8]),
        ]
        for d in range(8):
            with m.If(st_valid & st_hot[d]):
                m.d.sync += [
                    rem[d].eq(threshold_m1(st_reward, st_recall, st_nominal, vis_bits[d]) - syn[d]),
                    cls_reward[d].eq(st_reward),
                ]

        # Per target, what a move there would be (registered during integration:
        # the layout bits are fixed by then), so the verdict is an AND-OR with the
        # one-hot winner ``win_hot`` (zero when no neuron fired), registered as
        # integration ends.
        t_move = Signal(8)  # a free target: no wall, no corner cut
        t_wall = Signal(8)
        t_corner = Signal(8)  # a diagonal past a wall beside it
        corner_of = Cat(
            (wall_bits[(d - 1) % 8] | wall_bits[(d + 1) % 8]) if d % 2 else Const(0, 1)
            for d in range(8)
        )
        # Counter limits, registered with their counters: the exploitation counter
        # would pass its limit after one more rewarded move, the stay counter would
        # reach the stuck count after one more step without a move.
        exploit_full = Signal()
        stay_full = Signal()

        def pick(bits):  # noqa: ANN001, ANN202
            return (bits & win_hot).any()

        t_reward = Signal()  # the winner's target read REWARD
        win_goal = Signal()  # the winner's target is a goal
        v_forget = Signal()
        v_stuck = Signal()
        on_path = moved & t_reward
        m.d.comb += [
            v_forget.eq(
                ((hit_wall | hit_corner) & t_reward)
                | ((on_path & exploit_full) if c.exploit_limit else 0)
            ),
            v_stuck.eq(~moved & stay_full),
        ]
        v_exploit = Mux(v_forget | ~on_path, 0, exploit + 1)
        v_stay = Mux(moved | v_stuck, 0, stay + 1)
        # The limits of the counters' next values (exploit + 1 and stay + 1 are
        # registers plus constants: no path through the verdict).
        lim = c.exploit_limit
        v_exploit_full = Mux(v_forget | ~on_path, 1 > lim, exploit + 2 > lim)
        v_stay_full = Mux(moved | v_stuck, 1 >= c.stuck_steps, stay + 2 >= c.stuck_steps)

        def penalty_next(moved_, wall_, corner_, stuck_) -> None:  # noqa: ANN001
            """After forgetting: penalty or potentiation, then the stuck fallback."""
            with m.If(wall_):
                fsm.next = "WALL"
            with m.Elif(corner_):
                fsm.next = "CORNER"
            with m.Elif(moved_):
                fsm.next = "POT"
            with m.Elif(stuck_):
                fsm.next = "NBR"
            with m.Else():
                fsm.next = "BOOK"

        def prepare_penalty(wall_, corner_, thr_addr_, syn_addr_) -> None:  # noqa: ANN001
            """The programming operation after the verdict (see ``posted_op``)."""
            prepare(
                Mux(wall_ | corner_, RRAMOp.RESET, RRAMOp.SET),
                Mux(wall_, thr_addr_, syn_addr_),
                Mux(wall_, c.rst_penalty, Mux(corner_, c.rst_depress, c.lvl_potentiate)),
            )

        def posted_op(name: str) -> None:
            """One state: post the prepared programming request, then the stuck
            fallback or book."""
            with fsm.State(name):
                post()
                with m.If(req.ready):
                    m.d.comb += posted.eq(1)
                    with m.If(stuck):
                        fsm.next = "NBR"
                    with m.Else():
                        fsm.next = "BOOK"

        def begin_step(row, col, cell, base9) -> None:  # noqa: ANN001
            """Load a step's targets and read queue for the place (row, col), ``cell``,
            device base ``base9``, and clear the per-step state."""
            m.d.sync += [
                rq_head.eq(base9),
                here_thr.eq(base9 + THR),
                rq_on.eq(Cat(Const(1, 1), Cat(on_grid(row, col, *o) for o in DIRECTIONS))),
                rq_live.eq(0x1FF),
                row_sent.eq(0),
                row_got.eq(0),
                r_hot.eq(1),
                look.eq(0),
                r_valid.eq(Cat(on_grid(row, col, *o) for o in DIRECTIONS)),
                tick.eq(1),
                win_hot.eq(0),
                fired_tick.eq(0),
                any_fires.eq(0),
                at_max.eq(0),
            ]
            m.d.sync += [
                tgt_valid.eq(Cat(on_grid(row, col, *o) for o in DIRECTIONS)),
                rq_hot.eq(1),
                lk_head.eq(cell + off_cell[0]),
            ]

        with OneHotFSM(m, "nav", reset="IDLE") as fsm:
            with fsm.State("IDLE"):
                m.d.comb += [self.busy.eq(0), maze_w.en.eq(self.layout_we)]
                with m.If(self.init):
                    m.d.comb += q_clr.eq(1)
                    m.d.sync += [init_addr.eq(THR), slot.eq(THR)]
                    fsm.next = "INIT"
                with m.Elif(self.start):
                    m.d.comb += q_clr.eq(1)
                    m.d.sync += [
                        pos_r.eq(self.start_row),
                        pos_c.eq(self.start_col),
                        here.eq(self.start_col),
                        rows_left.eq(self.start_row),
                        max_steps.eq(self.max_steps),
                        max_m1.eq(self.max_steps - 1),
                        steps.eq(0),
                        moves.eq(0),
                        hits.eq(0),
                        self.reached.eq(0),
                        exploit.eq(0),
                        exploit_full.eq(1 > c.exploit_limit),
                        stay.eq(0),
                        stay_full.eq(1 >= c.stuck_steps),
                    ]
                    fsm.next = "CLEAR"

            # -- run start: thresholds to NOMINAL (and synapses to an LRS) -------------
            init_level = Mux(slot == THR, c.lvl_nominal, c.lvl_potentiate)

            def init_next(_code) -> None:  # noqa: ANN001
                last_slot = (slot == 7) if c.init_synapses else (slot == THR)
                with m.If(last_slot):
                    # from 9q + 7 (or 9q + 8 without synapses) to 9(q + 1) + 8
                    step = SLOTS + 1 if c.init_synapses else SLOTS
                    m.d.comb += q_inc.eq(1)
                    m.d.sync += [init_addr.eq(init_addr + step), slot.eq(THR)]
                    with m.If(q_last):
                        fsm.next = "DONE"
                    with m.Else():
                        fsm.next = "INIT"
                with m.Else():
                    m.d.sync += [
                        slot.eq(Mux(slot == THR, 0, slot + 1)),
                        init_addr.eq(Mux(slot == THR, init_addr - THR, init_addr + 1)),
                    ]
                    fsm.next = "INIT"

            op_states("INIT", RRAMOp.SET, init_addr, init_level, "INIT", init_next)

            # -- trial start: clear the visited map, the trajectory holds the start -----
            with fsm.State("CLEAR"):
                m.d.comb += [vis_w.addr.eq(q), vis_w.data.eq(0), vis_w.en.eq(1)]
                m.d.comb += q_inc.eq(1)
                # The start place, row * W + column, by adding W row times (the sweep of
                # P >= 2H places outlasts it), and 9 x place from it.
                with m.If(rows_left != 0):
                    m.d.sync += [here.eq(here + W), rows_left.eq(rows_left - 1)]
                m.d.sync += here9.eq((here << 3) + here)
                with m.If(q_last):
                    fsm.next = "CLEAR_TRAJ"
            with fsm.State("CLEAR_TRAJ"):
                m.d.comb += [traj_w.addr.eq(0), traj_w.data.eq(here9 + THR), traj_w.en.eq(1)]
                m.d.sync += [wp.eq(1 % K), tlen.eq(1)]
                fsm.next = "STEP"

            with fsm.State("STEP"):
                begin_step(pos_r, pos_c, here, here9)
                fsm.next = "READS"

            # -- 1. READ the synapse row of the place, then the threshold devices of
            # the on-grid targets in direction order; meanwhile look up the targets'
            # layout and visited bits ---------------------------------------------------
            with fsm.State("READS"):
                # The queue: the synapse row, then the eight threshold devices in
                # direction order (off-grid ones are dropped, not issued).
                m.d.comb += in_reads.eq(1)
                r_on = r_valid[0]
                with m.If(rq_live[0]):
                    m.d.comb += req.valid.eq(rq_on[0])
                    with m.If(~rq_on[0] | req.ready):
                        m.d.sync += [rq_on.eq(rq_on >> 1), rq_live.eq(rq_live >> 1)]
                        # entry i + 1 is the threshold device of direction i
                        m.d.sync += [
                            rq_hot.eq(rq_hot << 1),
                            rq_head.eq(here9 + offset(rq_hot, off_thr, ab)),
                        ]
                    with m.If(rq_on[0] & req.ready):
                        m.d.sync += row_sent.eq(1)

                # Responses come in request order: after the row, a response is the
                # reading of the target at ``r_hot`` (off-grid targets are skipped).
                r_step = Signal()
                with m.If(idle_resp):
                    with m.If(~row_got):
                        m.d.comb += resp.ready.eq(1)
                        with m.If(resp.valid):
                            m.d.sync += row_got.eq(1)
                            for d in range(8):
                                m.d.sync += syn[d].eq(resp.payload[8 * d : 8 * d + 8])
                    with m.Elif(~r_hot[8]):
                        with m.If(r_on):
                            # The target's visited bit is registered by now: reading
                            # k is taken at the earliest two cycles after the row was
                            # requested, its lookup ends k + 2 cycles into the step.
                            m.d.comb += resp.ready.eq(1)
                            with m.If(resp.valid):
                                m.d.comb += [r_step.eq(1), st_valid_next.eq(1)]
                        with m.Else():  # off the grid: nothing to read (the neuron is idle)
                            m.d.comb += r_step.eq(1)
                with m.If(r_step):
                    m.d.sync += [r_hot.eq(r_hot << 1), r_valid.eq(r_valid >> 1)]

                # the next lookup's place; the last one holds
                nxt = Array(Const(o % (1 << self.cell_bits), self.cell_bits) for o in off_cell)
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
                # The synapse codes are held from the row's answer on: load the
                # activity mask and the winner table from them.
                for d in range(8):
                    m.d.sync += active[d].eq(tgt_valid[d] & (syn[d] != 0))
                    for e in range(8):
                        if e != d:
                            beat = syn[d] > syn[e] if d > e else syn[d] >= syn[e]
                            m.d.sync += beats[d][e].eq(beat)
                # Every reading is taken (this cycle or before) and every lookup is
                # registered by the end of this cycle.
                with m.If((r_hot[8] | (r_hot[7] & r_step)) & (look >= 8)):
                    fsm.next = "SETTLE"

            with fsm.State("SETTLE"):  # the last reading lands in its integrator
                fsm.next = "INTEGRATE"

            # -- 3. one tick per cycle; winner-take-all -------------------------------
            with fsm.State("INTEGRATE"):
                m.d.sync += [
                    t_move.eq(~wall_bits & ~corner_of),
                    t_wall.eq(wall_bits),
                    t_corner.eq(~wall_bits & corner_of),
                ]
                for d in range(8):
                    m.d.sync += rem[d].eq(rem[d] - syn[d])
                m.d.sync += [
                    tick.eq(tick + 1),
                    win_hot.eq(tick_win),
                    fired_tick.eq(tick),
                    any_fires.eq(fires.any()),
                    at_max.eq(tick == c.max_ticks),
                ]
                with m.If(any_fires | at_max):
                    m.d.sync += [
                        self.step_ticks.eq(fired_tick),
                        # the maze's verdict on the winner's move
                        moved.eq(pick(t_move)),
                        hit_wall.eq(pick(t_wall)),
                        hit_corner.eq(pick(t_corner)),
                        t_reward.eq(pick(cls_reward)),
                        win_goal.eq(pick(goal_bits)),
                        # the winner's target: the position plus its offset
                        win_cell.eq(here + offset(win_hot, off_cell, self.cell_bits)),
                        win9.eq(here9 + offset(win_hot, off_base, ab)),
                        win_thr.eq(here9 + offset(win_hot, off_thr, ab)),
                        win_syn.eq(here9 + offset(win_hot, off_syn, ab)),
                        win_row.eq(pos_r + offset(win_hot, off_row, self.row_bits)),
                        win_col.eq(pos_c + offset(win_hot, off_col, self.col_bits)),
                    ]
                    fsm.next = "DECIDE"

            # -- 4. the maze applies the move; 5. the learning rule's branches ----------
            with fsm.State("DECIDE"):
                m.d.sync += [
                    at_goal.eq(moved & win_goal),
                    exploit.eq(v_exploit),
                    exploit_full.eq(v_exploit_full),
                    stuck.eq(v_stuck),
                    stay.eq(v_stay),
                    stay_full.eq(v_stay_full),
                    steps.eq(steps + 1),
                    last_step.eq(steps == max_m1),
                    moves.eq(moves + moved),
                    hits.eq(hits + (hit_wall | hit_corner)),
                    q_thr.eq(THR),
                    nb_hot.eq(1),
                    nb_on.eq(
                        Cat(
                            Const(1, 1) if o == (0, 0) else tgt_valid[DIRECTIONS.index(o)]
                            for o in NEIGHBOURS
                        )
                    ),
                ]
                m.d.comb += q_clr.eq(1)
                prepare_penalty(hit_wall, hit_corner, win_thr, win_syn)
                with m.If(v_forget):
                    fsm.next = "FORGET"
                with m.Else():
                    penalty_next(moved, hit_wall, hit_corner, v_stuck)

            # Forgetting: sweep every threshold device, REWARD -> RECALL.
            def forget_advance() -> None:
                with m.If(q_last):
                    fsm.next = "PENALTY"
                with m.Else():
                    m.d.comb += q_inc.eq(1)
                    m.d.sync += q_thr.eq(q_thr + SLOTS)
                    fsm.next = "FORGET"

            def forget_code(code) -> None:  # noqa: ANN001
                with m.If(code >= c.code_reward_min):
                    fsm.next = "FORGET_SET"
                with m.Else():
                    forget_advance()

            op_states("FORGET", RRAMOp.READ, q_thr, 0, "PENALTY", forget_code)
            op_states(
                "FORGET_SET",
                RRAMOp.SET,
                q_thr,
                c.lvl_recall,
                "PENALTY",
                lambda _code: forget_advance(),
            )
            with fsm.State("PENALTY"):
                prepare_penalty(hit_wall, hit_corner, win_thr, win_syn)
                penalty_next(moved, hit_wall, hit_corner, stuck)

            # Penalty: a wall hit RESETs the wall's threshold device, a corner hit the
            # synapse that tried the diagonal; a move potentiates that synapse.
            posted_op("WALL")
            posted_op("CORNER")
            posted_op("POT")

            # Stuck fallback: the on-grid 3x3 neighbourhood, row-major, to NOMINAL.
            nb_addr = Signal(ab)  # registered: the position is held a cycle before use
            off_nb = [SLOTS * (dr * W + dc) for dr, dc in NEIGHBOURS]
            m.d.sync += nb_addr.eq(here_thr + offset(nb_hot, off_nb, ab))
            with fsm.State("NBR"):
                with m.If(nb_hot[9]):
                    fsm.next = "BOOK"
                with m.Elif(nb_on[0]):
                    fsm.next = "NBR_SET"
                with m.Else():
                    m.d.sync += [nb_hot.eq(nb_hot << 1), nb_on.eq(nb_on >> 1)]

            def nbr_next(_code) -> None:  # noqa: ANN001
                m.d.sync += [nb_hot.eq(nb_hot << 1), nb_on.eq(nb_on >> 1)]

            op_states("NBR_SET", RRAMOp.SET, nb_addr, c.lvl_nominal, "NBR", nbr_next)

            # Bookkeeping: leave the place (homeostasis), move, extend the trajectory.
            with fsm.State("BOOK"):
                m.d.comb += self.step_valid.eq(1)
                with m.If(moved):
                    m.d.comb += [vis_w.addr.eq(here), vis_w.data.eq(1), vis_w.en.eq(1)]
                    m.d.comb += [traj_w.addr.eq(wp), traj_w.data.eq(win_thr), traj_w.en.eq(1)]
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
                    fsm.next = "REWARD"
                with m.Elif(last_step):
                    fsm.next = "DONE"
                with m.Else():
                    fsm.next = "STEP"

            # Reward: SET the thresholds of the last K places, oldest first.
            start = Signal(signed(_bits(K) + 2))  # the oldest entry, before wrapping
            with fsm.State("REWARD"):
                m.d.sync += [start.eq(wp - tlen), rw_left.eq(tlen)]
                fsm.next = "REWARD_WRAP"
            with fsm.State("REWARD_WRAP"):
                m.d.sync += rw.eq(Mux(start < 0, start + K, start))
                fsm.next = "RW_ADDR"
            m.d.comb += traj_r.addr.eq(rw)
            with fsm.State("RW_ADDR"):
                with m.If(rw_left == 0):
                    fsm.next = "DONE"
                with m.Else():
                    fsm.next = "RW_SET"

            def rw_next(_code) -> None:  # noqa: ANN001
                m.d.sync += [rw.eq(Mux(rw == K - 1, 0, rw + 1)), rw_left.eq(rw_left - 1)]

            op_states("RW_SET", RRAMOp.SET, traj_r.data, c.lvl_reward, "RW_ADDR", rw_next)

            with fsm.State("DONE"):  # once every posted operation is answered
                with m.If(idle_resp):
                    fsm.next = "FINISH"
            with fsm.State("FINISH"):  # the counters have counted the last operation
                m.d.comb += self.done.eq(1)
                fsm.next = "IDLE"

        # The layout and visited memories are single-port (one address for reading
        # and writing), so a large maze maps to single-port RAM such as iCE40 SPRAM:
        # the layout is written while idle and read during steps, the visited map
        # written by CLEAR and BOOK and read during steps (at the next lookup).
        m.d.comb += [
            maze_w.addr.eq(Mux(fsm.ongoing("IDLE"), self.layout_addr, lk_head)),
            maze_r.addr.eq(maze_w.addr),
            vis_r.addr.eq(vis_w.addr),
            # no read while writing: the read data holds (single-port RAM semantics)
            maze_r.en.eq(~maze_w.en),
            vis_r.en.eq(~vis_w.en),
        ]

        # Device-operation counters, at the port: what was accepted is registered and
        # counted a cycle later (cleared when a trial starts; ``done`` comes at
        # least three cycles after the last request is accepted, when every count
        # has landed).
        sent = Signal()
        op_sent = Signal(3)
        m.d.sync += [sent.eq(req.valid & req.ready), op_sent.eq(req.payload.op)]
        n_read = Mux(sent & (op_sent == RRAMOp.READ_ROW), 8, sent & (op_sent == RRAMOp.READ))
        n_set = sent & (op_sent == RRAMOp.SET)
        n_reset = sent & (op_sent == RRAMOp.RESET)
        # The 32-bit trial counters are cleared a cycle after a trial starts and
        # count in two parts, the upper one a cycle behind the lower one's carry
        # (settled long before ``done``).
        clear = Signal()
        m.d.sync += clear.eq(fsm.ongoing("IDLE") & self.start)

        def split_counter(out, inc) -> None:  # noqa: ANN001
            low = max(12, len(inc) + 1)
            lo, hi, carry = Signal(low), Signal(len(out) - low), Signal()
            total = Signal(low + 1)
            m.d.comb += [total.eq(lo + inc), out.eq(Cat(lo, hi))]
            with m.If(clear):
                m.d.sync += [lo.eq(0), hi.eq(0), carry.eq(0)]
            with m.Else():
                m.d.sync += [lo.eq(total[:low]), carry.eq(total[low]), hi.eq(hi + carry)]

        split_counter(self.reads, n_read)
        split_counter(self.sets, n_set)
        split_counter(self.resets, n_reset)
        split_counter(self.ticks, Mux(fsm.ongoing("DECIDE"), self.step_ticks, 0))

        # The request registers load from whichever state prepares one: the states
        # are one-hot, so the sources are ORed, not chained through priority muxes.
        # The request registers load from whichever state prepares one: the states
        # are one-hot, so the sources are ORed, not chained through priority muxes.
        flags = [f for f, *_ in prepared]
        with m.If(any_of(flags)):
            m.d.sync += [
                op_op.eq(any_of([Mux(f, Value.cast(o), 0) for f, o, _, _ in prepared])),
                op_addr.eq(any_of([Mux(f, a, 0) for f, _, a, _ in prepared])),
                op_level.eq(any_of([Mux(f, lv, 0) for f, _, _, lv in prepared])),
            ]
        return m
