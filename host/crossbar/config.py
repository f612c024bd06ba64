"""The configuration of a cart-pole or mountain-car run, and what solving a task means.

:class:`ControlRunConfig` is one experiment: the task and environment, the agent
and its preset, the device set with single overrides, the episodes, seeds and
backend; an invalid value raises :class:`ConfigError` naming the field. What
"solved" means depends on the environment: :data:`SOLVE_RULES`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

import gymnasium as gym
import numpy as np

from memrl.host.crossbar.backends import BACKENDS, CROSSBAR_BACKENDS, parse_backend
from memrl.host.crossbar.control import DEVICES, DeviceSettings, solved_at
from memrl.host.crossbar.qlearn import PRESETS

__all__ = [
    "AGENTS",
    "BACKENDS",
    "SOLVE_RULES",
    "SWEEP_PARAMS",
    "TASK_ENVS",
    "ConfigError",
    "ControlRunConfig",
    "SolveRule",
    "solve_rule",
]

TASK_ENVS: dict[str, str] = {"cartpole": "CartPole-v1", "mountaincar": "MountainCar-v0"}
AGENTS: tuple[str, ...] = ("crossbar", "float")
SWEEP_PARAMS: tuple[str, ...] = ("adc_bits", "c2c_frac", "stuck_rate", "drift_nu")


class ConfigError(ValueError):
    """A bad configuration value; ``param`` is the name of the field at fault."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param


@dataclass(frozen=True)
class SolveRule:
    """When a seed counts as having solved its task.

    ``kind``:

    * ``mean``: the mean return of the last ``window`` episodes reaches ``threshold``;
    * ``long_episode``: an episode lasts more than ``threshold`` steps;
    * ``streak``: ``window`` consecutive episodes reach the goal. An episode
      reached the goal when its return exceeds ``-steps`` (every step costs -1
      except the one that reaches the goal, which pays 0).

    ``stops``: whether ``stop_when_solved`` ends a seed's training at the
    episode that meets the rule (otherwise the rule is only reported).
    ``max_steps``: the episode cap the run uses when the configuration gives
    none (an environment without its own cap needs one).
    """

    kind: Literal["mean", "long_episode", "streak"]
    threshold: float
    window: int
    stops: bool
    text: str
    max_steps: int | None = None

    def met(self, returns: Sequence[float], steps: Sequence[int]) -> bool:
        """Whether the rule holds at the last episode of ``returns``/``steps``."""
        if self.kind == "mean":
            return len(returns) >= self.window and (
                float(np.mean(returns[-self.window :])) >= self.threshold
            )
        if self.kind == "long_episode":
            return bool(steps) and steps[-1] > self.threshold
        return len(returns) >= self.window and all(
            r > -s for r, s in zip(returns[-self.window :], steps[-self.window :], strict=True)
        )

    def solved_at(self, returns: Sequence[float], steps: Sequence[int]) -> int | None:
        """The first episode (from 1) at which the rule holds, or None."""
        r = np.asarray(returns, dtype=np.float64)
        s = np.asarray(steps, dtype=np.float64)
        if self.kind == "mean":
            return solved_at(returns, self.threshold, self.window)
        if self.kind == "long_episode":
            hit = np.flatnonzero(s > self.threshold)
            return int(hit[0]) + 1 if hit.size else None
        run = 0
        for i, ok in enumerate(r > -s):
            run = run + 1 if ok else 0
            if run >= self.window:
                return i + 1
        return None

    def return_line(self) -> float | None:
        """The return that marks the rule on a learning curve, if it has one."""
        if self.kind == "mean":
            return self.threshold
        if self.kind == "long_episode":  # cart-pole: one point per step
            return self.threshold
        return None


#: The solve rule of each known environment. ``CartPole-v1``: gymnasium's
#: threshold, a 100-episode mean return of 475. ``MountainCar-v0``: a mean
#: return of -130 over 20 episodes, reported but not a reason to stop.
#: ``memrl/PaperCartPole-v0``: an episode of more than 1000 steps, where the
#: paper stops training (the environment has no cap, so runs cap episodes at
#: 1001 steps). ``memrl/PaperMountainCar-v0``: 20 consecutive episodes that
#: reach the goal (episodes capped at 1000 steps unless configured otherwise,
#: so that "reaching the goal" can fail). Any other environment: gymnasium's
#: ``reward_threshold`` as a 100-episode mean, if it has one (:func:`solve_rule`).
SOLVE_RULES: dict[str, SolveRule] = {
    "CartPole-v1": SolveRule("mean", 475.0, 100, True, "100-episode mean return >= 475"),
    "MountainCar-v0": SolveRule(
        "mean", -130.0, 20, False, "20-episode mean return >= -130 (reported only)"
    ),
    "memrl/PaperCartPole-v0": SolveRule(
        "long_episode", 1000, 1, True, "an episode of more than 1000 steps", max_steps=1001
    ),
    "memrl/PaperMountainCar-v0": SolveRule(
        "streak", 0.0, 20, True, "20 consecutive episodes reaching the goal", max_steps=1000
    ),
}


def solve_rule(env_id: str) -> SolveRule | None:
    """The rule of :data:`SOLVE_RULES`, else one from gymnasium's reward threshold."""
    if env_id in SOLVE_RULES:
        return SOLVE_RULES[env_id]
    spec = gym.registry.get(env_id)
    thr = getattr(spec, "reward_threshold", None)
    if thr is None:
        return None
    return SolveRule("mean", float(thr), 100, True, f"100-episode mean return >= {thr:g}")


@dataclass(frozen=True)
class ControlRunConfig:
    """One control-task experiment: ``seeds`` agents trained for ``episodes`` episodes.

    ``env_id`` None means the task's environment (:data:`TASK_ENVS`); ``max_steps``
    None means the environment's own episode cap, or the solve rule's cap for
    environments without one (:data:`SOLVE_RULES`). ``device`` names a set of
    :data:`~memrl.host.crossbar.control.DEVICES`; ``adc_bits``, ``c2c_frac``,
    ``stuck_rate`` and ``drift_nu`` override single settings of it (None keeps
    them); ``pass_samples`` and ``program_entries`` split the crossbar's forward
    passes and writes into pieces (a board built with a smaller engine; see
    ``CrossbarConfig``). ``watch`` lists the episodes whose states and array are saved.
    ``jobs`` is the number of worker processes (None: one per seed, at most one
    per CPU; 1 runs in this process).
    """

    task: str = "cartpole"
    env_id: str | None = None
    agent: str = "crossbar"
    preset: str = "default"
    device: str = "realistic"
    adc_bits: int | None = None
    c2c_frac: float | None = None
    stuck_rate: float | None = None
    drift_nu: float | None = None
    pass_samples: int | None = None
    program_entries: int | None = None
    episodes: int = 600
    seeds: int = 10
    first_seed: int = 0
    backend: str = "golden"
    stop_when_solved: bool = False
    max_steps: int | None = None
    watch: tuple[int, ...] = ()
    jobs: int | None = None

    def __post_init__(self) -> None:
        if self.task not in TASK_ENVS:
            raise ConfigError(
                "task", f"task must be one of {sorted(TASK_ENVS)} (got {self.task!r})"
            )
        if self.env_id is None:
            object.__setattr__(self, "env_id", TASK_ENVS[self.task])
        _check_env(self.env_id)
        for task, marker in (("cartpole", "CartPole"), ("mountaincar", "MountainCar")):
            if task != self.task and marker in self.env_id:
                raise ConfigError(
                    "env_id",
                    f"{self.env_id} is the {task} task's environment: run it with "
                    f"memrl {task} run (this is memrl {self.task})",
                )
        if self.agent not in AGENTS:
            raise ConfigError("agent", f"agent must be one of {list(AGENTS)} (got {self.agent!r})")
        if self.agent != "crossbar":  # the device settings would be recorded and ignored
            for name in ("adc_bits", "c2c_frac", "stuck_rate", "drift_nu", "pass_samples",
                         "program_entries"):  # fmt: skip
                if getattr(self, name) is not None:
                    raise ConfigError(
                        name, f"{name} sets the crossbar's devices; the {self.agent} agent has none"
                    )
            if self.device != "realistic":
                raise ConfigError(
                    "device", f"the {self.agent} agent has no devices (got device {self.device!r})"
                )
        if self.preset not in PRESETS:
            raise ConfigError(
                "preset", f"preset must be one of {sorted(PRESETS)} (got {self.preset!r})"
            )
        if self.device not in DEVICES:
            raise ConfigError(
                "device", f"device must be one of {sorted(DEVICES)} (got {self.device!r})"
            )
        try:
            backend = parse_backend(self.backend)
        except ValueError:
            raise ConfigError(
                "backend", f"backend must be one of {list(BACKENDS)} (got {self.backend!r})"
            ) from None
        entry = CROSSBAR_BACKENDS.entry(backend)
        if entry.board and (self.device != "emulator" or self.seeds != 1):
            raise ConfigError(
                "backend",
                f"a board runs one agent on its emulated array: backend {backend.kind}:PORT "
                f"needs device 'emulator' and one seed (got {self.device!r}, {self.seeds} seeds)",
            )
        if entry.has_engine and self.agent != "crossbar":
            models = " or ".join(repr(n) for n, e in CROSSBAR_BACKENDS.items() if not e.has_engine)
            raise ConfigError(
                "backend",
                f"the {self.agent} agent has no crossbar engine: use backend {models} "
                f"(got {self.backend!r})",
            )
        _check_int("episodes", self.episodes, 1)
        _check_int("seeds", self.seeds, 1)
        _check_int("first_seed", self.first_seed, 0)
        for name in ("max_steps", "pass_samples", "program_entries"):
            if getattr(self, name) is not None:
                _check_int(name, getattr(self, name), 1)
        if self.jobs is not None:
            _check_int("jobs", self.jobs, 1)
        object.__setattr__(self, "watch", tuple(self.watch))
        for e in self.watch:
            if not isinstance(e, int) or not 1 <= e <= self.episodes:
                raise ConfigError(
                    "watch",
                    f"watch must list episodes in [1, {self.episodes}] (got {list(self.watch)})",
                )
        if self.adc_bits is not None and (
            not isinstance(self.adc_bits, int) or not 2 <= self.adc_bits <= 16
        ):
            raise ConfigError("adc_bits", f"adc_bits must be in [2, 16] (got {self.adc_bits})")
        for name, hi in (("c2c_frac", math.inf), ("stuck_rate", 1.0), ("drift_nu", math.inf)):
            v = getattr(self, name)
            if v is not None and not (isinstance(v, int | float) and 0 <= v <= hi):
                rng = "[0, 1]" if hi == 1.0 else ">= 0"
                raise ConfigError(name, f"{name} must be {rng} (got {v})")
        if self.device == "emulator":
            for name in ("stuck_rate", "drift_nu"):
                if getattr(self, name):
                    raise ConfigError(
                        name,
                        f"the emulator device has no faults or drift: {name} must be 0 or "
                        f"unset (got {getattr(self, name)})",
                    )

    @property
    def seed_list(self) -> list[int]:
        return list(range(self.first_seed, self.first_seed + self.seeds))

    @property
    def workers(self) -> int:
        """The number of worker processes a run uses."""
        return self.jobs if self.jobs is not None else min(self.seeds, os.cpu_count() or 1)

    @property
    def episode_cap(self) -> int | None:
        """``max_steps``, or the solve rule's cap when there is none."""
        if self.max_steps is not None:
            return self.max_steps
        rule = solve_rule(self.env_id or "")
        return rule.max_steps if rule else None

    def device_settings(self) -> DeviceSettings:
        """The named device set with this configuration's overrides."""
        over = {
            k: getattr(self, k)
            for k in (*SWEEP_PARAMS, "pass_samples", "program_entries")
            if getattr(self, k) is not None
        }
        return replace(DEVICES[self.device], **over)


def _check_int(name: str, value: object, lo: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < lo:
        raise ConfigError(name, f"{name} must be an integer >= {lo} (got {value!r})")


def _check_env(env_id: str) -> None:
    """Raise unless ``env_id`` is registered with a discrete action space and a flat Box."""
    if env_id not in gym.registry:
        raise ConfigError("env_id", f"env_id {env_id!r} is not a registered gymnasium environment")
    try:
        env = gym.make(env_id)
    except Exception as exc:  # noqa: BLE001  (any failure to build it is a bad env id)
        raise ConfigError("env_id", f"env_id {env_id!r} cannot be made: {exc}") from exc
    try:
        if not isinstance(env.action_space, gym.spaces.Discrete):
            raise ConfigError(
                "env_id",
                f"env_id {env_id!r} needs a Discrete action space (has {env.action_space})",
            )
        obs = env.observation_space
        if not isinstance(obs, gym.spaces.Box) or len(obs.shape) != 1:
            raise ConfigError(
                "env_id", f"env_id {env_id!r} needs a 1-D Box observation space (has {obs})"
            )
    finally:
        env.close()
