"""The navigator on terrain: learned costs and the cheapest reward path."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from memrl.host.navigator.envs import ROVER_GOAL, rover_terrain
from memrl.host.navigator.rover import (
    RoverConfig,
    cheapest_cost,
    rover_maze,
    run_rover,
    summarise_rover,
)
from memrl.sim.navigator.golden import PRESETS, Navigator, with_overrides


def test_cheapest_path_avoids_known_expensive_terrain() -> None:
    cost = np.ones((5, 7))
    cost[0:4, 3] = 10.0  # a costly ridge, open only at the bottom row
    maze = rover_maze(cost, goal=(2, 6), start=(2, 0))
    # Around the ridge through its gap (4, 3): 3 + 3 moves, six cost-1 entries.
    assert cheapest_cost(maze) == 6.0
    nav = Navigator(maze.shape, [0], PRESETS["default"])
    # Nothing learned yet: every place counts as cost 1; ties go to the lowest
    # direction (north-east first), which crosses the ridge at (0, 3).
    assert nav.cheapest_path(0, maze) == [14, 8, 2, 3, 4, 12, 20]
    nav.cost_known[0] = np.rint(cost.reshape(-1) * 20).astype(np.int64)
    path = nav.cheapest_path(0, maze)
    assert 31 in path  # (4, 3), the gap in the ridge
    assert all(cost.reshape(-1)[x] == 1.0 for x in path) and len(path) - 1 == 6


def test_rover_learns_cheaper_paths_and_writes_the_run(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    cost = np.where(rng.random((128, 128)) < 0.3, 10.0, 1.0)
    np.save(tmp_path / "c.npy", cost)
    cfg = RoverConfig(trials=6, transfer_at=5, seeds=2, max_steps=4000,
                      cost_file=str(tmp_path / "c.npy"))  # fmt: skip
    run_rover(cfg, tmp_path / "run")
    rows = (tmp_path / "run" / "trials.csv").read_text().splitlines()
    assert rows[0] == "condition,seed,trial,goal,steps,reached_goal,ticks,cost,cheapest_cost"
    assert len(rows) == 1 + 6 * 2 + 2  # the fresh condition joins at trial 5
    data = [r.split(",") for r in rows[1:]]
    # Trials count from 1; --transfer-at 5 moves the goal after trial 5.
    assert [int(r[2]) for r in data if r[0] == "transfer" and r[1] == "0"] == [1, 2, 3, 4, 5, 6]
    assert {(r[0], r[2], r[3]) for r in data if r[2] == "6"} == {("transfer", "6", "1"),
                                                               ("fresh", "6", "1")}  # fmt: skip
    assert all(r[3] == "0" for r in data if r[2] != "6")
    assert sorted(summarise_rover(tmp_path / "run")["fresh"]) == [6]
    costs = {int(r[2]): float(r[7]) for r in data if r[0] == "transfer" and r[1] == "0"}
    assert costs[4] < costs[1]  # learned terrain lowers the cost
    assert all(float(r[7]) >= float(r[8]) for r in data if r[5] == "1")
    assert json.loads((tmp_path / "run" / "config.json").read_text())["status"] == "complete"


def test_transfer_agents_find_the_moved_goal() -> None:
    """On the rover map, agents that learned the first goal (8 trials) then get 12
    trials with the goal moved to (30, 110). The default preset forgets a remembered
    path that ends off the goal on terrain, and every agent walks the new cheapest
    route by the end; with that rule off, some agents walk the old path and never
    find the new goal."""
    cost = rover_terrain(0)[1]
    tasks = [rover_maze(cost, ROVER_GOAL), rover_maze(cost, (30, 110))]
    last = {}
    for mode in ("terrain", "off"):
        nav = Navigator(cost.shape, range(10), with_overrides(PRESETS["default"],
                        forget_on_path_end=mode))  # fmt: skip
        for t in range(20):
            last[mode] = nav.run_trial(tasks[t >= 8], 5000)
    assert last["terrain"].reached.all() and last["terrain"].steps.max() < 120
    assert not last["off"].reached.all()


def test_path_end_forgetting_modes() -> None:
    assert (
        with_overrides(PRESETS["default"], forget_on_path_end=True).forget_on_path_end == "always"
    )
    assert with_overrides(PRESETS["default"], forget_on_path_end=False).forget_on_path_end == "off"
    with pytest.raises(ValueError, match="forget_on_path_end"):
        with_overrides(PRESETS["default"], forget_on_path_end="sometimes")
