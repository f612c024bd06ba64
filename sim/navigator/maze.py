"""Grid mazes: the plain-text format, movement rules and shortest paths.

Format (docs/navigator/mazes.md): one row per line, ``#`` wall, ``.`` free, ``S`` start
(exactly one), ``G`` goal (one or more cells). Rows must all have the same
length. Row 0 is north, column 0 west.

Moves: eight directions, indexed as the navigator's neurons are::

    0 N   1 NE   2 E   3 SE   4 S   5 SW   6 W   7 NW

A move is blocked when the target is off the grid or a wall, or when it is
diagonal and either of the two orthogonal cells it passes between is a wall
(no cutting past wall corners). A blocked move leaves the agent where it is.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = [
    "random_maze",
    "DIRECTIONS",
    "DIR_NAMES",
    "Maze",
    "MazeError",
    "Hit",
    "load_maze",
    "parse_maze",
    "shipped",
    "SHIPPED_DIR",
    "terrain_transfer",
]

DIR_NAMES = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")
DIRECTIONS = np.array(
    [(-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1)], dtype=np.int64
)
SHIPPED_DIR = Path(__file__).resolve().parent / "mazes"


class Hit:
    """Outcome codes of a move."""

    NONE = 0  # moved
    WALL = 1  # target is a wall
    CORNER = 2  # diagonal past a wall corner
    EDGE = 3  # target off the grid


class MazeError(ValueError):
    """A maze file or text that cannot be used; names the file, line and column."""

    def __init__(self, source: str, line: int | None, col: int | None, message: str) -> None:
        where = source
        if line is not None:
            where += f", line {line}"
        if col is not None:
            where += f", column {col}"
        super().__init__(f"{where}: {message}")
        self.source, self.line, self.col = source, line, col


@dataclass(frozen=True, eq=False)
class Maze:
    """An immutable grid maze. ``walls`` and ``goal`` are read-only boolean H x W arrays."""

    walls: np.ndarray
    start: tuple[int, int]
    goal: np.ndarray
    name: str = "maze"
    cost: np.ndarray | None = field(default=None)  # per-cell cost of entering (terrain), >= 1

    def __post_init__(self) -> None:
        walls = np.array(self.walls, dtype=bool)
        goal = np.array(self.goal, dtype=bool)
        if walls.ndim != 2 or goal.shape != walls.shape:
            raise ValueError(
                f"walls and goal must be equal 2-D shapes ({walls.shape}, {goal.shape})"
            )
        r, c = self.start
        if not (0 <= r < walls.shape[0] and 0 <= c < walls.shape[1]) or walls[r, c]:
            raise ValueError(f"start {self.start} must be a free cell inside the grid")
        if not goal.any() or (goal & walls).any():
            raise ValueError("goal must be one or more free cells")
        walls.setflags(write=False)
        goal.setflags(write=False)
        object.__setattr__(self, "walls", walls)
        object.__setattr__(self, "goal", goal)
        object.__setattr__(self, "start", (int(r), int(c)))
        if self.cost is not None:
            cost = np.array(self.cost, dtype=np.float64)
            if cost.shape != walls.shape or not np.all(cost >= 1):
                raise ValueError("cost must have the maze's shape with every value >= 1")
            cost.setflags(write=False)
            object.__setattr__(self, "cost", cost)

    @property
    def shape(self) -> tuple[int, int]:
        return self.walls.shape  # type: ignore[return-value]

    @property
    def n_cells(self) -> int:
        return int(self.walls.size)

    @property
    def n_walls(self) -> int:
        return int(self.walls.sum())

    def cell(self, r: int, c: int) -> int:
        return r * self.shape[1] + c

    def rc(self, cell: int) -> tuple[int, int]:
        return divmod(int(cell), self.shape[1])

    def move_table(self) -> tuple[np.ndarray, np.ndarray]:
        """For every cell and direction: the target cell (or -1 off grid) and the Hit code."""
        h, w = self.shape
        rr, cc = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
        target = np.full((h, w, 8), -1, dtype=np.int64)
        hit = np.full((h, w, 8), Hit.EDGE, dtype=np.int64)
        padded = np.pad(self.walls, 1, constant_values=True)
        for d, (dr, dc) in enumerate(DIRECTIONS):
            tr, tc = rr + dr, cc + dc
            inside = (tr >= 0) & (tr < h) & (tc >= 0) & (tc < w)
            target[..., d] = np.where(inside, tr * w + tc, -1)
            tw = padded[tr + 1, tc + 1]
            corner = np.zeros_like(tw)
            if dr and dc:
                corner = padded[rr + dr + 1, cc + 1] | padded[rr + 1, cc + dc + 1]
            hit[..., d] = np.where(
                ~inside, Hit.EDGE, np.where(tw, Hit.WALL, np.where(corner, Hit.CORNER, Hit.NONE))
            )
        return target.reshape(h * w, 8), hit.reshape(h * w, 8)

    def distances(self) -> np.ndarray:
        """Moves from every cell to the nearest goal cell (BFS; -1 where unreachable)."""
        target, hit = self.move_table()
        dist = np.full(self.n_cells, -1, dtype=np.int64)
        queue = deque(int(g) for g in np.flatnonzero(self.goal))
        for g in queue:
            dist[g] = 0
        # Moves are symmetric (the corner rule is too), so BFS from the goal over
        # reverse moves equals BFS over forward moves.
        while queue:
            x = queue.popleft()
            for d in range(8):
                if hit[x, d] == Hit.NONE:
                    y = int(target[x, d])
                    if dist[y] < 0:
                        dist[y] = dist[x] + 1
                        queue.append(y)
        return dist

    def shortest_path_length(self) -> int:
        """Moves on a shortest path from start to goal (-1 if unreachable)."""
        return int(self.distances()[self.cell(*self.start)])

    def to_text(self) -> str:
        grid = np.where(self.walls, "#", ".").astype("<U1")
        grid[self.goal] = "G"
        grid[self.start] = "S"
        return "\n".join("".join(row) for row in grid) + "\n"


def parse_maze(text: str, source: str = "<text>") -> Maze:
    """Parse the text format; errors name ``source``, the line and the column (1-based)."""
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise MazeError(source, None, None, "empty maze")
    width = len(lines[0])
    start: tuple[int, int] | None = None
    walls = np.zeros((len(lines), width), dtype=bool)
    goal = np.zeros_like(walls)
    for r, line in enumerate(lines):
        for c, ch in enumerate(line):
            if ch not in "#.GS":
                raise MazeError(
                    source, r + 1, c + 1, f"unknown character {ch!r} (use '#', '.', 'S' or 'G')"
                )
        if len(line) != width:
            raise MazeError(
                source,
                r + 1,
                min(len(line), width) + 1,
                f"ragged row: {len(line)} characters, the first row has {width}",
            )
        for c, ch in enumerate(line):
            if ch == "#":
                walls[r, c] = True
            elif ch == "G":
                goal[r, c] = True
            elif ch == "S":
                if start is not None:
                    raise MazeError(
                        source,
                        r + 1,
                        c + 1,
                        f"second start 'S' (the first is at line {start[0] + 1}, "
                        f"column {start[1] + 1})",
                    )
                start = (r, c)
    if start is None:
        raise MazeError(source, None, None, "no start 'S'")
    if not goal.any():
        raise MazeError(source, None, None, "no goal 'G'")
    maze = Maze(walls, start, goal, name=Path(source).stem)
    if maze.shortest_path_length() < 0:
        raise MazeError(
            source, start[0] + 1, start[1] + 1, "goal unreachable from the start 'S' here"
        )
    return maze


def load_maze(path: str | Path) -> Maze:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MazeError(str(path), None, None, f"cannot read: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise MazeError(
            str(path),
            None,
            None,
            f"not a UTF-8 text file (byte {exc.start}: {exc.object[exc.start]:#04x}); a maze "
            "is lines of '#', '.', 'S' and 'G'",
        ) from exc
    return parse_maze(text, str(path))


def shipped(name: str) -> Maze:
    """A maze shipped with memrl, by file stem (e.g. ``dynamic_a``)."""
    path = SHIPPED_DIR / f"{name}.txt"
    if not path.exists():
        known = sorted(p.stem for p in SHIPPED_DIR.glob("*.txt"))
        raise ValueError(f"no shipped maze {name!r}; shipped: {known}")
    return load_maze(path)


def random_maze(
    shape: tuple[int, int], rng: np.random.Generator, wall_density: float = 0.25, tries: int = 100
) -> Maze:
    """A random maze: walls at ``wall_density``, start and goal on free cells with
    the goal reachable from the start (drawn again, up to ``tries`` times)."""
    h, w = shape
    if h < 2 or w < 2:
        raise ValueError(f"a random maze needs at least 2 x 2 cells (got {h} x {w})")
    if not 0.0 <= wall_density < 1.0:
        raise ValueError(f"wall_density must be in [0, 1) (got {wall_density!r})")
    for _ in range(tries):
        walls = rng.random((h, w)) < wall_density
        free = np.flatnonzero(~walls.reshape(-1))
        if free.size < 2:
            continue
        s, g = rng.choice(free, size=2, replace=False)
        goal = np.zeros(h * w, dtype=bool)
        goal[g] = True
        maze = Maze(walls, (int(s) // w, int(s) % w), goal.reshape(h, w), name="random")
        if maze.shortest_path_length() > 0:
            return maze
    raise ValueError(
        f"no {h} x {w} maze with a reachable goal at wall density {wall_density} in {tries} draws"
    )


def terrain_transfer(
    size: int, rng: np.random.Generator, wall_row: bool = False
) -> tuple[Maze, Maze]:
    """A small terrain map and the same map with the goal moved (the rover's
    transfer, at test scale): entry costs 1 (60 %), 2, 5 or 10, start (1, 1), the
    goal near the far corner, then near the top right; ``wall_row``: a wall across
    the middle row with a gap at each end."""
    if size < 6:
        raise ValueError(f"a terrain transfer needs at least 6 x 6 places (got {size})")
    cost = rng.choice([1.0, 2.0, 5.0, 10.0], size=(size, size), p=[0.6, 0.2, 0.1, 0.1])
    walls = np.zeros((size, size), dtype=bool)
    if wall_row:
        walls[size // 2, 1 : size - 2] = True
    maps = []
    for r, c in ((size - 2, size - 2), (1, size - 2)):
        goal = np.zeros((size, size), dtype=bool)
        goal[r, c] = True
        maps.append(Maze(walls, (1, 1), goal, name=f"terrain_goal{r}_{c}", cost=cost))
    return maps[0], maps[1]
