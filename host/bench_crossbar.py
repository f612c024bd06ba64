"""Benchmarks and target experiments of crossbar Q-learning (issue targets in docs/crossbar.md)."""

from __future__ import annotations

import os
import statistics
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import gymnasium as gym
import numpy as np

from .bench import bench, experiment
from .control import DEVICES, make_agent, solved_at, train

SEEDS = 10
CARTPOLE_EPISODES = 600
SOLVE = 475.0  # CartPole-v1: 100-episode mean return


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


@dataclass(frozen=True)
class _Job:
    env_id: str
    agent: str
    preset: str
    seed: int
    episodes: int
    device: str = "realistic"
    stop_at: float | None = None  # stop once the 100-episode mean reaches this
    max_steps: int | None = None


def _run(job: _Job) -> dict:
    def stop(returns: list[float]) -> bool:
        return job.stop_at is not None and solved_at(returns[-100:], job.stop_at) is not None

    _, recs = train(
        job.env_id,
        job.agent,
        job.preset,
        job.seed,
        job.episodes,
        DEVICES[job.device],
        stop=stop,
        max_steps=job.max_steps,
    )
    returns = [r.ret for r in recs]
    steps = sum(r.steps for r in recs)
    pulses = sum(r.pulses for r in recs)
    means = np.convolve(returns, np.ones(100) / 100, "valid") if len(returns) >= 100 else []
    return {
        "returns": returns,
        "solved_at": solved_at(returns, job.stop_at) if job.stop_at else None,
        "best_mean100": float(max(means)) if len(means) else None,
        "steps": steps,
        "pulses": pulses,
        "energy_j": sum(r.energy_j for r in recs),
        "wall_s": sum(r.wall_s for r in recs),
        "reached": [job.max_steps is not None and r.steps < job.max_steps for r in recs],
    }


def _many(jobs: list[_Job]) -> list[dict]:
    with ProcessPoolExecutor(max_workers=min(len(jobs), os.cpu_count() or 1)) as pool:
        return list(pool.map(_run, jobs))


def _summary(runs: list[dict], episodes: int) -> dict:
    solved = [r["solved_at"] for r in runs if r["solved_at"] is not None]
    counted = [r["solved_at"] if r["solved_at"] is not None else episodes + 1 for r in runs]
    steps = sum(r["steps"] for r in runs)
    return {
        "seeds": len(runs),
        "solved_seeds": len(solved),
        "solve_episode_median": statistics.median(counted),  # unsolved counted as budget + 1
        "solve_episodes": [r["solved_at"] for r in runs],
        "best_mean100": [round(r["best_mean100"], 1) if r["best_mean100"] else None for r in runs],
        "pulses_per_step": sum(r["pulses"] for r in runs) / steps,
        "energy_per_step_j": sum(r["energy_j"] for r in runs) / steps,
        "env_steps_per_s": steps / sum(r["wall_s"] for r in runs),
    }


@experiment("crossbar_cartpole_v1")
def _cartpole() -> dict:
    """CartPole-v1, 10 seeds, 600 episodes (a seed stops once solved): the float
    baseline and the crossbar agent on realistic and ideal devices, default preset.
    Targets: crossbar solved in >= 8 of 10 seeds, median episodes <= 1.5x float's."""
    out = {}
    for name, agent, device in (
        ("float", "float", "realistic"),
        ("crossbar_realistic", "crossbar", "realistic"),
        ("crossbar_ideal", "crossbar", "ideal"),
    ):
        jobs = [
            _Job("CartPole-v1", agent, "default", s, CARTPOLE_EPISODES, device, SOLVE)
            for s in range(SEEDS)
        ]
        out[name] = _summary(_many(jobs), CARTPOLE_EPISODES)
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
    fl = _many([_Job("CartPole-v1", "float", "paper", s, 600, stop_at=SOLVE) for s in range(5)])
    xb = _many([_Job("CartPole-v1", "crossbar", "paper", s, 300, stop_at=SOLVE) for s in range(3)])
    return {"float": _summary(fl, 600), "crossbar_realistic": _summary(xb, 300)}


@experiment("crossbar_mountaincar")
def _mountaincar() -> dict:
    """Mountain car, crossbar agent, realistic devices, default preset, 10 seeds.
    The paper's variant: 100 episodes (at most 1,000 steps each); target: the goal in
    each of the last 20. gymnasium MountainCar-v0: 300 episodes; target: mean
    return of the last 20 >= -130."""
    paper = _many(
        [
            _Job("memrl/PaperMountainCar-v0", "crossbar", "default", s, 100, max_steps=1000)
            for s in range(SEEDS)
        ]
    )
    gym_runs = _many([_Job("MountainCar-v0", "crossbar", "default", s, 300) for s in range(SEEDS)])
    return {
        "paper_env": {
            "seeds_all_last20_reached": int(sum(all(r["reached"][-20:]) for r in paper)),
            "last20_reached_fraction": [float(np.mean(r["reached"][-20:])) for r in paper],
            "pulses_per_step": sum(r["pulses"] for r in paper) / sum(r["steps"] for r in paper),
        },
        "gym_env": {
            "last20_mean_return": [round(float(np.mean(r["returns"][-20:])), 1) for r in gym_runs],
            "seeds_meeting_minus130": int(
                sum(np.mean(r["returns"][-20:]) >= -130 for r in gym_runs)
            ),
            "pulses_per_step": sum(r["pulses"] for r in gym_runs)
            / sum(r["steps"] for r in gym_runs),
        },
    }
