"""The maze unit alone: layout and visited maps, position, targets, the verdict
on a winner's move and the move, against the host's maze model."""

from __future__ import annotations

import numpy as np
from amaranth.sim import Simulator

from memrl.rtl.navigator.config import SLOTS, THR, NavigatorConfig
from memrl.rtl.navigator.maze import MazeState
from memrl.sim.navigator.maze import Hit, Maze, random_maze
from memrl.sim.navigator.session import layout_flags


class Driver:
    """Drives the unit with the sequencer's timing."""

    def __init__(self, ctx, dut: MazeState) -> None:  # noqa: ANN001
        self.ctx, self.dut, self.ctl = ctx, dut, dut.ctl

    async def load(self, maze: Maze) -> None:
        ctx, dut = self.ctx, self.dut
        ctx.set(self.ctl.idle, 1)
        ctx.set(dut.layout_we, 1)
        for cell, v in enumerate(layout_flags(maze)):
            ctx.set(dut.layout_addr, cell)
            ctx.set(dut.layout_data, v)
            await ctx.tick()
        ctx.set(dut.layout_we, 0)

    async def start(self, row: int, col: int) -> None:
        """A start pulse while idle, then the visited map's clearing sweep."""
        ctx, ctl = self.ctx, self.ctl
        ctx.set(ctl.idle, 1)
        ctx.set(ctl.start, 1)
        ctx.set(self.dut.start_row, row)
        ctx.set(self.dut.start_col, col)
        await ctx.tick()
        ctx.set(ctl.idle, 0)
        ctx.set(ctl.start, 0)
        ctx.set(ctl.clear, 1)
        for q in range(self.dut.config.places):
            ctx.set(ctl.sweep, q)
            await ctx.tick()
        ctx.set(ctl.clear, 0)
        await ctx.tick()  # the trajectory's turn

    async def step(self) -> None:
        """A step's start and its lookups (they end when ``looked``)."""
        ctx, ctl = self.ctx, self.ctl
        ctx.set(ctl.step, 1)
        await ctx.tick()
        ctx.set(ctl.step, 0)
        ctx.set(ctl.lookup, 1)
        while True:
            looked = ctx.get(ctl.looked)
            await ctx.tick()
            if looked:
                break
        ctx.set(ctl.lookup, 0)
        await ctx.tick()  # settle

    async def decide(self, win: int) -> None:
        """Integration ends with winner ``win`` (one-hot, 0: none)."""
        ctx, ctl = self.ctx, self.ctl
        ctx.set(ctl.integrate, 1)
        await ctx.tick()
        ctx.set(self.dut.win, win)
        ctx.set(ctl.verdict, 1)
        await ctx.tick()
        ctx.set(ctl.integrate, 0)
        ctx.set(ctl.verdict, 0)
        ctx.set(self.dut.win, 0)

    async def book(self) -> int:
        """The step's last cycle; returns ``pos`` as shown in it."""
        ctx = self.ctx
        ctx.set(self.ctl.book, 1)
        pos = ctx.get(self.dut.pos)
        await ctx.tick()
        ctx.set(self.ctl.book, 0)
        return pos


def simulate(dut: MazeState, bench) -> None:  # noqa: ANN001
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()


def test_a_random_walk_follows_the_maze_model():
    rng = np.random.default_rng(11)
    maze = random_maze((5, 7), rng, wall_density=0.3)
    h, w = maze.shape
    target, hit = maze.move_table()
    goal = maze.goal.reshape(-1)
    dut = MazeState(NavigatorConfig(height=h, width=w))
    seen: list[tuple] = []

    async def bench(ctx) -> None:  # noqa: ANN001
        drv = Driver(ctx, dut)
        await drv.load(maze)
        for trial in range(2):
            await drv.start(*maze.start)
            here = maze.cell(*maze.start)
            visited: set[int] = set()
            assert ctx.get(dut.pos) == here and ctx.get(dut.here9) == SLOTS * here
            for _ in range(40):
                await drv.step()
                on = [target[here, d] >= 0 for d in range(8)]
                mask = sum(1 << d for d in range(8) if on[d])
                assert ctx.get(dut.targets) == mask and ctx.get(dut.on_grid) == mask
                assert ctx.get(dut.here_thr) == SLOTS * here + THR
                vis = sum(1 << d for d in range(8) if on[d] and target[here, d] in visited)
                assert ctx.get(dut.visited) & mask == vis
                seen.append((trial, "visited" if vis else "fresh"))
                dirs = [d for d in range(8) if on[d]]
                d = int(rng.choice(dirs)) if rng.random() < 0.9 else -1
                await drv.decide(0 if d < 0 else 1 << d)
                v = dut.verdict
                got = (ctx.get(v.moved), ctx.get(v.hit_wall), ctx.get(v.hit_corner))
                if d < 0:
                    assert got == (0, 0, 0) and ctx.get(dut.win_goal) == 0
                    assert await drv.book() == here
                    continue
                t = int(target[here, d])
                assert got == (hit[here, d] == Hit.NONE, hit[here, d] == Hit.WALL,
                               hit[here, d] == Hit.CORNER)  # fmt: skip
                assert ctx.get(dut.win_goal) == goal[t]
                assert ctx.get(dut.win_thr) == SLOTS * t + THR
                assert ctx.get(dut.win_syn) == SLOTS * here + d
                seen.append((trial, hit[here, d]))
                if hit[here, d] == Hit.NONE:
                    assert await drv.book() == t  # the place after the move, at once
                    visited.add(here)
                    here = t
                else:
                    assert await drv.book() == here
                assert ctx.get(dut.pos) == here and ctx.get(dut.here9) == SLOTS * here

    simulate(dut, bench)
    kinds = {k for _, k in seen}
    assert {Hit.NONE, Hit.WALL, Hit.CORNER, "visited"} <= kinds, kinds


def test_the_start_place_is_row_times_width_plus_column():
    maze = random_maze((6, 4), np.random.default_rng(2), wall_density=0.0)
    dut = MazeState(NavigatorConfig(height=6, width=4))

    async def bench(ctx) -> None:  # noqa: ANN001
        drv = Driver(ctx, dut)
        await drv.load(maze)
        for row, col in [(0, 0), (5, 3), (3, 1), (5, 0)]:
            await drv.start(row, col)
            assert ctx.get(dut.pos) == row * 4 + col
            assert ctx.get(dut.here9) == SLOTS * (row * 4 + col)

    simulate(dut, bench)
