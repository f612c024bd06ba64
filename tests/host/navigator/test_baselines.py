"""Baselines learn a small maze; memory-element counts; the shared schedule."""

from __future__ import annotations

import numpy as np

from memrl.host.navigator.baselines import DQN, DQNParams, TabularQ, memory_elements
from memrl.sim.navigator.golden import run_agent
from memrl.sim.navigator.maze import parse_maze

MAZE = parse_maze("#########\n#S..#...#\n#.#.#.#.#\n#.#...#.#\n#.####..#\n#......G#\n#########\n")


def _learn(agent, trials: int) -> np.ndarray:  # noqa: ANN001
    steps = []
    run_agent(agent, [MAZE], [], trials, 200, lambda t, i, r: steps.append(r.steps.copy()))
    return np.array(steps)


def test_tabular_q_learns_the_small_maze() -> None:
    s = _learn(TabularQ(MAZE.shape, range(4)), 60)
    assert s[:5].mean() > 3 * MAZE.shortest_path_length()
    assert np.median(s[-10:]) <= 1.5 * MAZE.shortest_path_length()


def test_dqn_learns_the_small_maze() -> None:
    s = _learn(DQN(MAZE.shape, range(2), DQNParams(eps_decay_steps=3000)), 60)
    assert s[:5].mean() > np.median(s[-10:]) * 2
    assert np.median(s[-10:]) <= 3 * MAZE.shortest_path_length()


def test_same_seed_same_learning() -> None:
    a = _learn(TabularQ(MAZE.shape, [5]), 5)
    b = _learn(TabularQ(MAZE.shape, [5]), 5)
    assert np.array_equal(a, b)


def test_memory_elements() -> None:
    m = memory_elements(np.array([400, 10_000]))
    assert m["navigator"].tolist() == [3600, 90_000]
    assert m["tabular_q"].tolist() == [3200, 80_000]
    assert m["dqn"][0] == 400 * 64 + 64 + 64 * 64 + 64 + 64 * 8 + 8
    assert DQN((3, 3), [0]).n_params() == 9 * 64 + 64 + 64 * 64 + 64 + 64 * 8 + 8
