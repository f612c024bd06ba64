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
    * ``verdict``: the maze's verdict on the step's winner.

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
            }
        )

    def elaborate(self, platform: object) -> Module:  # noqa: C901 - one state machine
        m = Module()
        c = self.config
        P = c.places
        neurons, maze, rq, rule, counters = (
            self.neurons, self.maze, self.requests, self.rule, self.counters,
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
        m.d.comb += maze.sweep.eq(q)

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

        def penalty_next(stuck: Signal) -> None:
            """After forgetting: penalty or potentiation, then the stuck fallback."""
            with m.If(v.hit_wall):
                fsm.next = "WALL"
            with m.Elif(v.hit_corner):
                fsm.next = "CORNER"
            with m.Elif(v.moved):
                fsm.next = "POT"
            with m.Elif(stuck):
                fsm.next = "NBR"
            with m.Else():
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
                        fsm.next = "BOOK"

        m.d.comb += self.busy.eq(1)
        with OneHotFSM(m, "nav", reset="IDLE") as fsm:
            with fsm.State("IDLE"):
                m.d.comb += [self.busy.eq(0), maze.idle.eq(1), counters.clear.eq(self.start)]
                with m.If(self.init):
                    m.d.comb += [q_clr.eq(1), rule.run_start.eq(1)]
                    fsm.next = "INIT"
                with m.Elif(self.start):
                    m.d.comb += [
                        q_clr.eq(1),
                        maze.start.eq(1),
                        rule.trial_start.eq(1),
                        counters.trial.eq(1),
                    ]
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

            # -- trial start: clear the visited map, the trajectory holds the start -----
            with fsm.State("CLEAR"):
                m.d.comb += [maze.clear.eq(1), q_inc.eq(1)]
                with m.If(q_last):
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
                with m.If(rule.got_reward):
                    fsm.next = "FORGET_SET"
                with m.Else():
                    forget_advance()

            op_states("FORGET", rule.forget_read, "PENALTY", forget_code)
            op_states("FORGET_SET", rule.forget_set, "PENALTY", forget_advance)
            with fsm.State("PENALTY"):
                m.d.comb += rule.penalty.eq(1)
                penalty_next(rule.stuck)

            # Penalty: a wall hit RESETs the wall's threshold device, a corner hit the
            # synapse that tried the diagonal; a move potentiates that synapse.
            posted_op("WALL")
            posted_op("CORNER")
            posted_op("POT")

            # Stuck fallback: the on-grid 3x3 neighbourhood, row-major, to NOMINAL.
            with fsm.State("NBR"):
                m.d.comb += rule.nbr.eq(1)
                with m.If(rule.nbr_done):
                    fsm.next = "BOOK"
                with m.Elif(rule.nbr_on):
                    fsm.next = "NBR_SET"

            def nbr_next() -> None:
                m.d.comb += rule.nbr_next.eq(1)

            op_states("NBR_SET", rule.nbr_set, "NBR", nbr_next)

            # Bookkeeping: leave the place (homeostasis), move, extend the trajectory.
            with fsm.State("BOOK"):
                m.d.comb += [self.step_valid.eq(1), maze.book.eq(1), rule.book.eq(1)]
                with m.If(rule.at_goal):
                    m.d.comb += counters.goal.eq(1)
                    fsm.next = "REWARD"
                with m.Elif(counters.last_step):
                    fsm.next = "DONE"
                with m.Else():
                    fsm.next = "STEP"

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
                m.d.comb += self.done.eq(1)
                fsm.next = "IDLE"
        return m
