"""Baselines for the navigator: tabular Q-learning and a small numpy DQN.

Both act on the same mazes, schedule and step semantics as the navigator (a
blocked move leaves the agent in place and counts as a step; reward -1 per move,
-2 per blocked move; a goal place ends the trial) and return the same per-trial
:class:`~memrl.sim.navigator.golden.TrialResult` fields that matter for accuracy.

Accuracy, for every agent here and the navigator alike: the fraction of trials
that reach the goal within the trial's step limit.

Random draws (exploration, replay sampling, initial weights) come from numpy
Generators seeded with each agent's seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from memrl.sim.navigator.golden import TrialResult
from memrl.sim.navigator.maze import Hit, Maze

__all__ = ["QParams", "TabularQ", "DQNParams", "DQN", "memory_elements"]


def _result(steps: np.ndarray, reached: np.ndarray, hits: np.ndarray) -> TrialResult:
    z = np.zeros_like(steps)
    return TrialResult(steps, reached, z, steps - hits, hits, z, z, z)


@dataclass(frozen=True)
class QParams:
    alpha: float = 0.5
    gamma: float = 0.99
    epsilon: float = 0.1
    wall_penalty: float = 1.0


class TabularQ:
    """Tabular Q-learning, vectorised over a batch of agents (one per seed)."""

    def __init__(
        self, shape: tuple[int, int], seeds: Sequence[int], params: QParams = QParams()
    ) -> None:
        self.seeds = [int(s) for s in seeds]
        self.B, self.P = len(self.seeds), shape[0] * shape[1]
        self.params = params
        self.q = np.zeros((self.B, self.P, 8))
        self.rngs = [np.random.default_rng(s) for s in self.seeds]

    def run_trial(self, maze: Maze, max_steps: int) -> TrialResult:
        p, B = self.params, self.B
        target, hit = maze.move_table()
        goal = maze.goal.reshape(-1)
        pos = np.full(B, maze.cell(*maze.start))
        steps = np.zeros(B, dtype=np.int64)
        hits = np.zeros(B, dtype=np.int64)
        reached = np.zeros(B, dtype=bool)
        active = np.ones(B, dtype=bool)
        agents = np.arange(B)
        while active.any():
            a = agents[active]
            u = np.array([self.rngs[i].random(2) for i in a])
            q = self.q[a, pos[a]]
            best = q == q.max(axis=1, keepdims=True)
            # greedy with random tie-breaking, or a random action with probability epsilon
            noise = np.array([self.rngs[i].random(8) for i in a])
            pick = np.argmax(best * (1.0 + noise), axis=1)
            explore = u[:, 1] < p.epsilon
            pick[explore] = (u[explore, 0] * 8).astype(np.int64)
            h = hit[pos[a], pick]
            moved = h == Hit.NONE
            nxt = np.where(moved, target[pos[a], pick], pos[a])
            r = np.where(moved, -1.0, -(1.0 + p.wall_penalty))
            done = moved & goal[nxt]
            boot = np.where(done, 0.0, self.q[a, nxt].max(axis=1))
            self.q[a, pos[a], pick] += p.alpha * (r + p.gamma * boot - self.q[a, pos[a], pick])
            pos[a] = nxt
            steps[a] += 1
            hits[a] += ~moved
            reached[a] |= done
            active[a] = ~done & (steps[a] < max_steps)
        return _result(steps, reached, hits)


@dataclass(frozen=True)
class DQNParams:
    hidden: int = 64
    lr: float = 1e-3
    gamma: float = 0.99
    batch: int = 32
    replay: int = 20000
    target_every: int = 250
    eps_start: float = 1.0
    eps_end: float = 0.05
    eps_decay_steps: int = 10000
    wall_penalty: float = 1.0


class _MLP:
    """One-hot place -> ReLU(hidden) -> ReLU(hidden) -> 8 Q-values, trained with Adam."""

    def __init__(self, n_in: int, hidden: int, rng: np.random.Generator) -> None:
        def he(fan_in: int, shape: tuple[int, int]) -> np.ndarray:
            return rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)

        self.w = [he(1, (n_in, hidden)) * 0.1, np.zeros(hidden), he(hidden, (hidden, hidden)),
                  np.zeros(hidden), he(hidden, (hidden, 8)) * 0.1, np.zeros(8)]  # fmt: skip
        self.m = [np.zeros_like(x) for x in self.w]
        self.v = [np.zeros_like(x) for x in self.w]
        self.t = 0

    def n_params(self) -> int:
        return sum(x.size for x in self.w)

    def forward(self, s: np.ndarray) -> tuple[np.ndarray, tuple]:
        w1, b1, w2, b2, w3, b3 = self.w
        z1 = w1[s] + b1
        h1 = np.maximum(z1, 0)
        z2 = h1 @ w2 + b2
        h2 = np.maximum(z2, 0)
        return h2 @ w3 + b3, (s, z1, h1, z2, h2)

    def step(self, s: np.ndarray, a: np.ndarray, target: np.ndarray, lr: float) -> None:
        q, (s_, z1, h1, z2, h2) = self.forward(s)
        g = np.zeros_like(q)
        g[np.arange(len(a)), a] = (q[np.arange(len(a)), a] - target) / len(a)
        w1, b1, w2, b2, w3, b3 = self.w
        gw3, gb3 = h2.T @ g, g.sum(0)
        d2 = (g @ w3.T) * (z2 > 0)
        gw2, gb2 = h1.T @ d2, d2.sum(0)
        d1 = (d2 @ w2.T) * (z1 > 0)
        gw1 = np.zeros_like(w1)
        np.add.at(gw1, s_, d1)
        grads = [gw1, d1.sum(0), gw2, gb2, gw3, gb3]
        self.t += 1
        for i, gr in enumerate(grads):
            self.m[i] = 0.9 * self.m[i] + 0.1 * gr
            self.v[i] = 0.999 * self.v[i] + 0.001 * gr * gr
            mh = self.m[i] / (1 - 0.9**self.t)
            vh = self.v[i] / (1 - 0.999**self.t)
            self.w[i] -= lr * mh / (np.sqrt(vh) + 1e-8)

    def copy_from(self, other: _MLP) -> None:
        self.w = [x.copy() for x in other.w]


class DQN:
    """A small DQN per seed (replay memory, target network, epsilon-greedy)."""

    def __init__(
        self, shape: tuple[int, int], seeds: Sequence[int], params: DQNParams = DQNParams()
    ) -> None:
        self.seeds = [int(s) for s in seeds]
        self.P = shape[0] * shape[1]
        self.params = params
        self.agents = []
        for s in self.seeds:
            rng = np.random.default_rng(s)
            net = _MLP(self.P, params.hidden, rng)
            tgt = _MLP(self.P, params.hidden, rng)
            tgt.copy_from(net)
            mem = np.zeros((params.replay, 4), dtype=np.float64)  # s, a, r, s' (-1: terminal)
            self.agents.append({"rng": rng, "net": net, "tgt": tgt, "mem": mem, "n": 0, "t": 0})

    def n_params(self) -> int:
        return self.agents[0]["net"].n_params()

    def run_trial(self, maze: Maze, max_steps: int) -> TrialResult:
        target, hit = maze.move_table()
        goal = maze.goal.reshape(-1)
        B = len(self.agents)
        steps = np.zeros(B, dtype=np.int64)
        hits = np.zeros(B, dtype=np.int64)
        reached = np.zeros(B, dtype=bool)
        p = self.params
        for i, ag in enumerate(self.agents):
            rng, net, mem = ag["rng"], ag["net"], ag["mem"]
            pos = maze.cell(*maze.start)
            for _ in range(max_steps):
                frac = min(1.0, ag["t"] / p.eps_decay_steps)
                eps = p.eps_start + (p.eps_end - p.eps_start) * frac
                if rng.random() < eps:
                    a = int(rng.integers(8))
                else:
                    a = int(np.argmax(net.forward(np.array([pos]))[0][0]))
                moved = hit[pos, a] == Hit.NONE
                nxt = int(target[pos, a]) if moved else pos
                r = -1.0 if moved else -(1.0 + p.wall_penalty)
                done = bool(moved and goal[nxt])
                mem[ag["n"] % p.replay] = (pos, a, r, -1 if done else nxt)
                ag["n"] += 1
                ag["t"] += 1
                steps[i] += 1
                hits[i] += not moved
                n = min(ag["n"], p.replay)
                if n >= p.batch:
                    bt = mem[rng.integers(0, n, p.batch)]
                    s, act = bt[:, 0].astype(int), bt[:, 1].astype(int)
                    rew, s2 = bt[:, 2], bt[:, 3].astype(int)
                    q2 = ag["tgt"].forward(np.maximum(s2, 0))[0].max(axis=1)
                    net.step(s, act, rew + p.gamma * np.where(s2 < 0, 0.0, q2), p.lr)
                if ag["t"] % p.target_every == 0:
                    ag["tgt"].copy_from(net)
                pos = nxt
                if done:
                    reached[i] = True
                    break
        return _result(steps, reached, hits)


def memory_elements(places: np.ndarray, hidden: int = 64) -> dict[str, np.ndarray]:
    """Memory elements against the number of places.

    navigator: RRAM devices, 9 per place (8 synapses + 1 threshold; the paper counts
    16 per place, two devices per differential synapse); navigator_sram_bits: the
    digital per-place state of the default preset (visited, explored, seen, 8
    diagonal bits, an 8-bit wall stamp: 19 bits); tabular_q: 8 values per place; dqn: the
    parameters of this module's DQN (one-hot input, two hidden layers of ``hidden``).
    """
    places = np.asarray(places, dtype=np.float64)
    dqn = places * hidden + hidden + hidden * hidden + hidden + hidden * 8 + 8
    return {
        "navigator": 9 * places,
        "navigator_paper_count": 16 * places,
        "navigator_sram_bits": 19 * places,
        "tabular_q": 8 * places,
        "dqn": dqn,
    }
