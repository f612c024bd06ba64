"""The compiled navigator kernel equals the numpy reference bit for bit: trial
results, trajectories, every device's state and counters, and the navigator's
digital state, trial after trial, with realistic (noisy) devices."""

from __future__ import annotations

import numpy as np
import pytest

from memrl.sim.devices import SiOxParams
from memrl.sim.navigator.golden import PRESETS, Navigator, with_overrides
from memrl.sim.navigator.maze import Maze, shipped

FIELDS = ("steps", "reached", "ticks", "moves", "hits", "reads", "sets", "resets")
STATE = (
    "explored", "seen", "diag_taken", "wall_stamp", "wall_mark", "probe_state", "cost_known",
    "op_counts",
)  # fmt: skip


def assert_same(a: Navigator, b: Navigator, ra, rb, where: str) -> None:  # noqa: ANN001
    for f in FIELDS:
        np.testing.assert_array_equal(getattr(ra, f), getattr(rb, f), err_msg=f"{where}: {f}")
    if ra.cost is not None or rb.cost is not None:
        np.testing.assert_array_equal(ra.cost, rb.cost, err_msg=f"{where}: cost")
    for x, y in zip(a.last_trajectories, b.last_trajectories, strict=True):
        np.testing.assert_array_equal(x, y, err_msg=f"{where}: trajectory")
    da, db = a.port.array, b.port.array
    np.testing.assert_array_equal(da.r_kohm, db.r_kohm, err_msg=f"{where}: resistances")
    np.testing.assert_array_equal(da.read_count, db.read_count, err_msg=f"{where}: reads")
    np.testing.assert_array_equal(da.ledger.set_count, db.ledger.set_count)
    np.testing.assert_array_equal(da.ledger.reset_count, db.ledger.reset_count)
    for f in STATE:
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f), err_msg=f"{where}: {f}")
    assert a.port.counts == b.port.counts


def run_both(layouts, schedule, params, seeds, max_steps, device=None, record=False):  # noqa: ANN001, ANN201
    """Run the numpy and the compiled engine side by side, comparing after every trial;
    the compiled engine's results (``record``: and the numpy navigator, recording its
    branch counts)."""
    device = device or SiOxParams()
    navs = [
        Navigator(layouts[0].shape, seeds, params, device, engine=e, record=record and e == "numpy")
        for e in ("numpy", "compiled")
    ]
    results = []
    for t, k in enumerate(schedule):
        ra, rb = (n.run_trial(layouts[k], max_steps) for n in navs)
        assert_same(*navs, ra, rb, f"trial {t}")
        results.append(rb)
    return (results, navs[0]) if record else results


@pytest.mark.parametrize("preset", ["default", "paper"])
def test_small_dynamic_maze_equal(preset: str) -> None:
    a, b = shipped("small_a_9x9"), shipped("small_b_9x9")
    schedule = [0] * 10 + [1] * 10 + [0] * 10
    res = run_both([a, b], schedule, PRESETS[preset], range(6), 150)
    if preset == "default":  # the comparison covered learning, not only wandering
        assert res[9].reached.all() and res[-1].reached.all()


def test_shipped_30x30_switch_equal() -> None:
    """Exploration, a converged trial, the switch to B (blocked path, forgetting,
    frontier pointers) and the first trials back on A."""
    a, b = shipped("dynamic_a"), shipped("dynamic_b")
    run_both([a, b], [0] * 5 + [1] * 3 + [0] * 2, PRESETS["default"], [3, 11], 600)


@pytest.mark.parametrize(
    ("option", "value", "blocks", "branch"),
    [
        # walls doubted at every forgetting, found again and kept as fixtures
        ("doubt_age", 1, 4, "fixture_kept"),
        # probes of walls that appeared: failed at walls and corners, re-plans
        ("probe_age", 2, 6, "probe_failed"),
    ],
)
def test_wall_memory_options_equal(option: str, value: int, blocks: int, branch: str) -> None:
    """Fixtures and probes on the small pair, A, B, A in blocks of ``blocks`` trials."""
    a, b = shipped("small_a_9x9"), shipped("small_b_9x9")
    params = with_overrides(PRESETS["default"], **{option: value})
    schedule = [0] * blocks + [1] * blocks + [0] * blocks
    _, nav = run_both([a, b], schedule, params, range(blocks), 80, record=True)
    assert nav.branches[branch] > 0  # the case takes the branch


def test_rule_options_equal() -> None:
    """The options off in both presets: path-end forgetting with renewal, the
    exploitation limit, doubt of explored walls only."""
    a, b = shipped("small_a_9x9"), shipped("small_b_9x9")
    params = with_overrides(
        PRESETS["default"], forget_on_path_end=True, exploit_limit=12, doubt_unexplored=False
    )
    run_both([a, b], [0] * 10 + [1] * 10 + [0] * 10, params, range(6), 150)


def test_terrain_with_a_moved_goal_equal() -> None:
    rng = np.random.default_rng(5)
    cost = 1 + np.round(rng.integers(0, 21, (20, 20)) * 0.45, 2)

    def task(goal: tuple[int, int]) -> Maze:
        g = np.zeros(cost.shape, dtype=bool)
        g[goal] = True
        return Maze(np.zeros(cost.shape, dtype=bool), (17, 2), g, cost=cost)

    res = run_both([task((2, 17)), task((9, 18))], [0] * 8 + [1] * 6, PRESETS["default"],
                   range(3), 600)  # fmt: skip
    assert res[-1].cost is not None and res[-1].reached.any()


def test_engines_can_alternate() -> None:
    """Device and navigator state are shared: switching engine between trials is
    the same as never switching."""
    a = shipped("small_a_9x9")
    ref = Navigator(a.shape, range(3), PRESETS["default"], engine="numpy")
    mixed = Navigator(a.shape, range(3), PRESETS["default"], engine="numpy")
    for t in range(8):
        mixed.engine = "compiled" if t % 2 else "numpy"
        assert_same(ref, mixed, ref.run_trial(a, 150), mixed.run_trial(a, 150), f"trial {t}")


def test_engine_arguments() -> None:
    a = shipped("tiny_5x5")
    with pytest.raises(ValueError, match="engine"):
        Navigator(a.shape, [0], engine="fast")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="operation log"):
        Navigator(a.shape, [0], record=True, engine="compiled")
    assert Navigator(a.shape, [0], record=True).logs is not None  # auto: numpy when recording


def test_full_dynamic_maze_equal() -> None:
    """The whole 120-trial A/B/A schedule of the shipped pair, three seeds."""
    a, b = shipped("dynamic_a"), shipped("dynamic_b")
    schedule = [0] * 40 + [1] * 40 + [0] * 40
    run_both([a, b], schedule, PRESETS["default"], [0, 1, 2], 600)
