"""The dynamic-maze experiment: a run folder with config, per-trial CSV and figures.

``trials.csv`` is appended and flushed after every trial, so an interrupted run
keeps every trial it finished; ``config.json`` records the status.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from memrl.host.navigator.backends import (
    NAVIGATOR_BACKENDS,
    check_run,
    close_agents,
    navigator_agent,
    parse_backend,
)
from memrl.host.navigator.baselines import DQN, TabularQ
from memrl.host.runs import finish_status, provenance, read_config
from memrl.sim.navigator.golden import PRESETS, Navigator, TrialResult, check_maze_shape, run_agent
from memrl.sim.navigator.maze import Maze, load_maze, shipped

__all__ = ["MazeRunConfig", "run_maze", "ResumeMismatch", "load_trials", "convergence",
           "CSV_COLUMNS"]  # fmt: skip

CSV_COLUMNS = (
    "seed", "trial", "layout", "steps", "reached_goal", "ticks",
    "moves", "hits", "reads", "sets", "resets", "shortest",
)  # fmt: skip
AGENTS = {
    "navigator": lambda shape, seeds, preset: Navigator(shape, seeds, PRESETS[preset]),
    "tabular-q": lambda shape, seeds, preset: TabularQ(shape, seeds),
    "dqn": lambda shape, seeds, preset: DQN(shape, seeds),
}
CONVERGE_RUN = 5  # consecutive trials that reach the goal ...
CONVERGE_SLACK = 1.5  # ... within this factor of the shortest path


def default_switch_points(layouts: int, trials: int) -> list[int]:
    """The switch points of a run without ``--switch-at``: none for one layout; for
    two, A, B, A at thirds of the trials (the paper's dynamic maze: 40 and 80 of
    120); three or more layouts each once, in equal blocks."""
    if layouts <= 1:
        return []
    blocks = 3 if layouts == 2 else layouts
    if trials < blocks:
        raise ValueError(
            f"{layouts} layouts switch in {blocks} blocks of trials: --trials {trials} "
            f"is too few (give at least {blocks}, or --switch-at)"
        )
    return [trials * i // blocks for i in range(1, blocks)]


@dataclass(frozen=True)
class MazeRunConfig:
    layouts: tuple[str, ...] = ()  # files; empty: the shipped 30x30 pair
    switch_at: tuple[int, ...] | None = None  # None: default_switch_points
    trials: int = 120
    max_steps: int = 600
    seeds: int = 20
    first_seed: int = 0
    preset: str = "default"
    backend: str = "golden"  # a name of memrl.host.navigator.backends.NAVIGATOR_BACKENDS
    agent: str = "navigator"  # navigator | tabular-q | dqn
    device: str = "siox"  # siox | emulator

    def resolved(self) -> tuple[list[Maze], list[int]]:
        if self.agent not in AGENTS:
            raise ValueError(f"agent must be one of {sorted(AGENTS)} (got {self.agent!r})")
        if self.preset not in PRESETS:
            raise ValueError(f"preset must be one of {sorted(PRESETS)} (got {self.preset!r})")
        backend = NAVIGATOR_BACKENDS.entry(parse_backend(self.backend))
        if self.agent != "navigator" and (backend.firmware or self.device != "siox"):
            raise ValueError(
                f"the {self.agent} baseline runs on the golden backend with the siox device only"
            )
        check_run(self.backend, self.device, self.preset, self.seeds)
        if self.layouts:
            mazes = [load_maze(p) for p in self.layouts]
        else:
            mazes = [shipped("dynamic_a"), shipped("dynamic_b")]
        names = [str(p) for p in self.layouts] or ["dynamic_a", "dynamic_b"]
        for name, m in zip(names, mazes, strict=True):
            check_maze_shape(m.shape, name)
        if len({m.shape for m in mazes}) != 1:
            sizes = ", ".join(
                f"{n} is {m.shape[0]} x {m.shape[1]}" for n, m in zip(names, mazes, strict=True)
            )
            raise ValueError(f"the layouts of a run must have the same size: {sizes}")
        if self.switch_at is None:
            return mazes, default_switch_points(len(mazes), self.trials)
        switch = list(self.switch_at)
        if any(t < 1 or t >= self.trials for t in switch) or switch != sorted(set(switch)):
            raise ValueError(
                f"--switch-at must be increasing trials in [1, {self.trials - 1}] "
                f"for --trials {self.trials} (got {','.join(map(str, switch))})"
            )
        if len(switch) < len(mazes) - 1:
            raise ValueError(
                f"{len(mazes)} layouts need at least {len(mazes) - 1} switch points "
                f"(--switch-at has {len(switch)}): layout {len(switch) + 2} would never run"
            )
        return mazes, switch


class ResumeMismatch(RuntimeError):
    """A resumed run did not reproduce the rows its folder kept."""


def _kept_rows(csv_path: Path, seeds: int) -> list[list[str]]:
    """The rows of the whole trials ``csv_path`` holds (a trial cut short by an
    interrupt is dropped), as text."""
    if not csv_path.exists():
        return []
    with csv_path.open(newline="") as fh:
        rows = list(csv.reader(fh))
    if not rows or tuple(rows[0]) != CSV_COLUMNS:
        raise ValueError(f"{csv_path}: not a maze run's trials.csv")
    body = rows[1:]
    return body[: len(body) - len(body) % seeds]


def run_maze(
    cfg: MazeRunConfig,
    out: Path,
    progress: Callable[[int], None] | None = None,
    resume: bool = False,
) -> Path:
    """Run the experiment into ``out`` (created); returns the path of trials.csv.

    ``resume``: continue the run ``out`` holds (same settings): the trials its
    trials.csv kept are run again to restore the agents' state and must give the
    same rows (else :class:`ResumeMismatch`), then the rest are appended. On the
    deterministic backends the result equals an uninterrupted run's."""
    mazes, switch = cfg.resolved()
    out.mkdir(parents=True, exist_ok=True)
    csv_path = out / "trials.csv"
    kept = _kept_rows(csv_path, cfg.seeds) if resume else []
    started = (read_config(out) or {}).get("started") if resume else None
    seeds = list(range(cfg.first_seed, cfg.first_seed + cfg.seeds))
    shortest = [m.shortest_path_length() for m in mazes]
    config = {
        "run": "maze",
        **asdict(cfg),
        "switch_at": switch,
        "layout_names": [m.name for m in mazes],
        "shortest": shortest,
        "seed_list": seeds,
        "params": asdict(PRESETS[cfg.preset]),
        "status": "running",
        "started": started or time.strftime("%Y-%m-%dT%H:%M:%S"),
        "provenance": provenance(),
    }
    if resume:
        config["resumed"] = {"at": time.strftime("%Y-%m-%dT%H:%M:%S"),
                             "trials_kept": len(kept) // cfg.seeds}  # fmt: skip
    cfg_path = out / "config.json"
    cfg_path.write_text(json.dumps(config, indent=1))
    agents: list = []
    failure: BaseException | None = None
    try:
        if cfg.agent == "navigator":
            agent = navigator_agent(
                parse_backend(cfg.backend), cfg.device, mazes[0].shape, seeds, cfg.preset
            )
        else:
            agent = AGENTS[cfg.agent](mazes[0].shape, seeds, cfg.preset)
        agents.append(agent)
        with csv_path.open("w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(CSV_COLUMNS)
            writer.writerows(kept)
            fh.flush()
            done = len(kept) // cfg.seeds

            def record(t: int, idx: int, res: TrialResult) -> None:
                if t < done:  # a kept trial, run again for the agents' state
                    again: list = []
                    _write(_Rows(again), seeds, t, idx, res, shortest[idx])
                    if [list(map(str, r)) for r in again] != kept[
                        t * cfg.seeds : (t + 1) * cfg.seeds
                    ]:
                        raise ResumeMismatch(
                            f"{csv_path}: trial {t + 1} ran differently from the row kept; the "
                            "run cannot be resumed here (were the code or the backend changed?)"
                        )
                else:
                    _write(writer, seeds, t, idx, res, shortest[idx])
                    fh.flush()
                if progress:
                    progress(t)

            run_agent(agent, mazes, switch, cfg.trials, cfg.max_steps, record)
    except BaseException as exc:
        failure = exc
        raise
    finally:
        close_agents(agents)  # simulated boards, serial ports
        config["status"], error = finish_status(failure)
        if error:
            config["error"] = error
        config["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S")
        cfg_path.write_text(json.dumps(config, indent=1))
    return csv_path


class _Rows:
    """A csv writer's ``writerow`` into a list."""

    def __init__(self, rows: list) -> None:
        self.rows = rows

    def writerow(self, row: Sequence[object]) -> None:
        self.rows.append(row)


def _write(writer, seeds: Sequence[int], t: int, idx: int, r: TrialResult, shortest: int) -> None:  # noqa: ANN001
    for i, seed in enumerate(seeds):
        writer.writerow(
            (seed, t + 1, idx, int(r.steps[i]), int(r.reached[i]), int(r.ticks[i]), int(r.moves[i]),
             int(r.hits[i]), int(r.reads[i]), int(r.sets[i]), int(r.resets[i]), shortest)
        )  # fmt: skip


def load_trials(path: Path) -> dict[str, np.ndarray]:
    """trials.csv as arrays indexed [trial - 1, seed] (complete trials only; the
    CSV counts trials from 1)."""
    with Path(path).open() as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        raise ValueError(f"{path}: no trials")
    seeds = sorted({int(r["seed"]) for r in rows})
    trials = sorted({int(r["trial"]) for r in rows})  # counted from 1
    out = {c: np.zeros((len(trials), len(seeds)), dtype=np.int64) for c in CSV_COLUMNS}
    si = {s: i for i, s in enumerate(seeds)}
    ti = {t: i for i, t in enumerate(trials)}
    for r in rows:
        for c in CSV_COLUMNS:
            out[c][ti[int(r["trial"])], si[int(r["seed"])]] = int(r[c])
    return out


def convergence(
    data: dict[str, np.ndarray], blocks: list[tuple[int, int]], slack: float = CONVERGE_SLACK
) -> np.ndarray:
    """Trials from each block's start to convergence, per block and seed (-1: never).

    A block has converged at the first trial from which CONVERGE_RUN consecutive
    trials reach the goal within ``slack`` x the shortest path."""
    good = (data["reached_goal"] == 1) & (data["steps"] <= slack * data["shortest"])
    out = np.full((len(blocks), good.shape[1]), -1, dtype=np.int64)
    for b, (lo, hi) in enumerate(blocks):
        for s in range(good.shape[1]):
            for t in range(lo, hi - CONVERGE_RUN + 1):
                if good[t : t + CONVERGE_RUN, s].all():
                    out[b, s] = t - lo
                    break
    return out


def blocks_of(switch: Sequence[int], trials: int) -> list[tuple[int, int]]:
    edges = [0, *switch, trials]
    return [(edges[i], edges[i + 1]) for i in range(len(edges) - 1)]
