"""The navigator core with the default rule in amaranth.sim against the golden
model, op for op: the shipped 9x9 pair, and a directed run per branch of the
rule (each run checks that the golden model takes its branch)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from memrl.sim.navigator import golden
from memrl.sim.navigator.golden import PRESETS, with_overrides
from memrl.sim.navigator.maze import shipped, terrain_transfer

from .test_core import assert_equal_runs

DEFAULT = PRESETS["default"]


def _pair():
    return [shipped("small_a_9x9"), shipped("small_b_9x9")]


@pytest.fixture
def branches(monkeypatch):
    """Counts of the golden model's default-rule branches during a test: its own
    counters (``Navigator.branches``) and the frontier searches' and forgetting
    sweeps' outcomes."""
    seen: Counter = Counter()
    frontier, forget = golden.Navigator.frontier_path, golden.Navigator._forget
    run_trial = golden.Navigator.run_trial

    def counted_frontier(self, agent, here):  # noqa: ANN001, ANN202
        path = frontier(self, agent, here)
        seen["frontier_path" if path and len(path) > 1 else "frontier_none"] += 1
        return path

    def counted_forget(self, agents):  # noqa: ANN001, ANN202
        stamps = self.wall_stamp[agents[0]].copy()
        forget(self, agents)
        seen["forget"] += 1
        seen["walls_doubted"] += int(((stamps >= 0) & (self.wall_stamp[agents[0]] < 0)).sum())

    def counted_trial(self, maze, max_steps):  # noqa: ANN001, ANN202
        before = Counter(self.branches)
        out = run_trial(self, maze, max_steps)
        for b in ("reward_path", "pointer_set", "fixture_kept", "probe_failed", "probe_corner",
                  "replan", "path_end"):  # fmt: skip
            seen[b] += self.branches[b] - before[b]
        return out

    monkeypatch.setattr(golden.Navigator, "run_trial", counted_trial)
    monkeypatch.setattr(golden.Navigator, "frontier_path", counted_frontier)
    monkeypatch.setattr(golden.Navigator, "_forget", counted_forget)
    return seen


def _ops(log) -> np.ndarray:  # noqa: ANN001
    return np.asarray(log, dtype=np.int64).reshape(-1, 4)


@pytest.mark.parametrize("seed", [0, pytest.param(1, marks=pytest.mark.slow)])
def test_default_rule_on_the_small_pair_equals_golden_model(seed, branches):
    _, log = assert_equal_runs(_pair(), [9], 18, 80, seed, DEFAULT)
    ops = _ops(log)
    pointer_sets = (ops[:, 0] == 1) & (ops[:, 2] == DEFAULT.lvl_pointer) & (ops[:, 1] % 9 != 8)
    assert pointer_sets.any() and branches["forget"] >= 1


# name: (rule overrides, agent seed, switch trials, the golden-model branches the
# run must take)
DIRECTED = {
    "doubt_and_frontier": ({"doubt_age": 2, "boredom": 4}, 3, [6],
                           ("walls_doubted", "frontier_path")),
    "doubt_explored_only": ({"doubt_age": 0, "boredom": 3, "doubt_unexplored": False}, 1, [4],
                            ("walls_doubted", "frontier_none")),
    "pessimistic": ({"optimistic": False, "doubt_unexplored": False, "doubt_age": 1}, 4, [4],
                    ("walls_doubted", "frontier_none")),
    "no_curiosity": ({"curiosity_th": 0, "boredom": 0}, 3, [6], ("forget",)),
    # planned paths still write their pointers: the synapse sweep is the planner's
    "no_pointers": ({"pointers": False}, 2, [6], ("reward_path", "pointer_set")),
    # walls doubted at every forgetting, found again, then kept as fixtures
    "fixtures": ({"doubt_age": 1}, 1, [4], ("walls_doubted", "fixture_kept")),
    # walls that appeared probed after 2 trials: failed at walls and corners, re-plans
    "probes": ({"probe_age": 2}, 1, [4, 8], ("probe_failed", "probe_corner", "replan")),
}  # fmt: skip


# The cocotb suite runs these branches on Verilator in make test
# (tests/sim/navigator/test_cocotb.py); here they are slow, but for the rule
# without optimism, the fixtures and the probes (slow on the simulators).
@pytest.mark.parametrize(
    "case", [c if c in ("pessimistic", "fixtures", "probes")
             else pytest.param(c, marks=pytest.mark.slow)
             for c in sorted(DIRECTED)],
)  # fmt: skip
def test_default_rule_branch_equals_golden_model(case, branches):
    over, seed, switch_at, wanted = DIRECTED[case]
    assert_equal_runs(_pair(), switch_at, 12, 80, seed, with_overrides(DEFAULT, **over))
    for b in wanted:
        assert branches[b] > 0, f"{case}: the golden model never took {b}"


@pytest.mark.parametrize(
    ("wall_row", "renew", "rmw_rows"),
    [pytest.param(False, True, False, marks=pytest.mark.slow), (False, True, True),
     pytest.param(True, True, False, marks=pytest.mark.slow),
     pytest.param(False, False, False, marks=pytest.mark.slow)],
)  # fmt: skip
def test_default_rule_on_terrain_equals_golden_model(wall_row, renew, rmw_rows, branches):
    """A cost map: the core learns each place's entry cost as it enters it and
    rewards the cheapest path over them; when the goal moves, the walk off the
    remembered path forgets and (``renew_on_forget``) makes every place unseen
    again. ``rmw_rows``: the row words read-modify-write (the ECP5 builds')."""
    maps = list(terrain_transfer(10, np.random.default_rng(1), wall_row))
    params = with_overrides(DEFAULT, renew_on_forget=renew, boredom=4 if not renew else 20)
    rtl, _ = assert_equal_runs(maps, [5], 10, 400, 0, params, rmw_rows=rmw_rows)
    assert branches["reward_path"] == 10 and branches["path_end"] > 0
    assert all(t.reached for t in rtl)
