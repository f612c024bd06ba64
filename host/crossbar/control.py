"""Training runs of the crossbar (or float) Q-learning agent on a control task.

:func:`train` runs one seed: episodes of a gymnasium environment, one agent
update per step, and a callback with one :class:`Episode` record per episode.
Device settings come in named sets (:data:`DEVICES`) with optional overrides,
so a sweep can vary one non-ideality at a time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import gymnasium as gym
import numpy as np

from memrl.host.crossbar.qlearn import PRESETS, AgentConfig, QAgent
from memrl.sim.crossbar.golden import CrossbarConfig, CrossbarQNet

__all__ = [
    "DEVICES",
    "DeviceSettings",
    "Episode",
    "crossbar_config",
    "make_agent",
    "resolve_preset",
    "solved_at",
    "train",
]


@dataclass(frozen=True)
class DeviceSettings:
    """The non-idealities of a crossbar run (see :data:`DEVICES`)."""

    d2d: bool = True  # device-to-device spread of the SET line
    c2c_frac: float = 1.0  # cycle-to-cycle noise, as a multiple of the device model's
    read_noise: bool = True
    adc_bits: int = 8  # column ADC resolution
    stuck_rate: float = 0.005  # fraction of devices stuck (half at SET, half at RESET)
    drift_nu: float = 0.0  # power-law drift exponent; 0: no drift
    # The on-chip emulator's integer model instead of the device model (it has
    # no device-to-device spread, faults or drift; see CrossbarConfig.array).
    emulator: bool = False
    # How the controller splits its work on the array (a board whose engine
    # holds fewer samples or PROGRAM entries; see CrossbarConfig.pass_samples).
    pass_samples: int | None = None
    program_entries: int | None = None

    def __post_init__(self) -> None:
        if not 2 <= self.adc_bits <= 16:
            raise ValueError(f"adc_bits must be in [2, 16] (got {self.adc_bits})")
        if not 0 <= self.stuck_rate <= 1:
            raise ValueError(f"stuck_rate must be in [0, 1] (got {self.stuck_rate})")
        if self.c2c_frac < 0:
            raise ValueError(f"c2c_frac must be >= 0 (got {self.c2c_frac})")
        if self.emulator and (self.d2d or self.stuck_rate or self.drift_nu):
            raise ValueError(
                "the emulator has no device-to-device spread, faults or drift: "
                f"d2d, stuck_rate and drift_nu must be off (got {self.d2d}, "
                f"{self.stuck_rate}, {self.drift_nu})"
            )


#: ``realistic`` is the default: the device model's spreads and noise (the
#: paper's code history for the SET line and its noise, inferred values
#: elsewhere), an 8-bit column ADC and 0.5 % stuck devices (no published fault
#: rate). ``ideal`` is the nominal characteristic with 10-bit converters.
#: ``emulator`` is the on-chip 1T1R emulator (memrl.rtl.crossbar.emulator):
#: the nominal SET line with the device model's programming and read noise,
#: as integer arithmetic the FPGA repeats bit for bit.
DEVICES: dict[str, DeviceSettings] = {
    "realistic": DeviceSettings(),
    "ideal": DeviceSettings(d2d=False, c2c_frac=0.0, read_noise=False, adc_bits=10, stuck_rate=0.0),
    "emulator": DeviceSettings(d2d=False, stuck_rate=0.0, emulator=True),
}


def crossbar_config(settings: DeviceSettings, base: CrossbarConfig | None = None) -> CrossbarConfig:
    """A crossbar configuration with the given non-idealities."""
    base = base or CrossbarConfig()
    d = base.device
    device = replace(
        d,
        d2d_slope_frac=d.d2d_slope_frac if settings.d2d else 0.0,
        d2d_offset_us=d.d2d_offset_us if settings.d2d else 0.0,
        c2c_set_us=d.c2c_set_us * settings.c2c_frac,
        c2c_reset_us=d.c2c_reset_us * settings.c2c_frac,
        read_noise_frac=d.read_noise_frac if settings.read_noise else 0.0,
        p_stuck_set=settings.stuck_rate / 2,
        p_stuck_reset=settings.stuck_rate / 2,
        drift_nu=settings.drift_nu,
    )
    return replace(
        base,
        device=device,
        port=replace(base.port, col_adc_bits=settings.adc_bits),
        array="emulator" if settings.emulator else base.array,
        pass_samples=settings.pass_samples,
        program_entries=settings.program_entries,
    )


#: Tasks whose time limit marks success (``AgentConfig.pause_after`` applies).
SURVIVAL_TASKS = frozenset({"CartPole-v0", "CartPole-v1", "memrl/PaperCartPole-v0"})
#: Tasks whose terminal transition is the goal: the named presets store it
#: ``GOAL_TERMINAL_REPEATS`` times, as the paper's mountain-car code does.
GOAL_TASKS = frozenset({"MountainCar-v0", "memrl/PaperMountainCar-v0"})
GOAL_TERMINAL_REPEATS = 100
#: The ``default`` preset's settings for one task (docs/crossbar/golden-model.md, "Presets").
#: MountainCar-v0 ends at 200 steps: a random walk rarely reaches the goal in
#: time, so exploring actions are held for zeta(2) steps, transitions span up
#: to eight steps (the goal's reward travels eight steps back per update), and
#: an input gain of 4 lets the first layer's weights stay inside the pair
#: window. The paper's variant (1,000-step episodes) learns best without them,
#: but its epsilon would reach 0.01 within five episodes: it decays 5x slower.
TASK_DEFAULTS: dict[str, dict[str, object]] = {
    "MountainCar-v0": {"n_step": 8, "explore_hold": 2.0, "obs_gain": 4.0},
    "memrl/PaperMountainCar-v0": {"eps_decay": 0.0002},
}


def resolve_preset(env_id: str, preset: str | AgentConfig) -> AgentConfig:
    """The learning algorithm a run on ``env_id`` uses.

    A named preset on a goal task stores the terminal transition
    ``GOAL_TERMINAL_REPEATS`` times, and ``default`` adds the task's
    ``TASK_DEFAULTS``; ``pause_after`` applies to survival tasks only. An
    :class:`AgentConfig` is taken as given (``pause_after`` aside).
    """
    if isinstance(preset, str):
        if preset not in PRESETS:
            raise ValueError(f"preset must be one of {sorted(PRESETS)} (got {preset!r})")
        name, preset = preset, PRESETS[preset]
        if env_id in GOAL_TASKS:
            preset = replace(preset, terminal_repeats=GOAL_TERMINAL_REPEATS)
        if name == "default" and env_id in TASK_DEFAULTS:
            preset = replace(preset, **TASK_DEFAULTS[env_id])  # type: ignore[arg-type]
    if preset.pause_after and env_id not in SURVIVAL_TASKS:
        # Reaching the time limit is success only where the task is to survive.
        preset = replace(preset, pause_after=0)
    return preset


@dataclass(frozen=True)
class Episode:
    """One episode's record (a row of ``episodes.csv``)."""

    seed: int
    episode: int  # from 1
    ret: float  # undiscounted return
    steps: int
    pulses: int  # SET + RESET pulses issued during the episode
    sets: int
    resets: int
    energy_j: float  # write energy during the episode (first-order model)
    epsilon: float  # at the episode's end
    loss: float  # last minibatch loss (scaled rewards)
    wall_s: float


def make_agent(
    env: gym.Env,
    agent: str,
    preset: str | AgentConfig,
    seed: int,
    device: DeviceSettings | None = None,
    engine: Callable | None = None,
    **overrides: object,
) -> QAgent:
    """A Q-agent sized for ``env``: ``agent`` is ``crossbar`` or ``float``; ``engine``
    makes the crossbar's digital side (:mod:`memrl.sim.crossbar.session`), default
    the golden model."""
    if not isinstance(env.action_space, gym.spaces.Discrete):
        raise ValueError(f"the environment needs a discrete action space (got {env.action_space})")
    shape = env.observation_space.shape
    if shape is None or len(shape) != 1:
        raise ValueError(
            f"the environment needs a flat Box observation (got {env.observation_space})"
        )
    preset = resolve_preset(env.spec.id if env.spec is not None else "", preset)
    config = replace(preset, **overrides) if overrides else preset
    xbar = crossbar_config(device or DEVICES["realistic"])
    scale = offset = None
    if config.normalise_obs:
        # Finite bounds map to [-1, 1]; an unbounded coordinate passes unchanged.
        high = np.asarray(env.observation_space.high, dtype=np.float64)
        low = np.asarray(env.observation_space.low, dtype=np.float64)
        finite = np.isfinite(high) & np.isfinite(low) & (high > low)
        high, low = np.where(finite, high, 1.0), np.where(finite, low, -1.0)
        scale, offset = 0.5 * (high - low), 0.5 * (high + low)
    return QAgent(shape[0], int(env.action_space.n), config, agent, xbar, seed, scale, offset,  # type: ignore[arg-type]
                  engine=engine)  # fmt: skip


def solved_at(returns: Sequence[float], threshold: float, window: int = 100) -> int | None:
    """The first episode (from 1) at which the mean of the last ``window`` returns
    reaches ``threshold``, or None."""
    r = np.asarray(returns, dtype=np.float64)
    if r.size < window:
        return None
    means = np.convolve(r, np.ones(window) / window, mode="valid")
    hit = np.flatnonzero(means >= threshold)
    return int(hit[0]) + window if hit.size else None


def train(
    env_id: str,
    agent: str = "crossbar",
    preset: str | AgentConfig = "default",
    seed: int = 0,
    episodes: int = 600,
    device: DeviceSettings | None = None,
    on_episode: Callable[[Episode], None] | None = None,
    stop: Callable[[list[float]], bool] | None = None,
    max_steps: int | None = None,
    watch: Sequence[int] = (),
    on_watch: Callable[[int, dict], None] | None = None,
    engine: Callable | None = None,
) -> tuple[QAgent, list[Episode]]:
    """Train one seed for up to ``episodes`` episodes.

    ``stop(returns)`` ends the run early (for example once solved);
    ``max_steps`` ends an episode by truncation; for the episodes in ``watch``
    ``on_watch(episode, view)`` receives the states, actions and losses of the
    episode and the array's state at its end. ``engine``: see
    :func:`make_agent`; it is closed when training ends.
    """
    env = gym.make(env_id)
    if max_steps is not None:
        env = gym.wrappers.TimeLimit(env, max_steps)
    q = make_agent(env, agent, preset, seed, device, engine=engine)
    try:
        env.action_space.seed(seed)
        records: list[Episode] = []
        returns: list[float] = []
        watch_set = set(watch)
        for ep in range(1, episodes + 1):
            t0 = time.perf_counter()
            p0 = q.net.pulses if isinstance(q.net, CrossbarQNet) else (0, 0)
            e0 = getattr(q.net, "energy_j", 0.0)
            obs, _ = env.reset(seed=int(np.random.SeedSequence([seed, ep]).generate_state(1)[0]))
            total, steps, done = 0.0, 0, False
            trace: dict[str, list] | None = (
                {"obs": [obs], "action": [], "loss": []} if ep in watch_set else None
            )
            while not done:
                a = q.act(obs)
                obs2, r, term, trunc, _ = env.step(a)
                q.observe(obs, a, float(r), obs2, bool(term), bool(trunc))
                obs, total, steps, done = obs2, total + float(r), steps + 1, bool(term or trunc)
                if trace is not None:
                    trace["obs"].append(obs)
                    trace["action"].append(a)
                    trace["loss"].append(q.last_loss)
            p1 = q.net.pulses if isinstance(q.net, CrossbarQNet) else (0, 0)
            rec = Episode(
                seed=seed,
                episode=ep,
                ret=total,
                steps=steps,
                pulses=(p1[0] - p0[0]) + (p1[1] - p0[1]),
                sets=p1[0] - p0[0],
                resets=p1[1] - p0[1],
                energy_j=getattr(q.net, "energy_j", 0.0) - e0,
                epsilon=q.epsilon(),
                loss=q.last_loss,
                wall_s=time.perf_counter() - t0,
            )
            records.append(rec)
            returns.append(total)
            if on_episode is not None:
                on_episode(rec)
            if trace is not None and on_watch is not None:
                on_watch(ep, {**{k: np.asarray(v) for k, v in trace.items()}, **_array_view(q)})
            if stop is not None and stop(returns):
                break
    finally:
        env.close()
        if isinstance(q.net, CrossbarQNet) and q.net.engine is not None:
            q.net.engine.close()
    return q, records


def _array_view(q: QAgent) -> dict[str, np.ndarray]:
    """The network's state for the supplementary-video views."""
    view: dict[str, np.ndarray] = {}
    for i, (w, b) in enumerate(zip(q.net.weights, q.net.biases, strict=True)):
        view[f"w{i + 1}"] = w.copy()
        view[f"b{i + 1}"] = b.copy()
    if isinstance(q.net, CrossbarQNet):
        view["g_us"] = q.net.array.conductance_us()
        view["vg"] = q.net.vg.reshape(q.net.array.shape).copy()
        led = q.net.array.ledger
        view["set_count"] = led.set_count.copy()
        view["reset_count"] = led.reset_count.copy()
    return view
