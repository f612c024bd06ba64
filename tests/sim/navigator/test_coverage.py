"""The branch coverage reads the golden model's log consistently with its figures."""

from __future__ import annotations

import numpy as np
import pytest

from memrl.sim.navigator.coverage import (
    ALL_BRANCHES,
    BRANCHES,
    branch_counts,
    coverage_table,
    merge,
)  # fmt: skip
from memrl.sim.navigator.golden import PRESETS, with_overrides
from memrl.sim.navigator.maze import random_maze, shipped
from memrl.sim.navigator.session import golden_run

PAPER = PRESETS["paper"]


@pytest.mark.parametrize(
    "over", [{}, {"exploit_limit": 5}, {"stuck_steps": 4}, {"max_ticks": 4}], ids=str
)
def test_branch_counts_agree_with_the_trial_figures(over):
    params = with_overrides(PAPER, **over)
    lays = [shipped("small_a_9x9"), shipped("small_b_9x9")]
    trials, log = golden_run(lays, [3], 6, 80, 0, params)
    c = branch_counts(log, trials, params, lays[0].shape, 80)
    assert c["move"] == sum(t["moves"] for t in trials)
    assert c["wall"] + c["corner"] == sum(t["hits"] for t in trials)
    assert c["move"] + c["wall"] + c["corner"] + c["no_fire"] == sum(t["steps"] for t in trials)
    assert c["goal"] == sum(t["reached"] for t in trials)
    assert c["exploit"] <= c["move"]


def test_no_fire_only_when_ticks_run_out():
    lays = [shipped("small_a_9x9")]
    trials, log = golden_run(lays, [], 3, 60, 1, PAPER)
    assert branch_counts(log, trials, PAPER, lays[0].shape, 60)["no_fire"] == 0
    tight = with_overrides(PAPER, max_ticks=4)
    trials, log = golden_run(lays, [], 3, 60, 1, tight)
    assert branch_counts(log, trials, tight, lays[0].shape, 60)["no_fire"] > 0


def test_merge_and_table():
    a = dict.fromkeys(BRANCHES, 0) | {"move": 3}
    total = merge(a, {"move": 2, "goal": 1})
    assert total["move"] == 5 and total["goal"] == 1
    table = coverage_table(total)
    assert f"2/{len(ALL_BRANCHES)} branches covered" in table and "wall" in table


def test_random_mazes_have_a_reachable_goal():
    rng = np.random.default_rng(5)
    for _ in range(20):
        m = random_maze((6, 9), rng, 0.3)
        assert m.shape == (6, 9) and m.shortest_path_length() > 0
    with pytest.raises(ValueError, match="wall_density"):
        random_maze((6, 9), rng, 1.0)
    with pytest.raises(ValueError, match="2 x 2"):
        random_maze((1, 9), rng)
