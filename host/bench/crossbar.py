"""Benchmarks and target experiments of crossbar Q-learning.

The targets are in docs/crossbar/golden-model.md.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import gymnasium as gym
import numpy as np

from memrl.host.bench.registry import bench, experiment
from memrl.host.crossbar.config import ControlRunConfig
from memrl.host.crossbar.control import DEVICES, make_agent
from memrl.host.crossbar.results import load_episodes, summarise
from memrl.host.crossbar.runner import run_control

SEEDS = 10
CARTPOLE_EPISODES = 600


def _steps(agent_kind: str, preset: str):  # noqa: ANN202
    """A unit of work: 250 training steps of an agent that has learnt for a while."""
    env = gym.make("CartPole-v1")
    q = make_agent(env, agent_kind, preset, 0, DEVICES["realistic"])
    state = {"obs": env.reset(seed=0)[0]}

    def work() -> int:
        obs = state["obs"]
        for _ in range(250):
            a = q.act(obs)
            obs2, r, term, trunc, _ = env.step(a)
            q.observe(obs, a, float(r), obs2, bool(term), bool(trunc))
            obs = env.reset()[0] if term or trunc else obs2
        state["obs"] = obs
        return 250

    work()  # the replay memory holds a batch from here on
    return work, 250


@bench("crossbar_env_steps_cartpole", "env-steps")
def _bench_default():
    """Crossbar agent, default preset, realistic devices: CartPole-v1 steps with one
    update and its array writes per step, one core."""
    return _steps("crossbar", "default")


@bench("crossbar_paper_env_steps_cartpole", "env-steps")
def _bench_paper():
    """Crossbar agent, paper preset (every pair written and the array read back per step)."""
    return _steps("crossbar", "paper")


@bench("float_env_steps_cartpole", "env-steps")
def _bench_float():
    """The float baseline, default preset, on the same workload."""
    return _steps("float", "default")


def _run(**config: object) -> tuple[dict, dict[int, dict[str, np.ndarray]]]:
    """A run folder (seeds on a process pool) in a temporary directory: its
    summary and its episodes."""
    with tempfile.TemporaryDirectory() as tmp:
        run_control(ControlRunConfig(**config), Path(tmp), progress=False, figures=False)  # type: ignore[arg-type]
        return summarise(Path(tmp)), load_episodes(Path(tmp))


def _figures(summary: dict, data: dict[int, dict[str, np.ndarray]]) -> dict:
    seeds = summary["per_seed"]
    steps = sum(int(d["steps"].sum()) for d in data.values())
    best = [s["best_mean_100"] for s in seeds]
    return {
        "seeds": summary["seeds"],
        "solved_seeds": summary["seeds_solved"],
        "solve_episode_median": summary["median"]["episodes_to_solve"],  # unsolved: budget + 1
        "solve_episodes": [s["solved_at"] for s in seeds],
        "best_mean100": [round(b, 1) if b is not None else None for b in best],
        "pulses_per_step": sum(int(d["pulses"].sum()) for d in data.values()) / steps,
        "energy_per_step_j": sum(float(d["energy_j"].sum()) for d in data.values()) / steps,
        "env_steps_per_s": steps / sum(float(d["wall_s"].sum()) for d in data.values()),
    }


def _cartpole_run(agent: str, preset: str, device: str, seeds: int, episodes: int) -> dict:
    return _figures(
        *_run(
            task="cartpole",
            agent=agent,
            preset=preset,
            device=device,
            seeds=seeds,
            episodes=episodes,
            stop_when_solved=True,
        )
    )


@experiment("crossbar_cartpole_v1")
def _cartpole() -> dict:
    """CartPole-v1, 10 seeds, 600 episodes (a seed stops once solved): the float
    baseline and the crossbar agent on realistic and ideal devices, default preset.
    Targets: crossbar solved in >= 8 of 10 seeds, median episodes <= 1.5x float's."""
    out = {
        name: _cartpole_run(agent, "default", device, SEEDS, CARTPOLE_EPISODES)
        for name, agent, device in (
            ("float", "float", "realistic"),
            ("crossbar_realistic", "crossbar", "realistic"),
            ("crossbar_ideal", "crossbar", "ideal"),
        )
    }
    out["ratio_realistic_to_float"] = (
        out["crossbar_realistic"]["solve_episode_median"] / out["float"]["solve_episode_median"]
    )
    return out


@experiment("crossbar_cartpole_v1_paper")
def _cartpole_paper() -> dict:
    """The paper's algorithm and write scheme on CartPole-v1: float weights (5 seeds,
    600 episodes) and the crossbar with realistic devices (3 seeds, 300 episodes:
    every pair is written at every step, so it is slow). Reports the best
    100-episode mean and programming pulses per step, for the pulse ratio."""
    return {
        "float": _cartpole_run("float", "paper", "realistic", 5, 600),
        "crossbar_realistic": _cartpole_run("crossbar", "paper", "realistic", 3, 300),
    }


def _reached(d: dict[str, np.ndarray]) -> np.ndarray:
    """Episodes that reached the goal: every step costs -1 except the goal's."""
    return d["return"] > -d["steps"]


@experiment("crossbar_mountaincar")
def _mountaincar() -> dict:
    """Mountain car, crossbar agent, realistic devices, default preset, 10 seeds.
    The paper's variant: 100 episodes (at most 1,000 steps each); target: the goal in
    each of the last 20. gymnasium MountainCar-v0: 300 episodes; target: mean
    return of the last 20 >= -130."""
    common = {"task": "mountaincar", "seeds": SEEDS}
    _, paper = _run(env_id="memrl/PaperMountainCar-v0", episodes=100, max_steps=1000, **common)
    _, gym_runs = _run(env_id="MountainCar-v0", episodes=300, **common)
    last20 = [float(d["return"][-20:].mean()) for d in gym_runs.values()]

    def per_step(runs: dict) -> float:
        return sum(int(d["pulses"].sum()) for d in runs.values()) / sum(
            int(d["steps"].sum()) for d in runs.values()
        )

    return {
        "paper_env": {
            "seeds_all_last20_reached": sum(bool(_reached(d)[-20:].all()) for d in paper.values()),
            "last20_reached_fraction": [float(_reached(d)[-20:].mean()) for d in paper.values()],
            "pulses_per_step": per_step(paper),
        },
        "gym_env": {
            "last20_mean_return": [round(x, 1) for x in last20],
            "seeds_meeting_minus130": sum(x >= -130 for x in last20),
            "pulses_per_step": per_step(gym_runs),
        },
    }
