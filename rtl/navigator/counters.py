"""The per-trial figures of the navigator: steps, moves, hits, the goal flag,
integration ticks and device operations by kind."""

from __future__ import annotations

from amaranth import Cat, Module, Mux, Signal, Value
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from memrl.rtl.navigator.config import NavigatorConfig
from memrl.rtl.navigator.maze import Verdict
from memrl.rtl.navigator.port import RRAMOp

__all__ = ["CounterControl", "TrialCounters"]


class CounterControl(wiring.Signature):
    """The sequencer's side of the counters' control (strobes, one cycle each):

    * ``trial``: a trial starts: steps, moves, hits and the goal flag clear;
    * ``clear``: a start pulse while idle (a trial's, or one beside an init):
      the 32-bit counters clear the next cycle;
    * ``step``: a step is decided: count it, its move or hit and its ticks;
    * ``goal``: the trial ends on a goal;
    * ``last_step`` (to the sequencer): the step counted last was the trial's
      last (``max_steps``).
    """

    def __init__(self) -> None:
        super().__init__(
            {
                "trial": Out(1),
                "clear": Out(1),
                "step": Out(1),
                "goal": Out(1),
                "last_step": In(1),
            }
        )


class TrialCounters(wiring.Component):
    """Per-trial counters.

    Ports:

    * ``ctl``: :class:`CounterControl` (from the sequencer);
    * ``max_steps``: the trial's step limit, taken at ``ctl.trial``;
    * ``verdict``: :class:`~memrl.rtl.navigator.maze.Verdict` of the step;
      ``step_ticks``: its integration ticks;
    * ``sent``, ``sent_op``: a request is accepted on the RRAM port, and its
      operation (a READ_ROW counts eight reads);
    * ``steps``, ``moves``, ``hits``, ``reached``; ``ticks``, ``reads``,
      ``sets``, ``resets`` (32 bits, final at least two cycles after the last
      count).

    A request is counted a cycle after it is accepted (registered). The
    32-bit counters count in two parts, the upper one a cycle behind the
    lower one's carry.
    """

    def __init__(self, config: NavigatorConfig) -> None:
        self.config = c = config
        super().__init__(
            {
                "ctl": In(CounterControl()),
                "max_steps": In(c.max_steps_bits),
                "verdict": In(Verdict()),
                "step_ticks": In(c.tick_bits),
                "sent": In(1),
                "sent_op": In(3),
                "steps": Out(c.max_steps_bits),
                "moves": Out(c.max_steps_bits),
                "hits": Out(c.max_steps_bits),
                "reached": Out(1),
                "ticks": Out(32),
                "reads": Out(32),
                "sets": Out(32),
                "resets": Out(32),
            }
        )

    def elaborate(self, platform: object) -> Module:
        m = Module()
        ctl, v = self.ctl, self.verdict
        steps, moves, hits = self.steps, self.moves, self.hits
        max_m1 = Signal.like(self.max_steps)  # max_steps - 1 (wrapping)
        last_step = ctl.last_step  # steps == max_steps, registered with steps

        with m.If(ctl.trial):
            m.d.sync += [
                max_m1.eq(self.max_steps - 1),
                steps.eq(0),
                moves.eq(0),
                hits.eq(0),
                self.reached.eq(0),
            ]
        with m.If(ctl.step):
            m.d.sync += [
                steps.eq(steps + 1),
                last_step.eq(steps == max_m1),
                moves.eq(moves + v.moved),
                hits.eq(hits + (v.hit_wall | v.hit_corner)),
            ]
        with m.If(ctl.goal):
            m.d.sync += self.reached.eq(1)

        # Device operations: what was accepted is registered and counted a cycle
        # later.
        sent = Signal()
        op_sent = Signal(3)
        m.d.sync += [sent.eq(self.sent), op_sent.eq(self.sent_op)]
        n_read = Mux(sent & (op_sent == RRAMOp.READ_ROW), 8, sent & (op_sent == RRAMOp.READ))
        n_set = sent & (op_sent == RRAMOp.SET)
        n_reset = sent & (op_sent == RRAMOp.RESET)
        clear = Signal()
        m.d.sync += clear.eq(ctl.clear)

        def split_counter(out: Signal, inc: Value) -> None:
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
        split_counter(self.ticks, Mux(ctl.step, self.step_ticks, 0))
        return m
