"""The planner alone against the golden model's planners, on random knowledge:
the reward path (BFS from the goals, then from the start by the lowest
direction) and the frontier search (BFS from the position to the first
unseen usable place, back along the search tree)."""

from __future__ import annotations

import numpy as np
import pytest

from memrl.rtl.navigator.config import NavigatorConfig
from memrl.sim.navigator.golden import PRESETS, Navigator
from memrl.sim.navigator.maze import Maze
from memrl.sim.navigator.planner_run import run_planner


def _knowledge(rng: np.random.Generator, h: int, w: int, walls: float, optimistic: bool):
    """A navigator whose planner state is random, and a maze with random goals."""
    params = PRESETS["default"] if optimistic else PRESETS["paper"]
    nav = Navigator((h, w), [0], params, engine="numpy")
    P = h * w
    nav.explored[0] = rng.random(P) < 0.85
    nav.seen[0] = rng.random(P) < 0.6
    nav.wall_stamp[0] = np.where(rng.random(P) < walls, rng.integers(0, 5, P), -1)
    taken = rng.random((P, 8)) < 0.3
    taken[:, 0::2] = False
    nav.diag_taken[0] = False
    for x in range(P):  # taken diagonals hold at both ends
        for d in (1, 3, 5, 7):
            y = nav.nbr[x, d]
            if y >= 0 and taken[x, d]:
                nav.diag_taken[0, x, d] = nav.diag_taken[0, y, (d + 4) % 8] = True
    goal = np.zeros((h, w), dtype=bool)
    for _ in range(rng.integers(1, 4)):
        goal[rng.integers(h), rng.integers(w)] = True
    start = (int(rng.integers(h)), int(rng.integers(w)))
    goal[start] = False
    s = start[0] * w + start[1]
    nav.explored[0, s], nav.wall_stamp[0, s] = True, -1  # the agent stands on its start
    maze = Maze(np.zeros((h, w), dtype=bool), start, goal)
    return nav, maze


def _run_planner(
    config: NavigatorConfig, nav: Navigator, maze: Maze, frontier: bool, here: int,
    rmw_too: bool = False,
) -> tuple[list[tuple[int, int, int]], int]:  # fmt: skip
    """The planner's path as (place, direction to the next, last) and its cycles;
    with ``rmw_too``, the same, cycle for cycle, with its row words
    read-modify-write."""
    runs = [
        run_planner(
            config, nav._usable(0), nav.seen[0], maze.goal.reshape(-1), nav.diag_taken[0],
            maze.cell(*maze.start), here, frontier,
            nav.cost_known[0] if config.terrain else None, rmw_rows=rmw,
        )
        for rmw in ((False, True) if rmw_too else (False,))
    ]  # fmt: skip
    assert all(r == runs[0] for r in runs)
    return runs[0].path, runs[0].cycles


def _expected(nav: Navigator, path: list[int] | None) -> list[tuple[int, int, int]]:
    if not path:
        return []
    entries = []
    for i, x in enumerate(path):
        if i + 1 < len(path):
            d = int(np.flatnonzero(nav.nbr[x] == path[i + 1])[0])
            entries.append((x, d, 0))
        else:
            entries.append((x, 0, 1))
    return entries


@pytest.mark.parametrize("optimistic", [True, False])
def test_reward_path_equals_the_golden_bfs(optimistic):
    rng = np.random.default_rng(11 + optimistic)
    h, w = 7, 8
    config = NavigatorConfig(height=h, width=w, reward_path="bfs", optimistic=optimistic)
    found = 0
    for k in range(12):
        nav, maze = _knowledge(rng, h, w, 0.25, optimistic)
        usable = nav._usable(0)
        goals = np.flatnonzero(maze.goal.reshape(-1) & usable)
        path = nav._bfs_path(0, usable, maze.cell(*maze.start), goals)
        got, _ = _run_planner(config, nav, maze, False, 0, rmw_too=k % 3 == 0)
        assert got == _expected(nav, path)
        found += path is not None
    assert found >= 4  # the cases include paths, not only unreachable starts


def test_frontier_path_equals_the_golden_search():
    rng = np.random.default_rng(5)
    h, w = 6, 9
    config = NavigatorConfig(height=h, width=w, boredom=3, optimistic=True)
    lengths = []
    for k in range(12):
        nav, maze = _knowledge(rng, h, w, 0.2, True)
        # from little seen to everything seen (no frontier left)
        nav.seen[0] = rng.random(h * w) < (0.5, 0.9, 0.97, 1.0)[k % 4]
        here = int(rng.integers(h * w))
        nav.seen[0, here] = True
        path = nav.frontier_path(0, here)
        got, _ = _run_planner(config, nav, maze, True, here, rmw_too=k % 3 == 0)
        assert got == _expected(nav, path)
        lengths.append(len(path or []))
    assert max(lengths) >= 4 and min(lengths) == 0  # long paths, and none found


def test_cheapest_path_equals_the_golden_search():
    """Terrain: the cheapest path over learned entry costs (places never entered
    cost one unit), ties to the lowest direction, as the golden model's Dijkstra."""
    rng = np.random.default_rng(17)
    h, w = 7, 9
    config = NavigatorConfig(height=h, width=w, reward_path="bfs", optimistic=True, cost_bits=8)
    found = detours = 0
    for k in range(12):
        nav, maze = _knowledge(rng, h, w, 0.15, True)
        known = rng.random(h * w) < 0.7
        nav.cost_known[0] = np.where(known, rng.choice([20, 40, 100, 200, 255], h * w), 20)
        start = maze.cell(*maze.start)
        path = nav.cheapest_path(0, maze, start)
        got, _ = _run_planner(config, nav, maze, False, 0, rmw_too=k % 3 == 0)
        assert got == _expected(nav, path)
        found += path is not None
        usable = nav._usable(0)
        goals = np.flatnonzero(maze.goal.reshape(-1) & usable)
        shortest = nav._bfs_path(0, usable, start, goals)
        detours += path is not None and len(path) > len(shortest)
    assert found >= 6 and detours >= 1  # paths found, some longer to be cheaper
