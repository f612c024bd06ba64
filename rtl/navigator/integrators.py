"""The eight integrate-and-fire neurons of a step and their winner-take-all.

Neuron ``d`` integrates the synapse code of direction ``d`` once per tick and
fires when the sum reaches its target's threshold. A threshold comes from the
class of the target's threshold-device READ code (REWARD 0, RECALL
``recall_th``, NOMINAL ``th0``, PENALTY ``penalty_th``), or ``homeo_th`` when
the target was left during this trial (homeostasis). Off-grid targets and zero
synapse codes never fire. The winner is the first neuron to fire; among
neurons firing at the same tick, the largest synapse code wins, ties to the
lowest direction. A step with no neuron firing by ``max_ticks`` has no winner.
"""

from __future__ import annotations

from amaranth import Const, Module, Mux, Signal, Value, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from memrl.rtl.navigator.config import NavigatorConfig, bits

__all__ = ["NeuronControl", "Readings", "Neurons"]


class NeuronControl(wiring.Signature):
    """The sequencer's side of the neurons' control. Strobes (high for one
    cycle, or for each cycle of their phase):

    * ``clear``: a step begins: tick 1, no winner;
    * ``load``: the synapse codes are (being) loaded: register the activity
      mask and the winner table from them (every cycle of the read phase);
    * ``run``: one integration tick;
    * ``end`` (to the sequencer): a neuron fired at the last tick, or the
      tick limit is reached; the winner and the step's ticks are registered
      at the ``run`` cycle that sees it.
    """

    def __init__(self) -> None:
        super().__init__({"clear": Out(1), "load": Out(1), "run": Out(1), "end": In(1)})


class Readings(wiring.Signature):
    """The step's READ responses, from the port to the neurons (port side):

    * ``data``: the response payload (eight lanes of eight bits);
    * ``row``: ``data`` is the synapse row of the place (lane ``d``: direction ``d``);
    * ``target``: one-hot, the target whose threshold device the next
      ``threshold`` response reads;
    * ``threshold``: lane 0 of ``data`` is that target's threshold-device code.
    """

    def __init__(self) -> None:
        super().__init__({"data": Out(64), "row": Out(1), "target": Out(8), "threshold": Out(1)})


class Neurons(wiring.Component):
    """Eight integrators, their thresholds and the winner-take-all of a step.

    Ports:

    * ``ctl``: :class:`NeuronControl` (from the sequencer);
    * ``readings``: :class:`Readings` (from the RRAM port);
    * ``targets``: the on-grid flags of the eight targets (fixed during a step);
    * ``visited``: the targets' visited flags (homeostasis), by the time a
      threshold reading lands, a cycle after it is taken;
    * ``seen``: the targets' seen flags (curiosity), with ``visited``;
    * ``win``: the winner of the last tick, one-hot (zero when no neuron fired),
      held from the end of integration to the next step;
    * ``win_ptr``: the winner's synapse code reads as a pointer
      (``pointer_min`` or more);
    * ``ticks``: the step's integration ticks, ``win_reward``: the winner's
      target read REWARD (both registered at the end of integration).

    Integrators hold what is left to the threshold, ``rem = th - 1 - acc``
    after a tick (``acc`` the sum of the synapse codes), so a neuron has
    reached its threshold when ``rem`` is negative: a sign bit, not a compare.
    A threshold reading is staged a cycle (code class and target), then lands
    in its integrator as the state after the first tick, ``th - 1 - syn``.
    """

    def __init__(self, config: NavigatorConfig) -> None:
        self.config = config
        super().__init__(
            {
                "ctl": In(NeuronControl()),
                "readings": In(Readings()),
                "targets": In(8),
                "visited": In(8),
                "seen": In(8),
                "win": Out(8),
                "win_ptr": Out(1),
                "ticks": Out(config.tick_bits),
                "win_reward": Out(1),
            }
        )

    def elaborate(self, platform: object) -> Module:
        m = Module()
        c = self.config
        ctl, rd = self.ctl, self.readings
        code = rd.data[:8]

        syn = [Signal(8, name=f"syn{d}") for d in range(8)]
        active = Signal(8)  # on the grid and a nonzero synapse code: the neuron can fire
        cls_reward = Signal(8)  # target threshold device read REWARD
        rem_bits = max(20, bits(c.max_ticks * 255)) + 2
        rem = [Signal(signed(rem_bits), name=f"rem{d}") for d in range(8)]
        tick = Signal(c.tick_bits)

        # A neuron fires when its integral reaches its target's threshold.
        fires = Signal(8)
        for d in range(8):
            m.d.comb += fires[d].eq(active[d] & rem[d][-1])
        # Winner-take-all: ``beats[d][e]`` (registered while the thresholds are read;
        # synapse codes are fixed during integration) says neuron d wins over e when
        # both fire: a larger synapse code, or an equal one and a lower direction.
        beats = [
            [Signal(name=f"beats{d}_{e}") if d != e else None for e in range(8)] for d in range(8)
        ]
        # The winner of each tick is registered (``win``, one-hot, zero when no
        # neuron reached its threshold at tick ``fired_tick``); the step ends a
        # cycle later.
        tick_win = Signal(8)
        for d in range(8):
            term = fires[d]
            for e in range(8):
                if e != d:
                    term = term & (~fires[e] | beats[d][e])
            m.d.comb += tick_win[d].eq(term)
        win_hot = self.win
        fired_tick = Signal(c.tick_bits)
        any_fires = Signal()  # registered with win_hot: fires.any()
        at_max = Signal()  # registered with fired_tick: fired_tick == max_ticks
        m.d.comb += ctl.end.eq(any_fires | at_max)

        # Threshold of a target, minus one, from its device code's class (the code
        # reaches the REWARD, RECALL, NOMINAL boundary) and the homeostasis bit.
        def threshold_m1(
            reward: Value, recall: Value, nominal: Value, vis: Value, seen: Value
        ) -> Value:
            def k(v: int) -> Const:
                return Const(v - 1, signed(rem_bits))

            # curiosity: a NOMINAL place already seen is less attractive
            th_nominal = Mux(seen, k(c.curiosity_th), k(c.th0)) if c.curiosity_th else k(c.th0)
            cls_th = Mux(
                reward,
                k(0),
                Mux(recall, k(c.recall_th), Mux(nominal, th_nominal, k(c.penalty_th))),
            )
            return Mux(vis, k(c.homeo_th), cls_th)

        # A threshold reading is staged for a cycle (code class and target), then
        # lands in its integrator as the state after the first tick: th - 1 - syn.
        st_valid = Signal()
        st_reward = Signal()  # the code's class, staged
        st_recall = Signal()
        st_nominal = Signal()
        st_hot = Signal(8)
        m.d.sync += [
            st_valid.eq(rd.threshold),
            st_reward.eq(code >= c.code_reward_min),
            st_recall.eq(code >= c.code_recall_min),
            st_nominal.eq(code >= c.code_nominal_min),
            st_hot.eq(rd.target),
        ]
        for d in range(8):
            with m.If(st_valid & st_hot[d]):
                m.d.sync += [
                    rem[d].eq(
                        threshold_m1(
                            st_reward, st_recall, st_nominal, self.visited[d], self.seen[d]
                        )
                        - syn[d]
                    ),
                    cls_reward[d].eq(st_reward),
                ]

        with m.If(ctl.clear):
            m.d.sync += [
                tick.eq(1),
                win_hot.eq(0),
                fired_tick.eq(0),
                any_fires.eq(0),
                at_max.eq(0),
            ]

        with m.If(rd.row):
            for d in range(8):
                m.d.sync += syn[d].eq(rd.data[8 * d : 8 * d + 8])
        # The synapse codes are held from the row's answer on: load the activity
        # mask and the winner table from them.
        ptr = Signal(8)  # the synapse code reads as a pointer
        m.d.comb += self.win_ptr.eq((ptr & win_hot).any())
        with m.If(ctl.load):
            for d in range(8):
                m.d.sync += active[d].eq(self.targets[d] & (syn[d] != 0))
                m.d.sync += ptr[d].eq(syn[d] >= c.pointer_min)
                for e in range(8):
                    if e != d:
                        beat = syn[d] > syn[e] if d > e else syn[d] >= syn[e]
                        m.d.sync += beats[d][e].eq(beat)

        # One tick per cycle: every integrator subtracts its synapse code.
        with m.If(ctl.run):
            for d in range(8):
                m.d.sync += rem[d].eq(rem[d] - syn[d])
            m.d.sync += [
                tick.eq(tick + 1),
                fired_tick.eq(tick),
                any_fires.eq(fires.any()),
                at_max.eq(tick == c.max_ticks),
            ]
            with m.If(~ctl.end):  # the winner holds from the end of integration on
                m.d.sync += win_hot.eq(tick_win)
            with m.If(ctl.end):
                m.d.sync += [
                    self.ticks.eq(fired_tick),
                    self.win_reward.eq((cls_reward & win_hot).any()),
                ]
        return m
