"""cocotb benchmarks: simulation speed of the navigator top under Icarus,
Verilator and amaranth.sim, and the full dynamic-maze run checked against the
golden model.

Goals (issue: cocotb verification): Verilator >= 100k cycles/s on the
navigator top; the full 120-trial run under a minute.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from memrl.host.bench.registry import experiment
from memrl.sim.navigator.cocotb_run import run_cocotb
from memrl.sim.navigator.golden import PRESETS
from memrl.sim.navigator.maze import shipped
from memrl.sim.navigator.session import golden_run, run_rtl

REPEATS = 3
# The speed case: the shipped 30x30 pair, 10 trials of 600 steps (seed 0; the
# first trials are long explorations, so it is dominated by ordinary steps).
SPEED_TRIALS = 10
FULL = ([40, 80], 120, 600, 0)


def _layouts() -> list:
    return [shipped("dynamic_a"), shipped("dynamic_b")]


def _cocotb(sim: str, bus: str, trials: int, work: Path, expected=None):  # noqa: ANN001, ANN202
    switch_at, _, max_steps, seed = FULL
    return run_cocotb(sim, _layouts(), switch_at, trials, max_steps, seed, work, bus=bus,
                      check=expected is not None, expected=expected, waves=False)  # fmt: skip


@experiment("navigator_cocotb_speed")
def _speed() -> dict:
    """Clock cycles per second of the navigator top (30x30 maze) under Icarus and
    Verilator with each bus model, and under amaranth.sim with its testbench
    memory, median of 3 runs of the first 10 trials of the dynamic-maze schedule.
    ``wall_s`` is the simulator process's, start-up included (golden model and
    build excluded); ``steady_cycles_per_s`` leaves out the start-up (about 2 s)
    and the end-of-run checks: the testbench's own time for init and trials. The
    batch bus answers later than the cycle bus, so the same trials take more
    cycles on it; ``trials_per_s`` compares the buses fairly."""
    out: dict[str, object] = {"goal_verilator_cycles_per_s": 100_000}
    with tempfile.TemporaryDirectory() as tmp:
        for sim in ("verilator", "icarus"):
            for bus in ("batch", "cycle"):
                runs = []
                for r in range(REPEATS):
                    res = _cocotb(sim, bus, SPEED_TRIALS, Path(tmp) / f"{sim}-{bus}-{r}")
                    runs.append((res.cycles, res.wall_s, res.schedule_wall_s))
                wall = statistics.median(w for _, w, _ in runs)
                steady = statistics.median(s for _, _, s in runs)
                cycles = runs[0][0]
                out[f"{sim}_{bus}"] = {
                    "cycles": cycles,
                    "wall_s": wall,
                    "cycles_per_s": cycles / wall,
                    "steady_cycles_per_s": cycles / steady,
                    "trials_per_s": SPEED_TRIALS / wall,
                }
    switch_at, _, max_steps, seed = FULL
    walls, cycles = [], 0
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        trials, _log = run_rtl(
            _layouts(), switch_at, SPEED_TRIALS, max_steps, seed, PRESETS["paper"], pipelined=True
        )
        walls.append(time.perf_counter() - t0)
        cycles = sum(t.cycles for t in trials)
    wall = statistics.median(walls)
    out["amaranth_pipelined"] = {
        "cycles": cycles,
        "wall_s": wall,
        "cycles_per_s": cycles / wall,
        "trials_per_s": SPEED_TRIALS / wall,
    }
    base = out["amaranth_pipelined"]["trials_per_s"]
    for key in ("verilator_batch", "verilator_cycle", "icarus_batch", "icarus_cycle"):
        out[key]["speedup_vs_amaranth"] = out[key]["trials_per_s"] / base
    return out


@experiment("navigator_cocotb_full_run")
def _full_run() -> dict:
    """The 120-trial dynamic-maze run (shipped 30x30 pair, A -> B -> A at trials
    40 and 80, 600 steps, seed 0) on Verilator and Icarus with the batch bus,
    every device operation and trial compared with the golden model in the
    testbench (a difference fails the run) and compared again here from the
    saved logs. ``wall_s`` is the simulator run; the golden model runs once,
    before both, and its time is reported apart (goal: the Verilator run under a
    minute)."""
    switch_at, trials, max_steps, seed = FULL
    t0 = time.perf_counter()
    want, want_log = golden_run(_layouts(), switch_at, trials, max_steps, seed)
    golden_s = time.perf_counter() - t0
    out: dict[str, object] = {"goal_verilator_wall_s": 60, "golden_model_s": golden_s}
    with tempfile.TemporaryDirectory() as tmp:
        for sim in ("verilator", "icarus"):
            res = _cocotb(sim, "batch", trials, Path(tmp) / sim, (want, want_log))
            same_trials = [{k: t[k] for k in want[0]} for t in res.trials] == want
            out[sim] = {
                "wall_s": res.wall_s,
                "cycles": res.cycles,
                "cycles_per_s": res.cycles / res.wall_s,
                "steady_cycles_per_s": res.cycles / res.schedule_wall_s,
                "device_operations": len(res.log),
                "batches": res.batches,
                "trials_reaching_goal": sum(t["reached"] for t in res.trials),
                "equal_to_golden_model": bool(np.array_equal(res.log, want_log) and same_trials),
            }
    return out
