"""Sweeps of one device setting: a run folder per value, compared in ``sweep.csv``.

:func:`run_sweep` repeats a run for each value of one device setting
(``adc_bits``, ``c2c_frac``, ``stuck_rate`` or ``drift_nu``) into
``{param}={value}/`` sub-folders and compares them in ``sweep.csv`` and
``sweep.png``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path

from memrl.host.crossbar.config import SWEEP_PARAMS, ConfigError, ControlRunConfig
from memrl.host.crossbar.runner import run_control

__all__ = ["SWEEP_COLUMNS", "run_sweep", "sweep_folder", "sweep_values"]

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
