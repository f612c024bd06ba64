"""RTL benchmarks: simulation speed, clock cycles per step, FPGA resources and Fmax.

Goals (issue: the navigator in RTL): a 30 x 30 maze fits the iCE40 UP5K at
>= 48 MHz; the 128 x 128 rover map fits using SPRAM; a step in <= 16 cycles
plus integration ticks; a full dynamic-maze run in amaranth.sim within a few
minutes.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from collections import deque
from pathlib import Path

import numpy as np

from memrl.host.bench.registry import bench, experiment
from memrl.host.build.verilog import FAMILIES, cell_summary, synth_report
from memrl.sim.devices.emulator import EmulatorModel
from memrl.sim.navigator.golden import PRESETS, layout_schedule
from memrl.sim.navigator.maze import shipped
from memrl.sim.navigator.session import SLOTS, run_rtl

SMALL_SWITCH_AT, SMALL_TRIALS = (6, 12), 18


def _small_layouts() -> list:
    return [shipped("small_a_9x9"), shipped("small_b_9x9")]


def _small_run(
    latency: int = 0, pipelined: bool = False, emulator: bool = False, preset: str = "paper"
):  # noqa: ANN202
    emu = EmulatorModel.from_siox(SLOTS * 81, 3) if emulator else None
    return run_rtl(_small_layouts(), SMALL_SWITCH_AT, SMALL_TRIALS, 120, 3, PRESETS[preset],
                   latency=latency, pipelined=pipelined, emulator=emu)  # fmt: skip


@bench("navigator_rtl_amaranth_cycles", "cycles")
def _amaranth_speed():
    """The navigator core in amaranth.sim with the SiOx model on its RRAM port:
    the shipped 9x9 pair, A -> B -> A, 18 trials of at most 120 steps (elaboration
    included); counts clock cycles."""
    cycles = sum(t.cycles for t in _small_run()[0])
    return (lambda: _small_run()), cycles


@experiment("navigator_rtl_cycles_per_step")
def _cycles_per_step() -> dict:
    """Clock cycles per step of the core (amaranth.sim, memory latency 0) with
    three memories: the SiOx model taking one request at a time, the SiOx model
    taking a request every cycle, and the on-chip emulator core; and the default
    rule with the pipelined SiOx model (its searches and planned paths count in
    the step that starts them). A converged step
    is a step of a trial that reached the goal within 1.5x of its shortest path
    (on the emulator's devices no trial of this run does); ``overhead`` is a
    step's cycles minus its integration ticks (goal: <= 16), ``within_goal`` the
    share of all steps that meet it (forgetting sweeps and rewards do not)."""
    layouts = _small_layouts()
    short = [lay.shortest_path_length() for lay in layouts]
    which = layout_schedule(len(layouts), SMALL_SWITCH_AT, SMALL_TRIALS)
    out: dict[str, object] = {"goal_overhead_cycles": 16}
    for name, kw in (
        ("one_at_a_time", {}),
        ("pipelined", {"pipelined": True}),
        ("emulator", {"emulator": True}),
        ("default_rule_pipelined", {"pipelined": True, "preset": "default"}),
    ):
        trials, _ = _small_run(**kw)
        steps = [
            (c, k, t.reached and t.steps <= 1.5 * short[j])
            for t, j in zip(trials, which, strict=True)
            for c, k in zip(t.step_cycles, t.step_ticks, strict=True)
        ]
        conv = [(c, k) for c, k, ok in steps if ok]
        out[name] = {
            "steps": len(steps),
            "overhead_median": statistics.median(c - k for c, k, _ in steps),
            "within_goal": sum(c - k <= 16 for c, k, _ in steps) / len(steps),
            "converged_steps": len(conv),
            "converged_cycles_median": statistics.median(c for c, _ in conv) if conv else None,
            "converged_ticks_median": statistics.median(k for _, k in conv) if conv else None,
            "converged_overhead_median": (
                statistics.median(c - k for c, k in conv) if conv else None
            ),
        }
    return out


@experiment("navigator_rtl_full_run")
def _full_run() -> dict:
    """Wall time of the 120-trial dynamic-maze run (shipped 30x30 pair, A -> B ->
    A at trials 40 and 80, 600 steps, seed 0) in amaranth.sim."""
    t0 = time.perf_counter()
    trials, log = run_rtl(
        [shipped("dynamic_a"), shipped("dynamic_b")], [40, 80], 120, 600, 0, PRESETS["paper"]
    )
    wall = time.perf_counter() - t0
    cycles = sum(t.cycles for t in trials)
    return {
        "wall_s": wall,
        "cycles": cycles,
        "cycles_per_s": cycles / wall,
        "device_operations": len(log),
        "trials_reaching_goal": sum(t.reached for t in trials),
    }


@experiment("navigator_rtl_synth")
def _synth() -> dict:
    """YoWASP Yosys + nextpnr for the navigator tops (the paper rule's on 30 x 30
    and 128 x 128, the default rule's on 30 x 30 and on the 128 x 128 rover's
    terrain) on each FPGA family: the
    core's LUTs, flip-flops, block RAMs and SPRAMs, placed cells, and Fmax at a
    48 MHz target over several placement seeds (five on the iCE40, three on the
    ECP5): per seed, the median, and how many seeds meet 48 MHz."""
    out: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for top in ("navigator", "navigator_default", "navigator_rover",
                    "navigator_default_rover"):  # fmt: skip
            for family in FAMILIES:
                seeds = (1, 2, 3, 4, 5) if family.startswith("ice40") else (1, 2, 3)
                work = Path(tmp) / f"{top}_{family}"
                # The ECP5 boards build the default rule's row words read-modify-write.
                form = f"{top}_rmw" if "default" in top and family.startswith("ecp5") else top
                try:
                    r = synth_report(form, family, work, seeds)
                except RuntimeError as exc:  # synthesised, but does not place: say so
                    stat = work / f"{form}_{family}_stat.json"
                    cells = (
                        json.loads(stat.read_text())["design"]["num_cells_by_type"]
                        if stat.exists() else {}
                    )  # fmt: skip
                    summary = cell_summary(cells) if cells else {}
                    out[f"{top}.{family}"] = {
                        "fits": False, "error": str(exc).splitlines()[-1], "cells": cells,
                        **{k: summary.get(k) for k in ("luts", "ffs", "brams", "sprams")},
                    }  # fmt: skip
                    continue
                cells = r["cells"]
                summary = cell_summary(cells)
                out[f"{top}.{family}"] = {
                    "fits": True,
                    **{k: summary[k] for k in ("luts", "ffs", "brams", "sprams")},
                    "cells": cells,
                    "placed": {k: v["used"] for k, v in r["utilization"].items()},
                    "available": {k: v["available"] for k, v in r["utilization"].items()},
                    "fmax_mhz_median": r["fmax_mhz"],
                    "fmax_mhz_by_seed": r["fmax_mhz_by_seed"],
                    "seeds_meeting_48mhz": sum(f >= 48 for f in r["fmax_mhz_by_seed"].values()),
                }
    return out


#: The navigator's board builds: (board, maze size, preset, terrain, trajectory depth).
#: The rover's terrain build keeps 4,096 trajectory places (rover runs of up to
#: 4,095 steps: the host sums a trial's entry costs from its trajectory).
BOARD_BUILDS = (
    ("ulx3s", 30, "default", False, 1024),
    ("ulx3s-85f", 128, "default", True, 4096),
    ("icebreaker", 30, "paper", False, 1024),
    ("icebreaker", 30, "default", False, 1024),
)
#: Placement seeds of the board builds.
BUILD_SEEDS = (1, 2, 3)


@experiment("navigator_fpga_builds")
def _fpga_builds() -> dict:
    """``memrl fpga build`` of the navigator SoC for each of ``BOARD_BUILDS``, once
    per placement seed in ``BUILD_SEEDS``: LUTs, flip-flops and block RAMs, the
    placed cells of the first seed, Fmax (at the board's clock) per seed and their
    median; a build that does not fit gives its demand (and is built once)."""
    from memrl.host.build.fpga import BuildFailed, build
    from memrl.sim.navigator.session import rtl_config

    out = {}
    for board, size, preset, terrain, depth in BOARD_BUILDS:
        config = rtl_config(PRESETS[preset], (size, size), terrain)
        name = f"{board}.{size}x{size}.{preset}{'.terrain' * terrain}"
        runs = []
        for seed in BUILD_SEEDS:
            with tempfile.TemporaryDirectory() as tmp:
                try:
                    runs.append(build(board, Path(tmp), config, 0, traj_depth=depth,
                                      pnr_seed=seed))  # fmt: skip
                except BuildFailed as exc:
                    report = exc.report or {}
                    keep = ("luts", "ffs", "brams", "placed")
                    out[name] = {"fits": False, "error": str(exc).splitlines()[0],
                                 **{k: report.get(k) for k in keep}}  # fmt: skip
                    break
        if not runs:
            continue
        first = runs[0]
        out[name] = {
            "fits": True,
            **{k: first[k] for k in ("clock_mhz", "luts", "ffs", "brams", "sprams",
                                     "bitstream_bytes", "rmw_rows", "traj_depth")},
            "placed": first["placed"],
            "fmax_mhz_by_seed": [r["fmax_mhz"] for r in runs],
            "fmax_mhz_median": statistics.median(r["fmax_mhz"] for r in runs),
            "timing_met_every_seed": all(r["timing_met"] for r in runs),
        }  # fmt: skip
    return out


def _reachable(usable: np.ndarray, shape: tuple[int, int], source: int) -> int:
    """Usable places reachable from ``source`` by the eight moves (every diagonal
    taken before)."""
    from memrl.sim.navigator.golden import grid_tables

    nbr, _ = grid_tables(shape)
    seen = {source}
    queue = deque([source])
    while queue:
        x = queue.popleft()
        for y in nbr[x]:
            if y >= 0 and usable[y] and int(y) not in seen:
                seen.add(int(y))
                queue.append(int(y))
    return len(seen)


def _planner_case(
    shape: tuple[int, int], walls: np.ndarray | None, start: int, target: int, frontier: bool
) -> dict:
    """One search of the planner in amaranth.sim: the reward path's from
    ``start`` to a goal at ``target``, or the frontier search's from ``start``
    with every place seen but ``target``; the walls known (none on an open grid),
    every diagonal taken before."""
    from memrl.rtl.navigator.config import NavigatorConfig
    from memrl.sim.navigator.planner_run import run_planner

    h, w = shape
    P = h * w
    usable = np.ones(P, dtype=bool) if walls is None else ~walls.reshape(-1)
    goal = np.zeros(P, dtype=bool)
    goal[target] = True
    seen = np.ones(P, dtype=bool) if frontier else np.zeros(P, dtype=bool)
    seen[target] = False
    taken = np.ones((P, 8), dtype=bool)
    config = NavigatorConfig(height=h, width=w, reward_path="bfs", boredom=1, optimistic=True)
    run = run_planner(config, usable, seen, goal, taken, start, start, frontier)
    # The places the search takes from its queue: at most every usable place
    # reachable (the target is the farthest, so nearly all of them).
    visited = _reachable(usable, shape, target if not frontier else start)
    return {
        "places": P,
        "places_searched": visited,
        "path_places": len(run.path),
        "cycles": run.cycles,
        "cycles_per_place_searched": run.cycles / visited,
    }


def _cheapest_case(cost: np.ndarray, start: int, target: int, learned: bool) -> dict:
    """The terrain planner's cheapest-path search (amaranth.sim) over ``cost`` (a
    cost map, every place usable, every diagonal taken), with every place's cost
    learned or none (every place at the cost of 1)."""
    from memrl.rtl.navigator.config import NavigatorConfig
    from memrl.sim.navigator.golden import COST_UNIT
    from memrl.sim.navigator.planner_run import run_planner
    from memrl.sim.navigator.session import COST_BITS

    h, w = cost.shape
    P = h * w
    goal = np.zeros(P, dtype=bool)
    goal[target] = True
    units = np.rint(cost.reshape(-1) * COST_UNIT).astype(np.int64)
    known = units if learned else np.full(P, COST_UNIT, dtype=np.int64)
    config = NavigatorConfig(height=h, width=w, reward_path="bfs", optimistic=True,
                             cost_bits=COST_BITS)  # fmt: skip
    taken = np.ones((P, 8), dtype=bool)
    run = run_planner(config, np.ones(P, dtype=bool), np.zeros(P, dtype=bool), goal, taken,
                      start, start, False, known)  # fmt: skip
    return {
        "places": P,
        "path_places": len(run.path),
        "cycles": run.cycles,
        "cycles_per_place": run.cycles / P,
    }


@experiment("navigator_rtl_planner_cycles")
def _planner_cycles() -> dict:
    """The planner's clock cycles (amaranth.sim): the reward path's search and the
    frontier search on the shipped 30x30 maze (walls known), an open 30x30 grid
    and an open 128x128 grid, the target in the far corner, so each search takes
    nearly every place (goal: about 9 cycles per place searched on 30x30)."""
    maze = shipped("dynamic_a")
    far = int(np.flatnonzero(maze.goal.reshape(-1))[-1])
    out: dict[str, object] = {"goal_cycles_per_place_30x30": 9}
    for name, shape, walls, start, target in (
        ("maze_30x30", maze.shape, maze.walls, maze.cell(*maze.start), far),
        ("open_30x30", (30, 30), None, 0, 30 * 30 - 1),
        ("open_128x128", (128, 128), None, 0, 128 * 128 - 1),
    ):
        for kind, frontier in (("reward", False), ("frontier", True)):
            out[f"{name}.{kind}"] = _planner_case(shape, walls, start, target, frontier)
    # Terrain: the cheapest path on the rover's map (start to goal) and on its
    # 30x30 corner, with no cost learned yet and with every cost learned.
    from memrl.host.navigator.envs import ROVER_GOAL, ROVER_START, rover_terrain

    cost = rover_terrain(0)[1]
    for name, sub, start, goal in (
        ("rover_128x128", cost, ROVER_START, ROVER_GOAL),
        ("rover_30x30", cost[:30, :30], (1, 1), (28, 28)),
    ):
        w = sub.shape[1]
        for kind, learned in (("cheapest_unknown", False), ("cheapest_learned", True)):
            out[f"{name}.{kind}"] = _cheapest_case(
                sub, start[0] * w + start[1], goal[0] * w + goal[1], learned
            )
    return out
