"""The navigator's state machine: the order of a run start, a trial, a step and
the learning rule's operations, as strobes to the units that do them.

A step: ``STEP`` (load the read queue and the targets), ``READS`` (the reads
stream out and their answers land; the targets' layout and visited bits are
looked up meanwhile), ``SETTLE`` (the last reading lands), ``INTEGRATE`` (one
tick per cycle until a neuron fires), ``DECIDE`` (the rule's decisions), then
the rule's operations: the forgetting sweep (``FORGET``, ``FORGET_SET``),
the penalty or potentiation (``WALL``, ``CORNER``, ``POT``: posted), the stuck
fallback (``NBR``, ``NBR_SET``) and ``BOOK`` (the move); at a goal the reward
(``REWARD`` .. ``RW_SET``). An operation that is waited for takes four states:
prepare, issue, wait for its response, act on it.

The states are one-hot (:class:`~memrl.rtl.lib.onehot.OneHotFSM`): a strobe is
a state's flip-flop, or it ANDed with a condition.
"""

from __future__ import annotations

from amaranth import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from memrl.rtl.lib.onehot import OneHotFSM
from memrl.rtl.navigator.config import NavigatorConfig
from memrl.rtl.navigator.counters import CounterControl
from memrl.rtl.navigator.integrators import NeuronControl
from memrl.rtl.navigator.maze import MazeControl, Verdict
from memrl.rtl.navigator.places import KnowledgeControl
from memrl.rtl.navigator.requests import RequestControl
from memrl.rtl.navigator.rule import RuleControl

__all__ = ["Sequencer"]


class Sequencer(wiring.Component):
    """The navigator's control.

    Ports:

    * ``init``, ``start``: pulses while idle: the run start, a trial (``init``
      first when both come);
    * ``busy``: not idle; ``done``: one cycle at the end of an init or a
      trial; ``step_valid``: one cycle per step (``BOOK``);
    * ``neurons``, ``maze``, ``requests``, ``rule``, ``counters``: the units'
      controls (:class:`~memrl.rtl.navigator.integrators.NeuronControl`,
      :class:`~memrl.rtl.navigator.maze.MazeControl`,
      :class:`~memrl.rtl.navigator.requests.RequestControl`,
      :class:`~memrl.rtl.navigator.rule.RuleControl`,
      :class:`~memrl.rtl.navigator.counters.CounterControl`);
    * ``verdict``: the maze's verdict on the step's winner;
    * ``knowledge``: the default rule's knowledge
      (:class:`~memrl.rtl.navigator.places.KnowledgeControl`); ``plan_start``,
      ``plan_frontier``, ``plan_idle``: the planner's search (the frontier
      search or the reward path's) and its end; ``plan_here``: the reward
      path's search starts at the position (a failed probe's re-plan, held
      until the visited map is cleared); ``path_valid``, ``path_last``,
      ``path_ready``: the planned path's places, one at a time.

    A sweep counter over the places paces the run start's sweep, the trial
    start's clearing of the visited map (``maze.sweep``) and the forgetting
    sweep.
    """

    def __init__(self, config: NavigatorConfig) -> None:
        self.config = c = config
        super().__init__(
            {
                "init": In(1),
                "start": In(1),
                "busy": Out(1),
                "done": Out(1),
                "step_valid": Out(1),
                "neurons": Out(NeuronControl()),
                "maze": Out(MazeControl(c.cell_bits)),
                "requests": Out(RequestControl()),
                "rule": Out(RuleControl()),
                "counters": Out(CounterControl()),
                "verdict": In(Verdict()),
                # the default rule: knowledge, planner and its path
                "knowledge": Out(KnowledgeControl(c.cell_bits)),
                "plan_start": Out(1),
                "plan_frontier": Out(1),
                "plan_here": Out(1),  # the reward path's search starts at the position
                "plan_idle": In(1),
                "path_valid": In(1),
                "path_last": In(1),
                "path_ready": Out(1),
            }
        )

    def elaborate(self, platform: object) -> Module:  # noqa: C901 - one state machine
        m = Module()
        c = self.config
        P = c.places
        neurons, maze, rq, rule, counters, kn = (
            self.neurons, self.maze, self.requests, self.rule, self.counters, self.knowledge,
        )  # fmt: skip
        v = self.verdict

        # The sweep over places.
        q = Signal(c.cell_bits + 1)
        q_clr = Signal()  # sweep counter commands (one register update, below)
        q_inc = Signal()
        q_last = Signal()  # q == P - 1, registered with q
        with m.If(q_clr):
            m.d.sync += [q.eq(0), q_last.eq(P == 1)]
        with m.Elif(q_inc):
            m.d.sync += [q.eq(q + 1), q_last.eq(q == P - 2)]
        m.d.comb += [
            maze.sweep.eq(q),
            kn.sweep.eq(q),
            kn.sweep_start.eq(q_clr),
            kn.sweep_next.eq(q_inc),
        ]
        trial_mode = Signal()  # the run is in a trial (not the run start)
        frontier_mode = Signal()  # the planned path is the frontier search's
        replan_mode = self.plan_here  # a failed probe's re-plan (probe_age)
        probes = c.probe_age > 0
        # after the stuck fallback: a failed probe re-plans
        book = "AFTER" if probes else "BOOK"

        def op_states(name: str, prepare: Signal, then: str, on_got=None) -> None:  # noqa: ANN001
            """Prepare the request, issue it, take its response, act on it (a state each)."""
            with fsm.State(name):
                m.d.comb += prepare.eq(1)
                fsm.next = name + "_ISSUE"
            with fsm.State(name + "_ISSUE"):
                m.d.comb += rq.issue.eq(1)
                with m.If(rq.accepted):
                    fsm.next = name + "_WAIT"
            with fsm.State(name + "_WAIT"):
                m.d.comb += rq.wait.eq(1)
                with m.If(rq.answered):
                    fsm.next = name + "_GOT"
            with fsm.State(name + "_GOT"):
                fsm.next = then
                if on_got is not None:
                    on_got()

        def sweep_states(name, test, done, on, prepare, advance, then) -> None:  # noqa: ANN001
            """A rule's sweep (rtl/navigator/rule.py, ``_skip_sweep``): ``name`` tests
            the item (``test``) and goes to ``then`` past the last, to ``name_SET``
            for an item that is set (``prepare``, then ``advance`` to the next)."""
            with fsm.State(name):
                m.d.comb += test.eq(1)
                with m.If(done):
                    fsm.next = then
                with m.Elif(on):
                    fsm.next = name + "_SET"

            def step_on() -> None:
                m.d.comb += advance.eq(1)

            op_states(name + "_SET", prepare, name, step_on)

        def penalty_next(stuck: Signal) -> None:
            """After forgetting: penalty or potentiation, then the stuck fallback."""
            with m.If(v.hit_wall):
                fsm.next = "WALL"
            with m.Elif(v.hit_corner):
                fsm.next = "CORNER"
            with m.Elif(rule.pot):
                fsm.next = "POT"
            with m.Elif(stuck):
                fsm.next = "NBR"
            with m.Else():
                fsm.next = "BOOK"

        def plan(frontier: bool = False, here: bool = False) -> None:
            """Start a search and take its path: the frontier's, or a reward path
            from the trial's start or (``here``, a re-plan) from the position."""
            m.d.comb += [self.plan_start.eq(1), self.plan_frontier.eq(int(frontier))]
            m.d.sync += frontier_mode.eq(int(frontier))
            if here:
                m.d.sync += replan_mode.eq(1)
            fsm.next = "PATH"

        def after_penalty() -> None:
            """A failed probe re-plans from the position (probe_age), else book."""
            if probes:
                with m.If(rule.probe_fail):
                    plan(here=True)
                with m.Else():
                    fsm.next = "BOOK"
            else:
                fsm.next = "BOOK"

        def posted_op(name: str) -> None:
            """One state: post the prepared programming request, then the stuck
            fallback or book."""
            with fsm.State(name):
                m.d.comb += [rq.issue.eq(1), rq.post.eq(1)]
                with m.If(rq.accepted):
                    with m.If(rule.stuck):
                        fsm.next = "NBR"
                    with m.Else():
                        after_penalty()

        m.d.comb += self.busy.eq(1)
        with OneHotFSM(m, "nav", reset="IDLE") as fsm:
            with fsm.State("IDLE"):
                m.d.comb += [self.busy.eq(0), maze.idle.eq(1), counters.clear.eq(self.start)]
                with m.If(self.init):
                    m.d.comb += [q_clr.eq(1), rule.run_start.eq(1)]
                    m.d.sync += trial_mode.eq(0)
                    fsm.next = "INIT"
                with m.Elif(self.start):
                    m.d.comb += [
                        q_clr.eq(1),
                        maze.start.eq(1),
                        rule.trial_start.eq(1),
                        counters.trial.eq(1),
                        kn.trial_start.eq(1),
                    ]
                    m.d.sync += trial_mode.eq(1)
                    fsm.next = "CLEAR"

            # -- run start: thresholds to NOMINAL (and synapses to an LRS) -------------
            def init_next() -> None:
                m.d.comb += rule.init_next.eq(1)
                with m.If(rule.init_last):
                    m.d.comb += q_inc.eq(1)
                    with m.If(q_last):
                        fsm.next = "DONE"
                    with m.Else():
                        fsm.next = "INIT"
                with m.Else():
                    fsm.next = "INIT"

            op_states("INIT", rule.init_set, "INIT", init_next)
            # the knowledge of the place: nothing known (at each of its SETs)
            m.d.comb += kn.init.eq(fsm.ongoing("INIT"))

            # -- trial start: clear the visited map, the trajectory holds the start -----
            with fsm.State("CLEAR"):
                m.d.comb += [maze.clear.eq(1), kn.clear.eq(1), q_inc.eq(1)]
                with m.If(q_last):
                    with m.If(replan_mode):  # a re-plan's clearing of homeostasis
                        m.d.sync += replan_mode.eq(0)
                        fsm.next = "BOOK"
                    with m.Else():
                        fsm.next = "START_RD" if c.knowledge else "CLEAR_TRAJ"
            if c.knowledge:  # the start place is stood on and seen
                with fsm.State("START_RD"):
                    m.d.comb += kn.start_rd.eq(1)
                    fsm.next = "START_WR"
                with fsm.State("START_WR"):
                    m.d.comb += kn.start_wr.eq(1)
                    fsm.next = "CLEAR_TRAJ"
            with fsm.State("CLEAR_TRAJ"):
                m.d.comb += rule.traj_clear.eq(1)
                fsm.next = "STEP"

            with fsm.State("STEP"):
                m.d.comb += [neurons.clear.eq(1), maze.step.eq(1), rq.begin.eq(1)]
                fsm.next = "READS"

            # -- 1. READ the synapse row of the place, then the threshold devices of
            # the on-grid targets in direction order; meanwhile look up the targets'
            # layout and visited bits ---------------------------------------------------
            with fsm.State("READS"):
                m.d.comb += [neurons.load.eq(1), maze.lookup.eq(1), rq.reads.eq(1)]
                # Every reading is taken (this cycle or before) and every lookup is
                # registered by the end of this cycle.
                with m.If(rq.reads_done & maze.looked):
                    fsm.next = "SETTLE"

            with fsm.State("SETTLE"):  # the last reading lands in its integrator
                fsm.next = "INTEGRATE"

            # -- 3. one tick per cycle; winner-take-all -------------------------------
            with fsm.State("INTEGRATE"):
                m.d.comb += [neurons.run.eq(1), maze.integrate.eq(1)]
                with m.If(neurons.end):
                    m.d.comb += maze.verdict.eq(1)
                    fsm.next = "DECIDE"

            # -- 4. the maze applies the move; 5. the learning rule's branches ----------
            with fsm.State("DECIDE"):
                m.d.comb += [rule.decide.eq(1), counters.step.eq(1), q_clr.eq(1)]
                with m.If(rule.forget):
                    fsm.next = "FORGET"
                with m.Else():
                    penalty_next(rule.stuck_now)

            # Forgetting: sweep every threshold device, REWARD -> RECALL.
            def forget_advance() -> None:
                with m.If(q_last):
                    fsm.next = "PENALTY"
                with m.Else():
                    m.d.comb += [q_inc.eq(1), rule.forget_next.eq(1)]
                    fsm.next = "FORGET"

            def forget_code() -> None:
                m.d.comb += kn.forget_wr.eq(1)
                with m.If(rule.forget_prog):
                    fsm.next = "FORGET_SET"
                with m.Else():
                    forget_advance()

            op_states("FORGET", rule.forget_read, "PENALTY", forget_code)
            m.d.comb += kn.forget_rd.eq(fsm.ongoing("FORGET"))
            op_states("FORGET_SET", rule.forget_set, "PENALTY", forget_advance)
            with fsm.State("PENALTY"):
                m.d.comb += rule.penalty.eq(1)
                penalty_next(rule.stuck)

            # Penalty: a wall hit RESETs the wall's threshold device, a corner hit the
            # synapse that tried the diagonal; a move potentiates that synapse.
            posted_op("WALL")
            posted_op("CORNER")
            posted_op("POT")
            m.d.comb += [
                kn.wall.eq(fsm.ongoing("WALL") & rq.accepted),
                kn.corner.eq(fsm.ongoing("CORNER") & rq.accepted),
            ]

            # Stuck fallback: the on-grid 3x3 neighbourhood, row-major, to NOMINAL.
            sweep_states("NBR", rule.nbr, rule.nbr_done, rule.nbr_on, rule.nbr_set,
                         rule.nbr_next, book)  # fmt: skip
            if probes:  # a failed probe: re-plan from the position, then clear the
                # visited map (the trial start's sweep) and book; after the fallback
                with fsm.State("AFTER"):
                    after_penalty()

            # Bookkeeping: leave the place (homeostasis), move, extend the trajectory.
            with fsm.State("BOOK"):
                m.d.comb += [self.step_valid.eq(1), maze.book.eq(1), rule.book.eq(1),
                             kn.book.eq(v.moved)]  # fmt: skip
                with m.If(rule.at_goal):
                    m.d.comb += counters.goal.eq(1)
                    if c.reward_path == "bfs":
                        plan()
                    else:
                        fsm.next = "REWARD"
                if c.boredom:
                    with m.Elif(rule.frontier):
                        plan(frontier=True)
                with m.Elif(counters.last_step):
                    fsm.next = "DONE"
                with m.Else():
                    fsm.next = "STEP"

            if c.planner:
                self._path_states(m, fsm, op_states, sweep_states, frontier_mode, counters, q_clr)

            # Reward: SET the thresholds of the last K places, oldest first.
            with fsm.State("REWARD"):
                m.d.comb += rule.reward.eq(1)
                fsm.next = "REWARD_WRAP"
            with fsm.State("REWARD_WRAP"):
                m.d.comb += rule.reward_wrap.eq(1)
                fsm.next = "RW_ADDR"
            with fsm.State("RW_ADDR"):
                with m.If(rule.reward_done):
                    fsm.next = "DONE"
                with m.Else():
                    fsm.next = "RW_SET"

            def rw_next() -> None:
                m.d.comb += rule.reward_next.eq(1)

            op_states("RW_SET", rule.reward_set, "RW_ADDR", rw_next)

            with fsm.State("DONE"):  # once every posted operation is answered
                with m.If(rq.drained):
                    fsm.next = "FINISH"
            with fsm.State("FINISH"):  # the counters have counted the last operation
                m.d.comb += [self.done.eq(1), kn.trial_end.eq(trial_mode)]
                fsm.next = "IDLE"
        m.d.comb += kn.plan.eq(~self.plan_idle)
        return m

    def _path_states(  # noqa: ANN001
        self, m, fsm, op_states, sweep_states, frontier_mode, counters, q_clr
    ) -> None:
        """A planned path, place by place: the reward path's places have their
        threshold device READ (and SET to REWARD unless it reads so); every place
        but the last has its synapse row READ and its pointers programmed. After
        the reward path the trial ends; after the frontier's, the next step."""
        rule = self.rule

        with fsm.State("PATH"):
            with m.If(self.path_valid):
                with m.If(~frontier_mode):
                    fsm.next = "P_THR"
                with m.Elif(self.path_last):
                    fsm.next = "P_NEXT"
                with m.Else():
                    fsm.next = "P_ROW"
            with m.Elif(self.plan_idle):
                with m.If(self.plan_here):
                    m.d.comb += q_clr.eq(1)
                    fsm.next = "CLEAR"
                with m.Elif(~frontier_mode | counters.last_step):
                    fsm.next = "DONE"
                with m.Else():
                    fsm.next = "STEP"

        def after_thr() -> None:
            with m.If(self.path_last):
                fsm.next = "P_NEXT"
            with m.Else():
                fsm.next = "P_ROW"

        def thr_code() -> None:
            with m.If(rule.got_reward):
                after_thr()
            with m.Else():
                fsm.next = "P_THR_SET"

        op_states("P_THR", rule.path_thr, "P_ROW", thr_code)
        m.d.comb += self.knowledge.plan_taken.eq(fsm.ongoing("P_THR"))
        op_states("P_THR_SET", rule.path_thr_set, "P_ROW", after_thr)

        def row_code() -> None:
            m.d.comb += rule.syn_load.eq(1)

        op_states("P_ROW", rule.path_row, "P_SYN", row_code)
        sweep_states("P_SYN", rule.syn, rule.syn_done, rule.syn_on, rule.syn_set,
                     rule.syn_next, "P_NEXT")  # fmt: skip
        with fsm.State("P_NEXT"):
            m.d.comb += self.path_ready.eq(1)
            fsm.next = "PATH"
