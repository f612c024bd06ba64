"""Navigator benchmarks: golden-model throughput and the experiment targets.

Targets (issue: the self-adaptive navigator): initial convergence <= 30 trials
and recall <= 10 trials (median of 20 seeds), final path within 1.2x of the
shortest, >= 99 % of the last 20 trials of each block reaching the goal, on the
shipped pair and on generated pairs the rule was not tuned on; rover steps at
trial 95 <= 170; >= 1e6 agent-steps/s for a batch of 256 on one core (the compiled
engine; the numpy reference engine is measured on the same workload for the ratio).
"""

from __future__ import annotations

import math
import statistics
import tempfile
from pathlib import Path

from memrl.host.bench.registry import bench, experiment
from memrl.host.navigator.mazegen import generate_pair, generate_reopen_pair
from memrl.sim.navigator.golden import PRESETS, Navigator, run_schedule
from memrl.sim.navigator.maze import shipped

SEEDS = 20  # agents per dynamic-maze experiment
HELD_OUT = (101, 102)  # generated pairs never used while designing the default preset


def _successive(engine: str):  # noqa: ANN202
    maze = shipped("dynamic_a")
    nav = Navigator(maze.shape, range(256), PRESETS["default"], engine=engine)
    return (lambda: int(nav.run_trial(maze, 600).steps.sum())), 256


@bench("navigator_agent_steps_b256", "agent-steps")
def _throughput():
    """Successive trials (600 steps at most) of 256 default-preset agents on layout
    dynamic_a, compiled engine: exploration first, then converged trials (most of
    the timed ones); counts agent-steps."""
    return _successive("compiled")


@bench("navigator_numpy_agent_steps_b256", "agent-steps")
def _throughput_numpy():
    """The same workload on the numpy reference engine (vectorised over agents)."""
    return _successive("numpy")


@bench("navigator_schedule_b256", "agent-steps")
def _throughput_schedule():
    """One whole dynamic-maze run per call: 256 default-preset agents, 120 trials of
    at most 600 steps, shipped layouts A, B from trial 40, A from 80 (compiled)."""
    layouts = [shipped("dynamic_a"), shipped("dynamic_b")]

    def work() -> int:
        steps = []
        run_schedule(layouts, (40, 80), 120, 600, range(256), PRESETS["default"],
                     on_trial=lambda t, k, r: steps.append(int(r.steps.sum())))  # fmt: skip
        return sum(steps)

    return work, 256


TIGHT = 1.05  # "tight": 5 consecutive trials within this factor of the shortest path


def _tight(run: Path, blocks: list[tuple[int, int]]) -> list[float]:
    """Per block, the median over seeds of the trials until 5 consecutive trials
    reach the goal within TIGHT x the shortest path (the block's length if never):
    how soon the shortest route is walked, where convergence allows 1.5x."""
    import numpy as np

    from memrl.host.navigator.run import convergence, load_trials

    c = convergence(load_trials(run / "trials.csv"), blocks, slack=TIGHT)
    return [
        float(np.median(np.where(c[b] < 0, hi - lo, c[b]))) for b, (lo, hi) in enumerate(blocks)
    ]


def _dynamic(layouts: list, seeds: int = SEEDS) -> dict:
    from memrl.host.navigator.plots import summarise
    from memrl.host.navigator.run import MazeRunConfig, blocks_of, run_maze

    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for k, m in enumerate(layouts):
            files.append(Path(tmp) / f"l{k}.txt")
            files[-1].write_text(m.to_text())
        cfg = MazeRunConfig(tuple(map(str, files)), (40, 80), 120, 600, seeds)
        run_maze(cfg, Path(tmp) / "run")
        s = summarise(Path(tmp) / "run")
        tight = _tight(Path(tmp) / "run", blocks_of(cfg.switch_at, cfg.trials))
    out = {}
    for name, b, t in zip(("initial", "adapt", "recall"), s["blocks"], tight, strict=True):
        out[name] = {  # None: no seed converged, or none reached the goal at the end
            "converge_median": b["converge_median"],
            "converged_seeds": b["converged_seeds"],
            "last20_success": b["reach_rate_last20"],
            "final_path_ratio": b["final_path_ratio_median"],
            "tight_median": t,
        }
    return out


@experiment("navigator_dynamic_shipped")
def _dyn_shipped() -> dict:
    return _dynamic([shipped("dynamic_a"), shipped("dynamic_b")])


@experiment("navigator_dynamic_heldout")
def _dyn_heldout() -> dict:
    out = {}
    for seed in HELD_OUT:
        out[f"gen{seed}"] = _dynamic(list(generate_pair(seed)))
    out["shipped_heldout"] = _dynamic([shipped("heldout_a"), shipped("heldout_b")])
    return out


FRESH = range(112, 131)  # generated pairs first run after the default preset was fixed

# Named before the default rule's reopened-route and recall changes, and never
# used while designing them: the pairs mazegen produces for these seeds (at least
# 18 of them), with agent seeds 0-19. REOPEN_HELD_OUT are pairs whose layout B
# only closes A's route (nothing opened), so the switch back reopens a shorter
# route while B's remembered route stays valid. Tuning uses seeds 300-399.
HELD_OUT_RULE = range(400, 424)
REOPEN_HELD_OUT = range(500, 506)


def _generated_pairs(seeds: range, make=generate_pair) -> dict[int, dict]:  # noqa: ANN001
    """:func:`_dynamic` on every pair ``make`` (a mazegen pair maker) produces for
    ``seeds``, by seed."""
    rows = {}
    for seed in seeds:
        try:
            pair = list(make(seed))
        except RuntimeError:  # mazegen found no pair for this seed
            continue
        rows[seed] = _dynamic(pair)
    return rows


def _never_last(v: float | None) -> float:
    """A block figure for ordering: None (no seed converged, or none reached the
    goal) after every number."""
    return math.inf if v is None else v


def _or_none(v: float) -> float | None:
    """A figure back for the report: None where it was never reached."""
    return None if v == math.inf else v


def _worst(values) -> float | None:  # noqa: ANN001
    return _or_none(max(_never_last(v) for v in values))


def _block_figures(rows: dict[int, dict]) -> dict:
    out: dict = {"pairs": len(rows), "seeds": sorted(rows)}
    for block in ("initial", "adapt", "recall"):
        b = [r[block] for r in rows.values()]
        med = [_never_last(x["converge_median"]) for x in b]
        out[block] = {
            "converge_median_over_pairs": _or_none(statistics.median(med)),
            "converge_median_worst_pair": _or_none(max(med)),
            "final_path_ratio_worst_pair": _worst(x["final_path_ratio"] for x in b),
            "last20_success_min": min(x["last20_success"] for x in b),
            "tight_median_over_pairs": statistics.median(x["tight_median"] for x in b),
            "tight_median_worst_pair": max(x["tight_median"] for x in b),
        }
    out["pairs_recall_faster_than_first"] = sum(
        _never_last(r["recall"]["converge_median"]) < _never_last(r["initial"]["converge_median"])
        for r in rows.values()
    )
    return out


@experiment("navigator_dynamic_fresh_pairs")
def _dyn_fresh() -> dict:
    """The dynamic maze on every pair mazegen produces for seeds 112-130: the worst
    block figures over the pairs (targets: convergence <= 30 initial, <= 10 recall;
    >= 99 % late success; final path <= 1.2x)."""
    rows = _generated_pairs(FRESH)
    out: dict = {"pairs": len(rows)}
    for block in ("initial", "adapt", "recall"):
        b = [r[block] for r in rows.values()]
        out[block] = {
            "converge_median_max": _worst(x["converge_median"] for x in b),
            "unconverged_seeds": sum(SEEDS - x["converged_seeds"] for x in b),
            "last20_success_min": min(x["last20_success"] for x in b),
            "final_path_ratio_max": _worst(x["final_path_ratio"] for x in b),
        }
    out["recall_median_per_pair"] = {
        str(k): r["recall"]["converge_median"] for k, r in rows.items()
    }
    return out


@experiment("navigator_default_rule_heldout")
def _default_rule_heldout() -> dict:
    """The default preset's learning on the pairs mazegen produces for the held-out
    seeds HELD_OUT_RULE (20 agents each, A -> B -> A at trials 40 and 80). Targets
    (issue: the default rule in RTL): median trials to converge <= 5 in the first
    block and <= 3 in the recall block, recall below first learning; final path
    <= 1.05x the shortest in every block. Per block: the median over pairs of the
    per-pair median, the worst pair's median and final path ratio; and the pairs
    whose recall converges faster than their first learning."""
    return _block_figures(_generated_pairs(HELD_OUT_RULE))


@experiment("navigator_default_rule_reopen")
def _default_rule_reopen() -> dict:
    """The default preset on reopen pairs (mazegen's generate_reopen_pair for the
    held-out seeds REOPEN_HELD_OUT): layout B only closes A's route, so the
    switch back reopens a shorter route while B's remembered route stays valid.
    Target: the recall block's final path within 1.05x the shortest."""
    return _block_figures(_generated_pairs(REOPEN_HELD_OUT, generate_reopen_pair))


@experiment("navigator_rover")
def _rover() -> dict:
    from memrl.host.navigator.rover import RoverConfig, run_rover, summarise_rover

    with tempfile.TemporaryDirectory() as tmp:
        run_rover(RoverConfig(seeds=10), Path(tmp))
        s = summarise_rover(Path(tmp))
    pick = {}
    for cond, trials in (("transfer", (5, 50, 76, 95)), ("fresh", (76, 95))):
        for t in trials:  # counted from 1, as trials.csv counts them
            v = s[cond][t]
            pick[f"{cond}_trial{t}"] = {
                "steps_mean": round(v["steps_mean"], 1),
                "steps_sd": round(v["steps_sd"], 1),
                "cost_mean": round(v["cost_mean"], 1),
            }
    return pick


@experiment("navigator_default_rule_verilator")
def _default_rule_verilator() -> dict:
    """The default rule on the simulated FPGA: the navigator firmware's Verilog on
    Verilator behind a pseudo-terminal, the shipped 30x30 pair (A -> B -> A at
    trials 40 and 80, 600 steps), agent seeds 0 and 1; its trials.csv against the
    golden model's (equal byte for byte by construction) and the learning
    figures per block; wall time per seed."""
    import time

    from memrl.host.navigator.plots import summarise
    from memrl.host.navigator.run import MazeRunConfig, run_maze

    seeds = 2
    out: dict = {"seeds": seeds}
    with tempfile.TemporaryDirectory() as tmp:
        csv = {}
        for backend in ("golden", "verilator"):
            t0 = time.perf_counter()
            run_maze(MazeRunConfig(seeds=seeds, backend=backend), Path(tmp) / backend)
            out[f"{backend}_wall_s_per_seed"] = (time.perf_counter() - t0) / seeds
            csv[backend] = (Path(tmp) / backend / "trials.csv").read_bytes()
        out["trials_csv_equal"] = csv["golden"] == csv["verilator"]
        s = summarise(Path(tmp) / "verilator")
    for name, b in zip(("initial", "adapt", "recall"), s["blocks"], strict=True):
        out[name] = {
            "converge_median": b["converge_median"],
            "final_path_ratio": b["final_path_ratio_median"],
            "last20_success": b["reach_rate_last20"],
        }
    return out
