"""Control-task experiments: a run folder per configuration, and sweeps of one non-ideality.

:func:`run_control` trains ``seeds`` agents (one :func:`~memrl.host.crossbar.control.train`
call per seed, in worker processes when ``jobs > 1``) and writes into a folder:

* ``config.json``: the configuration, the resolved settings, and ``status``
  (``running``, then ``done``, ``interrupted`` or ``failed`` with the error);
* ``episodes.csv``: one row per episode (:func:`~memrl.host.crossbar.control.episode_fields`),
  appended and flushed as each episode finishes, whichever seed it belongs to,
  so an interrupted run keeps every episode it finished;
* ``views/seed{S}_ep{E}.npz``: the watched episodes (states, actions, losses and
  the array's state at the episode's end);
* at the end: ``summary.json`` (:func:`summarise`) and the figures of
  :mod:`memrl.host.crossbar.plots`.

:func:`run_sweep` repeats a run for each value of one device setting
(``adc_bits``, ``c2c_frac``, ``stuck_rate`` or ``drift_nu``) into
``{param}={value}/`` sub-folders and compares them in ``sweep.csv`` and
``sweep.png``.

What "solved" means depends on the environment: :data:`SOLVE_RULES`.
"""

from __future__ import annotations

import concurrent.futures as cf
import csv
import json
import math
import os
import queue as queue_mod
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from multiprocessing.managers import SyncManager
from pathlib import Path
from typing import Any, Literal

import gymnasium as gym
import numpy as np

from memrl.host.crossbar.control import (
    DEVICES,
    DeviceSettings,
    Episode,
    episode_fields,
    episode_row,
    resolve_preset,
    solved_at,
    train,
)
from memrl.host.crossbar.qlearn import PRESETS
from memrl.host.navigator.backends import CONTROL_BACKENDS, parse_backend

__all__ = [
    "BACKENDS",
    "SOLVE_RULES",
    "SWEEP_PARAMS",
    "TASK_ENVS",
    "ConfigError",
    "ControlRunConfig",
    "SolveRule",
    "compare_runs",
    "load_episodes",
    "run_control",
    "run_sweep",
    "solve_rule",
    "summarise",
]

TASK_ENVS: dict[str, str] = {"cartpole": "CartPole-v1", "mountaincar": "MountainCar-v0"}
BACKENDS: tuple[str, ...] = CONTROL_BACKENDS  # memrl.host.navigator.backends
AGENTS: tuple[str, ...] = ("crossbar", "float")
SWEEP_PARAMS: tuple[str, ...] = ("adc_bits", "c2c_frac", "stuck_rate", "drift_nu")
FINAL_WINDOW = 20  # episodes in the summary's "final mean"
BEST_WINDOW = 100  # episodes in the summary's "best mean"


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
        if self.agent not in AGENTS:
            raise ConfigError("agent", f"agent must be one of {list(AGENTS)} (got {self.agent!r})")
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
        if backend.kind == "serial" and (self.device != "emulator" or self.seeds != 1):
            raise ConfigError(
                "backend",
                "a board runs one agent on its emulated array: backend serial:PORT needs "
                f"device 'emulator' and one seed (got {self.device!r}, {self.seeds} seeds)",
            )
        if self.backend != "golden" and self.agent != "crossbar":
            raise ConfigError(
                "backend",
                f"the {self.agent} agent has no crossbar engine: use backend 'golden' "
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


# -- running ------------------------------------------------------------------


def _ignore_sigint() -> None:
    """Worker-side: leave Ctrl-C to the parent (which stops the workers)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _train_seed(
    config: ControlRunConfig,
    seed: int,
    views_dir: str,
    emit: Callable[[Episode], None],
    halt: Callable[[], bool],
    engine: Callable | None = None,
) -> int:
    """Train one seed; ``emit`` gets every episode, ``halt()`` ends the run early.
    Returns the number of episodes run. ``engine`` (default: the one
    ``config.backend`` names) makes the crossbar's digital side; a simulator
    backend runs the seed inside a cocotb process, except Verilator with the
    emulator device (:mod:`memrl.sim.crossbar.verilated`)."""
    backend = parse_backend(config.backend)
    if engine is None and backend.kind == "verilator" and config.device == "emulator":
        # The design holds the whole array: Verilator runs in this process, a call
        # per command, rather than under cocotb, which serves a 1T1R model per word.
        from memrl.sim.crossbar.verilated import verilated_engine

        engine = verilated_engine()
    if engine is None and backend.kind in ("icarus", "verilator"):
        from memrl.host.crossbar.cocotb_backend import control_seed

        return control_seed(config, seed, views_dir, emit)
    if engine is None and backend.kind == "amaranth":
        from memrl.sim.crossbar.session import amaranth_engine

        engine = amaranth_engine()
    if engine is None and backend.kind == "serial":
        from memrl.host.crossbar.commands import link_engine
        from memrl.host.navigator.backends import SIMBOARD_TIMEOUT_S

        engine = link_engine(backend.port, timeout_s=SIMBOARD_TIMEOUT_S)
    rule = solve_rule(config.env_id or "")
    stop_rule = rule if config.stop_when_solved and rule is not None and rule.stops else None
    returns: list[float] = []
    steps: list[int] = []

    def on_episode(rec: Episode) -> None:
        returns.append(rec.ret)
        steps.append(rec.steps)
        emit(rec)

    def stop(_returns: list[float]) -> bool:
        return halt() or (stop_rule is not None and stop_rule.met(returns, steps))

    def on_watch(ep: int, view: dict) -> None:
        path = Path(views_dir) / f"seed{seed}_ep{ep}.npz"
        np.savez_compressed(path, **view)

    _, records = train(
        config.env_id or "",
        agent=config.agent,
        preset=config.preset,
        seed=seed,
        episodes=config.episodes,
        device=config.device_settings(),
        on_episode=on_episode,
        stop=stop,
        max_steps=config.episode_cap,
        watch=config.watch,
        on_watch=on_watch,
        engine=engine,
    )
    return len(records)


def _worker(config: ControlRunConfig, seed: int, views_dir: str, q: Any, halt_event: Any) -> int:
    """A pool task: one seed, its episodes sent to the parent through ``q``."""
    return _train_seed(config, seed, views_dir, q.put, halt_event.is_set)


def _package_version() -> str | None:
    try:
        from importlib.metadata import version

        return version("memrl")
    except Exception:  # noqa: BLE001
        return None


def run_control(
    config: ControlRunConfig,
    out: Path,
    progress: bool = True,
    on_episode: Callable[[Episode], None] | None = None,
    figures: bool = True,
) -> Path:
    """Run the experiment into ``out`` (created); returns the path of episodes.csv.

    ``on_episode`` is called in this process after each episode's row is
    written. Views left in ``out/views`` by an earlier run are removed. On
    KeyboardInterrupt or an error the rows written so far stay, ``config.json``
    gets status ``interrupted`` or ``failed`` (with the error), the workers are
    stopped and the exception propagates. ``figures``: write
    ``summary.json`` and the figures once the run is done.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    views_dir = out / "views"
    for stale in views_dir.glob("seed*_ep*.*"):  # views of an earlier run in this folder
        if stale.suffix in (".npz", ".png"):
            stale.unlink()
    if config.watch:
        views_dir.mkdir(exist_ok=True)
    rule = solve_rule(config.env_id or "")
    meta: dict[str, Any] = {
        **asdict(config),
        "max_steps_used": config.episode_cap,
        "jobs_used": config.workers,
        "seed_list": config.seed_list,
        "device_settings": asdict(config.device_settings()),
        "agent_config": asdict(resolve_preset(config.env_id or "", config.preset)),
        "solve_rule": asdict(rule) if rule else None,
        "version": _package_version(),
        "status": "running",
        "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    cfg_path = out / "config.json"
    cfg_path.write_text(json.dumps(meta, indent=1))
    csv_path = out / "episodes.csv"
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(
            total=config.episodes * config.seeds,
            desc=f"{config.env_id} {config.agent} ({config.seeds} seeds)",
            unit="ep",
        )
    try:
        with csv_path.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=episode_fields())
            writer.writeheader()
            fh.flush()

            def write(rec: Episode) -> None:
                writer.writerow(episode_row(rec))
                fh.flush()

            def record(rec: Episode) -> None:
                write(rec)
                if bar is not None:
                    bar.update()
                if on_episode is not None:
                    on_episode(rec)

            if config.workers == 1:
                for seed in config.seed_list:
                    _train_seed(config, seed, str(views_dir), record, lambda: False)
            else:
                _run_pool(config, str(views_dir), record, write)
        meta["status"] = "done"
    except KeyboardInterrupt:
        meta["status"] = "interrupted"
        raise
    except Exception as exc:
        meta["status"] = "failed"
        meta["error"] = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        if bar is not None:
            bar.close()
        meta["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S")
        cfg_path.write_text(json.dumps(meta, indent=1))
    if figures:
        from memrl.host.crossbar.plots import plot_run

        summarise(out)
        plot_run(out)
    return csv_path


def _run_pool(
    config: ControlRunConfig,
    views_dir: str,
    record: Callable[[Episode], None],
    write: Callable[[Episode], None],
) -> None:
    """Seeds on worker processes; episodes come back through a managed queue and
    are recorded here as they arrive. Any exception (or Ctrl-C) halts the workers
    after their current episode, passes the episodes they still sent to ``write``
    (not ``record``), and propagates.

    The workers and the manager ignore Ctrl-C. Here the first Ctrl-C only sets a
    flag, checked between queue calls (an interrupt in the middle of a call to
    the manager would leave its connection out of step); a second one
    interrupts at once."""
    sigint = _DeferredSigint()
    manager = SyncManager()
    manager.start(_ignore_sigint)
    try:
        q = manager.Queue()
        halt = manager.Event()
        pool = cf.ProcessPoolExecutor(max_workers=config.workers, initializer=_ignore_sigint)
        futures: list[cf.Future] = []
        try:
            futures = [
                pool.submit(_worker, config, seed, views_dir, q, halt) for seed in config.seed_list
            ]
            pending = set(futures)
            while pending:
                _drain(q, record, timeout=0.2)
                sigint.check()
                done = {f for f in pending if f.done()}
                for f in done:
                    f.result()  # raises a worker's exception
                pending -= done
            _drain(q, record, timeout=None)
        except BaseException:
            halt.set()
            for f in futures:
                f.cancel()
            pool.shutdown(wait=True, cancel_futures=True)
            _drain(q, write, timeout=None)
            raise
        else:
            pool.shutdown(wait=True)
    finally:
        manager.shutdown()
        sigint.restore()


class _DeferredSigint:
    """In the main thread: the first SIGINT sets a flag that :meth:`check` turns
    into KeyboardInterrupt; the handler before it is back for the next one."""

    def __init__(self) -> None:
        self.caught = False
        self.installed = threading.current_thread() is threading.main_thread()
        if self.installed:
            self.previous = signal.signal(signal.SIGINT, self._handler)

    def _handler(self, signum: int, frame: object) -> None:
        self.caught = True
        self.restore()

    def restore(self) -> None:
        if self.installed:
            prev = self.previous if self.previous is not None else signal.default_int_handler
            signal.signal(signal.SIGINT, prev)
            self.installed = False

    def check(self) -> None:
        if self.caught:
            raise KeyboardInterrupt


def _drain(q: Any, record: Callable[[Episode], None], timeout: float | None) -> None:
    """Record the queued episodes: wait up to ``timeout`` for the first (None:
    do not wait), then take whatever else is there."""
    try:
        rec = q.get(timeout=timeout) if timeout else q.get_nowait()
    except queue_mod.Empty:
        return
    record(rec)
    while True:
        try:
            rec = q.get_nowait()
        except queue_mod.Empty:
            return
        record(rec)


# -- reading and summarising ------------------------------------------------------


def load_episodes(out: Path) -> dict[int, dict[str, np.ndarray]]:
    """episodes.csv as {seed: {column: array in episode order}}."""
    path = Path(out) / "episodes.csv"
    with path.open() as fh:
        rows = list(csv.DictReader(fh))
    by_seed: dict[int, list[dict[str, str]]] = {}
    for r in rows:
        by_seed.setdefault(int(r["seed"]), []).append(r)
    data: dict[int, dict[str, np.ndarray]] = {}
    for seed in sorted(by_seed):
        rs = sorted(by_seed[seed], key=lambda r: int(r["episode"]))
        cols: dict[str, np.ndarray] = {}
        for name in episode_fields():
            vals = [r[name] for r in rs]
            if name in ("seed", "episode", "steps", "pulses", "sets", "resets"):
                cols[name] = np.array([int(v) for v in vals], dtype=np.int64)
            else:
                cols[name] = np.array([float(v) for v in vals], dtype=np.float64)
        data[seed] = cols
    return data


#: Columns of episodes.csv that :func:`compare_runs` leaves out: they measure the machine.
MACHINE_COLUMNS: tuple[str, ...] = ("wall_s",)


def compare_runs(a: Path, b: Path) -> tuple[str | None, int, int]:
    """Compare two run folders' episodes.csv, every column but the wall time,
    as written (so floats bit for bit). Returns the first difference (None if
    there is none), and the number of episodes and environment steps compared."""
    rows = []
    for out in (a, b):
        path = Path(out) / "episodes.csv"
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such file (not a run folder?)")
        with path.open() as fh:
            rows.append(
                sorted(csv.DictReader(fh), key=lambda r: (int(r["seed"]), int(r["episode"])))
            )
    ra, rb = rows
    steps = 0
    for i, (x, y) in enumerate(zip(ra, rb, strict=False)):
        where = f"seed {x['seed']} episode {x['episode']}"
        for col in x:
            if col in MACHINE_COLUMNS:
                continue
            if x.get(col) != y.get(col):
                return f"{where}, {col}: {x.get(col)} in {a}, {y.get(col)} in {b}", i, steps
        steps += int(x["steps"])
    if len(ra) != len(rb):
        n = min(len(ra), len(rb))
        return f"{a} has {len(ra)} episodes, {b} {len(rb)} (the first {n} equal)", n, steps
    return None, len(ra), steps


def _median(values: Sequence[float | None]) -> float | None:
    v = [x for x in values if x is not None and not math.isnan(x)]
    return float(np.median(v)) if v else None


def _best_mean(r: np.ndarray, window: int) -> float | None:
    if r.size < window:
        return None
    return float(np.convolve(r, np.ones(window) / window, mode="valid").max())


def episodes_to_solve(solved: Sequence[int | None], budget: int) -> tuple[float | None, bool]:
    """The median episode to solve, unsolved seeds counted as ``budget + 1``, and
    whether that median is censored (at least half the seeds did not solve, so it
    is only a lower bound)."""
    if not solved:
        return None, False
    x = [budget + 1 if s is None else s for s in solved]
    unsolved = sum(s is None for s in solved)
    return float(np.median(x)), 2 * unsolved >= len(solved)


def summarise(out: Path) -> dict:
    """Per-seed and across-seed figures of a run folder; writes summary.json."""
    out = Path(out)
    cfg = json.loads((out / "config.json").read_text())
    data = load_episodes(out)
    rule = solve_rule(cfg["env_id"])
    seeds = []
    for seed, d in data.items():
        r, st = d["return"], d["steps"]
        n_steps = int(st.sum())
        solved = rule.solved_at(r.tolist(), st.tolist()) if rule else None
        seeds.append(
            {
                "seed": seed,
                "episodes": int(r.size),
                "solved_at": solved,
                "best_mean_100": _best_mean(r, BEST_WINDOW),
                "final_mean_20": float(r[-FINAL_WINDOW:].mean()),
                "steps": n_steps,
                "pulses_per_step": float(d["pulses"].sum() / n_steps) if n_steps else None,
                "sets": int(d["sets"].sum()),
                "resets": int(d["resets"].sum()),
                "energy_j": float(d["energy_j"].sum()),
                "wall_s_per_step": float(d["wall_s"].sum() / n_steps) if n_steps else None,
            }
        )
    budget = int(cfg["episodes"])
    med_solve, censored = episodes_to_solve([s["solved_at"] for s in seeds], budget)
    summary = {
        "env_id": cfg["env_id"],
        "agent": cfg["agent"],
        "preset": cfg["preset"],
        "device": cfg["device"],
        "status": cfg.get("status"),
        "episode_budget": budget,
        "solve_rule": rule.text if rule else None,
        "seeds": len(seeds),
        "seeds_solved": sum(s["solved_at"] is not None for s in seeds),
        "median": {
            "episodes_to_solve": med_solve,
            "episodes_to_solve_censored": censored,
            "solved_at": _median([s["solved_at"] for s in seeds]),
            "best_mean_100": _median([s["best_mean_100"] for s in seeds]),
            "final_mean_20": _median([s["final_mean_20"] for s in seeds]),
            "pulses_per_step": _median([s["pulses_per_step"] for s in seeds]),
            "energy_j": _median([s["energy_j"] for s in seeds]),
            "wall_s_per_step": _median([s["wall_s_per_step"] for s in seeds]),
        },
        "per_seed": seeds,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    return summary


# -- sweeps -----------------------------------------------------------------------

SWEEP_COLUMNS = (
    "param", "value", "folder", "seeds", "seeds_solved", "median_episodes_to_solve",
    "median_censored", "median_pulses_per_step",
)  # fmt: skip


def sweep_values(param: str, values: Sequence[float]) -> list[float | int]:
    """``values`` checked and typed for ``param`` (integers for ``adc_bits``)."""
    if param not in SWEEP_PARAMS:
        raise ConfigError("param", f"param must be one of {list(SWEEP_PARAMS)} (got {param!r})")
    if not values:
        raise ConfigError("values", "values must not be empty")
    typed: list[float | int] = []
    for v in values:
        if param == "adc_bits":
            if float(v) != int(v):
                raise ConfigError("values", f"adc_bits values must be integers (got {v})")
            typed.append(int(v))
        else:
            typed.append(float(v))
    if len(set(typed)) != len(typed):
        raise ConfigError("values", f"values must be distinct (got {list(values)})")
    return typed


def sweep_folder(param: str, value: float | int) -> str:
    return f"{param}={value:g}"


def run_sweep(
    base: ControlRunConfig,
    param: str,
    values: Sequence[float],
    out: Path,
    progress: bool = True,
) -> Path:
    """One run per value of ``param`` into ``out/{param}={value}/``; then
    ``sweep.csv`` (a row per value, appended as each run finishes) and
    ``sweep.png``. Returns the path of sweep.csv."""
    typed = sweep_values(param, values)
    configs = [replace(base, **{param: v}) for v in typed]  # validates every value first
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "sweep.json").write_text(
        json.dumps({"param": param, "values": typed, "base": asdict(base)}, indent=1)
    )
    csv_path = out / "sweep.csv"
    with csv_path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=SWEEP_COLUMNS)
        writer.writeheader()
        for v, cfg in zip(typed, configs, strict=True):
            folder = sweep_folder(param, v)
            run_control(cfg, out / folder, progress=progress)  # writes summary.json
            s = json.loads((out / folder / "summary.json").read_text())
            writer.writerow(
                {
                    "param": param,
                    "value": v,
                    "folder": folder,
                    "seeds": s["seeds"],
                    "seeds_solved": s["seeds_solved"],
                    "median_episodes_to_solve": s["median"]["episodes_to_solve"],
                    "median_censored": int(s["median"]["episodes_to_solve_censored"]),
                    "median_pulses_per_step": s["median"]["pulses_per_step"],
                }
            )
            fh.flush()
    from memrl.host.crossbar.plots import sweep_figure

    sweep_figure(out)
    return csv_path
