"""The navigator on terrain: learned costs and the cheapest reward path."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from memrl.host.navigator import PRESETS, Navigator
from memrl.host.rover import RoverConfig, cheapest_cost, rover_maze, run_rover


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
    costs = {int(r[2]): float(r[7]) for r in data if r[0] == "transfer" and r[1] == "0"}
    assert costs[4] < costs[1]  # learned terrain lowers the cost
    assert all(float(r[7]) >= float(r[8]) for r in data if r[5] == "1")
    assert json.loads((tmp_path / "run" / "config.json").read_text())["status"] == "complete"
