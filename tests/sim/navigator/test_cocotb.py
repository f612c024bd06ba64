"""The navigator core's Verilog on Icarus and Verilator under cocotb, against the
golden model: every device operation and every trial's figures and trajectory.

Every test runs on both simulators. The directed cases each drive one branch of
the learning rule (the test fails if the branch is not taken); their branch
counts go to the coverage report printed at the end of the session
(tests/sim/conftest.py). The full 120-trial run is marked slow (`make bench`
times it).
"""

from __future__ import annotations

import re
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from memrl.sim.navigator.cocotb_run import run_cocotb
from memrl.sim.navigator.coverage import BRANCHES, DEFAULT_BRANCHES, branch_counts
from memrl.sim.navigator.golden import PRESETS, with_overrides
from memrl.sim.navigator.maze import random_maze, shipped, terrain_transfer
from memrl.sim.navigator.session import golden_run
from memrl.sim.tools.runner import waves_requested

from ..conftest import record_coverage

PAPER = PRESETS["paper"]
SIMS = [pytest.param("icarus", marks=pytest.mark.icarus),
        pytest.param("verilator", marks=pytest.mark.verilator)]  # fmt: skip
BUILD_ROOT = Path(__file__).resolve().parents[3] / "build" / "cocotb"
WAVE_DIR = Path(__file__).resolve().parents[3] / "build" / "waves"


@pytest.fixture
def workdir(request, tmp_path):
    """The run's directory: build/waves/<test> when WAVES=1 asks for waveforms."""
    if not waves_requested():
        return tmp_path
    d = WAVE_DIR / re.sub(r"[^\w.-]+", "_", request.node.name)
    shutil.rmtree(d, ignore_errors=True)
    return d


def _pair():
    return [shipped("small_a_9x9"), shipped("small_b_9x9")]


# name: (layouts, switch_at, trials, max_steps, seed, rule overrides)
CASES = {
    "dynamic": (_pair, [3], 6, 80, 0, {}),
    "exploit_limit": (_pair, [3], 6, 80, 0, {"exploit_limit": 5}),
    "stuck": (_pair, [3], 6, 80, 0, {"stuck_steps": 4}),
    "no_fire": (_pair, [3], 3, 80, 0, {"max_ticks": 4}),
}
# The directed case of each branch.
BRANCH_CASE = {
    "move": "dynamic",
    "wall": "dynamic",
    "corner": "dynamic",
    "exploit": "dynamic",
    "forget_blocked": "dynamic",
    "goal": "dynamic",
    "step_limit": "dynamic",
    "forget_exploit": "exploit_limit",
    "stuck": "stuck",
    "no_fire": "no_fire",
}


def _run(sim, name, workdir, **kw):
    layouts, switch_at, trials, max_steps, seed, over = CASES[name]
    lays = layouts()
    params = with_overrides(PAPER, **over)
    res = run_cocotb(
        sim, lays, switch_at, trials, max_steps, seed, workdir, params,
        build_root=BUILD_ROOT, **kw,
    )  # fmt: skip
    counts = branch_counts(res.log, res.trials, params, lays[0].shape, max_steps)
    return res, counts


def test_every_branch_has_a_directed_case():
    assert set(BRANCH_CASE) == set(BRANCHES)
    assert set(BRANCH_CASE.values()) <= set(CASES)


# make test runs every directed case on Icarus and the dynamic one on Verilator too
# (each other case is its own Verilator build); SLOW=1 runs the rest on Verilator.
@pytest.mark.parametrize(
    ("case", "sim"),
    [
        pytest.param(case, sim, marks=[getattr(pytest.mark, sim)]
                     + ([pytest.mark.slow] if sim == "verilator" and case != "dynamic" else []))
        for case in sorted(CASES)
        for sim in ("icarus", "verilator")
    ],
)  # fmt: skip
def test_directed_case_equals_golden_model(sim, case, workdir):
    """The run equals the golden model (checked in the testbench) and takes the
    branches it is there for."""
    res, counts = _run(sim, case, workdir)
    record_coverage(sim, f"directed-{case}", counts)
    mine = [b for b, c in BRANCH_CASE.items() if c == case]
    missed = [b for b in mine if counts[b] == 0]
    assert not missed, f"case {case!r} did not take {missed}: {counts}"
    steps = sum(t["steps"] for t in res.trials)
    assert counts["move"] + counts["wall"] + counts["corner"] + counts["no_fire"] == steps
    assert res.batches and res.requests > res.batches  # several requests per batch


# The default rule's runs (the shipped 9x9 pair): name -> (switch_at, trials,
# seed, rule overrides). The scoreboard compares every operation with the
# golden model, so the golden model's branch counts are the run's.
DEFAULT_CASES = {
    "default": ([9], 18, 0, {}),
    # walls doubted at once and the frontier after 3 dull moves: every branch
    "default_doubt_frontier": ([4], 12, 1, {"doubt_age": 0, "boredom": 3,
                                            "doubt_unexplored": False}),
    "default_pessimistic": ([4], 12, 4, {"optimistic": False, "doubt_unexplored": False,
                                         "doubt_age": 1}),
    # walls doubted at every forgetting, found again and kept as fixtures
    "default_fixtures": ([4], 12, 1, {"doubt_age": 1}),
    # probes of walls that appeared after 2 trials: failed at walls and corners
    "default_probes": ([4, 8], 12, 1, {"probe_age": 2}),
    # a cost map whose goal moves: cheapest paths, path-end forgetting
    "default_terrain": ([5], 10, 0, {}),
}  # fmt: skip


def _case_maps(case: str) -> tuple[list, int]:
    """The layouts of a default-rule case and its step limit."""
    if case.endswith("terrain"):
        return list(terrain_transfer(10, np.random.default_rng(1))), 400
    return _pair(), 80


# make test runs the preset and the doubt and frontier branches on Verilator (Icarus
# runs the paper rule's directed cases; the terrain rule runs in amaranth.sim,
# tests/rtl/navigator/test_default_rule.py); the rest is slow (SLOW=1).
_FAST_DEFAULT = {("default", "verilator"), ("default_doubt_frontier", "verilator")}


@pytest.mark.parametrize(
    ("case", "sim"),
    [
        pytest.param(
            case, sim, marks=[getattr(pytest.mark, sim)]
            + ([] if (case, sim) in _FAST_DEFAULT else [pytest.mark.slow]),
        )
        for case in sorted(DEFAULT_CASES)
        for sim in ("icarus", "verilator")
    ],
)  # fmt: skip
def test_default_rule_equals_golden_model(sim, case, workdir):
    switch_at, trials, seed, over = DEFAULT_CASES[case]
    params = with_overrides(PRESETS["default"], **over)
    maps, max_steps = _case_maps(case)
    res = run_cocotb(
        sim, maps, switch_at, trials, max_steps, seed, workdir, params, build_root=BUILD_ROOT
    )
    counts: Counter = Counter()
    golden_run(maps, switch_at, trials, max_steps, seed, params, branches=counts)
    record_coverage(sim, f"directed-{case}", dict(counts))
    ops = res.log
    pointers = (ops[:, 0] == 1) & (ops[:, 2] == params.lvl_pointer) & (ops[:, 1] % 9 != 8)
    assert len(res.trials) == trials and pointers.sum() == counts["pointer_set"] > 0
    assert any(t["reached"] for t in res.trials)


def test_every_default_branch_has_a_directed_run():
    """Together the default-rule cases take every branch of the default rule."""
    counts: Counter = Counter()
    for case, (switch_at, trials, seed, over) in DEFAULT_CASES.items():
        params = with_overrides(PRESETS["default"], **over)
        maps, max_steps = _case_maps(case)
        golden_run(maps, switch_at, trials, max_steps, seed, params, branches=counts)
    missed = [b for b in DEFAULT_BRANCHES if counts[b] == 0]
    assert not missed, f"no default-rule case takes {missed}: {dict(counts)}"


@pytest.mark.parametrize(
    "sim",
    [pytest.param("icarus", marks=[pytest.mark.icarus, pytest.mark.slow]),
     pytest.param("verilator", marks=[pytest.mark.verilator, pytest.mark.slow])],
)  # fmt: skip
def test_port_under_random_ready_delays(sim, workdir):
    """The cycle-by-cycle bus model refusing 40 % of offers and answering two
    cycles late: the same operations, just more cycles."""
    fast, _ = _run(sim, "dynamic", workdir / "fast", bus="cycle")
    slow, counts = _run(
        sim, "dynamic", workdir / "slow", bus="cycle", latency=2, ready_prob=0.6,
        backpressure_seed=7,
    )  # fmt: skip
    record_coverage(sim, "random-ready", counts)
    assert slow.stalls > 100
    assert np.array_equal(slow.log, fast.log)
    assert slow.cycles > 1.2 * fast.cycles


@pytest.mark.slow
@pytest.mark.parametrize("at", [150, 170])
@pytest.mark.parametrize("bus", ["cycle", "batch"])
@pytest.mark.parametrize("sim", SIMS)
def test_reset_in_the_middle_of_a_trial(sim, bus, at, workdir):
    """A reset 150 or 170 cycles into the second trial, with requests in flight
    (after an even and an odd number of batches on the batch bus): the core is
    idle at once, and the whole schedule run again from a fresh device equals the
    golden model (no state survives the reset)."""
    res, _ = _run(sim, "dynamic", workdir, bus=bus, reset_at=(1, at))
    assert res.reset["busy"] == 1 and res.reset["busy_after"] == 0
    assert len(res.trials) == 6


@pytest.mark.slow
@pytest.mark.parametrize("sim", SIMS)
@pytest.mark.parametrize("draw", [0, 1])
def test_random_maze_and_device_seed(sim, draw, workdir):
    """Random 8x11 mazes, a layout switch and random device seeds."""
    rng = np.random.default_rng(1000 + draw)
    lays = [random_maze((8, 11), rng, 0.25), random_maze((8, 11), rng, 0.25)]
    seed = int(rng.integers(1 << 30))
    res = run_cocotb(sim, lays, [2], 4, 60, seed, workdir, PAPER, build_root=BUILD_ROOT)
    counts = branch_counts(res.log, res.trials, PAPER, lays[0].shape, 60)
    record_coverage(sim, f"random-{draw}", counts)
    assert len(res.log) > 500


@pytest.mark.slow
@pytest.mark.parametrize("sim", SIMS)
@pytest.mark.parametrize("draw", range(2, 8))
def test_more_random_mazes(sim, draw, workdir):
    rng = np.random.default_rng(1000 + draw)
    shape = (int(rng.integers(4, 16)), int(rng.integers(4, 16)))
    lays = [random_maze(shape, rng, float(rng.uniform(0.1, 0.35))) for _ in range(2)]
    seed = int(rng.integers(1 << 30))
    res = run_cocotb(sim, lays, [5], 10, 120, seed, workdir, PAPER, build_root=BUILD_ROOT)
    counts = branch_counts(res.log, res.trials, PAPER, shape, 120)
    record_coverage(sim, f"random-{draw}", counts)


@pytest.mark.slow
@pytest.mark.parametrize("sim", SIMS)
def test_full_dynamic_maze_equals_golden_model(sim, workdir):
    """The acceptance run: 120 trials of the shipped 30x30 pair, A -> B -> A."""
    lays = [shipped("dynamic_a"), shipped("dynamic_b")]
    res = run_cocotb(sim, lays, [40, 80], 120, 600, 0, workdir, PAPER, build_root=BUILD_ROOT)
    counts = branch_counts(res.log, res.trials, PAPER, lays[0].shape, 600)
    record_coverage(sim, "full-dynamic", counts)
    assert len(res.trials) == 120 and len(res.log) > 100_000


@pytest.mark.slow
@pytest.mark.verilator
def test_full_dynamic_maze_default_rule_equals_golden_model(workdir):
    """The default rule's acceptance run on Verilator: 120 trials of the shipped
    30x30 pair, A -> B -> A, op for op."""
    lays = [shipped("dynamic_a"), shipped("dynamic_b")]
    params = PRESETS["default"]
    res = run_cocotb("verilator", lays, [40, 80], 120, 600, 0, workdir, params,
                     build_root=BUILD_ROOT)  # fmt: skip
    counts: Counter = Counter()
    golden_run(lays, [40, 80], 120, 600, 0, params, branches=counts)
    record_coverage("verilator", "full-dynamic-default", dict(counts))
    assert len(res.trials) == 120 and all(t["reached"] for t in res.trials[-10:])


@pytest.mark.slow
@pytest.mark.verilator
@pytest.mark.parametrize("pair", [101, 102])
def test_generated_pair_default_rule_equals_golden_model(pair, workdir):
    """Generated 30x30 pairs (the held-out pairs of the navigator bench), A -> B
    -> A over 60 trials, on Verilator."""
    from memrl.host.navigator.mazegen import generate_pair

    lays = list(generate_pair(pair))
    res = run_cocotb("verilator", lays, [20, 40], 60, 600, 1, workdir, PRESETS["default"],
                     build_root=BUILD_ROOT)  # fmt: skip
    assert len(res.trials) == 60
