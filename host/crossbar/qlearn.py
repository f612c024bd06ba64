"""Hybrid Q-learning on the crossbar Q-network: the host trains, the array computes.

The agent is DQN-style as in Wang et al. (2019): epsilon-greedy actions from a
forward pass through the array, a FIFO replay memory, a minibatch update on the
host with every environment step, and the weight change written to the array
through a write scheme, after which the host reads the conductances back and
those become its weights.

Two write schemes:

* :class:`PaperWrite` (the ``paper`` preset): every nonzero weight change is
  written at every step, open loop. ``dV = dw * s / slope`` with the slope the
  scripts assume (125 uS/V); ``G+`` gets ``+dV``, ``G-`` gets ``-dV``; a device
  whose gate voltage falls is RESET then SET at ``Vg + dV``, one whose gate
  voltage rises is SET at ``Vg + dV``; ``Vg`` is clipped to [0.6, 1.5] V. Then
  the whole array is read back.
* :class:`RatchetWrite` (the ``default`` preset, this project's scheme): the
  host keeps shadow weights; a pair is written only when it differs from its
  read-back weight by more than a threshold. SET only raises a conductance, so
  a pair is moved by raising one of its two devices (one SET pulse: ``G+`` to
  raise the weight, ``G-`` to lower it), from the device's last gate voltage
  by ``dG / slope``. A pair whose device would leave the gate window is
  re-centred: both RESET, then SET around the middle of the window. Written
  devices are read back and verified; pairs still off by more than the
  tolerance get another round, up to ``max_rounds``; a pair that cannot get
  there (a stuck or worn device) takes its read-back value as its shadow. The
  whole array is read back every ``refresh_every`` steps (drift).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from memrl.sim.crossbar.golden import (
    CrossbarConfig,
    CrossbarQNet,
    EngineFactory,
    FloatQNet,
    flat_views,
    float_forward,
)

__all__ = [
    "PaperWrite",
    "RatchetWrite",
    "AgentConfig",
    "PRESETS",
    "QAgent",
    "Replay",
]


@dataclass(frozen=True)
class PaperWrite:
    """The paper's open-loop gate-voltage increments (see the module docstring)."""

    slope_us_per_v: float = 125.0  # dG/dVg the published scripts assume

    def apply(self, net: CrossbarQNet, dw: np.ndarray, step: int) -> None:
        nz = np.flatnonzero(dw)
        if nz.size == 0:
            return
        p = net.config.device
        dv = dw[nz] * net.config.s_us / self.slope_us_per_v
        dev = np.concatenate([net.pos_all[nz], net.neg_all[nz]])
        dvd = np.concatenate([dv, -dv])
        vg = np.clip(net.vg[dev] + dvd, p.vg_min, p.vg_max)
        net.pulse(reset=dev[dvd < 0], set_idx=dev, v_gate=vg)
        net.read_back()


@dataclass(frozen=True)
class RatchetWrite:
    """Thresholded, verified pair writes by raising one device (module docstring).

    ``threshold`` and ``tolerance`` are in weight units (one unit is ``s``, 250 uS):
    0.02 is 5 uS, about two cycle-to-cycle standard deviations of a SET.
    ``slope_us_per_v`` and the SET line the re-centring uses are the device's
    nominal characteristic (what a characterisation of the array measures).
    """

    threshold: float = 0.02
    tolerance: float = 0.01
    max_rounds: int = 3
    refresh_every: int = 1000  # steps; 0 disables the periodic full read-back
    slope_us_per_v: float | None = None  # None: the device's nominal slope

    def __post_init__(self) -> None:
        if not 0 < self.tolerance <= self.threshold:
            raise ValueError("RatchetWrite needs 0 < tolerance <= threshold")
        if self.max_rounds < 1:
            raise ValueError("RatchetWrite.max_rounds must be >= 1")

    def apply(self, net: CrossbarQNet, dw: np.ndarray, step: int) -> None:
        if net.shadow is None:
            net.shadow = net.w_flat.copy()
        shadow = net.shadow
        shadow += dw
        p = net.config.device
        s = net.config.s_us
        slope = self.slope_us_per_v or p.slope_us_per_v
        g_lo, g_hi = p.g_set_nominal_us(p.vg_min), p.g_set_nominal_us(p.vg_max)
        g_mid, g_half = 0.5 * (g_lo + g_hi), 0.5 * (g_hi - g_lo)
        # A weight beyond the SET window cannot be written: keep the shadow inside,
        # or where its devices already are (a stuck device can hold a pair outside).
        lim = 2 * g_half / s
        np.clip(shadow, np.minimum(-lim, net.w_flat), np.maximum(lim, net.w_flat), out=shadow)
        limit = self.threshold
        pairs = np.flatnonzero(np.abs(shadow - net.w_flat) > limit)
        rounds = 0
        while pairs.size and rounds < self.max_rounds:
            err_g = (shadow[pairs] - net.w_flat[pairs]) * s
            up = err_g > 0
            dev = np.where(up, net.pos_all[pairs], net.neg_all[pairs])
            vg = net.vg[dev] + np.abs(err_g) / slope
            over = vg > p.vg_max
            # Pairs that fit: one SET each.
            set_dev, set_vg = dev[~over], vg[~over]
            # Pairs that do not: RESET both, SET both around the window's middle.
            re = pairs[over]
            half = np.clip(shadow[re] * s / 2, -g_half, g_half)
            both = np.concatenate([net.pos_all[re], net.neg_all[re]])
            both_vg = p.v_gate_for(np.concatenate([g_mid + half, g_mid - half]))
            net.pulse(
                reset=both,
                set_idx=np.concatenate([set_dev, both]),
                v_gate=np.concatenate([set_vg, both_vg]),
            )
            net.read_back(np.concatenate([net.pos_all[pairs], net.neg_all[pairs]]))
            rounds += 1
            limit = self.tolerance
            pairs = pairs[np.abs(shadow[pairs] - net.w_flat[pairs]) > limit]
        if pairs.size:  # out of rounds: accept what the devices hold
            shadow[pairs] = net.w_flat[pairs]
        if self.refresh_every and step % self.refresh_every == 0:
            net.read_back()


class FloatWrite:
    """Float weights take the change exactly."""

    def apply(self, net: FloatQNet, dw: np.ndarray, step: int) -> None:
        net.w_flat += dw


@dataclass(frozen=True)
class AgentConfig:
    """The learning algorithm. Defaults are the paper's (reference facts, section A)."""

    gamma: float = 0.99
    replay: int = 20_000
    batch: int = 80
    eps_min: float = 0.01  # epsilon = eps_min + (1 - eps_min) exp(-eps_decay t)
    eps_decay: float = 0.001
    optimizer: Literal["rmsprop", "adam"] = "rmsprop"
    lr: float = 5e-4
    rms_decay: float = 0.9
    adam_beta1: float = 0.9
    opt_eps: float = 1e-8
    loss: Literal["mse", "huber"] = "mse"
    target_every: int = 0  # steps between target-network snapshots; 0: no target network
    target_tau: float = 0.0  # > 0: the target network follows the online one softly every update
    double: bool = False  # the online weights pick the next action, the target values it
    reward_scale: float = 1.0  # rewards are multiplied by this for learning only
    normalise_obs: bool = False  # map the finite bounds of the observation space to [-1, 1]
    # Observations reach the network multiplied by this (after normalising): an
    # input gain, so the first layer's pre-activations need smaller weights.
    obs_gain: float = 1.0
    bootstrap_truncated: bool = False  # a time-limit end bootstraps (it is not a failure)
    terminal_repeats: int = 1  # the paper stores mountain-car terminals 100 times
    # Pause learning (no updates, no writes) after this many consecutive episodes
    # that end at the time limit, until an episode fails; 0: never. The paper
    # stops training once an episode exceeds 1,000 steps; this is that rule for
    # an environment with a step cap, undone by the next failure.
    pause_after: int = 0
    write: PaperWrite | RatchetWrite = field(default_factory=PaperWrite)
    # Conversions summed per layer in the forward pass that picks the greedy
    # action (a power of two; oversampling against read noise and ADC steps).
    act_reads: int = 1
    device_dt_s: float = 0.01  # device clock advance per environment step (drift)
    # Temporally extended exploration (ez-greedy): an exploring step holds its
    # random action for n steps, n ~ zeta(explore_hold) capped at hold_max; 0:
    # plain epsilon-greedy (one step per random action).
    explore_hold: float = 0.0
    hold_max: int = 100
    # n-step returns: a stored transition spans up to n_step steps of its episode
    # (the discounted reward sum, the state n steps on, bootstrapped with gamma**k).
    n_step: int = 1
    # Advantage learning (Baird 1999; Bellemare et al. 2016): the target of
    # Q(s, a) is lowered by action_gap * (max_b Q(s, b) - Q(s, a)) under the
    # target network, which widens the gaps between actions' values; 0: off.
    action_gap: float = 0.0

    def __post_init__(self) -> None:
        if not 0 < self.gamma <= 1:
            raise ValueError(f"gamma must be in (0, 1] (got {self.gamma})")
        if self.batch < 1 or self.replay < self.batch:
            raise ValueError("need 1 <= batch <= replay")
        if self.optimizer not in ("rmsprop", "adam"):
            raise ValueError(f"optimizer must be 'rmsprop' or 'adam' (got {self.optimizer!r})")
        if self.loss not in ("mse", "huber"):
            raise ValueError(f"loss must be 'mse' or 'huber' (got {self.loss!r})")
        if self.terminal_repeats < 1:
            raise ValueError("terminal_repeats must be >= 1")
        if self.act_reads < 1 or self.act_reads & (self.act_reads - 1):
            raise ValueError(f"act_reads must be a power of two (got {self.act_reads})")
        if self.explore_hold and self.explore_hold <= 1:
            raise ValueError(f"explore_hold must be 0 or > 1 (got {self.explore_hold})")
        if not self.obs_gain > 0:
            raise ValueError(f"obs_gain must be > 0 (got {self.obs_gain})")
        if not 0 <= self.action_gap < 1:
            raise ValueError(f"action_gap must be in [0, 1) (got {self.action_gap})")
        if self.n_step < 1:
            raise ValueError(f"n_step must be >= 1 (got {self.n_step})")
        if self.hold_max < 1:
            raise ValueError(f"hold_max must be >= 1 (got {self.hold_max})")


PRESETS: dict[str, AgentConfig] = {
    "paper": AgentConfig(),
    "default": AgentConfig(
        optimizer="adam",
        lr=5e-4,
        loss="huber",
        target_tau=0.005,
        double=True,
        # Q-values near 0.05 / (1 - gamma) = 5: the output layer's weights fit the
        # pair window (+-0.35) with room; at 0.1, 45 % of them sat at its edge.
        reward_scale=0.05,
        normalise_obs=True,
        bootstrap_truncated=True,
        pause_after=5,
        write=RatchetWrite(),
        act_reads=4,
    ),
}


class Replay:
    """A FIFO replay memory of transitions (state, action, reward, next, done)."""

    def __init__(self, capacity: int, obs_dim: int) -> None:
        self.capacity = capacity
        self.s = np.zeros((capacity, obs_dim))
        self.s2 = np.zeros((capacity, obs_dim))
        self.a = np.zeros(capacity, dtype=np.int64)
        self.r = np.zeros(capacity)
        self.done = np.zeros(capacity)
        self.k = np.ones(capacity)  # environment steps the transition spans
        self.n = 0
        self.head = 0

    def add(self, s: np.ndarray, a: int, r: float, s2: np.ndarray, done: bool, k: int = 1) -> None:
        i = self.head
        self.s[i], self.a[i], self.r[i], self.s2[i], self.done[i] = s, a, r, s2, done
        self.k[i] = k
        self.head = (i + 1) % self.capacity
        self.n = min(self.n + 1, self.capacity)

    def sample(self, rng: np.random.Generator, batch: int) -> np.ndarray:
        return rng.choice(self.n, batch, replace=False)


class QAgent:
    """A Q-learning agent on a crossbar (``net="crossbar"``) or float network."""

    def __init__(
        self,
        n_obs: int,
        n_actions: int,
        config: AgentConfig,
        net: Literal["crossbar", "float"] = "crossbar",
        crossbar: CrossbarConfig | None = None,
        seed: int = 0,
        obs_scale: np.ndarray | None = None,
        obs_offset: np.ndarray | None = None,
        engine: EngineFactory | None = None,
    ) -> None:
        if net not in ("crossbar", "float"):
            raise ValueError(f"net must be 'crossbar' or 'float' (got {net!r})")
        base = crossbar or CrossbarConfig()
        sizes = (int(n_obs), *base.sizes[1:-1], int(n_actions))
        self.xbar = replace(base, sizes=sizes)
        self.config = config
        self.rng = np.random.default_rng(seed)
        net_rng = np.random.default_rng([seed, 1])
        self.net: CrossbarQNet | FloatQNet
        if net == "crossbar":
            self.net = CrossbarQNet(self.xbar, net_rng, engine=engine)
            self.write = config.write
        else:
            self.net = FloatQNet(self.xbar, net_rng)
            self.write = FloatWrite()
        self.n_actions = n_actions
        # Observations are divided by this before they reach the network.
        self.obs_scale = np.ones(n_obs) if obs_scale is None else np.asarray(obs_scale, float)
        # ... after this is subtracted.
        self.obs_offset = np.zeros(n_obs) if obs_offset is None else np.asarray(obs_offset, float)
        # Steps of this episode not yet stored: (s, a, scaled r), at most n_step.
        self._pending: deque[tuple[np.ndarray, int, float]] = deque()
        self.replay = Replay(config.replay, n_obs)
        self._opt_w = _Optimizer(config, self.net.w_flat.size)
        self._opt_b = _Optimizer(config, self.net.b_flat.size)
        self.steps = 0
        self.updates = 0
        self.capped_streak = 0  # consecutive episodes that ended at the time limit
        self._hold = 0  # steps the held exploring action has left
        self._held = 0
        self.last_loss = float("nan")
        # The target network: copies of w_flat and b_flat, and per-layer views.
        self._target_flat: tuple[np.ndarray, np.ndarray] | None = None
        self._target: tuple[list[np.ndarray], list[np.ndarray]] | None = None
        self._snapshot()

    # -- acting ---------------------------------------------------------------
    def epsilon(self) -> float:
        c = self.config
        return c.eps_min + (1.0 - c.eps_min) * float(np.exp(-c.eps_decay * self.steps))

    def greedy(self, obs: np.ndarray) -> int:
        x = self.normalise(obs)
        q = self.net.forward(x[None, :], self.config.act_reads)[-1][0]
        return int(np.argmax(q))

    def act(self, obs: np.ndarray) -> int:
        c = self.config
        if self._hold:
            self._hold -= 1
            return self._held
        if self.rng.random() < self.epsilon():
            a = int(self.rng.integers(self.n_actions))
            if c.explore_hold:
                self._hold = min(int(self.rng.zipf(c.explore_hold)), c.hold_max) - 1
                self._held = a
            return a
        return self.greedy(obs)

    # -- learning -------------------------------------------------------------
    def observe(
        self, s: np.ndarray, a: int, r: float, s2: np.ndarray, terminated: bool, truncated: bool
    ) -> None:
        """Store a transition and run one update (once the memory holds a batch)."""
        c = self.config
        done = terminated or (truncated and not c.bootstrap_truncated)
        self._store(self.normalise(s), a, r * c.reward_scale, self.normalise(s2), done,
                    terminated, truncated)  # fmt: skip
        self.steps += 1
        if isinstance(self.net, CrossbarQNet) and c.device_dt_s:
            self.net.array.advance(c.device_dt_s)
        if self.replay.n >= c.batch and not self.paused:
            self._update()
        if terminated or truncated:
            self._hold = 0  # a held exploring action ends with its episode
        if terminated:
            self.capped_streak = 0
        elif truncated:
            self.capped_streak += 1

    def normalise(self, obs: np.ndarray) -> np.ndarray:
        """An observation as the network sees it."""
        x = (np.asarray(obs, dtype=np.float64) - self.obs_offset) / self.obs_scale
        return x * self.config.obs_gain  # exact for a gain of 1

    def _store(
        self, s: np.ndarray, a: int, r: float, s2: np.ndarray, done: bool,
        terminated: bool, truncated: bool,
    ) -> None:  # fmt: skip
        """Queue a step and store the transitions it completes: the oldest queued
        step's once ``n_step`` are queued, every queued one when the episode ends.
        The transition of the terminal step itself is stored ``terminal_repeats``
        times."""
        c, q = self.config, self._pending
        q.append((s, a, r))
        ended = terminated or truncated
        if not ended and len(q) < c.n_step:
            return
        while q:
            k = len(q)
            ret = sum(c.gamma**j * rj for j, (_, _, rj) in enumerate(q))
            s0, a0, _ = q.popleft()
            for _ in range(c.terminal_repeats if terminated and k == 1 else 1):
                self.replay.add(s0, a0, ret, s2, done, k)
            if not ended:
                break

    @property
    def paused(self) -> bool:
        """Learning is paused (see ``AgentConfig.pause_after``)."""
        return bool(self.config.pause_after) and self.capped_streak >= self.config.pause_after

    def _snapshot(self) -> None:
        if self.config.target_every or self.config.target_tau:
            w, b = self.net.w_flat.copy(), self.net.b_flat.copy()
            self._target_flat = (w, b)
            self._target = (
                flat_views(w, [x.shape for x in self.net.weights]),
                flat_views(b, [x.shape for x in self.net.biases]),
            )

    def targets(self, idx: np.ndarray, q_s: np.ndarray) -> np.ndarray:
        """The learning targets of the stored transitions ``idx``; ``q_s`` is the
        online network's Q-values of their first states."""
        c, net, rp = self.config, self.net, self.replay
        rows = np.arange(idx.size)
        if self._target is not None:
            q2 = float_forward(*self._target, rp.s2[idx])[-1]
            if c.double:
                pick = float_forward(net.weights, net.biases, rp.s2[idx])[-1].argmax(axis=1)
                v2 = q2[rows, pick]
            else:
                v2 = q2.max(axis=1)
        else:
            v2 = net.forward(rp.s2[idx])[-1].max(axis=1)
        y = rp.r[idx] + c.gamma ** rp.k[idx] * (1.0 - rp.done[idx]) * v2
        if c.action_gap:
            qs = float_forward(*self._target, rp.s[idx])[-1] if self._target is not None else q_s
            y -= c.action_gap * (qs.max(axis=1) - qs[rows, rp.a[idx]])
        return y

    def _update(self) -> None:
        c, net, rp = self.config, self.net, self.replay
        idx = rp.sample(self.rng, c.batch)
        acts = net.forward(rp.s[idx])
        rows = np.arange(c.batch)
        y = self.targets(idx, acts[-1])
        td = acts[-1][rows, rp.a[idx]] - y
        self.last_loss = float(np.mean(td * td))
        if c.loss == "huber":
            td = np.clip(td, -1.0, 1.0)
        grad_out = np.zeros_like(acts[-1])
        grad_out[rows, rp.a[idx]] = td / c.batch
        gw, gb = _backward(net.weights, acts, grad_out)
        dw = self._opt_w.step(np.concatenate([g.ravel() for g in gw]))
        net.add_bias(self._opt_b.step(np.concatenate(gb)))
        self.updates += 1
        self.write.apply(net, dw, self.updates)
        if c.target_every and self.updates % c.target_every == 0:
            self._snapshot()
        elif c.target_tau and self._target_flat is not None:
            for t, w in zip(self._target_flat, (net.w_flat, net.b_flat), strict=True):
                t += c.target_tau * (w - t)


def _backward(
    weights: list[np.ndarray], acts: list[np.ndarray], grad_out: np.ndarray
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Gradients of a ReLU network given its activations and the output gradient."""
    gw: list[np.ndarray] = [np.empty(0)] * len(weights)
    gb: list[np.ndarray] = [np.empty(0)] * len(weights)
    g = grad_out
    for i in range(len(weights) - 1, -1, -1):
        gw[i] = acts[i].T @ g
        gb[i] = g.sum(axis=0)
        if i:
            g = (g @ weights[i].T) * (acts[i] > 0)
    return gw, gb


class _Optimizer:
    """RMSprop or Adam on a flat parameter vector; ``step`` returns the change."""

    def __init__(self, config: AgentConfig, n: int) -> None:
        self.c = config
        self.v = np.zeros(n)
        self.m = np.zeros(n)
        self.t = 0

    def step(self, g: np.ndarray) -> np.ndarray:
        c = self.c
        self.t += 1
        lr = c.lr
        if c.optimizer == "rmsprop":
            self.v = c.rms_decay * self.v + (1 - c.rms_decay) * g * g
            return -lr * g / (np.sqrt(self.v) + c.opt_eps)
        b1, b2 = c.adam_beta1, 0.999
        self.m = b1 * self.m + (1 - b1) * g
        self.v = b2 * self.v + (1 - b2) * g * g
        m_hat = self.m / (1 - b1**self.t)
        v_hat = self.v / (1 - b2**self.t)
        return -lr * m_hat / (np.sqrt(v_hat) + c.opt_eps)
