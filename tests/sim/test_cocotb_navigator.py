"""The navigator core's Verilog on Icarus and Verilator under cocotb, against the
golden model: every device operation and every trial's figures and trajectory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from memrl.host.maze import Maze, shipped
from memrl.host.navigator import PRESETS, Navigator, layout_schedule, run_agent
from memrl.host.navigator_rtl import rtl_config
from memrl.rtl.navigator import NavigatorCore
from memrl.sim.cocotb_runner import build, run

PAPER = PRESETS["paper"]
SIMS = [pytest.param("icarus", marks=pytest.mark.icarus),
        pytest.param("verilator", marks=pytest.mark.verilator)]  # fmt: skip
BUILD_ROOT = Path(__file__).resolve().parents[2] / "build" / "cocotb"


def _case(layouts: list[Maze], switch_at: list[int], trials: int, max_steps: int, seed: int):
    """The testbench case and the golden model's run of it."""
    schedule = layout_schedule(len(layouts), switch_at, trials)
    nav = Navigator(layouts[0].shape, [seed], PAPER, record=True, engine="numpy")
    gold: list = []

    def keep(t, lay, r) -> None:  # noqa: ANN001
        gold.append((r, nav.last_trajectories[0].tolist()))

    run_agent(nav, layouts, switch_at, trials, max_steps, keep)
    expected_trials = [
        {
            "steps": int(g.steps[0]),
            "reached": bool(g.reached[0]),
            "ticks": int(g.ticks[0]),
            "moves": int(g.moves[0]),
            "hits": int(g.hits[0]),
            "reads": int(g.reads[0]),
            "sets": int(g.sets[0]),
            "resets": int(g.resets[0]),
            "trajectory": [int(c) for c in traj],
        }
        for g, traj in gold
    ]
    case = {
        "layouts": [
            (lay.walls.reshape(-1).astype(int) | (lay.goal.reshape(-1).astype(int) << 1)).tolist()
            for lay in layouts
        ],
        "starts": [list(lay.start) for lay in layouts],
        "width": layouts[0].shape[1],
        "schedule": schedule,
        "max_steps": max_steps,
        "seed": seed,
        "expected": {"log": [list(x) for x in nav.logs[0]], "trials": expected_trials},
    }
    return case


@pytest.mark.parametrize("sim", SIMS)
def test_small_dynamic_maze_equals_golden_model(sim, tmp_path):
    a, b = shipped("small_a_9x9"), shipped("small_b_9x9")
    case = _case([a, b], [3], 6, 80, 0)
    core = NavigatorCore(rtl_config(PAPER, a.shape))
    bld = build(sim, core, "navigator", BUILD_ROOT)
    (tmp_path / "case.json").write_text(json.dumps(case))
    env = {"MEMRL_TB_CASE": str(tmp_path / "case.json"), "MEMRL_TB_OUT": str(tmp_path / "out.json")}
    run(bld, "memrl.sim.cocotb_navigator", env, tmp_path)
    out = json.loads((tmp_path / "out.json").read_text())
    assert len(out["log"]) == len(case["expected"]["log"]) > 1000
    assert any(t["reached"] for t in out["trials"])
