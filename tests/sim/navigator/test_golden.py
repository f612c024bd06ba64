"""Navigator golden model: each learning-rule branch with an exact expected outcome,
determinism, batch invariance, convergence on a small dynamic maze.

With ideal devices (programming lands on the mean, exact reads) the codes are
exact: a synapse at level 2 (9.8 kOhm) reads 104, a threshold device at NOMINAL
84, REWARD 178, RECALL 146, PENALTY 3."""

from __future__ import annotations

import numpy as np
import pytest

from memrl.sim.devices import Op, SiOxParams
from memrl.sim.navigator.golden import PRESETS, Cls, Navigator, run_schedule, with_overrides
from memrl.sim.navigator.maze import parse_maze

IDEAL = SiOxParams.ideal()
READ, SET, RESET = int(Op.READ), int(Op.SET), int(Op.RESET)
CORRIDOR = parse_maze("#######\n#S...G#\n#######\n", "corridor")  # 3 x 7
DEFAULT, PAPER = PRESETS["default"], PRESETS["paper"]


def thr(cell: int) -> int:
    return cell * 9 + 8


def syn(cell: int, d: int) -> int:
    return cell * 9 + d


def step_reads(cell: int, targets: list[int], codes: list[int]) -> list[tuple]:
    return [(READ, syn(cell, d), 0, 104) for d in range(8)] + [
        (READ, thr(t), 0, c) for t, c in zip(targets, codes, strict=True)
    ]


def nav(maze, preset=DEFAULT, seeds=(0,), **kw):  # noqa: ANN001, ANN201
    return Navigator(maze.shape, list(seeds), with_overrides(preset, **kw), IDEAL, record=True)


def test_run_start_forms_thresholds_and_synapses() -> None:
    n = nav(CORRIDOR)
    log = n.logs[0]
    assert len(log) == 21 * 9
    assert log[:9] == [(SET, thr(0), 0, -1)] + [(SET, syn(0, d), 2, -1) for d in range(8)]
    p = nav(CORRIDOR, PAPER)
    assert p.logs[0] == [(SET, thr(c), 0, -1) for c in range(21)]  # paper: synapses as found


def test_wall_hits_penalise_and_a_move_potentiates() -> None:
    """All codes tie at tick 4, so the lowest direction wins: N (wall), then NE (wall),
    then E (free)."""
    n = nav(CORRIDOR)
    start = len(n.logs[0])
    r = n.run_trial(CORRIDOR, max_steps=3)
    at = CORRIDOR.cell(1, 1)  # 8
    targets = [1, 2, 9, 16, 15, 14, 7, 0]  # N NE E SE S SW W NW of (1,1)
    expect = step_reads(at, targets, [84] * 8) + [(RESET, thr(1), 12, -1)]
    expect += step_reads(at, targets, [3] + [84] * 7) + [(RESET, thr(2), 12, -1)]
    expect += step_reads(at, targets, [3, 3] + [84] * 6) + [(SET, syn(at, 2), 2, -1)]
    assert n.logs[0][start:] == expect
    assert (r.steps[0], r.hits[0], r.moves[0], r.ticks[0]) == (3, 2, 1, 12)
    assert (r.reads[0], r.sets[0], r.resets[0]) == (48, 1, 2)


def test_stuck_fallback_resets_the_3x3_neighbourhood() -> None:
    n = nav(CORRIDOR, stuck_steps=2)
    start = len(n.logs[0])
    n.run_trial(CORRIDOR, max_steps=2)
    tail = n.logs[0][start:]
    assert tail[16] == (RESET, thr(1), 12, -1) and tail[33] == (RESET, thr(2), 12, -1)
    assert tail[34:] == [(SET, thr(c), 0, -1) for c in (0, 1, 2, 7, 8, 9, 14, 15, 16)]


def test_corner_hit_depresses_the_synapse() -> None:
    m = parse_maze("#####\n##.G#\n#S..#\n#####\n", "c")
    n = nav(m)
    start = len(n.logs[0])
    n.run_trial(m, max_steps=2)
    log = n.logs[0][start:]
    at = m.cell(2, 1)
    assert log[16] == (RESET, thr(m.cell(1, 1)), 12, -1)  # N: a wall, penalised
    # NE to the free (1,2) passes the wall (1,1): a corner hit depresses syn(at, NE).
    assert log[33] == (RESET, syn(at, 1), 12, -1)
    assert n.port.read(np.array([syn(at, 1)]))[0] < 10


def test_reward_writes_the_path_and_exploitation_fires_at_once() -> None:
    n = nav(CORRIDOR)
    r1 = n.run_trial(CORRIDOR, max_steps=50)
    assert r1.reached[0]
    path = [CORRIDOR.cell(1, c) for c in range(1, 6)]
    codes = n.port.read(np.array([thr(c) for c in path]))
    assert (n.classify(codes) == Cls.REWARD).all()
    pointers = n.port.read(np.array([syn(c, 2) for c in path[:-1]]))
    assert (pointers >= DEFAULT.pointer_min).all()
    r2 = n.run_trial(CORRIDOR, max_steps=50)
    # The remembered path: four moves east, one tick each, reads only.
    assert (r2.steps[0], r2.moves[0], r2.hits[0], r2.ticks[0]) == (4, 4, 0, 4)
    assert r2.sets[0] == 0 and r2.resets[0] == 0
    assert n.last_trajectories[0].tolist() == path


def test_paper_reward_sets_the_last_k_places() -> None:
    n = nav(CORRIDOR, PAPER, reward_k=3)
    n.run_trial(CORRIDOR, max_steps=100)
    traj = n.last_trajectories[0]
    assert n.logs[0][-3:] == [(SET, thr(int(c)), 10, -1) for c in traj[-3:]]


def test_blocked_path_forgets_to_recall_then_penalises() -> None:
    a = parse_maze("#######\n#S...G#\n#.###.#\n#.....#\n#######\n", "a")
    b = parse_maze("#######\n#S.#.G#\n#.###.#\n#.....#\n#######\n", "b")
    n = nav(a)
    n.run_trial(a, 100)
    n.run_trial(a, 100)  # converged: walks row 1
    start = len(n.logs[0])
    n.run_trial(b, 100)
    log = n.logs[0][start:]
    # One pointer step east to (1,2), then the pointer into (1,3), now a wall.
    hit_end = 2 * 16
    sweep = log[hit_end : hit_end + 35 + 5]
    reward_cells = {a.cell(1, c) for c in range(1, 6)}
    reads = [e for e in sweep if e[0] == READ]
    sets = [e for e in sweep if e[0] == SET]
    assert [e[1] for e in reads] == [thr(q) for q in range(35)]
    assert sets == [(SET, thr(q), 5, -1) for q in sorted(reward_cells)]
    assert log[hit_end + 40] == (RESET, thr(a.cell(1, 3)), 12, -1)
    # (1,2) is off the new path through the lower corridor: it stays RECALL.
    assert n.classify(n.port.read(np.array([thr(a.cell(1, 2))])))[0] == Cls.RECALL


def test_same_seed_same_trajectory_and_log_and_batch_invariance() -> None:
    maze = parse_maze(
        "#########\n#S..#...#\n#.#.#.#.#\n#.#...#.#\n#.####..#\n#......G#\n#########\n"
    )
    runs = []
    for seeds in ([3], [3], [1, 3, 7]):
        n = Navigator(maze.shape, seeds, DEFAULT, SiOxParams(), record=True)
        res = [n.run_trial(maze, 200) for _ in range(3)]
        k = seeds.index(3)
        runs.append(([r.steps[k] for r in res], [r.ticks[k] for r in res], n.logs[k]))
    assert runs[0] == runs[1]
    assert runs[0] == runs[2]
    other = Navigator(maze.shape, [4], DEFAULT, SiOxParams(), record=True)
    other.run_trial(maze, 200)
    assert other.logs[0] != runs[0][2]


@pytest.mark.parametrize("preset", ["paper", "default"])
def test_moves_agree_with_the_gym_environment(preset: str) -> None:
    from memrl.host.navigator.envs import MazeEnv

    maze = parse_maze("#######\n#S..#.#\n#.#...#\n#...#G#\n#######\n")
    n = Navigator(maze.shape, [0, 1], PRESETS[preset], SiOxParams())
    target, _ = maze.move_table()
    for _ in range(3):
        r = n.run_trial(maze, 100)
        for k in range(2):
            env = MazeEnv(maze, max_steps=100)
            obs, _ = env.reset()
            traj = n.last_trajectories[k]
            for x, y in zip(traj[:-1], traj[1:], strict=True):
                d = int(np.flatnonzero(target[x] == y)[0])
                obs, _, term, _, info = env.step(d)
                assert obs == y and info["hit"] == 0
            assert bool(maze.goal.reshape(-1)[obs]) == bool(r.reached[k])


def test_default_converges_on_a_small_dynamic_maze() -> None:
    a = parse_maze(
        "#########\n#S..#...#\n#.#.#.#.#\n#.#...#.#\n#.####..#\n#......G#\n#########\n", "a"
    )
    b = parse_maze(
        "#########\n#S..#...#\n#.#.#.#.#\n#.#.#.#.#\n#.####..#\n#......G#\n#########\n", "b"
    )
    la, lb = a.shortest_path_length(), b.shortest_path_length()
    steps = []
    run_schedule(
        [a, b],
        [10, 20],
        30,
        200,
        range(6),
        DEFAULT,
        on_trial=lambda t, i, r: steps.append(r.steps.copy()),
        device=SiOxParams(),
    )
    s = np.array(steps)
    assert (s[5:10] == la).all()  # the shortest path of A, every seed
    assert (s[15:20] == lb).all()  # re-learned on B
    assert (s[25:30] == la).all()  # recalled A
    assert s[0].mean() > 2 * la  # it did have to learn


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="reward_path must be 'recent' or 'bfs'"):
        with_overrides(DEFAULT, reward_path="all")
    with pytest.raises(ValueError, match=r"code_recall_min must be integer codes in \[41, 255\]"):
        with_overrides(DEFAULT, code_recall_min=30)
    n = Navigator(CORRIDOR.shape, [0], DEFAULT)
    with pytest.raises(ValueError, match="maze 'x' is"):
        n.run_trial(parse_maze("S.\n.G\n", "x"), 10)
    with pytest.raises(ValueError, match="seeds must name at least one agent"):
        Navigator(CORRIDOR.shape, [], DEFAULT)


def test_frontier_pointers_after_boredom() -> None:
    n = nav(CORRIDOR, boredom=1, curiosity_th=0)
    known = [CORRIDOR.cell(1, c) for c in (1, 2, 3)]
    n.explored[0, known] = n.seen[0, known] = True
    start = len(n.logs[0])
    n.run_trial(CORRIDOR, max_steps=3)
    log = n.logs[0][start:]
    at = CORRIDOR.cell(1, 2)
    # Steps 1-2 hit N and NE; step 3 moves E onto the explored (1,2): bored. Usable
    # places never stood on, nearest first, lowest direction: N is a known wall, NE
    # passes it, E is explored, SE (2,3) is unknown: a pointer SE.
    tail = log[-9:]
    assert tail[:8] == [(READ, syn(at, d), 0, 104) for d in range(8)]
    assert tail[8] == (SET, syn(at, 3), 10, -1)


def test_curiosity_raises_places_explored_before() -> None:
    n = nav(CORRIDOR)
    n.explored[0, CORRIDOR.cell(1, 2)] = n.seen[0, CORRIDOR.cell(1, 2)] = True
    start = len(n.logs[0])
    r = n.run_trial(CORRIDOR, max_steps=3)
    # The first three steps as without curiosity, but E now waits for 600: ceil(600/104)
    # = 6 ticks, while the unexplored SE wall (2,2) fires at 4 ticks and is hit.
    assert n.logs[0][start + 16] == (RESET, thr(1), 12, -1)
    assert n.logs[0][start + 33] == (RESET, thr(2), 12, -1)
    assert n.logs[0][start + 50] == (RESET, thr(CORRIDOR.cell(2, 2)), 12, -1)
    assert r.moves[0] == 0 and r.ticks[0] == 12


def _every_shortest_route_blocked(frm, to) -> bool:  # noqa: ANN001
    """No shortest start-goal route of ``frm`` is possible in ``to``: BFS in ``to`` (its
    walls and corner rule) over places on some shortest route of ``frm``, one level at a time."""
    from collections import deque

    from memrl.sim.navigator.maze import Maze

    to_goal = frm.distances()
    s0 = frm.cell(*frm.start)
    one = np.zeros(frm.n_cells, dtype=bool)
    one[s0] = True
    from_start = Maze(frm.walls, frm.start, one.reshape(frm.shape)).distances()
    length = to_goal[s0]
    on = (to_goal >= 0) & (from_start >= 0) & (to_goal + from_start == length)
    target, hit = to.move_table()
    seen, queue = {s0}, deque([s0])
    while queue:
        x = queue.popleft()
        for d in range(8):
            y = int(target[x, d])
            if hit[x, d] == 0 and on[y] and y not in seen and from_start[y] == from_start[x] + 1:
                seen.add(y)
                queue.append(y)
    return not any(frm.goal.reshape(-1)[y] for y in seen)


def test_shipped_layouts() -> None:
    from memrl.sim.navigator.maze import MazeError, shipped

    for name in ("dynamic", "heldout"):
        a, b = shipped(f"{name}_a"), shipped(f"{name}_b")
        assert a.shape == b.shape == (30, 30) and a.start == b.start
        assert 270 <= a.n_walls <= 290 and a.goal.sum() == 4
        diff = a.walls != b.walls
        assert 2 <= diff.sum() <= 12
        assert (a.walls & ~b.walls).any() and (~a.walls & b.walls).any()  # opened and closed
        # Every shortest path of A is blocked in B: B's shortest path is not A's length
        # through A's cells only; check A's route has a cell walled in B.
        n = Navigator(a.shape, [0], with_overrides(DEFAULT, optimistic=False))
        n.explored[0] = ~a.walls.reshape(-1)
        route = n.explored_path(0, a)
        assert len(route) - 1 == a.shortest_path_length()
        assert b.walls.reshape(-1)[route].any()
    for name in ("dynamic", "heldout"):
        a, b = shipped(f"{name}_a"), shipped(f"{name}_b")
        assert _every_shortest_route_blocked(a, b) and _every_shortest_route_blocked(b, a)
        assert not _every_shortest_route_blocked(a, a)
    assert (
        shipped("small_a_9x9").shortest_path_length()
        < shipped("small_b_9x9").shortest_path_length()
    )
    with pytest.raises(MazeError, match="goal unreachable"):
        shipped("unreachable_5x5")


def test_stepping_off_the_remembered_path_forgets() -> None:
    # The old goal (3,4) lies in open space, so leaving it needs no hit.
    a = parse_maze("#########\n#.......#\n#.......#\n#S..G...#\n#.......#\n#.......#\n#########\n")
    b = parse_maze("#########\n#.......#\n#.......#\n#S......#\n#.......#\n#......G#\n#########\n")
    n = nav(a, forget_on_path_end=True)
    n.run_trial(a, 100)
    n.run_trial(a, 100)
    start = len(n.logs[0])
    r = n.run_trial(b, 200)
    log = n.logs[0][start:]
    sweep = [thr(q) for q in range(63)]
    reads = [e[1] for e in log if e[0] == READ]
    starts = [i for i in range(len(reads) - 62) if reads[i : i + 63] == sweep]
    assert len(starts) == 1  # one forgetting: the path ended at (3,4), not a goal
    assert r.reached[0]
    off = DEFAULT  # the option is off in the default preset
    n2 = Navigator(a.shape, [0], off, IDEAL, record=True)
    n2.run_trial(a, 100)
    n2.run_trial(a, 100)
    s2 = len(n2.logs[0])
    n2.run_trial(b, 200)
    reads2 = [e[1] for e in n2.logs[0][s2:] if e[0] == READ]
    assert not any(reads2[i : i + 63] == sweep for i in range(len(reads2) - 62))
