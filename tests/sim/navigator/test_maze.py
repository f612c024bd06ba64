"""Maze text format, movement rules and shortest paths."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from memrl.host.navigator.mazegen import generate_maze, generate_pair, generate_reopen_pair
from memrl.sim.navigator.maze import Hit, MazeError, load_maze, parse_maze, shipped

SMALL = "#####\n#S.##\n#.#G#\n#...#\n#####\n"


def test_parse_and_round_trip() -> None:
    m = parse_maze(SMALL, "small.txt")
    assert m.shape == (5, 5) and m.start == (1, 1) and m.n_walls == 18
    assert m.goal[2, 3] and m.goal.sum() == 1
    assert m.to_text() == SMALL
    assert m.name == "small"


def test_corner_rule_and_hits() -> None:
    m = parse_maze(SMALL)
    target, hit = m.move_table()
    at = m.cell(1, 1)
    # N wall, NE wall, E free, SE: target (2,2) wall, S free, SW/W/NW walls.
    assert hit[at].tolist() == [Hit.WALL, Hit.WALL, Hit.NONE, Hit.WALL, Hit.NONE, Hit.WALL,
                                Hit.WALL, Hit.WALL]  # fmt: skip
    # From (3,2) NE to the goal (2,3): the target is free, but (2,2) is a wall corner.
    assert hit[m.cell(3, 2), 1] == Hit.CORNER
    assert target[m.cell(3, 2), 1] == m.cell(2, 3)
    edge = parse_maze("S.\n.G\n")
    assert edge.move_table()[1][0, 0] == Hit.EDGE and edge.move_table()[0][0, 0] == -1


def test_shortest_path_respects_corners() -> None:
    m = parse_maze(SMALL)
    # (1,1) S (2,1) S (3,1) E (3,2) E (3,3) N (2,3): both diagonals on the way
    # ((2,1)->(3,2) and (3,2)->(2,3)) would pass a wall corner.
    assert m.shortest_path_length() == 5
    open_ = parse_maze("#####\n#S..#\n#...#\n#..G#\n#####\n")
    assert open_.shortest_path_length() == 2


@pytest.mark.parametrize(
    ("text", "where", "what"),
    [
        ("###\n#S#G\n", "line 2, column 4", "ragged row: 4 characters, the first row has 3"),
        ("#S.\n#xG\n", "line 2, column 2", "unknown character 'x'"),
        ("#..\n#.G\n", None, "no start 'S'"),
        ("#S.\n#..\n", None, "no goal 'G'"),
        ("S.S\n..G\n", "line 1, column 3", "second start 'S' (the first is at line 1, column 1)"),
        ("S#.\n##G\n", "line 1, column 1", "goal unreachable from the start"),
        ("", None, "empty maze"),
    ],
)
def test_bad_maze_text_names_file_line_and_column(text: str, where: str | None, what: str) -> None:
    with pytest.raises(MazeError) as err:
        parse_maze(text, "bad.txt")
    msg = str(err.value)
    assert msg.startswith("bad.txt" + (f", {where}" if where else ":"))
    assert what in msg


def test_load_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(MazeError, match="missing.txt: cannot read"):
        load_maze(tmp_path / "missing.txt")
    f = tmp_path / "r.txt"
    f.write_text("#S#\n#.\n")
    with pytest.raises(MazeError, match=r"r.txt, line 2, column 3: ragged row"):
        load_maze(f)
    with pytest.raises(ValueError, match="no shipped maze 'nope'"):
        shipped("nope")


@pytest.mark.slow  # a generated pair takes seconds (the benchmarks generate many)
def test_generated_pair_forces_a_detour() -> None:
    a, b = generate_pair(3)
    assert a.shape == b.shape == (30, 30)
    assert 270 <= a.n_walls <= 290
    diff = int((a.walls != b.walls).sum())
    assert 2 <= diff <= 12
    la, lb = a.shortest_path_length(), b.shortest_path_length()
    assert lb > la > 0
    # B has a corridor A lacks: some wall of A is free in B.
    assert (a.walls & ~b.walls).any()
    m = generate_maze(5)
    assert np.array_equal(m.walls, generate_maze(5).walls)  # seeded


@pytest.mark.slow  # a generated pair takes seconds; test_generated_pair_forces_a_detour stays
def test_reopen_pair_only_closes() -> None:
    """B is A plus walls: B's route (at least 25 % longer) stays valid in A, so the
    switch back to A reopens a shorter route without blocking the remembered one."""
    a, b = generate_reopen_pair(3)
    assert (b.walls & ~a.walls).any() and not (a.walls & ~b.walls).any()
    la, lb = a.shortest_path_length(), b.shortest_path_length()
    assert lb >= 1.25 * la > 0
