"""Gymnasium environments."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import memrl.host  # noqa: F401  (registers the environments)
from memrl.host.navigator.envs import DynamicMazeEnv, MarsRoverEnv, MazeEnv, rover_terrain
from memrl.sim.navigator.maze import Hit, parse_maze

SMALL = parse_maze("#####\n#S.##\n#.#G#\n#...#\n#####\n", "small")
SMALL_B = parse_maze("#####\n#S..#\n#.#G#\n#...#\n#####\n", "small_b")


def test_maze_env_passes_check_env_and_is_registered() -> None:
    check_env(MazeEnv(SMALL, max_steps=20))
    env = gym.make("memrl/Maze-v0", maze=SMALL, max_steps=20)
    obs, info = env.reset(seed=0)
    assert obs == SMALL.cell(1, 1) and info["hit"] == Hit.NONE


def test_moves_walls_goal_and_truncation() -> None:
    env = MazeEnv(SMALL, max_steps=8)
    env.reset()
    obs, r, term, trunc, info = env.step(0)  # N: wall
    assert (obs, r, term, trunc, info["hit"]) == (SMALL.cell(1, 1), -2.0, False, False, Hit.WALL)
    obs, r, *_ = env.step(4)  # S
    assert obs == SMALL.cell(2, 1) and r == -1.0
    obs, r, term, trunc, info = env.step(3)  # SE past the wall corner (3,1)/(2,2)
    assert info["hit"] == Hit.CORNER and obs == SMALL.cell(2, 1)
    env.step(4)  # S to (3,1)
    env.step(2)  # E to (3,2)
    obs, r, term, trunc, info = env.step(1)  # NE past the wall corner (2,2)
    assert info["hit"] == Hit.CORNER and obs == SMALL.cell(3, 2)
    env.step(2)  # E to (3,3)
    obs, r, term, trunc, info = env.step(0)  # N onto the goal
    assert term and not trunc and obs == SMALL.cell(2, 3)
    env.reset()
    for _ in range(8):
        *_, term, trunc, _ = env.step(0)
    assert trunc and not term
    with pytest.raises(ValueError, match=r"action must be an integer in \[0, 7\]"):
        env.step(9)


def test_dynamic_maze_schedule() -> None:
    env = DynamicMazeEnv([SMALL, SMALL_B], switch_at=(2, 4), max_steps=10)
    check_env(DynamicMazeEnv([SMALL, SMALL_B], switch_at=(2, 4), max_steps=10))
    names = []
    env.reset(seed=1)
    names.append(env.layouts[env.layout_index(env.trial)].name)
    for _ in range(5):
        _, info = env.reset()
        names.append(info["layout"])
    assert names == ["small", "small", "small_b", "small_b", "small", "small"]
    _, info = env.reset(options={"trial": 3})
    assert info["trial"] == 3 and info["layout"] == "small_b"
    with pytest.raises(ValueError, match="one shape"):
        DynamicMazeEnv([SMALL, parse_maze("S.\n.G\n")])


def test_mars_rover_terrain_matches_the_published_statistics() -> None:
    h, cost = rover_terrain(0)
    assert cost.shape == (128, 128)
    assert h.min() == pytest.approx(-3.0) and h.max() == pytest.approx(228.0)
    assert abs((cost == 1.0).mean() - 0.72) < 0.001
    assert (cost == 10.0).sum() == 1225
    levels = np.unique(cost)
    np.testing.assert_allclose(np.diff(levels), 0.45, atol=1e-9)
    env = MarsRoverEnv()
    check_env(env)
    obs, _ = env.reset()
    assert obs == 80 * 128 + 12
    _, r, *_ = env.step(2)
    assert r == -cost[80, 13]


def test_rover_cost_file(tmp_path) -> None:  # noqa: ANN001
    cost = np.ones((128, 128))
    np.save(tmp_path / "c.npy", cost)
    env = MarsRoverEnv(cost_file=tmp_path / "c.npy")
    assert env.maze.cost.max() == 1.0
    np.save(tmp_path / "bad.npy", np.zeros((4, 4)))
    with pytest.raises(
        ValueError, match=r"bad.npy: a cost map is a 2-D array of costs in \[1, 10\]"
    ):
        MarsRoverEnv(cost_file=tmp_path / "bad.npy")
