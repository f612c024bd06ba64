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

The core is a top over its units, each a component of its own:

* :class:`~memrl.rtl.navigator.sequencer.Sequencer`: the state machine; every
  unit's control comes from it;
* :class:`~memrl.rtl.navigator.requests.RequestUnit`: the RRAM port (the
  step's read queue, the rule's requests, posted responses);
* :class:`~memrl.rtl.navigator.maze.MazeState`: layout and visited maps,
  position, targets, the verdict on the winner's move;
* :class:`~memrl.rtl.navigator.integrators.Neurons`: integrators, thresholds,
  winner-take-all;
* :class:`~memrl.rtl.navigator.rule.LearningRule`: the rule's decisions and
  the device operations it issues (with the trajectory ring);
* :class:`~memrl.rtl.navigator.counters.TrialCounters`: the per-trial figures.

Device addresses: place ``p`` owns ``9p + d`` (synapse of direction ``d``,
0 N, 1 NE, ... 7 NW) and ``9p + 8`` (threshold device).
"""

from __future__ import annotations

from amaranth import Module, Mux
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from memrl.rtl.navigator.config import (
    DIRECTIONS,
    NEIGHBOURS,
    SLOTS,
    SPRAM_PLACES,
    THR,
    NavigatorConfig,
)
from memrl.rtl.navigator.counters import TrialCounters
from memrl.rtl.navigator.integrators import Neurons
from memrl.rtl.navigator.maze import MazeState
from memrl.rtl.navigator.places import Knowledge
from memrl.rtl.navigator.planner import Planner
from memrl.rtl.navigator.port import RRAMPortSignature
from memrl.rtl.navigator.requests import RequestUnit
from memrl.rtl.navigator.rule import LearningRule
from memrl.rtl.navigator.sequencer import Sequencer

__all__ = [
    "DIRECTIONS",
    "NEIGHBOURS",
    "SLOTS",
    "THR",
    "SPRAM_PLACES",
    "NavigatorConfig",
    "NavigatorCore",
]


class NavigatorCore(wiring.Component):
    """Navigator for one agent on an ``height x width`` maze.

    Ports:

    * ``rram``: the RRAM port (controller side).
    * ``layout_we``, ``layout_addr``, ``layout_data``: write a place of the maze
      layout (bit 0 wall, bit 1 goal); ``cost_we`` (with ``cost_bits``): write
      the place's entry cost, in units of 1 / ``cost_unit``, from the bits of
      ``layout_data`` above the flags; take effect between trials.
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

    ``rmw_rows``: the default rule's row-word memories are written a whole word
    at a time, read-modify-write (:class:`~memrl.rtl.lib.rowplanes.RowPlanes`),
    for block RAMs without a bit mask (the ECP5's); the same at the ports.
    """

    def __init__(self, config: NavigatorConfig | None = None, rmw_rows: bool = False) -> None:
        self.config = c = config or NavigatorConfig()
        self.rmw_rows = rmw_rows
        self.cell_bits = c.cell_bits
        self.addr_bits = c.addr_bits
        self.row_bits = c.row_bits
        self.col_bits = c.col_bits
        self.tick_bits = c.tick_bits
        super().__init__(
            {
                "rram": Out(RRAMPortSignature(self.addr_bits, lanes=8)),
                "layout_we": In(1),
                "layout_addr": In(self.cell_bits),
                "layout_data": In(c.layout_bits),
                "cost_we": In(1),
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

    def elaborate(self, platform: object) -> Module:
        m = Module()
        c = self.config
        m.submodules.sequencer = seq = Sequencer(c)
        m.submodules.requests = rq = RequestUnit(c)
        m.submodules.maze = maze = MazeState(c)
        m.submodules.neurons = neurons = Neurons(c)
        m.submodules.rule = rule = LearningRule(c)
        m.submodules.counters = counters = TrialCounters(c)

        # Control: the sequencer's strobes out, the units' conditions back.
        wiring.connect(m, seq.neurons, neurons.ctl)
        wiring.connect(m, seq.maze, maze.ctl)
        wiring.connect(m, seq.requests, rq.ctl)
        wiring.connect(m, seq.rule, rule.ctl)
        wiring.connect(m, seq.counters, counters.ctl)

        # Data between the units.
        wiring.connect(m, maze.verdict, seq.verdict, rule.verdict, counters.verdict)
        wiring.connect(m, rq.readings, neurons.readings)
        m.d.comb += [
            rq.here9.eq(maze.here9),
            rq.on_grid.eq(maze.on_grid),
            rq.op.eq(rule.op),
            rq.addr.eq(rule.addr),
            rq.level.eq(rule.level),
            neurons.targets.eq(maze.targets),
            neurons.visited.eq(maze.visited),
            maze.win.eq(neurons.win),
            rule.win_goal.eq(maze.win_goal),
            rule.win_reward.eq(neurons.win_reward),
            rule.win_thr.eq(maze.win_thr),
            rule.win_syn.eq(maze.win_syn),
            rule.here9.eq(maze.here9),
            rule.here_thr.eq(maze.here_thr),
            rule.targets.eq(maze.targets),
            rule.got_code.eq(rq.got_code),
            rule.got_row.eq(rq.got_row),
            counters.step_ticks.eq(neurons.ticks),
            counters.sent.eq(self.rram.req.valid & self.rram.req.ready),
            counters.sent_op.eq(self.rram.req.payload.op),
        ]

        # The core's ports.
        wiring.connect(m, wiring.flipped(self.rram), rq.rram)
        m.d.comb += [
            maze.layout_we.eq(self.layout_we),
            maze.layout_addr.eq(self.layout_addr),
            maze.layout_data.eq(self.layout_data),
            maze.cost_we.eq(self.cost_we),
            seq.init.eq(self.init),
            seq.start.eq(self.start),
            maze.start_row.eq(self.start_row),
            maze.start_col.eq(self.start_col),
            counters.max_steps.eq(self.max_steps),
            self.busy.eq(seq.busy),
            self.done.eq(seq.done),
            self.step_valid.eq(seq.step_valid),
            self.pos.eq(maze.pos),
            self.step_ticks.eq(neurons.ticks),
        ]
        for name in ("steps", "reached", "ticks", "moves", "hits", "reads", "sets", "resets"):
            m.d.comb += getattr(self, name).eq(getattr(counters, name))
        m.d.comb += [rule.win_visited.eq(maze.win_visited), rule.win_ptr.eq(neurons.win_ptr)]
        if c.knowledge:
            self._knowledge(m, seq, maze, neurons, rule)
        else:
            m.d.comb += seq.plan_idle.eq(1)
        return m

    def _knowledge(self, m: Module, seq, maze, neurons, rule) -> None:  # noqa: ANN001
        """The default rule's knowledge and planner."""
        c = self.config
        m.submodules.knowledge = kn = Knowledge(c, self.rmw_rows)
        wiring.connect(m, seq.knowledge, kn.ctl)
        m.d.comb += [
            kn.sweep_goal.eq(maze.sweep_goal),
            kn.look.eq(maze.look),
            kn.look_cell.eq(maze.look_cell),
            kn.look_hot.eq(maze.look_hot),
            kn.pos_row.eq(maze.pos_row),
            kn.pos_col.eq(maze.pos_col),
            kn.here.eq(maze.here),
            kn.win.eq(neurons.win),
            kn.win_row.eq(maze.win_row),
            kn.win_col.eq(maze.win_col),
            kn.win_cell.eq(maze.win_cell),
            neurons.seen.eq(kn.seen),
            rule.win_seen.eq(kn.win_seen),
            rule.win_explored.eq(kn.win_explored),
            rule.old.eq(kn.old),
            rule.probe_wall.eq(kn.probe_wall),
            rule.probe_side.eq(kn.probe_side),
            kn.probe_failed.eq(rule.probe_failed),
            kn.renew.eq(rule.renew),
            kn.win_cost.eq(maze.win_cost),
        ]
        if not c.planner:
            m.d.comb += seq.plan_idle.eq(1)
            return
        m.submodules.planner = pl = Planner(c, self.rmw_rows)
        m.d.comb += [
            pl.start.eq(seq.plan_start),
            pl.frontier.eq(seq.plan_frontier),
            pl.src_row.eq(maze.pos_row),
            pl.src_col.eq(maze.pos_col),
            pl.src_cell.eq(maze.here),
            # the reward path from the trial's start, a re-plan's from the position
            pl.ex_row.eq(Mux(seq.plan_here, maze.pos_row, kn.ex_row)),
            pl.ex_col.eq(Mux(seq.plan_here, maze.pos_col, kn.ex_col)),
            pl.ex_cell.eq(Mux(seq.plan_here, maze.here, kn.ex_cell)),
            kn.pl_row.eq(pl.rd_row),
            kn.pl_cell.eq(pl.rd_cell),
            pl.rows.eq(kn.pl_rows),
            pl.diag.eq(kn.pl_diag),
            seq.plan_idle.eq(pl.idle),
            seq.path_valid.eq(pl.path.valid),
            seq.path_last.eq(pl.path.payload.last),
            pl.path.ready.eq(seq.path_ready),
            rule.path.eq(pl.path.payload),
            kn.pl_cost_cell.eq(pl.cost_cell),
            pl.cost.eq(kn.pl_cost),
        ]
