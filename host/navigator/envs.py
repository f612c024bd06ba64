"""Gymnasium environments: ``memrl/Maze-v0``, ``memrl/DynamicMaze-v0``, ``memrl/MarsRover-v0``.

Observation: the agent's place, ``Discrete(rows * cols)`` (cell index
``r * cols + c``: one place per grid cell, as the navigator's one-hot input).
Action: ``Discrete(8)``, the directions N, NE, E, SE, S, SW, W, NW. A move into a
wall, off the grid, or diagonally past a wall corner leaves the agent in place
and is penalised. Reward: minus the cost of the place entered (1 in a maze,
1-10 on the rover's terrain), ``-(1 + wall_penalty)`` for a blocked move. The
episode (a trial) terminates at a goal place and is truncated after
``max_steps`` steps. ``info`` carries ``hit`` (a :class:`~memrl.sim.navigator.maze.Hit`
code), ``steps`` and, for the dynamic maze, ``trial`` and ``layout``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from memrl.sim.navigator.maze import Hit, Maze, load_maze, shipped

__all__ = ["MazeEnv", "DynamicMazeEnv", "MarsRoverEnv", "rover_terrain", "load_rover", "register"]

ROVER_SIZE = 128
ROVER_START = (80, 12)  # Bianchi et al. 2023, Fig. 5
ROVER_GOAL = (60, 109)
ROVER_COST_STEP = 0.45  # cost 1 ... 10 in steps of 0.45
ROVER_FRACTION_COST_1 = 0.72
ROVER_CELLS_COST_10 = 1225


def _as_maze(maze: Maze | str | Path) -> Maze:
    if isinstance(maze, Maze):
        return maze
    path = Path(maze)
    return load_maze(path) if path.suffix or path.exists() else shipped(str(maze))


class MazeEnv(gym.Env):
    metadata = {"render_modes": ["ansi"], "render_fps": 10}

    def __init__(
        self,
        maze: Maze | str | Path = "dynamic_a",
        max_steps: int = 600,
        wall_penalty: float = 1.0,
        render_mode: str | None = None,
    ) -> None:
        self.maze = _as_maze(maze)
        if max_steps < 1:
            raise ValueError(f"max_steps must be >= 1 (got {max_steps})")
        self.max_steps = int(max_steps)
        self.wall_penalty = float(wall_penalty)
        self.render_mode = render_mode
        self.observation_space = spaces.Discrete(self.maze.n_cells)
        self.action_space = spaces.Discrete(8)
        self._use(self.maze)
        self.pos = self.maze.cell(*self.maze.start)
        self.steps = 0

    def _use(self, maze: Maze) -> None:
        if maze.n_cells != self.observation_space.n:
            raise ValueError(
                f"layout {maze.name!r} has {maze.shape}, the environment's shape differs"
            )
        self.maze = maze
        self._target, self._hit = maze.move_table()
        self._goal = maze.goal.reshape(-1)
        self._cost = (
            np.ones(maze.n_cells) if maze.cost is None else np.asarray(maze.cost).reshape(-1)
        )

    def _info(self, hit: int) -> dict:
        return {"hit": hit, "steps": self.steps, "layout": self.maze.name}

    def reset(self, *, seed: int | None = None, options: dict | None = None):  # noqa: ANN201
        super().reset(seed=seed)
        self.pos = self.maze.cell(*self.maze.start)
        self.steps = 0
        return self.pos, self._info(Hit.NONE)

    def step(self, action):  # noqa: ANN001, ANN201
        if not self.action_space.contains(action):
            raise ValueError(f"action must be an integer in [0, 7] (got {action!r})")
        a = int(action)
        hit = int(self._hit[self.pos, a])
        self.steps += 1
        if hit == Hit.NONE:
            self.pos = int(self._target[self.pos, a])
            reward = -float(self._cost[self.pos])
        else:
            reward = -(1.0 + self.wall_penalty)
        terminated = bool(self._goal[self.pos])
        truncated = not terminated and self.steps >= self.max_steps
        return self.pos, reward, terminated, truncated, self._info(hit)

    def render(self) -> str | None:
        if self.render_mode != "ansi":
            return None
        rows = [list(line) for line in self.maze.to_text().splitlines()]
        r, c = self.maze.rc(self.pos)
        rows[r][c] = "@"
        return "\n".join("".join(row) for row in rows) + "\n"


class DynamicMazeEnv(MazeEnv):
    """A schedule of layouts: at each trial in ``switch_at`` the next layout
    (cyclically) takes over. Every ``reset`` starts the next trial; a reset with a
    ``seed`` starts the schedule over at trial 0; ``options={"trial": t}`` jumps to
    trial ``t``. Default: the shipped pair,
    A for trials 0-39, B for 40-79, A again from 80."""

    def __init__(
        self,
        layouts: Sequence[Maze | str | Path] = ("dynamic_a", "dynamic_b"),
        switch_at: Sequence[int] = (40, 80),
        max_steps: int = 600,
        wall_penalty: float = 1.0,
        render_mode: str | None = None,
    ) -> None:
        self.layouts = [_as_maze(m) for m in layouts]
        if not self.layouts:
            raise ValueError("layouts must name at least one maze")
        shapes = {m.shape for m in self.layouts}
        if len(shapes) != 1:
            raise ValueError(f"all layouts must have one shape (got {sorted(shapes)})")
        self.switch_at = sorted(int(t) for t in switch_at)
        super().__init__(self.layouts[0], max_steps, wall_penalty, render_mode)
        self.trial = -1

    def layout_index(self, trial: int) -> int:
        return sum(1 for t in self.switch_at if t <= trial) % len(self.layouts)

    def reset(self, *, seed: int | None = None, options: dict | None = None):  # noqa: ANN201
        if options and "trial" in options:
            self.trial = int(options["trial"])
        else:
            self.trial = 0 if seed is not None else self.trial + 1
        self._use(self.layouts[self.layout_index(self.trial)])
        return super().reset(seed=seed, options=options)

    def _info(self, hit: int) -> dict:
        info = super()._info(hit)
        info.update(trial=self.trial, layout_index=self.layout_index(max(self.trial, 0)))
        return info


def rover_terrain(seed: int = 0, size: int = ROVER_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """A seeded fractal height map (-3 to 228, the paper's range) and its cost map.

    Height: spectral synthesis with a 1/f^2 power spectrum (fractional Brownian
    surface). Cost grows with the local slope and is matched to the published
    statistics by rank: the flattest 72 % cost 1, the steepest 1,225 cells cost 10,
    and the rest fill the levels 1.45 ... 9.55 in steps of 0.45 in equal numbers.
    """
    rng = np.random.default_rng(seed)
    fy = np.fft.fftfreq(size)[:, None]
    fx = np.fft.fftfreq(size)[None, :]
    f = np.sqrt(fx * fx + fy * fy)
    f[0, 0] = 1.0
    spectrum = (rng.standard_normal((size, size)) + 1j * rng.standard_normal((size, size))) / f**2
    spectrum[0, 0] = 0
    h = np.real(np.fft.ifft2(spectrum))
    h = -3.0 + (h - h.min()) / (h.max() - h.min()) * 231.0
    gy, gx = np.gradient(h)
    slope = np.hypot(gx, gy)
    order = np.argsort(slope, axis=None, kind="stable")
    n = size * size
    n10 = ROVER_CELLS_COST_10 if size == ROVER_SIZE else round(n * ROVER_CELLS_COST_10 / 16384)
    n1 = round(n * ROVER_FRACTION_COST_1)
    levels = np.zeros(n)
    middle = n - n1 - n10
    levels[order[n1 : n1 + middle]] = 1 + np.arange(middle) * 19 // middle  # levels 1..19
    levels[order[n - n10 :]] = 20
    cost = (1.0 + ROVER_COST_STEP * levels).reshape(size, size)
    return h, np.round(cost, 2)


def load_rover(path: str | Path) -> np.ndarray:
    """A cost map from ``.npy`` or comma-separated text; costs must be in [1, 10]."""
    path = Path(path)
    try:
        cost = np.load(path) if path.suffix == ".npy" else np.loadtxt(path, delimiter=",")
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: cannot read a cost map: {exc}") from exc
    if cost.ndim != 2 or not np.all((cost >= 1) & (cost <= 10)):
        raise ValueError(f"{path}: a cost map is a 2-D array of costs in [1, 10]")
    return cost


class MarsRoverEnv(MazeEnv):
    """The rover map: 128 x 128 terrain, start (80, 12), goal (60, 109), no walls."""

    def __init__(
        self,
        terrain_seed: int = 0,
        cost_file: str | Path | None = None,
        max_steps: int = 2000,
        render_mode: str | None = None,
    ) -> None:
        cost = load_rover(cost_file) if cost_file else rover_terrain(terrain_seed)[1]
        walls = np.zeros(cost.shape, dtype=bool)
        goal = np.zeros(cost.shape, dtype=bool)
        goal[ROVER_GOAL] = True
        maze = Maze(walls, ROVER_START, goal, name="mars_rover", cost=cost)
        super().__init__(maze, max_steps, wall_penalty=1.0, render_mode=render_mode)


def register() -> None:
    """Register the environments with gymnasium (idempotent)."""
    for env_id, entry in (
        ("memrl/Maze-v0", "memrl.host.navigator.envs:MazeEnv"),
        ("memrl/DynamicMaze-v0", "memrl.host.navigator.envs:DynamicMazeEnv"),
        ("memrl/MarsRover-v0", "memrl.host.navigator.envs:MarsRoverEnv"),
    ):
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point=entry)


register()
