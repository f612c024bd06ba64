"""Golden model of the self-adaptive eight-neuron navigator (Bianchi et al. 2023).

Integer-exact and vectorised over a batch of agents; the semantics are specified
in docs/navigator/golden-model.md, which this module follows step by step. Every device access
goes through a :class:`~memrl.sim.devices.SiOxPort`; with ``record=True`` each
agent keeps its own operation log in the order the RTL issues the operations.
"""

from __future__ import annotations

import heapq
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal, Protocol

import numpy as np

from memrl.rtl.navigator.core import SLOTS, THR  # devices per place; the threshold slot
from memrl.sim.devices import DevicePort, Op, SiOxArray, SiOxParams, SiOxPort
from memrl.sim.devices._check import check_int_range
from memrl.sim.navigator.maze import DIRECTIONS, Hit, Maze

__all__ = [
    "NavigatorParams",
    "PRESETS",
    "Cls",
    "Navigator",
    "TrialResult",
    "grid_tables",
    "run_schedule",
    "run_agent",
    "layout_schedule",
]

N_DIR = 8
COST_UNIT = 20  # terrain costs are learned in units of 0.05 (1 -> 20, 10 -> 200)


WALL_DOUBTED, WALL_FIXED = 1, 2  # Navigator.wall_mark (fix_walls)


class Cls:
    """Threshold classes read from a threshold device."""

    REWARD = 0
    RECALL = 1
    NOMINAL = 2
    PENALTY = 3


@dataclass(frozen=True)
class NavigatorParams:
    """Every constant of the learning rule; defaults are the ``paper`` preset.

    Thresholds are in integrator units (sums of synapse READ codes): Th0 = 400,
    so a fresh LRS synapse (code ~100) crosses Th0 in four ticks. The ratios
    0.8, 3 and 10 Th0 are the published rule's.
    """

    th0: int = 400
    recall_th: int = 320  # 0.8 Th0, residual memory after forgetting
    homeo_th: int = 1200  # 3 Th0, a place left during this trial
    penalty_th: int = 4000  # 10 Th0, a wall
    max_ticks: int = 4095
    code_reward_min: int = 160  # READ code ranges of the threshold classes
    code_recall_min: int = 120
    code_nominal_min: int = 40
    lvl_reward: int = 10  # SET compliance levels (0-10: 50-170 uA)
    lvl_recall: int = 5
    lvl_nominal: int = 0
    lvl_potentiate: int = 2
    lvl_pointer: int = 10
    rst_penalty: int = 12  # RESET stop-voltage levels (0-12: -1.0 to -1.6 V)
    rst_depress: int = 12
    pointer_min: int = 160  # a synapse reading at least this is a pointer
    reward_k: int = 50  # paper: the last K visited places are rewarded
    stuck_steps: int = 8
    exploit_limit: int = 50  # 0: off
    reward_path: Literal["recent", "bfs"] = "recent"
    pointers: bool = False
    forget_penalties: bool = False
    init_synapses: bool = False  # SET every synapse to lvl_potentiate at the start of a run
    optimistic: bool = False  # the reward path may cross places never stood on
    curiosity_th: int = 0  # threshold of an explored NOMINAL place (0: no curiosity)
    boredom: int = 0  # moves without a new place before pointing to the frontier (0: off)
    # forget when the remembered path ends off the goal: "off", "terrain" (only on maps
    # that report costs, where no wall can block a path) or "always" (True = "always")
    forget_on_path_end: Literal["off", "terrain", "always"] | bool = "off"
    renew_on_forget: bool = True  # a path ending off the goal makes every place new again
    doubt_unexplored: bool = False  # forgetting also un-learns walls never stood on
    doubt_age: int = 10  # forgetting doubts only walls learned at least this many trials ago
    # A wall hit again after forgetting doubted it is a fixture: later forgetting keeps
    # it (threshold and planner) unless the agent has stood on the place.
    fix_walls: bool = False
    # Probes (0: off). A trial that starts at least this many trials after the agent's
    # last failed probe lets the planner cross known walls the agent has stood on
    # (walls that appeared) once they are this many trials old. A hit on a planned
    # path made so, at a wall that old or at a corner beside one, is a failed probe, not
    # a changed layout: no forgetting; the agent re-plans from where it stands and
    # its homeostasis map (places left in this trial) is cleared.
    probe_age: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.forget_on_path_end, bool):
            object.__setattr__(
                self, "forget_on_path_end", "always" if self.forget_on_path_end else "off"
            )
        if self.forget_on_path_end not in ("off", "terrain", "always"):
            raise ValueError(
                "forget_on_path_end must be 'off', 'terrain' or 'always' "
                f"(got {self.forget_on_path_end!r})"
            )
        for name in ("th0", "recall_th", "homeo_th", "penalty_th"):
            check_int_range(name, getattr(self, name), 0, 1 << 20)
        check_int_range("max_ticks", self.max_ticks, 1, 1 << 20)
        for name in ("lvl_reward", "lvl_recall", "lvl_nominal", "lvl_potentiate", "lvl_pointer"):
            check_int_range(name, getattr(self, name), 0, 10)
        for name in ("rst_penalty", "rst_depress"):
            check_int_range(name, getattr(self, name), 0, 12)
        check_int_range("code_nominal_min", self.code_nominal_min, 1, 255)
        check_int_range("code_recall_min", self.code_recall_min, self.code_nominal_min + 1, 255)
        check_int_range("code_reward_min", self.code_reward_min, self.code_recall_min + 1, 255)
        check_int_range("pointer_min", self.pointer_min, 1, 255)
        check_int_range("reward_k", self.reward_k, 1, 1 << 16)
        check_int_range("stuck_steps", self.stuck_steps, 1, 1 << 16)
        check_int_range("exploit_limit", self.exploit_limit, 0, 1 << 16)
        check_int_range("doubt_age", self.doubt_age, 0, 1 << 16)
        check_int_range("probe_age", self.probe_age, 0, 1 << 16)
        check_int_range("curiosity_th", self.curiosity_th, 0, 1 << 20)
        check_int_range("boredom", self.boredom, 0, 1 << 16)
        if self.reward_path not in ("recent", "bfs"):
            raise ValueError(f"reward_path must be 'recent' or 'bfs' (got {self.reward_path!r})")

    @property
    def class_threshold(self) -> np.ndarray:
        return np.array([0, self.recall_th, self.th0, self.penalty_th], dtype=np.int64)


PRESETS: dict[str, NavigatorParams] = {
    "paper": NavigatorParams(),
    "default": NavigatorParams(
        reward_path="bfs",
        pointers=True,
        forget_penalties=True,
        init_synapses=True,
        optimistic=True,
        curiosity_th=600,
        boredom=20,
        exploit_limit=0,
        doubt_unexplored=True,
        doubt_age=30,
        fix_walls=True,
        probe_age=25,
        forget_on_path_end="terrain",
    ),
}


def cost_units(maze: Maze) -> np.ndarray | None:
    """A terrain map's entry costs in integer units of 1/COST_UNIT (None for a maze)."""
    if maze.cost is None:
        return None
    return np.rint(np.asarray(maze.cost).reshape(-1) * COST_UNIT).astype(np.int64)


#: The largest maze side (places), rows or columns.
MAX_MAZE_SIDE = 1024


def check_maze_shape(shape: tuple[int, int], source: str = "") -> None:
    """Refuse a maze outside 2 .. :data:`MAX_MAZE_SIDE` places in either direction."""
    h, w = shape
    ok = all(isinstance(v, (int, np.integer)) and 2 <= v <= MAX_MAZE_SIDE for v in (h, w))
    if not ok:
        where = f"{source}: " if source else ""
        raise ValueError(
            f"{where}a maze is at least 2 and at most {MAX_MAZE_SIDE} places in each direction "
            f"(this one is {h} x {w})"
        )


def grid_tables(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Neighbour of every cell in every direction (-1 off the grid), and for diagonal
    moves the two orthogonal cells passed between (-1 for orthogonal moves)."""
    h, w = shape
    rr, cc = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    rr, cc = rr.reshape(-1), cc.reshape(-1)
    nbr = np.full((h * w, N_DIR), -1, dtype=np.int64)
    orth = np.full((h * w, N_DIR, 2), -1, dtype=np.int64)
    for d, (dr, dc) in enumerate(DIRECTIONS):
        tr, tc = rr + dr, cc + dc
        inside = (tr >= 0) & (tr < h) & (tc >= 0) & (tc < w)
        nbr[inside, d] = tr[inside] * w + tc[inside]
        if dr and dc:
            orth[inside, d, 0] = tr[inside] * w + cc[inside]
            orth[inside, d, 1] = rr[inside] * w + tc[inside]
    return nbr, orth


@dataclass
class TrialResult:
    """Per-agent outcome of one trial (arrays of length batch)."""

    steps: np.ndarray
    reached: np.ndarray
    ticks: np.ndarray
    moves: np.ndarray
    hits: np.ndarray
    reads: np.ndarray
    sets: np.ndarray
    resets: np.ndarray
    cost: np.ndarray | None = None  # summed entry cost of the places entered (terrain maps)


@dataclass
class Navigator:
    """A batch of navigator agents on one grid shape, one agent per seed."""

    shape: tuple[int, int]
    seeds: Sequence[int]
    params: NavigatorParams = field(default_factory=NavigatorParams)
    device: SiOxParams = field(default_factory=SiOxParams)
    record: bool = False
    # "numpy": the reference below; "compiled": the numba kernel of
    # memrl.sim.navigator.kernel, equal bit for bit; "auto": compiled unless recording.
    engine: Literal["auto", "numpy", "compiled"] = "auto"
    # Another device behind the port (one agent, numpy engine): for example the
    # RRAM emulator's model, memrl.sim.devices.emulator.EmulatorPort.
    device_port: DevicePort | None = None

    def __post_init__(self) -> None:
        if self.engine not in ("auto", "numpy", "compiled"):
            raise ValueError(f"engine must be 'auto', 'numpy' or 'compiled' (got {self.engine!r})")
        if self.device_port is not None:
            if self.engine == "compiled" or len(self.seeds) != 1:
                raise ValueError("device_port runs one agent on the numpy engine")
            self.engine = "numpy"
        if self.engine == "compiled" and self.record:
            raise ValueError("the compiled engine keeps no operation log: use engine='numpy'")
        h, w = self.shape
        check_maze_shape((h, w))
        self.seeds = [int(s) for s in self.seeds]
        if not self.seeds:
            raise ValueError("seeds must name at least one agent")
        self.B, self.P = len(self.seeds), h * w
        self.nbr, self.orth = grid_tables(self.shape)
        if self.device_port is not None:
            if self.device_port.n_devices != SLOTS * self.P:
                raise ValueError(
                    f"device_port has {self.device_port.n_devices} devices; "
                    f"a {h}x{w} navigator needs {SLOTS * self.P}"
                )
            self.port = self.device_port
        else:
            self.port = SiOxPort(SiOxArray.batch(self.seeds, SLOTS * self.P, self.device))
        self.logs: list[list[tuple[int, int, int, int]]] | None = (
            [[] for _ in range(self.B)] if self.record else None
        )
        # With ``record``: how often the default rule's branches were taken (over
        # every agent; DEFAULT_BRANCHES in memrl.sim.navigator.coverage). The
        # per-step ones are counted only when recording; the rest (sweeps, paths)
        # are per event.
        self.branches: Counter = Counter()
        self.op_counts = np.zeros((self.B, 3), dtype=np.int64)  # reads, sets, resets
        self.explored = np.zeros((self.B, self.P), dtype=bool)
        self.diag_taken = np.zeros((self.B, self.P, N_DIR), dtype=bool)
        # Places stood on, as curiosity and the frontier see it; renewed (cleared) when
        # a remembered path runs out off the goal (forget_on_path_end).
        self.seen = np.zeros((self.B, self.P), dtype=bool)
        # Learned entry cost per place in units of 1/COST_UNIT (terrain maps only);
        # unknown places are assumed to cost 1 (optimism).
        self.cost_known = np.full((self.B, self.P), COST_UNIT, dtype=np.int64)
        # Trial in which each place was last hit as a wall (-1: not a known wall).
        self.wall_stamp = np.full((self.B, self.P), -1, dtype=np.int64)
        # fix_walls: WALL_DOUBTED once forgetting has doubted a known wall there,
        # WALL_FIXED once it is hit again; cleared when the agent stands there.
        self.wall_mark = np.zeros((self.B, self.P), dtype=np.int8)
        # probe_age: the trial of the last failed probe (none yet: -1, long ago), whether
        # this trial probes, and whether the remembered path was planned probing.
        # (One int64 array, rows viewed by name, shared with the compiled kernel.)
        self.probe_state = np.zeros((3, self.B), dtype=np.int64)
        self.last_probe, self.probing, self.plan_probing = self.probe_state
        self.last_probe[:] = -1
        self.trial = 0
        # Run start, per agent and place in order: thresholds to NOMINAL, then
        # (init_synapses) the eight synapses to a fresh LRS.
        slots = [THR] + (list(range(N_DIR)) if self.params.init_synapses else [])
        levels = [self.params.lvl_nominal] + [self.params.lvl_potentiate] * (len(slots) - 1)
        local = (np.arange(self.P)[:, None] * SLOTS + np.array(slots)).reshape(-1)
        self._set(
            np.repeat(np.arange(self.B), local.size),
            np.tile(local, self.B),
            np.tile(np.tile(levels, self.P), self.B),
        )

    # -- device access, logged per agent ----------------------------------------
    def _global(self, agents: np.ndarray, local: np.ndarray) -> np.ndarray:
        return agents * (SLOTS * self.P) + local

    def _log(self, op: Op, agents: np.ndarray, local: np.ndarray, level, result) -> None:  # noqa: ANN001
        if self.logs is None:
            return
        lv = np.broadcast_to(level, agents.shape).tolist()
        res = np.broadcast_to(result, agents.shape).tolist()
        for a, x, v, r in zip(agents.tolist(), local.tolist(), lv, res, strict=True):
            self.logs[a].append((int(op), x, v, r))

    def _read(self, agents: np.ndarray, local: np.ndarray) -> np.ndarray:
        codes = self.port.read(self._global(agents, local))
        np.add.at(self.op_counts[:, 0], agents, 1)
        self._log(Op.READ, agents, local, 0, codes)
        return codes

    def _set(self, agents: np.ndarray, local: np.ndarray, level) -> None:  # noqa: ANN001
        if agents.size:
            self.port.set(self._global(agents, local), level)
            np.add.at(self.op_counts[:, 1], agents, 1)
            self._log(Op.SET, agents, local, level, -1)

    def _reset(self, agents: np.ndarray, local: np.ndarray, level) -> None:  # noqa: ANN001
        if agents.size:
            self.port.reset(self._global(agents, local), level)
            np.add.at(self.op_counts[:, 2], agents, 1)
            self._log(Op.RESET, agents, local, level, -1)

    def classify(self, codes: np.ndarray) -> np.ndarray:
        p = self.params
        return np.where(
            codes >= p.code_reward_min,
            Cls.REWARD,
            np.where(
                codes >= p.code_recall_min,
                Cls.RECALL,
                np.where(codes >= p.code_nominal_min, Cls.NOMINAL, Cls.PENALTY),
            ),
        )

    # -- one trial -----------------------------------------------------------
    def run_trial(self, maze: Maze, max_steps: int) -> TrialResult:
        """Run one trial of every agent on ``maze`` from its start, at most ``max_steps`` steps."""
        if maze.shape != tuple(self.shape):
            raise ValueError(f"maze {maze.name!r} is {maze.shape}, the navigator is {self.shape}")
        check_int_range("max_steps", max_steps, 1, 1 << 24)
        if self.engine == "compiled" or (self.engine == "auto" and not self.record):
            return self._run_trial_compiled(maze, max_steps)
        p, B = self.params, self.B
        target_tab, hit_tab = maze.move_table()
        goal = maze.goal.reshape(-1)
        cls_th = p.class_threshold
        start = maze.cell(*maze.start)
        cost_int = cost_units(maze)
        counts0 = self.op_counts.copy()
        cost_sum = np.zeros(B, dtype=np.int64)
        pos = np.full(B, start, dtype=np.int64)
        steps = np.zeros(B, dtype=np.int64)
        ticks = np.zeros(B, dtype=np.int64)
        moves = np.zeros(B, dtype=np.int64)
        hits = np.zeros(B, dtype=np.int64)
        stay = np.zeros(B, dtype=np.int64)
        exploit = np.zeros(B, dtype=np.int64)
        bored = np.zeros(B, dtype=np.int64)
        on_path = np.zeros(B, dtype=bool)  # the last step was a move onto a REWARD place
        reached = np.zeros(B, dtype=bool)
        active = np.ones(B, dtype=bool)
        visited = np.zeros((B, self.P), dtype=bool)
        traj = np.zeros((B, max_steps + 1), dtype=np.int64)
        traj[:, 0] = start
        traj_len = np.ones(B, dtype=np.int64)
        self.explored[:, start] = True
        self.seen[:, start] = True
        if p.probe_age:
            self.probing[:] = (self.last_probe < 0) | (self.trial - self.last_probe >= p.probe_age)
        dirs = np.arange(N_DIR)
        path_end = p.forget_on_path_end == "always" or (
            p.forget_on_path_end == "terrain" and cost_int is not None
        )

        while active.any():
            a = np.flatnonzero(active)
            here = pos[a]
            # 1. READ the eight synapses, then the thresholds of on-grid targets.
            s = self._read(np.repeat(a, N_DIR), (here[:, None] * SLOTS + dirs).reshape(-1))
            s = s.reshape(-1, N_DIR)
            tgt = self.nbr[here]
            valid = tgt >= 0
            rows = np.repeat(np.arange(a.size), N_DIR).reshape(-1, N_DIR)[valid]
            codes = np.zeros_like(s)
            codes[valid] = self._read(a[rows], tgt[valid] * SLOTS + THR)
            cls = np.where(valid, self.classify(codes), Cls.PENALTY)
            # 2. thresholds, homeostasis overriding for places left in this trial.
            th = cls_th[cls]
            safe_tgt = np.maximum(tgt, 0)
            left = visited[a[:, None], safe_tgt]
            if p.curiosity_th:  # places already seen are less attractive
                known = self.seen[a[:, None], safe_tgt] & (cls == Cls.NOMINAL)
                th = np.where(valid & known, p.curiosity_th, th)
                if self.record:
                    self.branches["curiosity"] += int((valid & known & ~left).any(axis=1).sum())
            th = np.where(valid & left, p.homeo_th, th)
            # 3. integration and winner-take-all.
            safe = np.maximum(s, 1)
            fire_at = np.where(valid & (s > 0), np.maximum(1, (th + safe - 1) // safe), 1 << 40)
            k = fire_at.min(axis=1)
            fired = k <= p.max_ticks
            key = np.where(fire_at == k[:, None], s * N_DIR + (N_DIR - 1 - dirs), -1)
            win = key.argmax(axis=1)
            ticks[a] += np.where(fired, k, p.max_ticks)
            # 4. the maze applies the move.
            idx = np.arange(a.size)
            t_cell = tgt[idx, win]
            t_safe = np.maximum(t_cell, 0)  # for indexing; off-grid targets never fire
            hit = np.where(fired, hit_tab[here, win], Hit.NONE)
            moved = fired & (hit == Hit.NONE)
            is_hit = fired & (hit != Hit.NONE)
            t_cls = cls[idx, win]
            # 5. learning rule, in the documented order.
            was_on_path = on_path[a].copy()
            # A hit ends it: a path that runs into a wall is blocked or was a guess.
            on_path[a] = moved & (t_cls == Cls.REWARD)
            exploit[a] = np.where(moved & (t_cls == Cls.REWARD), exploit[a] + 1, 0)
            blocked = is_hit & (t_cls == Cls.REWARD)
            if p.optimistic:  # a never-visited place on the path is a guess, not a change
                if self.record:
                    self.branches["guess_hit"] += int((blocked & ~self.explored[a, t_safe]).sum())
                blocked &= self.explored[a, t_safe]
            probed = np.zeros_like(blocked)
            if p.probe_age and blocked.any():  # a hit at a wall old enough to probe, or
                # beside one, on a path planned probing
                o = self.orth[here, win]  # the places a diagonal passes between

                def aged(ag, cells):  # noqa: ANN001, ANN202
                    st = self.wall_stamp[ag, np.maximum(cells, 0)]
                    return (cells >= 0) & (st >= 0) & (self.trial - st >= p.probe_age)

                beside = aged(a[:, None], o)
                at_wall = np.where(hit == Hit.WALL, aged(a, t_cell), beside.any(1))
                probed = blocked & (self.plan_probing[a] != 0) & at_wall
                blocked &= ~probed
                self.last_probe[a[probed]] = self.trial
                # a corner confirms the walls beside it (a wall hit stamps its own)
                i, k = np.nonzero(beside & (probed & (hit == Hit.CORNER))[:, None])
                self.wall_stamp[a[i], o[i, k]] = self.trial
                if self.record:
                    self.branches["probe_failed"] += int(probed.sum())
                    self.branches["probe_corner"] += int((probed & (hit == Hit.CORNER)).sum())
            stuck_on_path = (exploit[a] > p.exploit_limit) if p.exploit_limit else False
            forget = blocked | stuck_on_path
            if path_end:  # stepped off the remembered path, not at a goal
                off = moved & was_on_path & (t_cls != Cls.REWARD) & ~goal[t_safe]
                off &= ~forget
                if self.record:
                    self.branches["path_end"] += int(off.sum())
                if p.renew_on_forget:  # the goal is elsewhere: every place is worth a look
                    self.seen[a[off]] = False
                forget |= off
            on_path[a[forget]] = False  # the sweep leaves no remembered path to end
            exploit[a[forget]] = 0
            if forget.any():
                self._forget(a[forget])
            wall = is_hit & (hit == Hit.WALL)
            self._reset(a[wall], t_cell[wall] * SLOTS + THR, p.rst_penalty)
            self.wall_stamp[a[wall], t_cell[wall]] = self.trial
            if p.fix_walls:
                mark = self.wall_mark[a[wall], t_cell[wall]]
                fixed = np.where(mark == WALL_DOUBTED, WALL_FIXED, mark)
                self.wall_mark[a[wall], t_cell[wall]] = fixed
                if self.record:
                    self.branches["wall_fixed"] += int((mark == WALL_DOUBTED).sum())
            corner = is_hit & (hit == Hit.CORNER)
            self.diag_taken[a[corner], here[corner], win[corner]] = False
            self.diag_taken[a[corner], t_cell[corner], (win[corner] + 4) % N_DIR] = False
            self._reset(a[corner], here[corner] * SLOTS + win[corner], p.rst_depress)
            if p.pointers:  # a pointer leading back to a visited place is stale
                revisit = visited[a, t_safe]
                pot = moved & ((s[idx, win] < p.pointer_min) | revisit)
                if self.record:
                    stale = moved & revisit & (s[idx, win] >= p.pointer_min)
                    self.branches["pointer_kept"] += int((moved & ~pot).sum())
                    self.branches["pointer_stale"] += int(stale.sum())
            else:
                pot = moved
            self._set(a[pot], here[pot] * SLOTS + win[pot], p.lvl_potentiate)
            stay[a] = np.where(moved, 0, stay[a] + 1)
            stuck = stay[a] >= p.stuck_steps
            if stuck.any():
                self._stuck_fallback(a[stuck], here[stuck])
                stay[a[stuck]] = 0
            for agent, cell in zip(a[probed].tolist(), here[probed].tolist(), strict=True):
                self._write_path(agent, maze, cell)  # re-plan from here, homeostasis
                visited[agent] = False  # cleared: the new path may lead back
            # Bookkeeping of the move. Boredom: moves onto places already seen, off
            # the remembered path.
            fresh = moved & (~self.seen[a, t_safe] | (t_cls == Cls.REWARD))
            bored[a] = np.where(fresh, 0, bored[a] + moved)
            visited[a[moved], here[moved]] = True
            pos[a[moved]] = t_cell[moved]
            self.explored[a[moved], t_cell[moved]] = True
            self.seen[a[moved], t_cell[moved]] = True
            self.wall_stamp[a[moved], t_cell[moved]] = -1
            self.wall_mark[a[moved], t_cell[moved]] = 0
            if cost_int is not None:  # the maze reports the cost of the place entered
                self.cost_known[a[moved], t_cell[moved]] = cost_int[t_cell[moved]]
                cost_sum[a[moved]] += cost_int[t_cell[moved]]
            dg = moved & (win % 2 == 1)
            self.diag_taken[a[dg], here[dg], win[dg]] = True
            self.diag_taken[a[dg], t_cell[dg], (win[dg] + 4) % N_DIR] = True
            traj[a[moved], traj_len[a[moved]]] = t_cell[moved]
            traj_len[a[moved]] += 1
            moves[a] += moved
            hits[a] += is_hit
            steps[a] += 1
            at_goal = moved & goal[t_safe]
            if at_goal.any():
                for agent in a[at_goal]:
                    self._reward(int(agent), traj[agent, : traj_len[agent]], maze)
                reached[a[at_goal]] = True
            if p.boredom:
                frontier = ~at_goal & (bored[a] >= p.boredom)
                for agent in a[frontier].tolist():
                    self._point_to_frontier(agent, int(pos[agent]))
                self.branches["frontier"] += int(frontier.sum()) if self.record else 0
                bored[a[frontier]] = 0
            active[a] = ~at_goal & (steps[a] < max_steps)

        self.trial += 1
        self.last_trajectories = [traj[b, : traj_len[b]].copy() for b in range(B)]
        d = self.op_counts - counts0
        cost = None if cost_int is None else cost_sum / COST_UNIT
        return TrialResult(steps, reached, ticks, moves, hits, d[:, 0], d[:, 1], d[:, 2], cost)

    def _run_trial_compiled(self, maze: Maze, max_steps: int) -> TrialResult:
        from memrl.sim.navigator import kernel as nk

        _, hit_tab = maze.move_table()
        cost_int = cost_units(maze)
        arr, port = self.port.array, self.port
        if not hasattr(self, "_dev"):
            p = arr.params
            fc = np.array(
                [p.read_noise_frac, p.v_read, port.read_adc.lsb, port.read_adc.max_code],
                dtype=np.float64,
            )
            self._dev = (
                arr.r_kohm,
                arr.read_count,
                arr.ledger.set_count,
                arr.ledger.reset_count,
                arr.agent_keys,
                arr.n_per_agent,
                fc,
                *port.level_tables(),
            )
            self._ip = nk.pack_params(self.params)
            P = self.P
            self._scratch = (
                np.zeros((2, P), dtype=bool),
                np.zeros((4, P + 1), dtype=np.int64),
                np.zeros(9 * P + 1, dtype=np.int64),
                np.zeros((5, N_DIR), dtype=np.int64),
            )
        B = self.B
        counts0 = self.op_counts.copy()
        out = np.zeros((B, 5), dtype=np.int64)
        cost_sum = np.zeros(B, dtype=np.int64)
        traj = np.zeros((B, max_steps + 1), dtype=np.int64)
        traj_len = np.zeros(B, dtype=np.int64)
        err = nk.run_trials(
            self._dev, self._ip, self.nbr, self.orth, hit_tab,
            np.ascontiguousarray(maze.goal.reshape(-1)), maze.cell(*maze.start),
            cost_int if cost_int is not None else np.zeros(1, dtype=np.int64),
            cost_int is not None, self.explored, self.diag_taken, self.seen,
            self.cost_known, self.wall_stamp, self.wall_mark, self.probe_state, self.op_counts,
            self.trial, max_steps,
            out, cost_sum, traj, traj_len, *self._scratch,
        )  # fmt: skip
        if err == nk.ERR_NO_PATH:
            raise RuntimeError("no usable path from the start to the goal")
        self.trial += 1
        self.last_trajectories = [traj[b, : traj_len[b]].copy() for b in range(B)]
        d = self.op_counts - counts0
        for op, col in ((Op.READ, 0), (Op.SET, 1), (Op.RESET, 2)):
            port.counts[op] += int(d[:, col].sum())
        cost = None if cost_int is None else cost_sum / COST_UNIT
        return TrialResult(
            out[:, 0], out[:, 1].astype(bool), out[:, 2], out[:, 3], out[:, 4],
            d[:, 0], d[:, 1], d[:, 2], cost,
        )  # fmt: skip

    # -- learning-rule branches --------------------------------------------------
    def _forget(self, agents: np.ndarray) -> None:
        """Sweep every threshold device: REWARD -> RECALL (and PENALTY -> NOMINAL)."""
        p = self.params
        for agent in agents.tolist():  # one sweep per agent keeps the log order READ, SET per place
            places = np.arange(self.P)
            ag = np.full(self.P, agent)
            codes = self._read_quiet(ag, places * SLOTS + THR)
            cls = self.classify(codes)
            lv = np.full(self.P, -1)
            lv[cls == Cls.REWARD] = p.lvl_recall
            if p.forget_penalties:
                stamp = self.wall_stamp[agent]
                old = (stamp < 0) | (self.trial - stamp >= p.doubt_age)
                mark = self.wall_mark[agent]
                if p.fix_walls:  # a fixture the agent never stood on stays a wall
                    kept = old & (mark == WALL_FIXED) & ~self.explored[agent]
                    self.branches["fixture_kept"] += int(kept.sum())
                    old &= ~kept
                doubt = (cls == Cls.PENALTY) & old
                lv[doubt] = p.lvl_nominal
                self.branches["doubt"] += int(doubt.sum())
                # The planner forgets old walls too (optionally only where it has
                # stood, i.e. where a wall is known to have appeared).
                plan = (stamp >= 0) & old
                if p.optimistic and not p.doubt_unexplored:
                    plan &= self.explored[agent]
                stamp[plan] = -1
                if p.fix_walls:
                    mark[plan] = WALL_DOUBTED
            prog = lv >= 0
            self.port.set(self._global(ag[prog], places[prog] * SLOTS + THR), lv[prog])
            self.op_counts[agent, 1] += int(prog.sum())
            if self.logs is not None:
                log = self.logs[agent]
                for q in range(self.P):
                    log.append((int(Op.READ), q * SLOTS + THR, 0, int(codes[q])))
                    if lv[q] >= 0:
                        log.append((int(Op.SET), q * SLOTS + THR, int(lv[q]), -1))

    def _read_quiet(self, agents: np.ndarray, local: np.ndarray) -> np.ndarray:
        """A read counted but logged by the caller (interleaved with programming)."""
        codes = self.port.read(self._global(agents, local))
        np.add.at(self.op_counts[:, 0], agents, 1)
        return codes

    def _stuck_fallback(self, agents: np.ndarray, here: np.ndarray) -> None:
        """SET the thresholds of the on-grid 3x3 neighbourhood to NOMINAL (row-major order)."""
        h, w = self.shape
        ag, loc = [], []
        for agent, cell in zip(agents.tolist(), here.tolist(), strict=True):
            r, c = divmod(cell, w)
            for rr in range(max(0, r - 1), min(h, r + 2)):
                for cc in range(max(0, c - 1), min(w, c + 2)):
                    ag.append(agent)
                    loc.append((rr * w + cc) * SLOTS + THR)
        self._set(np.array(ag), np.array(loc), self.params.lvl_nominal)

    def _reward(self, agent: int, traj: np.ndarray, maze: Maze) -> None:
        p = self.params
        if p.reward_path == "recent":
            recent = traj[-p.reward_k :]
            self._set(np.full(recent.size, agent), recent * SLOTS + THR, p.lvl_reward)
            return
        self.branches["reward_path"] += 1
        self._write_path(agent, maze, None)

    def _write_path(self, agent: int, maze: Maze, start: int | None) -> None:
        """Plan from ``start`` (None: the maze's start) to a goal and write the path:
        thresholds to REWARD, pointers in the synapses."""
        p = self.params
        plan = self.explored_path if maze.cost is None else self.cheapest_path
        found = plan(agent, maze, start)
        if found is None or len(found) < 2:  # only a re-plan can find none
            self.branches["replan_none"] += 1
            return
        self.plan_probing[agent] = self.probing[agent]
        if start is not None:
            self.branches["replan"] += 1
        path = np.array(found, dtype=np.int64)
        n = path.size
        # Executed vectorised; the log is written in the RTL's order (per path place:
        # READ thr, [SET thr], READ its eight synapses, [SET synapses]). Device results
        # do not depend on call grouping (per-device counters), so both agree.
        t_codes = self._read_quiet(np.full(n, agent), path * SLOTS + THR)
        t_set = self.classify(t_codes) != Cls.REWARD
        self.port.set(self._global(np.full(int(t_set.sum()), agent), path[t_set] * SLOTS + THR),
                      p.lvl_reward)  # fmt: skip
        self.op_counts[agent, 1] += int(t_set.sum())
        s_codes, local, prog, lv = self._write_pointers(agent, path, log=False)
        if self.logs is not None:
            log = self.logs[agent]
            for i in range(n):
                log.append((int(Op.READ), int(path[i]) * SLOTS + THR, 0, int(t_codes[i])))
                if t_set[i]:
                    log.append((int(Op.SET), int(path[i]) * SLOTS + THR, p.lvl_reward, -1))
                if i < n - 1:
                    self._log_pointer_row(log, i, s_codes, local, prog, lv)

    def _write_pointers(
        self, agent: int, path: np.ndarray, log: bool = True
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """For each place of ``path`` but the last: READ its eight synapses, SET the one
        towards the next place to a pointer unless it reads as one, SET other
        pointers back to level 2. Logged per place in that order when ``log``."""
        p = self.params
        cells = path[:-1]
        d_next = (self.nbr[cells] == path[1:, None]).argmax(axis=1)
        local = cells[:, None] * SLOTS + np.arange(N_DIR)
        s_codes = self._read_quiet(np.full(local.size, agent), local.reshape(-1)).reshape(-1, N_DIR)
        is_next = np.arange(N_DIR) == d_next[:, None]
        promote = is_next & (s_codes < p.pointer_min)
        demote = ~is_next & (s_codes >= p.pointer_min)
        prog = promote | demote
        self.branches["pointer_set"] += int(promote.sum())
        self.branches["pointer_cleared"] += int(demote.sum())
        lv = np.where(promote, p.lvl_pointer, p.lvl_potentiate)
        self.port.set(self._global(np.full(int(prog.sum()), agent), local[prog]), lv[prog])
        self.op_counts[agent, 1] += int(prog.sum())
        if log and self.logs is not None:
            for i in range(len(cells)):
                self._log_pointer_row(self.logs[agent], i, s_codes, local, prog, lv)
        return s_codes, local, prog, lv

    @staticmethod
    def _log_pointer_row(log: list, i: int, s_codes, local, prog, lv) -> None:  # noqa: ANN001
        for d in range(N_DIR):
            log.append((int(Op.READ), int(local[i, d]), 0, int(s_codes[i, d])))
        for d in np.flatnonzero(prog[i]).tolist():
            log.append((int(Op.SET), int(local[i, d]), int(lv[i, d]), -1))

    def _usable(self, agent: int) -> np.ndarray:
        p = self.params
        stamp = self.wall_stamp[agent]
        free = stamp < 0
        if self.probing[agent]:  # walls that appeared, old enough: probes
            free |= self.explored[agent] & (self.trial - stamp >= p.probe_age)
        return (self.explored[agent] | p.optimistic) & free

    def _move_rule(
        self, agent: int, usable: np.ndarray
    ) -> Callable[[int, int, int, int, int], bool]:
        """The planners' move x -(d)-> y: y usable, and a diagonal (passing o1, o2) only
        if the agent has taken it before or both orthogonal places are usable."""
        ex = usable.tolist()
        taken = self.diag_taken[agent].tolist()

        def ok(x: int, d: int, y: int, o1: int, o2: int) -> bool:
            return ex[y] and (o1 < 0 or taken[x][d] or (ex[o1] and ex[o2]))

        return ok

    def explored_path(self, agent: int, maze: Maze, start: int | None = None) -> list[int] | None:
        """Shortest path from the start to a goal through places the planner may use
        (ties: lowest direction index). A place is usable if the agent has stood on
        it (or, optimistic, at all) and it is not a known wall; a diagonal is used
        only if the agent has taken it before (in either direction) or both
        orthogonal places it passes between are usable."""
        usable = self._usable(agent)
        goals = np.flatnonzero(maze.goal.reshape(-1) & usable)
        x = maze.cell(*maze.start) if start is None else start
        path = self._bfs_path(agent, usable, x, goals)
        if path is None and start is None:  # cannot happen after reaching the goal
            raise RuntimeError("no usable path from the start to the goal")
        return path

    def frontier_path(self, agent: int, here: int) -> list[int] | None:
        """Path from ``here`` to the nearest usable place not yet seen: a BFS from
        ``here`` that expands neighbours in direction order and stops at the first
        such place dequeued; the path follows the BFS tree (first discovery)."""
        usable = self._usable(agent)
        step_ok = self._move_rule(agent, usable)
        target = (usable & ~self.seen[agent]).tolist()
        adj = self._adjacency()
        parent = {here: -1}
        queue = deque([here])
        while queue:
            x = queue.popleft()
            if target[x]:
                path = [x]
                while parent[path[-1]] >= 0:
                    path.append(parent[path[-1]])
                return path[::-1]
            for d, y, o1, o2 in adj[x]:
                if y not in parent and step_ok(x, d, y, o1, o2):
                    parent[y] = x
                    queue.append(y)
        return None

    def _bfs_path(
        self, agent: int, usable: np.ndarray, start: int, targets: np.ndarray
    ) -> list[int] | None:
        """BFS from ``targets`` over usable places, then the path from ``start``
        choosing the lowest direction index among equally short moves."""
        step_ok = self._move_rule(agent, usable)
        adj = self._adjacency()
        dist = [-1] * self.P
        for g in targets.tolist():
            dist[g] = 0
        queue = deque(targets.tolist())

        while queue:
            x = queue.popleft()
            nd = dist[x] + 1
            for d, y, o1, o2 in adj[x]:
                if dist[y] < 0 and step_ok(x, d, y, o1, o2):
                    dist[y] = nd
                    queue.append(y)
        x = start
        if dist[x] < 0:
            return None
        path = [x]
        while dist[x] > 0:
            for d, y, o1, o2 in adj[x]:
                if dist[y] == dist[x] - 1 and step_ok(x, d, y, o1, o2):
                    x = y
                    break
            path.append(x)
        return path

    def _point_to_frontier(self, agent: int, here: int) -> None:
        """Write pointers along the path to the nearest unexplored place (no threshold
        programming): through explored places a pointer fires first, but a place
        never visited still wins, so local exploration goes on."""
        path = self.frontier_path(agent, here)
        if path is None or len(path) < 2:
            self.branches["frontier_none"] += 1
            return
        self._write_pointers(agent, np.array(path, dtype=np.int64))

    def cheapest_path(self, agent: int, maze: Maze, start: int | None = None) -> list[int] | None:
        """Like :meth:`explored_path`, minimising the summed entry cost of the places on
        the path (learned costs; unknown places cost 1), by Dijkstra from the goal.
        Ties: the lowest direction index at each place from the start."""
        usable = self._usable(agent)
        step_ok = self._move_rule(agent, usable)
        cost = self.cost_known[agent].tolist()
        adj = self._adjacency()
        inf = 1 << 62
        dist = [inf] * self.P
        heap = []
        for g in np.flatnonzero(maze.goal.reshape(-1) & usable).tolist():
            dist[g] = 0
            heap.append((0, g))
        heapq.heapify(heap)

        # dist[x]: cheapest cost of entering places from x to a goal. Moves are
        # symmetric, so relaxing x's neighbours y with dist[y] = dist[x] + cost[x].
        while heap:
            dx, x = heapq.heappop(heap)
            if dx > dist[x]:
                continue
            nd = dx + cost[x]
            for d, y, o1, o2 in adj[x]:
                if nd < dist[y] and step_ok(x, d, y, o1, o2):
                    dist[y] = nd
                    heapq.heappush(heap, (nd, y))
        x = maze.cell(*maze.start) if start is None else start
        if dist[x] >= inf:
            if start is not None:
                return None
            raise RuntimeError("no usable path from the start to the goal")
        path = [x]
        while dist[x] > 0:
            for d, y, o1, o2 in adj[x]:
                if step_ok(x, d, y, o1, o2) and dist[y] + cost[y] == dist[x]:
                    x = y
                    break
            path.append(x)
        return path

    def _adjacency(self) -> list[list[tuple[int, int, int, int]]]:
        if not hasattr(self, "_adj"):
            self._adj = [
                [
                    (d, int(self.nbr[x, d]), int(self.orth[x, d, 0]), int(self.orth[x, d, 1]))
                    for d in range(N_DIR)
                    if self.nbr[x, d] >= 0
                ]
                for x in range(self.P)
            ]
        return self._adj


class TrialAgent(Protocol):
    def run_trial(self, maze: Maze, max_steps: int) -> TrialResult: ...


def run_agent(
    agent: TrialAgent,
    layouts: Sequence[Maze],
    switch_at: Sequence[int],
    trials: int,
    max_steps: int,
    on_trial: Callable[[int, int, TrialResult], None] | None = None,
) -> None:
    """Run ``trials`` trials of any agent; at each trial in ``switch_at`` the next
    layout (cyclically) takes over."""
    for t, idx in enumerate(layout_schedule(len(layouts), switch_at, trials)):
        res = agent.run_trial(layouts[idx], max_steps)
        if on_trial:
            on_trial(t, idx, res)


def layout_schedule(n_layouts: int, switch_at: Sequence[int], trials: int) -> list[int]:
    """The layout index of each trial: at each trial in ``switch_at`` the next
    layout (cyclically) takes over."""
    switches = set(switch_at)
    k, out = 0, []
    for t in range(trials):
        k += t in switches
        out.append(k % n_layouts)
    return out


def run_schedule(
    layouts: Sequence[Maze],
    switch_at: Sequence[int],
    trials: int,
    max_steps: int,
    seeds: Sequence[int],
    params: NavigatorParams,
    on_trial: Callable[[int, int, TrialResult], None] | None = None,
    device: SiOxParams | None = None,
) -> Navigator:
    """A navigator batch run through :func:`run_agent`."""
    nav = Navigator(layouts[0].shape, seeds, params, device or SiOxParams())
    run_agent(nav, layouts, switch_at, trials, max_steps, on_trial)
    return nav


def with_overrides(params: NavigatorParams, **kw: object) -> NavigatorParams:
    return replace(params, **kw)  # type: ignore[arg-type]
