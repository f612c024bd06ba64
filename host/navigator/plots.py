"""Figures and summary of a dynamic-maze run folder.

Energy per trial uses a first-order model (docs/navigator/golden-model.md, "Energy"):
integration ticks, fires, device reads and programming pulses, each with a
constant energy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from memrl.host.navigator.run import blocks_of, convergence, load_trials

__all__ = ["EnergyModel", "summarise", "plot_run"]


@dataclass(frozen=True)
class EnergyModel:
    """First-order energy constants (J).

    tick: eight neurons integrating a 10 uA LRS read current at 0.1 V for one
    10 us position pulse (the paper's pulse width): 8 x 0.1 V x 10 uA x 10 us.
    fire: 2e-10 J, inside the paper's measured 0.5-3.6e-10 J per fire (Fig. 4c).
    read: 0.1 V x 10 uA x 1 us. set: 2 V x 100 uA x 1 us. reset: 1.6 V x 100 uA x 1 us.
    """

    tick_j: float = 8e-11
    fire_j: float = 2e-10
    read_j: float = 1e-12
    set_j: float = 2e-10
    reset_j: float = 1.6e-10

    def per_trial(self, d: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {
            "integration": d["ticks"] * self.tick_j,
            "fire": d["steps"] * self.fire_j,
            "devices": d["reads"] * self.read_j
            + d["sets"] * self.set_j
            + d["resets"] * self.reset_j,
        }


def summarise(run: Path) -> dict:
    cfg = json.loads((run / "config.json").read_text())
    d = load_trials(run / "trials.csv")
    n_trials = d["steps"].shape[0]
    blocks = [(lo, min(hi, n_trials)) for lo, hi in blocks_of(cfg["switch_at"], cfg["trials"])]
    blocks = [(lo, hi) for lo, hi in blocks if hi > lo]
    conv = convergence(d, blocks)
    out: dict = {"trials_done": n_trials, "seeds": d["steps"].shape[1], "blocks": []}
    for b, (lo, hi) in enumerate(blocks):
        last = slice(max(lo, hi - 20), hi)
        c = conv[b]
        # The last trial's path against the shortest, over the seeds that reached the
        # goal in it (a capped trial's steps are not a path); None when none did.
        reached = d["reached_goal"][hi - 1].astype(bool)
        final = d["steps"][hi - 1][reached] / d["shortest"][hi - 1][reached]
        out["blocks"].append(
            {
                "trials": [lo + 1, hi],  # first and last, counted from 1
                "layout": int(d["layout"][lo, 0]),
                # a seed that never converged counts as the block's length; None when
                # no seed converged (no trial count to give)
                "converge_median": (
                    float(np.median(np.where(c < 0, hi - lo, c))) if (c >= 0).any() else None
                ),
                "converged_seeds": int((c >= 0).sum()),
                "converge_per_seed": c.tolist(),
                "reach_rate_last20": float(d["reached_goal"][last].mean()),
                "final_path_ratio_median": float(np.median(final)) if final.size else None,
                "final_reached_seeds": int(reached.sum()),
            }
        )
    if cfg.get("agent", "navigator") == "navigator":  # a baseline has no device energy
        e = EnergyModel().per_trial(d)
        out["energy_first_trial_j"] = float(np.median(sum(v[0] for v in e.values())))
        out["energy_last_trial_j"] = float(np.median(sum(v[-1] for v in e.values())))
    (run / "summary.json").write_text(json.dumps(out, indent=1))
    return out


def plot_run(run: Path) -> list[Path]:
    """steps_per_trial.png, convergence.png and energy_per_trial.png of a run
    folder (and its summary.json); the paths of the figures. A baseline agent's
    run (tabular Q, DQN) has no integration ticks and no device energy: its
    steps figure has one panel and there is no energy figure."""
    cfg = json.loads((run / "config.json").read_text())
    agent = cfg.get("agent", "navigator")
    navigator = agent == "navigator"
    d = load_trials(run / "trials.csv")
    t = np.arange(1, d["steps"].shape[0] + 1)  # trials count from 1
    files = []

    def switches(ax) -> None:  # noqa: ANN001
        for s in cfg["switch_at"]:  # the layout changes after trial s
            if s < t.size:
                ax.axvline(s + 0.5, color="k", ls=":", lw=1)

    fig = Figure(figsize=(8, 6.5 if navigator else 3.8))
    if navigator:
        a1, a2 = fig.subplots(2, 1, sharex=True)
    else:
        a1, a2 = fig.subplots(), None
    q25, med, q75 = np.percentile(d["steps"], [25, 50, 75], axis=1)
    a1.fill_between(t, q25, q75, alpha=0.3, label="interquartile range")
    a1.plot(t, med, lw=1.5, label=f"median of {d['steps'].shape[1]} seeds")
    a1.plot(t, d["shortest"][:, 0], "k--", lw=1, label="shortest path")
    a1.set_yscale("log")
    a1.set_ylabel("steps per trial")
    who = f"preset {cfg['preset']}" if navigator else agent
    a1.set_title(f"dynamic maze, {who}: layouts {', '.join(cfg['layout_names'])}")
    a1.legend(fontsize=8)
    switches(a1)
    if a2 is None:
        a1.set_xlabel("trial")
    else:
        tps = d["ticks"] / np.maximum(d["steps"], 1)
        a2.plot(t, np.median(tps, axis=1), lw=1.5)
        a2.set_yscale("log")
        a2.set_ylabel("integration ticks per step\n(median)")
        a2.set_xlabel("trial")
        switches(a2)
    fig.tight_layout()
    files.append(run / "steps_per_trial.png")
    fig.savefig(files[-1], dpi=120)

    summary = summarise(run)
    fig = Figure(figsize=(9, 3.8))
    b1, b2 = fig.subplots(1, 2)
    labels = [f"{b['trials'][0]}-{b['trials'][1]}" for b in summary["blocks"]]
    conv = [np.array(b["converge_per_seed"]) for b in summary["blocks"]]
    b1.boxplot([np.where(c < 0, np.nan, c) for c in conv], tick_labels=labels)
    b1.set_ylabel("trials to converge")
    b1.set_xlabel("block (trials)")
    b1.set_title("convergence: 5 trials within 1.5x shortest", fontsize=9)
    last = [b["trials"][1] - 1 for b in summary["blocks"]]  # each block's last trial's row
    ratio = [d["steps"][i] / d["shortest"][i] for i in last]
    b2.boxplot(ratio, tick_labels=labels)
    b2.axhline(1.2, color="r", ls="--", lw=1, label="1.2x")
    b2.set_ylabel("last trial's steps / shortest path")
    b2.set_xlabel("block (trials)")
    b2.legend(fontsize=8)
    fig.tight_layout()
    files.append(run / "convergence.png")
    fig.savefig(files[-1], dpi=120)

    if not navigator:
        return files
    e = EnergyModel().per_trial(d)
    fig = Figure(figsize=(8, 3.8))
    ax = fig.subplots()
    for name, v in e.items():
        ax.plot(t, np.median(v, axis=1), label=name)
    ax.set_yscale("log")
    ax.set_xlabel("trial")
    ax.set_ylabel("energy per trial (J, median)")
    ax.set_title("first-order energy per trial")
    ax.legend(fontsize=8)
    switches(ax)
    fig.tight_layout()
    files.append(run / "energy_per_trial.png")
    fig.savefig(files[-1], dpi=120)
    return files
