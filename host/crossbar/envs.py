"""The control tasks of Wang et al. (Nature Electronics 2019) as their code defines them.

``memrl/PaperCartPole-v0``: gymnasium's cart-pole physics (g 9.8 m/s^2, cart
1.0 kg, pole 0.1 kg, half-length 0.5 m, force 10 N, tau 0.02 s, Euler), failure
at 12 degrees or 2.4 m, reward 1 per step, and two differences from
``CartPole-v1``: the pole angle in the observation is scaled by 10 (index 2) and
there is no 500-step cap.

``memrl/PaperMountainCar-v0``: not gymnasium's mountain car. Actions 0, 1, 2
are the paper's a = 1, 2, 3 (push left, none, right); per step::

    v' = v + 0.1 * (-9.8 * 0.2 * cos(3 x) + (a - 2) - 0.5 v)
    x' = x + 0.1 * v'

with an inelastic wall at x = -1.2 (the car stops there), the goal at
x >= 0.5 (reward 0, the episode ends), reward -1 on every other step, and the
start x ~ U(-0.6, -0.4), v = 0. Whether x moves with the new or the old
velocity is not stated in the facts; like gymnasium's car this one uses the new
one (semi-implicit Euler). There is no step cap unless ``max_steps`` is given.

Both are in the project's reference facts, section A ("Reinforcement learning").
"""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.envs.classic_control.cartpole import CartPoleEnv

__all__ = ["PaperCartPoleEnv", "PaperMountainCarEnv", "THETA_SCALE", "register"]

THETA_SCALE = 10.0  # the paper's code scales the pole angle by 10 in the observation


class PaperCartPoleEnv(CartPoleEnv):
    """CartPole with the pole angle scaled by 10 in the observation, no step cap."""

    def __init__(self, render_mode: str | None = None) -> None:
        super().__init__(render_mode=render_mode)
        high = self.observation_space.high.copy()
        high[2] *= THETA_SCALE
        self.observation_space = spaces.Box(-high, high, dtype=np.float32)

    def _scaled(self, obs: np.ndarray) -> np.ndarray:
        out = np.array(obs, dtype=np.float32)
        out[2] *= np.float32(THETA_SCALE)
        return out

    def reset(self, *, seed: int | None = None, options: dict | None = None):  # noqa: ANN201
        obs, info = super().reset(seed=seed, options=options)
        return self._scaled(obs), info

    def step(self, action):  # noqa: ANN001, ANN201
        obs, reward, terminated, truncated, info = super().step(action)
        return self._scaled(obs), reward, terminated, truncated, info


class PaperMountainCarEnv(gym.Env):
    """The mountain car of the paper's code (see the module docstring)."""

    metadata = {"render_modes": ["ansi"], "render_fps": 30}
    X_MIN, X_GOAL = -1.2, 0.5
    # |v| stays below 0.1 * 2.96 / 0.05 = 5.92 (damped, bounded force).
    V_MAX = 6.0

    def __init__(self, max_steps: int | None = None, render_mode: str | None = None) -> None:
        if max_steps is not None and max_steps < 1:
            raise ValueError(f"max_steps must be >= 1 or None (got {max_steps})")
        self.max_steps = max_steps
        self.render_mode = render_mode
        low = np.array([self.X_MIN, -self.V_MAX], dtype=np.float32)
        high = np.array([self.X_GOAL + 0.1 * self.V_MAX, self.V_MAX], dtype=np.float32)
        self.observation_space = spaces.Box(low, high, dtype=np.float32)
        self.action_space = spaces.Discrete(3)
        self.state: tuple[float, float] | None = None
        self.steps = 0

    def reset(self, *, seed: int | None = None, options: dict | None = None):  # noqa: ANN201
        super().reset(seed=seed)
        self.state = (float(self.np_random.uniform(-0.6, -0.4)), 0.0)
        self.steps = 0
        return self._obs(), {}

    def _obs(self) -> np.ndarray:
        assert self.state is not None
        return np.array(self.state, dtype=np.float32)

    def step(self, action):  # noqa: ANN001, ANN201
        if not self.action_space.contains(action):
            raise ValueError(f"action must be 0, 1 or 2 (got {action!r})")
        if self.state is None:
            raise RuntimeError("call reset() before step()")
        x, v = self.state
        a = int(action) + 1
        v = v + 0.1 * (-9.8 * 0.2 * math.cos(3.0 * x) + (a - 2) - 0.5 * v)
        x = x + 0.1 * v
        if x < self.X_MIN:  # inelastic wall
            x, v = self.X_MIN, 0.0
        self.state = (x, v)
        self.steps += 1
        terminated = x >= self.X_GOAL
        truncated = not terminated and self.max_steps is not None and self.steps >= self.max_steps
        reward = 0.0 if terminated else -1.0
        return self._obs(), reward, terminated, truncated, {}

    def render(self) -> str | None:
        if self.render_mode != "ansi" or self.state is None:
            return None
        x, v = self.state
        col = int(round((x - self.X_MIN) / (self.X_GOAL - self.X_MIN) * 40))
        track = ["-"] * 41
        track[-1] = "G"
        track[max(0, min(40, col))] = "o"
        return "".join(track) + f"  x={x:+.3f} v={v:+.3f}"


def register() -> None:
    """Register the environments with gymnasium (idempotent); no step caps."""
    for env_id, entry in (
        ("memrl/PaperCartPole-v0", "memrl.host.crossbar.envs:PaperCartPoleEnv"),
        ("memrl/PaperMountainCar-v0", "memrl.host.crossbar.envs:PaperMountainCarEnv"),
    ):
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point=entry)


register()
