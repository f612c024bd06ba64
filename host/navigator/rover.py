"""The Mars-rover experiment (Bianchi et al. 2023, Fig. 5) on the navigator.

The rover crosses a 128 x 128 terrain from (80, 12) to (60, 109); each place
costs 1-10 to enter. The navigator learns each place's cost when it enters it
and its reward path is the cheapest path over the places it may use (unknown
places assumed to cost 1). Transfer (our definition; the paper gives no
protocol): from ``transfer_at`` the goal moves to ``new_goal``; the *transfer*
condition keeps the agent that learned the first task, the *fresh* condition
starts new agents (same seeds) at that trial.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from memrl.host.navigator.backends import (
    NAVIGATOR_BACKENDS,
    check_run,
    close_agents,
    navigator_agent,
    parse_backend,
)
from memrl.host.navigator.envs import ROVER_GOAL, ROVER_SIZE, ROVER_START, load_rover, rover_terrain
from memrl.host.navigator.run import ResumeMismatch
from memrl.host.runs import finish_status, provenance, read_config
from memrl.sim.navigator.golden import PRESETS, Navigator, cost_units
from memrl.sim.navigator.maze import Maze

__all__ = ["RoverConfig", "rover_maze", "cheapest_cost", "run_rover", "ROVER_COLUMNS"]

ROVER_COLUMNS = ("condition", "seed", "trial", "goal", "steps", "reached_goal", "ticks", "cost",
                 "cheapest_cost")  # fmt: skip


@dataclass(frozen=True)
class RoverConfig:
    trials: int = 100
    transfer_at: int = 75
    new_goal: tuple[int, int] = (30, 110)
    max_steps: int = 5000
    seeds: int = 10
    first_seed: int = 0
    terrain_seed: int = 0
    cost_file: str | None = None
    preset: str = "default"
    backend: str = "golden"  # a name of memrl.host.navigator.backends.NAVIGATOR_BACKENDS
    device: str = "siox"  # siox | emulator

    def check(self) -> None:
        """Refuse what a backend cannot run, naming the option."""
        backend = check_run(self.backend, self.device, self.preset, self.seeds)
        entry = NAVIGATOR_BACKENDS.entry(backend)
        if entry.board and self.transfer_at < self.trials:
            raise ValueError(
                "a board holds one agent's devices: a serial backend runs no fresh "
                "condition (--transfer-at equal to --trials)"
            )


def slow_simulation(cfg: RoverConfig) -> bool:
    """Whether ``cfg`` simulates the default rule's 128 x 128 terrain firmware,
    which takes minutes a trial (docs/navigator/rtl.md, Terrain)."""
    entry = NAVIGATOR_BACKENDS.entry(parse_backend(cfg.backend))
    return entry.firmware and not entry.board and PRESETS[cfg.preset].reward_path == "bfs"


def rover_maze(cost: np.ndarray, goal: tuple[int, int], start=ROVER_START) -> Maze:  # noqa: ANN001
    g = np.zeros(cost.shape, dtype=bool)
    g[goal] = True
    return Maze(np.zeros(cost.shape, dtype=bool), start, g, name=f"rover_goal{goal}", cost=cost)


def cheapest_cost(maze: Maze) -> float:
    """The cheapest summed entry cost from start to goal on the true terrain."""
    nav = Navigator(maze.shape, [0], PRESETS["default"])
    nav.cost_known[0] = cost_units(maze)
    path = nav.cheapest_path(0, maze)
    return float(np.asarray(maze.cost).reshape(-1)[path[1:]].sum())


def _kept_trials(path: Path, cfg: RoverConfig) -> list[str]:
    """The CSV lines of the whole trials ``path`` holds, trial by trial from the
    first (a trial cut short by an interrupt, and any after it, dropped)."""
    if not path.exists():
        return []
    lines = path.read_text().splitlines()
    if not lines or lines[0] != ",".join(ROVER_COLUMNS):
        raise ValueError(f"{path}: not a rover run's trials.csv")
    kept: list[str] = []
    body = lines[1:]
    for t in range(cfg.trials):
        n = cfg.seeds * (2 if t >= cfg.transfer_at else 1)
        rows = body[len(kept) : len(kept) + n]
        if len(rows) < n or any(r.split(",")[2] != str(t + 1) for r in rows):
            break
        kept.extend(rows)
    return kept


def run_rover(
    cfg: RoverConfig, out: Path, progress: Callable[[], None] | None = None, resume: bool = False
) -> Path:
    """Run the rover experiment into ``out``; returns the path of trials.csv.
    ``resume``: continue the run ``out`` holds, as :func:`memrl.host.navigator.run.
    run_maze` does (the kept trials run again and must give their rows)."""
    cost = load_rover(cfg.cost_file) if cfg.cost_file else rover_terrain(cfg.terrain_seed)[1]
    if cost.shape != (ROVER_SIZE, ROVER_SIZE):
        raise ValueError(
            f"{cfg.cost_file}: the rover's cost map is {ROVER_SIZE} x {ROVER_SIZE} (its start "
            f"{ROVER_START} and goals {ROVER_GOAL}, {tuple(cfg.new_goal)} lie on it); this one "
            f"is {cost.shape[0]} x {cost.shape[1]}"
        )
    if not 0 < cfg.transfer_at <= cfg.trials:
        raise ValueError(f"transfer_at must be in [1, {cfg.trials}] (got {cfg.transfer_at})")
    cfg.check()

    def agent():  # noqa: ANN202 - a TrialAgent; one per condition, one agent per seed
        # A firmware keeps the whole trajectory: a trial's cost sums every place entered.
        return navigator_agent(parse_backend(cfg.backend), cfg.device, cost.shape, seeds,
                               cfg.preset, traj_depth=cfg.max_steps + 1, terrain=True)  # fmt: skip

    tasks = [rover_maze(cost, ROVER_GOAL), rover_maze(cost, tuple(cfg.new_goal))]
    best = [cheapest_cost(m) for m in tasks]
    seeds = list(range(cfg.first_seed, cfg.first_seed + cfg.seeds))
    out.mkdir(parents=True, exist_ok=True)
    path = out / "trials.csv"
    kept = _kept_trials(path, cfg) if resume else []
    started = (read_config(out) or {}).get("started") if resume else None
    config = {"run": "rover", **asdict(cfg), "start": ROVER_START, "goal": ROVER_GOAL,
              "cheapest_cost": best, "status": "running",
              "started": started or time.strftime("%Y-%m-%dT%H:%M:%S"),
              "provenance": provenance()}  # fmt: skip
    if resume:
        done = len({line.split(",")[2] for line in kept})
        config["resumed"] = {"at": time.strftime("%Y-%m-%dT%H:%M:%S"), "trials_kept": done}
    (out / "config.json").write_text(json.dumps(config, indent=1))
    failure: BaseException | None = None
    agents: list = []
    try:
        with path.open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(ROVER_COLUMNS)
            for line in kept:
                fh.write(line + "\r\n")  # as csv.writer ends its rows
            fh.flush()
            at = 0  # kept lines replayed so far
            learned = agent()
            agents.append(learned)
            fresh = None
            for t in range(cfg.trials):
                k = int(t >= cfg.transfer_at)
                runs = [("transfer", learned)]
                if k:
                    if fresh is None:
                        fresh = agent()
                        agents.append(fresh)
                    runs.append(("fresh", fresh))
                text = io.StringIO()
                tw = csv.writer(text)
                for name, nav in runs:
                    r = nav.run_trial(tasks[k], cfg.max_steps)
                    for i, s in enumerate(seeds):
                        row = (int(r.steps[i]), int(r.reached[i]), int(r.ticks[i]))
                        tw.writerow((name, s, t + 1, k, *row, round(float(r.cost[i]), 2), best[k]))
                lines = text.getvalue().splitlines()
                if at < len(kept):  # a kept trial, run again for the agents' state
                    if lines != kept[at : at + len(lines)]:
                        raise ResumeMismatch(
                            f"{path}: trial {t + 1} ran differently from the row kept; the run "
                            "cannot be resumed here (were the code or the backend changed?)"
                        )
                    at += len(lines)
                else:
                    fh.write(text.getvalue())
                    fh.flush()
                if progress:
                    progress()
    except BaseException as exc:
        failure = exc
        raise
    finally:
        close_agents(agents)  # simulated boards, serial ports
        config["status"], error = finish_status(failure)
        if error:
            config["error"] = error
        config["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S")
        (out / "config.json").write_text(json.dumps(config, indent=1))
    return path


def summarise_rover(run: Path) -> dict:
    with (run / "trials.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    out: dict = {}
    for cond in ("transfer", "fresh"):
        by_trial: dict[int, list[tuple[int, float]]] = {}
        for r in rows:
            if r["condition"] == cond:
                by_trial.setdefault(int(r["trial"]), []).append((int(r["steps"]), float(r["cost"])))
        out[cond] = {
            t: {"steps_mean": float(np.mean([x[0] for x in v])),
                "steps_sd": float(np.std([x[0] for x in v])),
                "cost_mean": float(np.mean([x[1] for x in v]))}
            for t, v in sorted(by_trial.items())
        }  # fmt: skip
    (run / "summary.json").write_text(json.dumps(out, indent=1))
    return out


def plot_rover(run: Path) -> Path:
    """rover.png of a run folder: steps and terrain cost per trial, each
    condition (and its summary.json); the figure's path."""
    s = summarise_rover(run)
    cfg = json.loads((run / "config.json").read_text())
    fig = Figure(figsize=(11, 4))
    a1, a2 = fig.subplots(1, 2)
    for cond, style in (("transfer", "-"), ("fresh", "--")):
        if not s[cond]:
            continue
        t = np.array(list(s[cond]))
        m = np.array([v["steps_mean"] for v in s[cond].values()])
        sd = np.array([v["steps_sd"] for v in s[cond].values()])
        a1.plot(t, m, style, label=cond)
        a1.fill_between(t, m - sd, m + sd, alpha=0.2)
        a2.plot(t, [v["cost_mean"] for v in s[cond].values()], style, label=cond)
    for ax in (a1, a2):
        ax.axvline(cfg["transfer_at"] + 0.5, color="k", ls=":", lw=1)  # trials count from 1
        ax.set_xlabel("trial")
        ax.set_yscale("log")
        ax.legend(fontsize=8)
    a1.set_ylabel("steps per trial (mean +- sd)")
    a2.set_ylabel("terrain cost per trial (mean)")
    for k, c in enumerate(cfg["cheapest_cost"]):
        a2.axhline(c, color="grey", lw=0.8, ls="-." if k else ":")
    a1.set_title("Mars rover: steps")
    a2.set_title("terrain cost (grey: cheapest possible)")
    fig.tight_layout()
    path = run / "rover.png"
    fig.savefig(path, dpi=120)
    return path
