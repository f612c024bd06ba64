"""The paper's cart-pole and mountain car (Wang et al. 2019, reference facts A)."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import memrl.host  # noqa: F401  (registers the environments)
from memrl.host.crossbar.envs import THETA_SCALE, PaperCartPoleEnv, PaperMountainCarEnv


def test_both_pass_check_env_and_are_registered() -> None:
    check_env(PaperCartPoleEnv(), skip_render_check=True)
    check_env(PaperMountainCarEnv(max_steps=50), skip_render_check=True)
    for env_id in ("memrl/PaperCartPole-v0", "memrl/PaperMountainCar-v0"):
        env = gym.make(env_id)
        env.reset(seed=0)
        assert env.spec.max_episode_steps is None  # no step cap


def test_cartpole_is_gymnasium_physics_with_theta_scaled() -> None:
    ours, ref = PaperCartPoleEnv(), gym.make("CartPole-v1").unwrapped
    a, _ = ours.reset(seed=7)
    b, _ = ref.reset(seed=7)
    rng = np.random.default_rng(3)
    for _ in range(200):
        np.testing.assert_array_equal(a[[0, 1, 3]], b[[0, 1, 3]])
        assert a[2] == np.float32(b[2] * np.float32(THETA_SCALE))
        act = int(rng.integers(2))
        a, ra, ta, *_ = ours.step(act)
        b, rb, tb, *_ = ref.step(act)
        assert (ra, ta) == (rb, tb)
        if ta:
            break
    assert ta  # random pushes topple the pole within 200 steps


def test_cartpole_runs_past_500_steps() -> None:
    """A PD controller balances the pole; the paper's task has no 500-step cap."""
    env = gym.make("memrl/PaperCartPole-v0")
    obs, _ = env.reset(seed=1)
    steps, term = 0, False
    while steps < 1200 and not term:
        theta, theta_dot, x, x_dot = obs[2] / THETA_SCALE, obs[3], obs[0], obs[1]
        act = int(theta + 0.3 * theta_dot + 0.01 * x + 0.05 * x_dot > 0)
        obs, r, term, trunc, _ = env.step(act)
        assert r == 1.0 and not trunc
        steps += 1
    assert steps == 1200 and not term


def test_mountain_car_step_by_hand() -> None:
    env = PaperMountainCarEnv()
    env.reset(seed=0)
    env.state = (-0.5, 0.2)
    obs, r, term, trunc, _ = env.step(2)  # a = 3: push right
    v = 0.2 + 0.1 * (-9.8 * 0.2 * math.cos(-1.5) + 1 - 0.1)
    assert obs[1] == np.float32(v) and obs[0] == np.float32(-0.5 + 0.1 * v)
    assert (r, term, trunc) == (-1.0, False, False)


def test_mountain_car_wall_goal_start_and_cap() -> None:
    env = PaperMountainCarEnv(max_steps=3)
    starts = [env.reset(seed=s)[0] for s in range(200)]
    assert all(-0.6 <= x <= -0.4 and v == 0 for x, v in starts)
    env.state = (-1.15, -1.0)
    obs, *_ = env.step(0)
    assert tuple(obs) == (np.float32(-1.2), 0.0)  # inelastic wall
    env.state = (0.45, 1.0)
    obs, r, term, trunc, _ = env.step(1)
    assert obs[0] >= 0.5 and (r, term, trunc) == (0.0, True, False)
    env.reset(seed=0)
    outcomes = [env.step(1)[3] for _ in range(3)]
    assert outcomes == [False, False, True]  # truncated at max_steps
    with pytest.raises(ValueError, match="action"):
        env.step(3)
    with pytest.raises(ValueError, match="max_steps"):
        PaperMountainCarEnv(max_steps=0)


def test_mountain_car_is_solvable_by_pumping_energy() -> None:
    """Push in the direction of motion: the goal is reached, so the dynamics and
    the goal test fit together."""
    env = PaperMountainCarEnv(max_steps=500)
    obs, _ = env.reset(seed=4)
    for _ in range(500):
        obs, r, term, trunc, _ = env.step(2 if obs[1] >= 0 else 0)
        if term or trunc:
            break
    assert term and r == 0.0
