"""Device characterisation: the figures a researcher checks a device model by.

Each figure is measured on the model the way a lab would measure a chip:
program many devices at each setting, read them back, and plot the spread,
with the published points overlaid.

* ``onet1r_g_vs_vg.png``: 1T1R conductance after RESET + SET against the SET
  gate voltage (median, 5-95 % band, a few single devices, nominal line).
* ``onet1r_pair_weights.png``: weights written as differential pairs with the
  paper's initialisation rule and read back, against their targets.
* ``siox_lrs_vs_ic.png``: SiOx LRS against compliance current with the
  measured means, and the spread trend against the measured end points.
* ``siox_hrs_vs_vstop.png``: SiOx HRS against reset stop voltage.
* ``characterisation.json``: the numbers behind the figures.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from memrl.sim.devices import (
    LRS_TABLE_IC_UA,
    LRS_TABLE_KOHM,
    OneT1RArray,
    OneT1RParams,
    PairMap,
    SiOxArray,
    SiOxParams,
)

__all__ = ["CharacteriseConfig", "characterise"]


@dataclass(frozen=True)
class CharacteriseConfig:
    seed: int = 0
    rows: int = 128  # one array of the paper's size
    cols: int = 64
    siox_devices: int = 4096
    vg_points: int = 19
    ic_points: int = 25
    v_stop_points: int = 13


def _save(fig: Figure, ax_or_axes, path: Path) -> None:  # noqa: ANN001 - Axes
    for ax in np.atleast_1d(ax_or_axes):
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def g_vs_vg(cfg: CharacteriseConfig, out: Path) -> dict:
    p = OneT1RParams()
    arr = OneT1RArray(cfg.rows, cfg.cols, p, rng=np.random.default_rng([cfg.seed, 1]))
    vgs = np.linspace(p.vg_min, p.vg_max, cfg.vg_points)
    reads = np.empty((vgs.size, arr.size))
    for k, vg in enumerate(vgs):
        arr.reset(None)
        arr.set(None, vg)
        reads[k] = arr.read_us().reshape(-1)
    med = np.median(reads, axis=1)
    lo, hi = np.percentile(reads, [5, 95], axis=1)
    slope = np.polyfit(vgs, med, 1)[0]
    fig = Figure(figsize=(6, 4.2))
    ax = fig.subplots()
    ax.fill_between(vgs, lo, hi, alpha=0.25, label="5-95 % of devices")
    for d in range(5):
        ax.plot(vgs, reads[:, d * 997 % arr.size], lw=0.7, alpha=0.7, color="grey")
    ax.plot(vgs, med, "o-", label=f"median ({arr.size} devices), {slope:.0f} uS/V")
    ax.plot(
        vgs, p.g_set_nominal_us(vgs), "k--", lw=1, label="nominal: 100 uS + 98 uS/V (Vg - 0.7 V)"
    )
    ax.set_xlabel("SET gate voltage Vg (V)")
    ax.set_ylabel("conductance after RESET + SET (uS)")
    ax.set_title("1T1R SET characteristic (Wang et al. 2019 model)")
    _save(fig, ax, out / "onet1r_g_vs_vg.png")
    return {
        "vg_v": vgs.round(4).tolist(),
        "median_g_us": med.round(3).tolist(),
        "p5_g_us": lo.round(3).tolist(),
        "p95_g_us": hi.round(3).tolist(),
        "fitted_slope_us_per_v": round(float(slope), 2),
    }


def pair_weights(cfg: CharacteriseConfig, out: Path) -> dict:
    """The paper's initialisation: w ~ U(-0.25, 0.25); the sign-carrying device gets
    Vg = 1.05 V + 2 V * |w|, its partner 1.05 V; RESET all, then SET all."""
    p = OneT1RParams()
    rng = np.random.default_rng([cfg.seed, 2])
    arr = OneT1RArray(cfg.rows, cfg.cols, p, rng=rng)
    pm = PairMap(n_in=cfg.rows // 2, n_out=cfg.cols, orientation="vertical")
    pm.check_fits(arr)
    w = rng.uniform(-0.25, 0.25, (pm.n_in, pm.n_out))
    pos, neg = pm.indices(arr.cols)
    vg_sign = np.clip(1.05 + 2.0 * np.abs(w), p.vg_min, p.vg_max)  # the paper clips Vg
    vg_pos = np.where(w > 0, vg_sign, 1.05)
    vg_neg = np.where(w < 0, vg_sign, 1.05)
    arr.reset(None)
    arr.set(
        np.concatenate([pos.ravel(), neg.ravel()]), np.concatenate([vg_pos.ravel(), vg_neg.ravel()])
    )
    w_read = pm.weights(arr.read_us())
    # Expected weight from the nominal line: 2 V per unit weight x 98 uS/V / 250 uS,
    # on the clipped gate voltages.
    gain = 2.0 * p.slope_us_per_v / pm.s_us
    w_expect = np.sign(w) * (vg_sign - 1.05) * p.slope_us_per_v / pm.s_us
    err = w_read - w_expect
    fig = Figure(figsize=(5, 4.5))
    ax = fig.subplots()
    ax.plot(w.ravel(), w_read.ravel(), ".", ms=2, alpha=0.5, label="read back")
    ax.plot(
        [-0.25, 0.25], [-0.25 * gain, 0.25 * gain], "k--", lw=1, label=f"nominal gain {gain:.3f}"
    )
    ax.set_xlabel("target weight")
    ax.set_ylabel("(G+ - G-) / 250 uS")
    ax.set_title(f"differential pairs, {w.size} weights\nerror sigma {err.std():.4f}")
    _save(fig, ax, out / "onet1r_pair_weights.png")
    return {
        "n_weights": int(w.size),
        "nominal_gain": round(gain, 4),
        "error_mean": round(float(err.mean()), 5),
        "error_sigma": round(float(err.std()), 5),
    }


def lrs_vs_ic(cfg: CharacteriseConfig, out: Path) -> dict:
    p = SiOxParams()
    arr = SiOxArray(cfg.siox_devices, p, rng=np.random.default_rng([cfg.seed, 3]))
    ics = np.linspace(p.ic_min_ua, p.ic_max_ua, cfg.ic_points)
    mean, sd = np.empty(ics.size), np.empty(ics.size)
    for k, ic in enumerate(ics):
        arr.set(None, ic)
        r = 1e3 / arr.read_us()
        mean[k], sd[k] = r.mean(), r.std()
    fig = Figure(figsize=(10, 4))
    a1, a2 = fig.subplots(1, 2)
    a1.fill_between(ics, mean - sd, mean + sd, alpha=0.25, label="model mean +- sigma")
    a1.plot(ics, mean, "-", label=f"model mean ({arr.n} devices)")
    a1.plot(LRS_TABLE_IC_UA, LRS_TABLE_KOHM, "ks", ms=5, label="measured means (26 runs)")
    a1.plot(ics, 3.1 + 0.45 / (ics * 1e-6) * 1e-3, "r:", lw=1, label="3.1 kOhm + 0.45 V / Ic")
    a1.set_xlabel("compliance current Ic (uA)")
    a1.set_ylabel("LRS (kOhm)")
    a1.set_title("SiOx LRS vs compliance (Bianchi et al. 2023)")
    a2.semilogy(ics, sd, "-", label="model sigma as read (read noise included)")
    a2.semilogy([ics[0], ics[-1]], [1.37, 0.06], "ks", label="measured sigma, ends of the range")
    a2.set_xlabel("compliance current Ic (uA)")
    a2.set_ylabel("LRS sigma (kOhm)")
    _save(fig, [a1, a2], out / "siox_lrs_vs_ic.png")
    table_mean = np.interp(LRS_TABLE_IC_UA, ics, mean)
    rel = np.abs(table_mean - np.asarray(LRS_TABLE_KOHM)) / np.asarray(LRS_TABLE_KOHM)
    return {
        "ic_ua": ics.round(3).tolist(),
        "mean_kohm": mean.round(4).tolist(),
        "sigma_kohm": sd.round(4).tolist(),
        "max_rel_error_vs_table": round(float(rel.max()), 4),
    }


def hrs_vs_vstop(cfg: CharacteriseConfig, out: Path) -> dict:
    p = SiOxParams()
    arr = SiOxArray(cfg.siox_devices, p, rng=np.random.default_rng([cfg.seed, 4]))
    vs = np.linspace(p.v_stop_max, p.v_stop_min, cfg.v_stop_points)
    mean, sd, med = np.empty(vs.size), np.empty(vs.size), np.empty(vs.size)
    for k, v in enumerate(vs):
        arr.reset(None, v)
        r = 1e3 / arr.read_us()
        mean[k], sd[k], med[k] = r.mean(), r.std(), np.median(r)
    fig = Figure(figsize=(6, 4.2))
    ax = fig.subplots()
    ax.fill_between(vs, mean - sd, mean + sd, alpha=0.25, label="model mean +- sigma")
    ax.plot(vs, mean, "-", label=f"model mean ({arr.n} devices)")
    ax.plot(vs, med, "--", lw=1, label="model median")
    ax.errorbar(
        [-1.0, -1.6], [112, 374], yerr=[40, 110], fmt="ks", capsize=4, label="measured (approx.)"
    )
    ax.invert_xaxis()
    ax.set_xlabel("RESET stop voltage V_STOP (V)")
    ax.set_ylabel("HRS (kOhm)")
    ax.set_title("SiOx HRS vs reset stop voltage (Bianchi et al. 2023)")
    _save(fig, ax, out / "siox_hrs_vs_vstop.png")
    return {
        "v_stop_v": vs.round(3).tolist(),
        "mean_kohm": mean.round(2).tolist(),
        "sigma_kohm": sd.round(2).tolist(),
    }


FIGURES: dict[str, Callable[[CharacteriseConfig, Path], dict]] = {
    "onet1r_g_vs_vg": g_vs_vg,
    "onet1r_pair_weights": pair_weights,
    "siox_lrs_vs_ic": lrs_vs_ic,
    "siox_hrs_vs_vstop": hrs_vs_vstop,
}


def characterise(
    cfg: CharacteriseConfig, out: Path, progress: Callable[[str], None] | None = None
) -> dict:
    """Write every figure and ``characterisation.json`` into ``out``; return the summary.

    The JSON is rewritten after each figure, so an interrupted run keeps what it finished.
    """
    out.mkdir(parents=True, exist_ok=True)
    summary: dict = {"config": asdict(cfg), "figures": {}}
    for name, fn in FIGURES.items():
        summary["figures"][name] = fn(cfg, out)
        (out / "characterisation.json").write_text(json.dumps(summary, indent=1))
        if progress:
            progress(name)
    return summary
