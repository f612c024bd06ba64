"""Two comparisons of the navigator with the baselines (Bianchi et al. 2023, Fig. 4f-g).

* :func:`memory_study`: memory elements against the number of places, 400 to 1e6.
* :func:`accuracy_study`: accuracy (fraction of trials that reach the goal within
  the step limit) over a grid of trial counts x step limits, one fresh run per cell.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from memrl.host.navigator.baselines import memory_elements
from memrl.host.navigator.run import AGENTS
from memrl.sim.navigator.golden import run_agent
from memrl.sim.navigator.maze import Maze

__all__ = ["memory_study", "accuracy_study", "PAPER_DQN_ELEMENTS"]

# Deep Q-learning memory elements quoted by Bianchi et al. 2023 (Fig. 4g): places -> count.
PAPER_DQN_ELEMENTS = {400: 5e5, 10_000: 1.4e7, 4_000_000: 8e8}


def memory_study(out: Path, places: Sequence[int] | None = None) -> Path:
    """Memory elements of each agent against the number of places; writes
    memory.csv and memory.png (returned)."""
    out.mkdir(parents=True, exist_ok=True)
    p = np.array(places or np.unique(np.logspace(np.log10(400), 6, 13).round()), dtype=np.int64)
    m = memory_elements(p)
    with (out / "memory.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["places", *m])
        for i, n in enumerate(p):
            w.writerow([int(n), *(int(v[i]) for v in m.values())])
    fig = Figure(figsize=(7, 4.5))
    ax = fig.subplots()
    labels = {
        "navigator": "navigator: RRAM devices (9 per place)",
        "navigator_paper_count": "navigator, paper's count (16 per place)",
        "navigator_sram_bits": "navigator: digital state bits (19 per place)",
        "tabular_q": "tabular Q: values (8 per place)",
        "dqn": "DQN here: parameters (one-hot in, 2 x 64 hidden)",
    }
    for k, v in m.items():
        ax.loglog(p, v, label=labels[k])
    ax.loglog(list(PAPER_DQN_ELEMENTS), list(PAPER_DQN_ELEMENTS.values()), "ks",
              label="deep Q-learning, paper (Fig. 4g)")  # fmt: skip
    ax.set_xlabel("places")
    ax.set_ylabel("memory elements")
    ax.set_title("memory elements against the number of places")
    ax.legend(fontsize=7)
    fig.tight_layout()
    path = out / "memory.png"
    fig.savefig(path, dpi=120)
    return path


def _accuracy(agent, maze: Maze, trials: int, limit: int) -> float:  # noqa: ANN001
    reached: list[np.ndarray] = []
    run_agent(agent, [maze], [], trials, limit, lambda _t, _i, r: reached.append(r.reached))
    return float(np.mean(reached))


def accuracy_study(
    maze: Maze,
    out: Path,
    agents: Sequence[str] = ("navigator", "dqn"),
    trials: Sequence[int] = (35, 50, 70),
    limits: Sequence[int] = (150, 300, 500),
    seeds: dict[str, int] | None = None,
    preset: str = "default",
    progress: Callable[[], None] | None = None,
) -> dict:
    """Accuracy per agent, trial count and step limit; writes accuracy.csv/json/png."""
    out.mkdir(parents=True, exist_ok=True)
    seeds = seeds or {}
    res: dict = {a: np.zeros((len(trials), len(limits))) for a in agents}
    with (out / "accuracy.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["agent", "trials", "max_steps", "seeds", "accuracy"])
        for a in agents:
            n = seeds.get(a, 10 if a == "navigator" else 3)
            for i, t in enumerate(trials):
                for j, lim in enumerate(limits):
                    agent = AGENTS[a](maze.shape, range(n), preset)
                    res[a][i, j] = _accuracy(agent, maze, t, lim)
                    w.writerow([a, t, lim, n, round(res[a][i, j], 4)])
                    fh.flush()
                    if progress:
                        progress()
    fig = Figure(figsize=(4.2 * len(agents), 3.6))
    axes = fig.subplots(1, len(agents), squeeze=False)
    for ax, a in zip(axes[0], agents, strict=True):
        im = ax.imshow(res[a], vmin=0, vmax=1, cmap="viridis", origin="lower")
        for i in range(len(trials)):
            for j in range(len(limits)):
                ax.text(j, i, f"{res[a][i, j]:.1%}", ha="center", va="center", fontsize=8,
                        color="w" if res[a][i, j] < 0.6 else "k")  # fmt: skip
        ax.set_xticks(range(len(limits)), [str(x) for x in limits])
        ax.set_yticks(range(len(trials)), [str(x) for x in trials])
        ax.set_xlabel("step limit per trial")
        if ax is axes[0][0]:
            ax.set_ylabel("trials")
        ax.set_title(a)
    fig.colorbar(im, ax=axes[0].tolist(), label="accuracy")
    fig.savefig(out / "accuracy.png", dpi=120)
    summary = {a: res[a].tolist() for a in agents}
    summary.update(trials=list(trials), limits=list(limits), maze=maze.name)
    (out / "accuracy.json").write_text(json.dumps(summary, indent=1))
    return summary
