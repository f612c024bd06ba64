"""Figures of a control-task run folder (:mod:`memrl.host.crossbar.runner`).

* :func:`learning_curves`: ``learning.png``, the return per episode;
* :func:`device_load`: ``device_load.png``, programming pulses and write energy
  per episode, and how the pulses spread over the devices;
* :func:`views`: ``views/seed{S}_ep{E}.png`` for each watched episode, a
  dashboard of the array, the weights, the loss and the environment's state;
* :func:`sweep_figure`: ``sweep.png`` of a sweep folder;
* :func:`compare_figure`: two runs side by side (``memrl cartpole compare --plot``).

Each function returns the paths it wrote.
"""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from memrl.host.crossbar.config import solve_rule
from memrl.host.crossbar.envs import THETA_SCALE
from memrl.host.crossbar.results import load_episodes
from memrl.sim.crossbar.golden import CrossbarConfig, layer_maps

__all__ = ["learning_curves", "device_load", "views", "plot_run", "sweep_figure",
           "compare_figure"]  # fmt: skip

VIEW_NAME = re.compile(r"seed(-?\d+)_ep(\d+)$")


def _config(out: Path) -> dict:
    path = Path(out) / "config.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _title(cfg: dict) -> str:
    if not cfg:
        return ""
    return f"{cfg.get('env_id')}, {cfg.get('agent')} agent, preset {cfg.get('preset')}, " + (
        f"device {cfg.get('device')}" if cfg.get("agent") == "crossbar" else "float weights"
    )


def _trailing_mean(x: np.ndarray, window: int) -> np.ndarray:
    """Mean of the last ``window`` values at each index (fewer at the start)."""
    c = np.concatenate([[0.0], np.cumsum(x, dtype=np.float64)])
    n = np.arange(1, x.size + 1)
    lo = np.maximum(n - window, 0)
    return (c[n] - c[lo]) / (n - lo)


def _padded(columns: list[np.ndarray]) -> np.ndarray:
    """Seeds' columns of unequal length as a (seeds, episodes) array padded with NaN."""
    n = max(c.size for c in columns)
    out = np.full((len(columns), n), np.nan)
    for i, c in enumerate(columns):
        out[i, : c.size] = c
    return out


def learning_curves(out: Path) -> list[Path]:
    """Return per episode for each seed (thin), the median over seeds of the
    100-episode trailing mean (thick), and the solve threshold (dashed)."""
    out = Path(out)
    cfg = _config(out)
    data = load_episodes(out)
    rule = solve_rule(cfg["env_id"]) if cfg.get("env_id") else None
    fig = Figure(figsize=(9, 4.8))
    ax = fig.subplots()
    if data:
        for d in data.values():
            ax.plot(d["episode"], d["return"], lw=0.6, alpha=0.35, color="tab:blue")
        window = 100
        means = _padded([_trailing_mean(d["return"], window) for d in data.values()])
        ep = np.arange(1, means.shape[1] + 1)
        ax.plot(
            ep,
            np.nanmedian(means, axis=0),
            lw=2.2,
            color="tab:red",
            label=f"median of {len(data)} seeds, {window}-episode mean",
        )
        ax.plot([], [], lw=0.6, color="tab:blue", label="each seed")
        solved = [rule.solved_at(d["return"], d["steps"]) for d in data.values()] if rule else []
        solved = [s for s in solved if s is not None]
        if solved:
            ax.plot(
                solved,
                np.full(len(solved), np.nanmin(means)),
                "k^",
                ms=6,
                label=f"solved ({len(solved)}/{len(data)} seeds)",
            )
    line = rule.return_line() if rule else None
    if line is not None:
        ax.axhline(line, color="k", ls="--", lw=1, label=f"threshold: {rule.text}")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("episode")
    ax.set_ylabel("return")
    ax.set_title(_title(cfg), fontsize=10)
    ax.legend(fontsize=8, loc="best")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path = out / "learning.png"
    fig.savefig(path, dpi=120)
    return [path]


def _view_files(out: Path) -> list[tuple[int, int, Path]]:
    """(seed, episode, path) of the saved views, by episode then seed."""
    found = []
    for p in sorted((Path(out) / "views").glob("*.npz")):
        m = VIEW_NAME.match(p.stem)
        if m:
            found.append((int(m.group(1)), int(m.group(2)), p))
    return sorted(found, key=lambda t: (t[1], t[0]))


def _view_config(v: dict[str, np.ndarray]) -> CrossbarConfig | None:
    """The crossbar configuration a view came from (None without an array)."""
    if "g_us" not in v:
        return None
    sizes = (int(v["w1"].shape[0]), *(int(v[f"w{i}"].shape[1]) for i in range(1, 4)))
    rows, cols = v["g_us"].shape
    return CrossbarConfig(sizes=sizes, array_rows=int(rows), array_cols=int(cols))


def _used_mask(config: CrossbarConfig) -> np.ndarray:
    mask = np.zeros(config.array_rows * config.array_cols, dtype=bool)
    for pm in layer_maps(config):
        pos, neg = pm.indices(config.array_cols)
        mask[pos.ravel()] = True
        mask[neg.ravel()] = True
    return mask.reshape(config.array_rows, config.array_cols)


def device_load(out: Path) -> list[Path]:
    """SET and RESET pulses and write energy per episode (median over seeds), and a
    histogram of pulses per device in use from the last saved view (if any)."""
    out = Path(out)
    cfg = _config(out)
    data = load_episodes(out)
    last = None
    for _seed, _ep, p in reversed(_view_files(out)):
        with np.load(p) as z:
            if "set_count" in z:
                last = (_seed, _ep, {k: z[k] for k in z.files})
                break
    n = 3 if last else 2
    fig = Figure(figsize=(5 * n, 4))
    axes = fig.subplots(1, n)
    a1, a2 = axes[0], axes[1]
    if data:
        ep = np.arange(1, max(d["episode"].size for d in data.values()) + 1)
        for col, color in (("sets", "tab:green"), ("resets", "tab:purple")):
            med = np.nanmedian(_padded([d[col].astype(float) for d in data.values()]), axis=0)
            a1.plot(ep, med, lw=1.2, color=color, label=col[:-1].upper())
        e = np.nanmedian(_padded([d["energy_j"] for d in data.values()]), axis=0)
        a2.plot(ep, e, lw=1.2, color="tab:orange")
        if not any(d["pulses"].any() for d in data.values()):
            for a in (a1, a2):
                a.text(0.5, 0.6, "no device writes", ha="center", transform=a.transAxes)
    for a in (a1, a2):
        a.xaxis.set_major_locator(MaxNLocator(integer=True))
    a1.set_xlabel("episode")
    a1.set_ylabel(f"pulses per episode (median of {len(data)} seeds)")
    a1.set_title("programming pulses", fontsize=10)
    a1.legend(fontsize=8)
    a1.grid(alpha=0.3)
    a2.set_xlabel("episode")
    a2.set_ylabel("write energy per episode (J, median)")
    a2.set_title("write energy (first-order model)", fontsize=10)
    a2.grid(alpha=0.3)
    if last:
        seed, ep_n, v = last
        config = _view_config(v)
        counts = v["set_count"] + v["reset_count"]
        used = counts[_used_mask(config)] if config is not None else counts.ravel()
        a3 = axes[2]
        a3.hist(used, bins=min(50, max(1, int(used.max()) + 1)), color="tab:gray")
        a3.set_yscale("log")
        a3.set_xlabel("SET + RESET pulses per device")
        a3.set_ylabel("devices")
        a3.set_title(
            f"{used.size} devices in use, seed {seed} after episode {ep_n}\n"
            f"median {np.median(used):g}, max {used.max():g} pulses",
            fontsize=9,
        )
    fig.suptitle(_title(cfg), fontsize=10)
    fig.tight_layout()
    path = out / "device_load.png"
    fig.savefig(path, dpi=120)
    return [path]


def _state_panels(env_id: str, obs: np.ndarray) -> list[tuple[str, np.ndarray, list[float]]]:
    """(label, trace, limit lines) of the environment's state over an episode."""
    if "CartPole" in env_id or (not env_id and obs.shape[1] == 4):
        theta = obs[:, 2] / (THETA_SCALE if "PaperCartPole" in env_id else 1.0)
        return [
            ("cart position (m)", obs[:, 0], [-2.4, 2.4]),
            ("pole angle (deg)", np.degrees(theta), [-12.0, 12.0]),
        ]
    if "MountainCar" in env_id or (not env_id and obs.shape[1] == 2):
        return [("car position", obs[:, 0], [0.5]), ("car velocity", obs[:, 1], [])]
    return [(f"observation {i}", obs[:, i], []) for i in range(obs.shape[1])]


def _episode_return(out: Path, seed: int, ep: int) -> float | None:
    path = out / "episodes.csv"
    if not path.exists():
        return None
    with path.open() as fh:
        for r in csv.DictReader(fh):
            if int(r["seed"]) == seed and int(r["episode"]) == ep:
                return float(r["return"])
    return None


def _matrix(fig: Figure, ax: Axes, m: np.ndarray, title: str, cmap: str, **kw: Any) -> None:
    im = ax.imshow(m, aspect="auto", interpolation="nearest", cmap=cmap, **kw)
    ax.set_title(title, fontsize=9)
    ax.tick_params(labelsize=7)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.03).ax.tick_params(labelsize=7)


def views(out: Path) -> list[Path]:
    """One dashboard figure per saved view, next to its npz."""
    from matplotlib.patches import Rectangle

    out = Path(out)
    cfg = _config(out)
    env_id = cfg.get("env_id", "")
    written = []
    for seed, ep, p in _view_files(out):
        with np.load(p) as z:
            v = {k: z[k] for k in z.files}
        config = _view_config(v)
        has_array = config is not None
        n_rows = 3 if has_array else 2
        fig = Figure(figsize=(15, 3.6 * n_rows))
        gs = fig.add_gridspec(n_rows, 4)
        row = 0
        if has_array:
            maps = layer_maps(config)
            g = v["g_us"]
            g_max = max(float(g.max()), 1e-9)
            for i, pm in enumerate(maps):
                ax = fig.add_subplot(gs[row, i])
                _matrix(
                    fig, ax, g[pm.rows(), pm.cols()],
                    f"G layer {i + 1} (uS), {pm.footprint[0]}x{pm.footprint[1]} "
                    f"{pm.orientation} pairs",
                    "viridis", vmin=0.0, vmax=g_max,
                )  # fmt: skip
            ax = fig.add_subplot(gs[row, 3])
            vg = np.where(_used_mask(config), v["vg"], np.nan)
            _matrix(fig, ax, vg, "gate voltage of last SET (V), whole array", "magma")
            for i, pm in enumerate(maps):
                r, c = pm.footprint
                ax.add_patch(
                    Rectangle((pm.col0 - 0.5, pm.row0 - 0.5), c, r, fill=False, ec="cyan", lw=1)
                )
                ax.text(
                    pm.col0 + c / 2, pm.row0 + r / 2, f"L{i + 1}", color="k", fontsize=8,
                    ha="center", va="center", bbox={"fc": "cyan", "ec": "none", "pad": 1},
                )  # fmt: skip
            row += 1
        for i in range(3):
            w = v[f"w{i + 1}"]
            lim = max(float(np.abs(w).max()), 1e-9)
            ax = fig.add_subplot(gs[row, i])
            note = ", read back" if has_array else ""
            _matrix(
                fig, ax, w, f"w{i + 1} ({w.shape[0]}x{w.shape[1]}{note})",
                "RdBu_r", vmin=-lim, vmax=lim,
            )  # fmt: skip
        ax = fig.add_subplot(gs[row, 3])
        loss = np.asarray(v["loss"], dtype=float)
        steps = np.arange(1, loss.size + 1)
        ok = np.isfinite(loss)
        if ok.any():
            ax.plot(steps[ok], loss[ok], lw=1)
            if (loss[ok] > 0).all():
                ax.set_yscale("log")
        else:
            ax.text(0.5, 0.5, "no update yet\n(replay memory < batch)", ha="center",
                    va="center", transform=ax.transAxes)  # fmt: skip
        ax.set_title("minibatch loss", fontsize=9)
        ax.set_xlabel("step", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        row += 1
        obs = np.asarray(v["obs"], dtype=float)
        panels = _state_panels(env_id, obs)
        span = 4 // min(len(panels), 4)
        t = np.arange(obs.shape[0])
        for i, (label, trace, lines) in enumerate(panels[:4]):
            ax = fig.add_subplot(gs[row, i * span : (i + 1) * span])
            ax.plot(t, trace, lw=1.2)
            for y in lines:
                ax.axhline(y, color="k", ls="--", lw=0.8)
            ax.set_ylabel(label, fontsize=9)
            ax.set_xlabel("step", fontsize=8)
            ax.tick_params(labelsize=7)
            ax.grid(alpha=0.3)
        ret = _episode_return(out, seed, ep)
        head = f"{_title(cfg)}\nseed {seed}, episode {ep}: {obs.shape[0] - 1} steps"
        if ret is not None:
            head += f", return {ret:g}"
        fig.suptitle(head, fontsize=11)
        fig.tight_layout()
        path = p.with_suffix(".png")
        fig.savefig(path, dpi=100)
        written.append(path)
    return written


def plot_run(out: Path) -> list[Path]:
    """Every figure of a run folder."""
    return [*learning_curves(out), *device_load(out), *views(out)]


def sweep_figure(out: Path) -> list[Path]:
    """Episodes to solve against the swept value (a point per seed, unsolved seeds
    at the budget + 1, open) with the median, and the median pulses per step."""
    out = Path(out)
    with (out / "sweep.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    fig = Figure(figsize=(11, 4.2))
    a1, a2 = fig.subplots(1, 2)
    rng = np.random.default_rng(0)  # horizontal jitter of the points only
    labels, medians, censored, pps = [], [], [], []
    budget = None
    for x, r in enumerate(rows):
        labels.append(r["value"])
        s = json.loads((out / r["folder"] / "summary.json").read_text())
        budget = s["episode_budget"]
        solved = [p["solved_at"] for p in s["per_seed"]]
        jit = rng.uniform(-0.12, 0.12, len(solved))
        ys = [budget + 1 if v is None else v for v in solved]
        ok = np.array([v is not None for v in solved], dtype=bool)
        a1.plot(x + jit[ok], np.asarray(ys)[ok], "o", color="tab:blue", ms=4, alpha=0.7)
        a1.plot(x + jit[~ok], np.asarray(ys)[~ok], "o", mfc="none", color="tab:gray", ms=4)
        med = s["median"]["episodes_to_solve"]
        medians.append(math.nan if med is None else med)
        censored.append(bool(s["median"]["episodes_to_solve_censored"]))
        p = s["median"]["pulses_per_step"]
        pps.append(math.nan if p is None else p)
    xs = np.arange(len(rows))
    a1.plot(xs, medians, "k-", lw=1.5, label="median (unsolved = budget + 1)")
    cens = np.array(censored, dtype=bool)
    med = np.array(medians, dtype=float)
    a1.plot(xs[~cens], med[~cens], "ks", ms=6)
    if cens.any():
        a1.plot(xs[cens], med[cens], "ks", mfc="w", ms=6, label="median, a lower bound")
    a1.plot([], [], "o", color="tab:blue", ms=4, label="seed, solved")
    a1.plot([], [], "o", mfc="none", color="tab:gray", ms=4, label="seed, not solved")
    if budget is not None:
        a1.axhline(budget + 1, color="tab:gray", ls=":", lw=1)
        a1.annotate(
            f"not solved in {budget} episodes", (0, budget + 1), xycoords=("axes fraction", "data"),
            xytext=(4, -10), textcoords="offset points", fontsize=7, color="tab:gray",
        )  # fmt: skip
    param = rows[0]["param"] if rows else ""
    for a in (a1, a2):
        a.set_xticks(xs, labels)
        a.set_xlabel(param)
        a.grid(alpha=0.3)
    a1.set_ylabel("episodes to solve")
    a1.legend(fontsize=8)
    a2.plot(xs, pps, "-o", color="tab:green")
    a2.set_ylabel("pulses per step (median)")
    cfg = _config(out / rows[0]["folder"]) if rows else {}
    fig.suptitle(f"sweep of {param}: {_title(cfg)}", fontsize=10)
    fig.tight_layout()
    path = out / "sweep.png"
    fig.savefig(path, dpi=120)
    return [path]


def compare_figure(a: Path, b: Path, path: Path) -> list[Path]:
    """Two runs of the same experiment (a golden-model run and a backend's, say):
    each seed's return per episode, the second run dashed over the first, and
    the wall-clock time each took, episode by episode."""
    runs = [(Path(a), load_episodes(a), "-", 2.2), (Path(b), load_episodes(b), "--", 1.2)]
    names = [f"{r.name} ({_config(r).get('backend', '?')})" for r, *_ in runs]
    fig = Figure(figsize=(9, 6.4))
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 2]})
    for (_, data, ls, lw), name, color in zip(runs, names, ("tab:blue", "tab:orange"), strict=True):
        for i, d in enumerate(data.values()):
            label = name if i == 0 else None
            top.plot(d["episode"], d["return"], ls=ls, lw=lw, color=color, label=label)
            hours = np.cumsum(d["wall_s"]) / 3600.0
            bottom.plot(d["episode"], hours, ls=ls, lw=lw, color=color, label=label)
    top.set_ylabel("return")
    top.set_title(_title(_config(a)), fontsize=10)
    top.legend(fontsize=8, loc="best")
    bottom.set_ylabel("wall time (h)")
    bottom.set_yscale("log")
    bottom.set_xlabel("episode")
    bottom.xaxis.set_major_locator(MaxNLocator(integer=True))
    for ax in (top, bottom):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    return [path]
