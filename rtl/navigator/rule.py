"""The learning rule (``paper`` preset): its decisions and the device
operations it issues, in the golden model's order.

Per step, after the maze's verdict on the winner's move:

1. forgetting, when a wall or corner hit lands on a REWARD target, or the
   agent has followed REWARD targets more than ``exploit_limit`` moves in a
   row: READ every threshold device, SET those reading REWARD to RECALL;
2. a wall hit RESETs the wall's threshold device (``rst_penalty``), a corner
   hit the synapse that tried the diagonal (``rst_depress``); a move SETs
   that synapse (``lvl_potentiate``);
3. the stuck fallback, after ``stuck_steps`` steps without a move: SET the
   on-grid 3x3 neighbourhood's threshold devices to NOMINAL, row-major;
4. at a goal: SET the threshold devices of the last ``reward_k`` places to
   REWARD, oldest first (:class:`~memrl.rtl.navigator.trajectory.Trajectory`).

The run start SETs every threshold device to NOMINAL (and with
``init_synapses`` the eight synapses to ``lvl_potentiate``), place by place.
Each operation is prepared in the request registers ``op``, ``addr``,
``level`` the cycle before it is issued.
"""

from __future__ import annotations

from amaranth import Cat, Const, Module, Mux, Signal, Value
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from memrl.rtl.lib.arith import onehot_index
from memrl.rtl.navigator.config import (
    DIRECTIONS,
    NEIGHBOURS,
    SLOTS,
    THR,
    NavigatorConfig,
    any_of,
    bits,
    offset,
)
from memrl.rtl.navigator.maze import Verdict
from memrl.rtl.navigator.planner import PathEntry
from memrl.rtl.navigator.port import RRAMOp
from memrl.rtl.navigator.trajectory import Trajectory

__all__ = ["RuleControl", "LearningRule"]


def _skip_sweep(
    m: Module,
    start: Value,
    mask: Value,
    test: Value,
    advance: Value,
    done: Signal,
    on: Signal,
    name: str,
) -> Signal:
    """A sweep over the ``len(mask)`` items whose ``mask`` bit is set, one-hot
    (returned; its top bit: past the last): ``start`` loads ``mask`` at the first
    item, ``test`` steps past an item that is not set, ``advance`` steps on after
    one that is. ``done``, ``on`` (driven here): past the last; the current item
    is set."""
    n = len(mask)
    hot = Signal(n + 1, name=f"{name}_hot")
    left = Signal(n, name=f"{name}_on")  # the mask from the current item on
    m.d.comb += [done.eq(hot[n]), on.eq(left[0])]
    with m.If(start):
        m.d.sync += [hot.eq(1), left.eq(mask)]
    with m.If((test & ~hot[n] & ~left[0]) | advance):
        m.d.sync += [hot.eq(hot << 1), left.eq(left >> 1)]
    return hot


class RuleControl(wiring.Signature):
    """The sequencer's side of the rule's control. Strobes (one cycle each):

    * ``run_start``: the run start's sweep begins (at place 0's threshold device);
    * ``init_set``: prepare the run start's SET; ``init_next``: on to the next device;
    * ``trial_start``: a trial starts: the exploitation and stay counters clear;
    * ``traj_clear``: the trajectory holds the start place (``here9``) alone;
    * ``decide``: the step's decisions are registered, the forgetting and
      neighbourhood sweeps reset, the penalty prepared;
    * ``forget_read``, ``forget_set``: prepare the forgetting sweep's READ and
      its SET (RECALL); ``forget_next``: on to the next place;
    * ``penalty``: prepare the penalty or potentiation;
    * ``nbr``: the neighbourhood sweep's test (``nbr_done``, ``nbr_on``),
      skipping an off-grid neighbour; ``nbr_set``: prepare its SET (NOMINAL);
      ``nbr_next``: on to the next neighbour;
    * ``book``: the step ends (a move extends the trajectory);
    * ``reward``, then ``reward_wrap``: the reward replay starts at the oldest
      place; ``reward_set``: prepare its SET (REWARD); ``reward_next``: on to
      the next place;
    * the planned paths' operations, at the path's place (``path``): ``path_thr``,
      ``path_thr_set``: prepare the READ of its threshold device and its SET
      (REWARD); ``path_row``: prepare the READ_ROW of its synapses;
      ``syn_load``: the row's codes are here (the synapse sweep starts);
      ``syn``: the sweep's test (``syn_done``, ``syn_on``), skipping a synapse
      left as it is; ``syn_set``: prepare its SET (a pointer towards the next
      place, other pointers back to ``lvl_potentiate``); ``syn_next``: on.

    Conditions (to the sequencer):

    * ``forget``: this step forgets (at ``decide``), ``stuck_now``: it falls
      back (at ``decide``); ``stuck``, ``at_goal``: the same, registered;
    * ``probe_fail``: the step's hit was a failed probe (registered at
      ``decide``): it re-plans from the position (``probe_age``);
    * ``pot``: the step's move potentiates its synapse;
    * ``frontier``: the step's move ends a run of ``boredom`` moves without a
      new place (at ``book``);
    * ``forget_prog``: the forgetting READ's device is programmed (REWARD to
      RECALL; with ``forget_penalties``, an old wall to NOMINAL);
    * ``init_last``: the run start's SET was the place's last;
    * ``got_reward``: the forgetting READ's code is REWARD;
    * ``nbr_done``: the neighbourhood sweep is past its last place;
      ``nbr_on``: the current neighbour is on the grid;
    * ``reward_done``: every place of the trajectory is rewarded.
    """

    def __init__(self) -> None:
        strobes = (
            "run_start", "init_set", "init_next", "trial_start", "traj_clear", "decide",
            "forget_read", "forget_set", "forget_next", "penalty", "nbr", "nbr_set",
            "nbr_next", "book", "reward", "reward_wrap", "reward_set", "reward_next",
            "path_thr", "path_thr_set", "path_row", "syn_load", "syn", "syn_set", "syn_next",
        )  # fmt: skip
        conditions = (
            "forget", "stuck_now", "stuck", "at_goal", "init_last", "got_reward",
            "nbr_done", "nbr_on", "reward_done", "pot", "frontier", "forget_prog",
            "syn_done", "syn_on", "probe_fail",
        )  # fmt: skip
        super().__init__({**{s: Out(1) for s in strobes}, **{s: In(1) for s in conditions}})


class LearningRule(wiring.Component):
    """The rule's decisions, sweeps and prepared requests.

    Ports:

    * ``ctl``: :class:`RuleControl` (from the sequencer);
    * ``verdict``: :class:`~memrl.rtl.navigator.maze.Verdict`, ``win_goal``,
      ``win_thr``, ``win_syn`` (from the maze), ``win_reward`` (from the
      neurons): the step's winner;
    * ``here9``, ``here_thr``, ``targets``: the position's device base, its
      threshold device and the targets' on-grid flags (from the maze);
    * ``got_code``: the forgetting READ's code (from the port);
    * for the default rule: ``win_ptr`` (neurons), ``win_visited`` (maze),
      ``win_seen``, ``win_explored``, ``old`` (knowledge): the winner's
      synapse is a pointer, its target was left in this trial, seen, stood on;
      the forgetting sweep's place may be doubted; ``got_row``: a READ_ROW's
      codes (port); ``path``: the planned path's place (planner);
      ``probe_wall``, ``probe_side`` (knowledge): a hit at the winner's target
      or its diagonal would be a failed probe; ``probe_failed``: the step's hit
      was (registered, to the knowledge); ``renew`` (``forget_on_path_end``):
      the step moved off the remembered path, not onto a goal: it forgets and
      every place is unseen again (registered, to the knowledge);
    * ``op``, ``addr``, ``level``: the prepared request (registers).
    """

    def __init__(self, config: NavigatorConfig) -> None:
        self.config = c = config
        ab = c.addr_bits
        super().__init__(
            {
                "ctl": In(RuleControl()),
                "verdict": In(Verdict()),
                "win_goal": In(1),
                "win_reward": In(1),
                "win_thr": In(ab),
                "win_syn": In(ab),
                "here9": In(ab),
                "here_thr": In(ab),
                "targets": In(8),
                "got_code": In(8),
                "win_ptr": In(1),
                "win_visited": In(1),
                "win_seen": In(1),
                "win_explored": In(1),
                "old": In(1),
                "got_row": In(64),
                "path": In(PathEntry(c.cell_bits)),
                "probe_wall": In(1),
                "probe_side": In(1),
                "probe_failed": Out(1),
                "renew": Out(1),
                "op": Out(3),
                "addr": Out(ab),
                "level": Out(4),
            }
        )

    def elaborate(self, platform: object) -> Module:
        m = Module()
        c = self.config
        ctl = self.ctl
        K, W = c.reward_k, c.width
        ab = c.addr_bits
        moved = self.verdict.moved
        hit_wall, hit_corner = self.verdict.hit_wall, self.verdict.hit_corner

        # -- decisions -----------------------------------------------------------------
        exploit = Signal(bits(c.exploit_limit + 1))
        stay = Signal(bits(c.stuck_steps))
        stuck, at_goal = ctl.stuck, ctl.at_goal
        # Counter limits, registered with their counters: the exploitation counter
        # would pass its limit after one more rewarded move, the stay counter would
        # reach the stuck count after one more step without a move.
        exploit_full = Signal()
        stay_full = Signal()
        v_forget, v_stuck = ctl.forget, ctl.stuck_now
        on_path = moved & self.win_reward
        # A hit on a REWARD target: the path is blocked (optimistic: a place never
        # stood on was a guess, not a change).
        blocked = (hit_wall | hit_corner) & self.win_reward
        if c.optimistic:
            blocked = blocked & self.win_explored
        # probe_age: a known wall on (or beside) a path planned probing is a failed
        # probe, not a changed layout.
        v_probe = blocked & Mux(hit_wall, self.probe_wall, self.probe_side) if c.probe_age else 0
        m.d.comb += ctl.probe_fail.eq(self.probe_failed)
        if c.probe_age:
            with m.If(ctl.decide):
                m.d.sync += self.probe_failed.eq(v_probe)
            blocked = blocked & ~v_probe
        v_off = Const(0, 1)
        if c.forget_on_path_end:  # a move off the remembered path, not onto a goal
            was_on_path = Signal()  # the last step moved onto a REWARD place
            v_off = moved & was_on_path & ~self.win_reward & ~self.win_goal
            with m.If(ctl.trial_start):
                m.d.sync += was_on_path.eq(0)
            with m.If(ctl.decide):
                m.d.sync += [was_on_path.eq(on_path & ~v_forget), self.renew.eq(v_off)]
        m.d.comb += [
            v_forget.eq(blocked | v_off | ((on_path & exploit_full) if c.exploit_limit else 0)),
            v_stuck.eq(~moved & stay_full),
        ]
        # pointers: a pointer is not potentiated again, unless it led back to a
        # place left in this trial (stale)
        pot = moved & (~self.win_ptr | self.win_visited) if c.pointers else moved
        m.d.comb += ctl.pot.eq(pot)

        # Boredom: moves onto places already seen, off the remembered path; after
        # ``boredom`` of them, the frontier search (not at a goal).
        if c.boredom:
            bored = Signal(bits(c.boredom))
            fresh = ~self.win_seen | self.win_reward
            if c.forget_on_path_end and c.renew_on_forget:  # renewed: every place unseen
                fresh = fresh | self.renew
            v_bored = Mux(moved, Mux(fresh, 0, bored + 1), bored)
            m.d.comb += ctl.frontier.eq(~(moved & self.win_goal) & (v_bored >= c.boredom))
            with m.If(ctl.trial_start):
                m.d.sync += bored.eq(0)
            with m.If(ctl.book):
                m.d.sync += bored.eq(Mux(ctl.frontier, 0, v_bored))
        v_exploit = Mux(v_forget | ~on_path, 0, exploit + 1)
        v_stay = Mux(moved | v_stuck, 0, stay + 1)
        # The limits of the counters' next values (exploit + 1 and stay + 1 are
        # registers plus constants: no path through the verdict).
        lim = c.exploit_limit
        v_exploit_full = Mux(v_forget | ~on_path, 1 > lim, exploit + 2 > lim)
        v_stay_full = Mux(moved | v_stuck, 1 >= c.stuck_steps, stay + 2 >= c.stuck_steps)

        with m.If(ctl.trial_start):
            m.d.sync += [
                exploit.eq(0),
                exploit_full.eq(1 > c.exploit_limit),
                stay.eq(0),
                stay_full.eq(1 >= c.stuck_steps),
            ]

        # -- sweeps --------------------------------------------------------------------
        q_thr = Signal(ab + 4)  # forgetting sweep: 9 q + 8
        init_addr = Signal(ab + 4)  # run start: the device being SET
        slot = Signal(4)
        # Stuck fallback sweep over the 3x3 neighbourhood, row-major, from ``decide``:
        # its on-grid neighbours are programmed.
        nb_on_grid = Cat(
            Const(1, 1) if o == (0, 0) else self.targets[DIRECTIONS.index(o)] for o in NEIGHBOURS
        )
        nb_hot = _skip_sweep(m, ctl.decide, nb_on_grid, ctl.nbr, ctl.nbr_next,
                             ctl.nbr_done, ctl.nbr_on, "nb")  # fmt: skip
        m.d.comb += ctl.got_reward.eq(self.got_code >= c.code_reward_min)
        doubt = (self.got_code < c.code_nominal_min) & self.old if c.forget_penalties else 0
        m.d.comb += ctl.forget_prog.eq(ctl.got_reward | doubt)
        m.submodules.trajectory = traj = Trajectory(K, ab)

        with m.If(ctl.decide):
            m.d.sync += [
                at_goal.eq(moved & self.win_goal),
                exploit.eq(v_exploit),
                exploit_full.eq(v_exploit_full),
                stuck.eq(v_stuck),
                stay.eq(v_stay),
                stay_full.eq(v_stay_full),
                q_thr.eq(THR),
            ]

        # Run start: thresholds to NOMINAL (and synapses to an LRS), place by place.
        with m.If(ctl.run_start):
            m.d.sync += [init_addr.eq(THR), slot.eq(THR)]
        init_level = Mux(slot == THR, c.lvl_nominal, c.lvl_potentiate)
        last_slot = (slot == 7) if c.init_synapses else (slot == THR)
        m.d.comb += ctl.init_last.eq(last_slot)
        with m.If(ctl.init_next):
            with m.If(last_slot):
                # from 9q + 7 (or 9q + 8 without synapses) to 9(q + 1) + 8
                step = SLOTS + 1 if c.init_synapses else SLOTS
                m.d.sync += [init_addr.eq(init_addr + step), slot.eq(THR)]
            with m.Else():
                m.d.sync += [
                    slot.eq(Mux(slot == THR, 0, slot + 1)),
                    init_addr.eq(Mux(slot == THR, init_addr - THR, init_addr + 1)),
                ]

        # Trajectory: the trial's start place, then each place moved to.
        with m.If(ctl.traj_clear):
            m.d.comb += [traj.restart.eq(1), traj.data.eq(self.here9 + THR)]
        with m.If(ctl.book & moved):
            m.d.comb += [traj.push.eq(1), traj.data.eq(self.win_thr)]

        # Forgetting: sweep every threshold device, REWARD -> RECALL.
        with m.If(ctl.forget_next):
            m.d.sync += q_thr.eq(q_thr + SLOTS)

        # Stuck fallback: the on-grid 3x3 neighbourhood, row-major, to NOMINAL.
        nb_addr = Signal(ab)  # registered: the position is held a cycle before use
        off_nb = [SLOTS * (dr * W + dc) for dr, dc in NEIGHBOURS]
        m.d.sync += nb_addr.eq(self.here_thr + offset(nb_hot, off_nb, ab))

        # Reward: SET the thresholds of the last K places, oldest first.
        m.d.comb += [
            traj.rewind.eq(ctl.reward),
            traj.wrap.eq(ctl.reward_wrap),
            traj.next.eq(ctl.reward_next),
            ctl.reward_done.eq(traj.done),
        ]

        # Planned paths: the place's threshold device and synapse row; the synapse
        # sweep programs a pointer towards the next place (unless it reads as one)
        # and every other pointer back to lvl_potentiate, in direction order.
        path_base = Signal(ab)  # 9 x the path place
        m.d.comb += path_base.eq((self.path.cell << 3) + self.path.cell)
        if c.planner:
            codes = [self.got_row[8 * d : 8 * d + 8] for d in range(8)]
            nxt = Const(1, 8) << self.path.d
            prog = Cat(
                *(Mux(nxt[d], codes[d] < c.pointer_min, codes[d] >= c.pointer_min)
                  for d in range(8))
            )  # fmt: skip
            syn_hot = _skip_sweep(m, ctl.syn_load, prog, ctl.syn, ctl.syn_next,
                                  ctl.syn_done, ctl.syn_on, "syn")  # fmt: skip
            syn_is_next = (syn_hot[:8] & nxt).any()
            syn_addr = path_base + onehot_index(syn_hot, 8, 3)

        # -- the prepared request ------------------------------------------------------
        # The request registers load from whichever operation is prepared: the
        # sequencer's states are one-hot, so the sources are ORed, not chained
        # through priority muxes.
        penalty_op = (
            Mux(hit_wall | hit_corner, RRAMOp.RESET, RRAMOp.SET),
            Mux(hit_wall, self.win_thr, self.win_syn),
            Mux(hit_wall, c.rst_penalty, Mux(hit_corner, c.rst_depress, c.lvl_potentiate)),
        )
        prepared: list[tuple[Value, object, Value | int, Value | int]] = [
            (ctl.init_set, RRAMOp.SET, init_addr, init_level),
            (ctl.decide, *penalty_op),
            (ctl.forget_read, RRAMOp.READ, q_thr, 0),
            (
                ctl.forget_set,
                RRAMOp.SET,
                q_thr,
                Mux(ctl.got_reward, c.lvl_recall, c.lvl_nominal)
                if c.forget_penalties
                else c.lvl_recall,
            ),
            (ctl.penalty, *penalty_op),
            (ctl.nbr_set, RRAMOp.SET, nb_addr, c.lvl_nominal),
            (ctl.reward_set, RRAMOp.SET, traj.entry, c.lvl_reward),
        ]
        if c.planner:
            prepared += [
                (ctl.path_thr, RRAMOp.READ, path_base + THR, 0),
                (ctl.path_thr_set, RRAMOp.SET, path_base + THR, c.lvl_reward),
                (ctl.path_row, RRAMOp.READ_ROW, path_base, 0),
                (ctl.syn_set, RRAMOp.SET, syn_addr,
                 Mux(syn_is_next, c.lvl_pointer, c.lvl_potentiate)),
            ]  # fmt: skip
        flags = [f for f, *_ in prepared]
        with m.If(any_of(flags)):
            m.d.sync += [
                self.op.eq(any_of([Mux(f, Value.cast(o), 0) for f, o, _, _ in prepared])),
                self.addr.eq(any_of([Mux(f, a, 0) for f, _, a, _ in prepared])),
                self.level.eq(any_of([Mux(f, lv, 0) for f, _, _, lv in prepared])),
            ]
        return m
