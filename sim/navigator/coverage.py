"""Functional coverage of the navigator's learning rule, from what a core did.

:func:`branch_counts` reads a device-operation log (``(op, addr, level,
result)`` rows, as the bus models and the golden model write them) and the
per-trial records of a run, and counts how often each branch of the ``paper``
rule was taken. Only what crosses the RRAM port and the core's outputs is
used, so the coverage is that of the hardware run; where the run equals the
golden model op for op, it is the golden model's as well.

A step starts with the read of a place's eight synapses (device addresses
``9p .. 9p + 7``, one READ_ROW); what follows until the next such read
belongs to it. The branches (:data:`BRANCHES`):

* ``move``: the step SETs a synapse of its place to ``lvl_potentiate``;
* ``wall``: it RESETs a target's threshold device to ``rst_penalty``;
* ``corner``: it RESETs a synapse of its place (``rst_depress``);
* ``exploit``: a move onto a place whose threshold reads REWARD (the
  remembered path);
* ``forget_blocked``: a sweep of every threshold device (REWARD -> RECALL) in
  a step that hit a wall or a corner (a blocked path);
* ``forget_exploit``: a sweep in a step that moved (exploitation limit);
* ``stuck``: threshold devices SET to ``lvl_nominal`` outside a sweep (the
  3x3 neighbourhood, the stuck fallback);
* ``goal``: a trial that reached the goal (its last step SETs thresholds to
  ``lvl_reward``);
* ``no_fire``: a step in which no neuron fired within ``max_ticks`` (no move,
  no hit);
* ``step_limit``: a trial that ended at ``max_steps`` off the goal.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from memrl.sim.devices import Op
from memrl.sim.navigator.golden import SLOTS, THR, NavigatorParams
from memrl.sim.navigator.maze import DIRECTIONS

__all__ = ["BRANCHES", "DEFAULT_BRANCHES", "ALL_BRANCHES", "branch_counts", "merge",
           "coverage_table"]  # fmt: skip

BRANCHES = (
    "move",
    "wall",
    "corner",
    "exploit",
    "forget_blocked",
    "forget_exploit",
    "stuck",
    "goal",
    "no_fire",
    "step_limit",
)

#: The default rule's branches. A default-rule run interleaves planned paths'
#: synapse rows with the steps, so its log does not split into steps as the paper
#: rule's does: these counts are the golden model's (``Navigator.branches``) for
#: a run the scoreboard found equal to it op for op.
DEFAULT_BRANCHES = (
    "curiosity",  # a step with a seen NOMINAL target at the curiosity threshold
    "pointer_kept",  # a move along a pointer: the synapse is not potentiated again
    "pointer_stale",  # a pointer that led back to a place left in this trial
    "guess_hit",  # a wall on the planned path where the agent never stood: no forgetting
    "doubt",  # the forgetting sweep SETs an old wall back to NOMINAL
    "reward_path",  # the planner's shortest path rewarded at a goal
    "pointer_set",  # a synapse SET to a pointer along a planned path
    "pointer_cleared",  # an old pointer SET back to lvl_potentiate along a planned path
    "frontier",  # the frontier search after `boredom` moves without a new place
    "frontier_none",  # ... that found no unseen usable place
    "wall_fixed",  # a wall hit again after forgetting doubted it: a fixture
    "fixture_kept",  # the forgetting sweep keeps a fixture never stood on
    "probe_failed",  # a hit at a known wall on a path planned probing: no forgetting
    "probe_corner",  # ... at a corner beside one (the walls beside it are stamped)
    "replan",  # the path re-planned from the position after a failed probe
    "path_end",  # terrain: a move off the remembered path, not onto a goal, forgets
)
ALL_BRANCHES = BRANCHES + DEFAULT_BRANCHES


def _step_starts(log: np.ndarray) -> np.ndarray:
    """Row indices where a step's synapse-row read begins (slots 0..7 of one place)."""
    n = len(log)
    if n < SLOTS - 1:
        return np.zeros(0, dtype=np.int64)
    op, addr = log[:, 0], log[:, 1]
    k = np.arange(n - (SLOTS - 2))
    ok = (op[k] == Op.READ) & (addr[k] % SLOTS == 0)
    for d in range(1, SLOTS - 1):
        ok &= (op[k + d] == Op.READ) & (addr[k + d] == addr[k] + d)
    return k[ok]


def branch_counts(
    log: np.ndarray,
    trials: Sequence[dict],
    params: NavigatorParams,
    shape: tuple[int, int],
    max_steps: int,
) -> dict[str, int]:
    """How often each branch of :data:`BRANCHES` was taken in a run."""
    p = params
    log = np.asarray(log, dtype=np.int64).reshape(-1, 4)
    h, w = shape
    places = h * w
    counts = dict.fromkeys(BRANCHES, 0)
    starts = _step_starts(log)
    bounds = np.append(starts, len(log))
    for s, e in zip(bounds[:-1], bounds[1:], strict=True):
        seg = log[s:e]
        here = int(seg[0, 1]) // SLOTS
        op, addr, level = seg[:, 0], seg[:, 1], seg[:, 2]
        slot = addr % SLOTS
        thr_read = (op == Op.READ) & (slot == THR)
        sweep = int(thr_read.sum()) >= places
        pot = (op == Op.SET) & (slot != THR) & (level == p.lvl_potentiate)
        moved = bool(pot.any())
        hit = bool(((op == Op.RESET) & (slot == THR) & (level == p.rst_penalty)).any())
        corner = bool(((op == Op.RESET) & (slot != THR)).any())
        counts["move"] += moved
        counts["no_fire"] += not (moved or hit or corner)
        counts["wall"] += hit
        counts["corner"] += corner
        if sweep:
            counts["forget_blocked"] += hit or corner
            counts["forget_exploit"] += moved
        else:
            nominal = (op == Op.SET) & (slot == THR) & (level == p.lvl_nominal)
            counts["stuck"] += bool(nominal.any())
        if moved:
            d = int(addr[np.flatnonzero(pot)[0]]) % SLOTS
            r, c = divmod(here, w)
            target = (r + int(DIRECTIONS[d][0])) * w + c + int(DIRECTIONS[d][1])
            # The target's threshold reading of this step (before any sweep).
            first = np.flatnonzero(thr_read & (addr == target * SLOTS + THR))
            if first.size and seg[first[0], 3] >= p.code_reward_min:
                counts["exploit"] += 1
    for t in trials:
        counts["goal"] += bool(t["reached"])
        counts["step_limit"] += (not t["reached"]) and t["steps"] >= max_steps
    return counts


def merge(*runs: dict[str, int]) -> dict[str, int]:
    """The branch counts of several runs added up."""
    out = dict.fromkeys(ALL_BRANCHES, 0)
    for run in runs:
        for k, v in run.items():
            out[k] = out.get(k, 0) + int(v)
    return out


def coverage_table(counts: dict[str, int]) -> str:
    """A text table of the branches, their counts and whether each was hit."""
    width = max(len(b) for b in ALL_BRANCHES)
    lines = [f"{'branch':<{width}}  {'count':>9}  covered"]
    for b in ALL_BRANCHES:
        if b == DEFAULT_BRANCHES[0]:
            lines.append("default rule:")
        n = counts.get(b, 0)
        lines.append(f"{b:<{width}}  {n:>9}  {'yes' if n else 'NO'}")
    hit = sum(1 for b in ALL_BRANCHES if counts.get(b, 0))
    lines.append(f"{hit}/{len(ALL_BRANCHES)} branches covered")
    return "\n".join(lines)
