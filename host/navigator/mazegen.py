"""Seeded procedural mazes and dynamic layout pairs, for evaluation on layouts
the navigator was not tuned on and for randomised tests.

``generate_maze`` carves a perfect maze (depth-first backtracker on a lattice of
rooms), then knocks out walls at random until the wall count reaches the target,
which opens loops (several routes, as in the paper's maze). ``generate_pair``
derives layout B from A: it walls off one place that every shortest path of A
passes through (the one giving the longest detour) and opens one wall of A that
shortens B's route the most without reopening A's; so the switch forces a real
detour and B has a corridor that A lacks. ``generate_reopen_pair`` derives B by
the same closure alone (nothing opened): B's route is valid in A too, so a switch
back to A reopens a shorter route while the route remembered from B stays valid.
"""

from __future__ import annotations

import numpy as np

from memrl.sim.navigator.maze import Maze

__all__ = ["generate_maze", "generate_pair", "generate_reopen_pair"]


def generate_maze(
    seed: int, size: int = 30, walls: int = 280, goal_size: int = 2, min_path: int = 35
) -> Maze:
    """A ``size`` x ``size`` maze with a wall border, about ``walls`` wall cells, start
    near the north-west corner and a ``goal_size`` square goal near the south-east."""
    rng = np.random.default_rng(seed)
    for _ in range(100):
        grid = np.ones((size, size), dtype=bool)
        rooms = (size - 1) // 2
        seen = np.zeros((rooms, rooms), dtype=bool)
        stack = [(0, 0)]
        seen[0, 0] = True
        grid[1, 1] = False
        while stack:
            r, c = stack[-1]
            nxt = [
                (r + dr, c + dc)
                for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1))
                if 0 <= r + dr < rooms and 0 <= c + dc < rooms and not seen[r + dr, c + dc]
            ]
            if not nxt:
                stack.pop()
                continue
            nr, nc = nxt[rng.integers(len(nxt))]
            seen[nr, nc] = True
            grid[2 * nr + 1, 2 * nc + 1] = False
            grid[r + nr + 1, c + nc + 1] = False
            stack.append((nr, nc))
        interior = np.argwhere(grid[1:-1, 1:-1]) + 1
        rng.shuffle(interior)
        excess = int(grid.sum()) - walls
        for r, c in interior[: max(0, excess)]:
            grid[r, c] = False
        goal = np.zeros_like(grid)
        g0 = size - 1 - goal_size - rng.integers(1, 4)
        goal[g0 : g0 + goal_size, g0 : g0 + goal_size] = True
        grid[goal] = False
        start = (1 + int(rng.integers(0, 3)), 1 + int(rng.integers(0, 3)))
        grid[start] = False
        maze = Maze(grid, start, goal, name=f"gen{seed}")
        if maze.shortest_path_length() >= min_path:
            return maze
    raise RuntimeError(f"no maze with a path of {min_path}+ moves for seed {seed}")


def _cut_cells(maze: Maze) -> list[int]:
    """Places every shortest start-goal path passes through (start and goal excluded)."""
    to_goal = maze.distances()
    start_only = Maze(maze.walls, maze.start, _one_hot(maze, maze.cell(*maze.start)))
    from_start = start_only.distances()
    length = to_goal[maze.cell(*maze.start)]
    on = (to_goal >= 0) & (from_start >= 0) & (to_goal + from_start == length)
    levels = from_start[on]
    cells = np.flatnonzero(on)
    counts = np.bincount(levels, minlength=length + 1)
    return [
        int(x) for x, lv in zip(cells, levels, strict=True) if counts[lv] == 1 and 0 < lv < length
    ]


def _one_hot(maze: Maze, cell: int) -> np.ndarray:
    g = np.zeros(maze.n_cells, dtype=bool)
    g[cell] = True
    return g.reshape(maze.shape)


def _with_walls(maze: Maze, walls: np.ndarray, name: str) -> Maze:
    return Maze(walls, maze.start, maze.goal, name=name)


def _length(a: Maze, walls: np.ndarray) -> int:
    return _with_walls(a, walls.reshape(a.shape), "b").shortest_path_length()


def _closure(a: Maze) -> tuple[np.ndarray, int] | None:
    """A's walls plus the greedy closure of its shortest route (see generate_pair) and
    B's route length, or None if no closure makes the route 25 % longer."""
    h, w = a.shape
    la = a.shortest_path_length()
    free = ~a.walls.reshape(-1) & ~a.goal.reshape(-1)
    free[a.cell(*a.start)] = False
    cuts = _cut_cells(a)
    if not cuts:
        return None
    closed = a.walls.copy().reshape(-1)
    first = max(cuts, key=lambda x: _length(a, _added(closed, [x])))
    chosen = [first]
    lb = _length(a, _added(closed, chosen))
    while lb < 1.25 * la and len(chosen) < 8:
        near = {int(y) for x in chosen for y in _within(x, 2, h, w) if free[y] and y not in chosen}
        scored = [(_length(a, _added(closed, chosen + [y])), y) for y in sorted(near)]
        scored = [(lv, y) for lv, y in scored if lv > 0]
        if not scored:
            break
        lb, y = max(scored)
        chosen.append(y)
    if lb < 1.25 * la:
        return None
    return _added(closed, chosen), lb


def generate_pair(seed: int, size: int = 30, walls: int = 280) -> tuple[Maze, Maze]:
    """Layouts A and B (see the module docstring); raises if none is found for ``seed``.

    The closure grows greedily from the best cut place, a wall at a time among free
    places within two cells of it, up to eight walls, until B's route is at least
    25 % longer than A's."""
    h, w = (size, size)
    for attempt in range(20):
        a = generate_maze(seed * 1000 + attempt, size, walls)
        la = a.shortest_path_length()
        found = _closure(a)
        if found is None:
            continue
        closed, lb = found
        opened: tuple[int, int] | None = None
        for cand in np.flatnonzero(a.walls.reshape(-1)):
            r, c = divmod(int(cand), w)
            if r in (0, h - 1) or c in (0, w - 1):
                continue
            trial = closed.copy()
            trial[cand] = False
            lo = _length(a, trial)
            if la < lo < lb and (opened is None or lo < opened[1]):
                opened = (int(cand), lo)
        if opened is None:
            continue
        closed[opened[0]] = False
        b = Maze(closed.reshape(a.shape), a.start, a.goal, name=f"gen{seed}b")
        return Maze(a.walls, a.start, a.goal, name=f"gen{seed}a"), b
    raise RuntimeError(f"no layout pair found for seed {seed}")


def generate_reopen_pair(seed: int, size: int = 30, walls: int = 280) -> tuple[Maze, Maze]:
    """Layouts A and B = A plus the closure of generate_pair (nothing opened): B's
    route, at least 25 % longer than A's, is valid in A too. Raises if no closure is
    found for ``seed`` in 20 attempts."""
    for attempt in range(20):
        a = generate_maze(seed * 1000 + attempt, size, walls)
        found = _closure(a)
        if found is None:
            continue
        closed, _ = found
        b = Maze(closed.reshape(a.shape), a.start, a.goal, name=f"reopen{seed}b")
        return Maze(a.walls, a.start, a.goal, name=f"reopen{seed}a"), b
    raise RuntimeError(f"no reopen pair found for seed {seed}")


def _added(walls: np.ndarray, cells: list[int]) -> np.ndarray:
    out = walls.copy()
    out[cells] = True
    return out


def _within(cell: int, k: int, h: int, w: int) -> list[int]:
    r, c = divmod(cell, w)
    return [
        rr * w + cc
        for rr in range(max(0, r - k), min(h, r + k + 1))
        for cc in range(max(0, c - k), min(w, c + k + 1))
    ]
