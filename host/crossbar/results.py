"""What a cart-pole or mountain-car run leaves in its folder, and reading it back.

* ``episodes.csv``: one row per :class:`~memrl.host.crossbar.control.Episode`
  (:func:`episode_fields`), written by :class:`EpisodeCSV` and flushed row by
  row; :func:`load_episodes` reads it per seed;
* ``summary.json``: per-seed and across-seed figures (:func:`summarise`);
* :func:`compare_runs`: whether two runs' episodes are equal, bit for bit, the
  wall time aside.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TextIO

import numpy as np

from memrl.host.crossbar.config import solve_rule
from memrl.host.crossbar.control import Episode

__all__ = [
    "MACHINE_COLUMNS",
    "EpisodeCSV",
    "compare_runs",
    "episode_fields",
    "episode_row",
    "episodes_to_solve",
    "load_episodes",
    "summarise",
]

FINAL_WINDOW = 20  # episodes in the summary's "final mean"
BEST_WINDOW = 100  # episodes in the summary's "best mean"


def episode_fields() -> tuple[str, ...]:
    """Column names of ``episodes.csv`` (``ret`` is written as ``return``)."""
    names = [f.name for f in Episode.__dataclass_fields__.values()]
    return tuple("return" if n == "ret" else n for n in names)


def episode_row(rec: Episode) -> dict[str, object]:
    """An episode as a row of ``episodes.csv``."""
    d = asdict(rec)
    d["return"] = d.pop("ret")
    return {k: d[k] for k in episode_fields()}


class EpisodeCSV:
    """``episodes.csv`` being written to ``fh`` (opened with ``newline=""``): the
    header at once, then a row per episode, each flushed as it is written."""

    def __init__(self, fh: TextIO) -> None:
        self.fh = fh
        self.writer = csv.DictWriter(fh, fieldnames=episode_fields())
        self.writer.writeheader()
        fh.flush()

    def write(self, rec: Episode) -> None:
        self.writer.writerow(episode_row(rec))
        self.fh.flush()


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
