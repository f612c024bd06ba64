"""The crossbar engine's Verilog on Icarus or Verilator under cocotb, against the golden model.

:func:`run_cocotb_training` trains a Q-agent for some environment steps with
its network's digital side in the simulated engine
(:mod:`memrl.host.crossbar.cocotb_tb`), and :func:`golden_training` the same
agent on the golden model; :func:`compare` names the first difference.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import gymnasium as gym
import numpy as np

from memrl.host.crossbar.config import ControlRunConfig
from memrl.host.crossbar.control import DEVICES, DeviceSettings, Episode, make_agent
from memrl.sim.crossbar.golden import CrossbarQNet, EngineFactory
from memrl.sim.crossbar.session import engine_config, rtl_top
from memrl.sim.devices.xbar_emulator import XbarEmulatorArray
from memrl.sim.tools.runner import build, run

__all__ = ["train_steps", "golden_training", "run_cocotb_training", "compare", "control_seed"]

TB_MODULE = "memrl.host.crossbar.cocotb_tb"


def _agent(env_id: str, preset: str, seed: int, overrides: dict,  # noqa: ANN202
           engine: EngineFactory | None = None,
           device: str | DeviceSettings = "realistic"):  # fmt: skip
    env = gym.make(env_id)
    settings = DEVICES[device] if isinstance(device, str) else device
    return env, make_agent(env, "crossbar", preset, seed, settings, engine, **overrides)


def array_state(net: CrossbarQNet) -> object:
    """What the array's next operations depend on: the device model's random
    state, or the emulator's draw count and codes."""
    if isinstance(net.array, XbarEmulatorArray):
        return net.array.state()
    return json.loads(json.dumps(net.array.rng.bit_generator.state))


def train_steps(
    env_id: str,
    preset: str,
    seed: int,
    steps: int,
    overrides: dict,
    engine: EngineFactory | None = None,
    device: str | DeviceSettings = "realistic",
) -> dict:
    """Train an agent for ``steps`` environment steps (episodes restart as they
    end) with the digital side ``engine`` makes (default: the golden model).

    Returns the episode returns, the read-back weights, the port's operation
    counts, the array's random state, each step's wall time and, with an
    engine, its cycles, words and command history (and the history's length
    after each step)."""
    env, agent = _agent(env_id, preset, seed, overrides, engine, device)
    obs, _ = env.reset(seed=seed)
    returns, ret, walls, marks = [], 0.0, [], []
    try:
        for _ in range(steps):
            t0 = time.perf_counter()
            a = agent.act(obs)
            obs2, r, term, trunc, _ = env.step(a)
            agent.observe(obs, a, r, obs2, term, trunc)
            walls.append(time.perf_counter() - t0)
            if agent.net.engine is not None:
                marks.append(len(agent.net.engine.history))
            ret += float(r)
            obs = obs2
            if term or trunc:
                returns.append(ret)
                ret = 0.0
                obs, _ = env.reset()
    finally:
        env.close()
        if agent.net.engine is not None:
            agent.net.engine.close()
    net = agent.net
    out = {
        "returns": returns,
        "w_flat": net.w_flat.tolist(),
        "counts": {op.name: int(n) for op, n in net.port.counts.items()},
        "rng_state": array_state(net),
        "step_wall_s": walls,
        "batch": agent.config.batch,
    }
    if net.engine is not None:
        e = net.engine
        out.update(cycles=e.cycles, words_out=e.words_out, words_in=e.words_in,
                   history=[list(h) for h in e.history], history_marks=marks)  # fmt: skip
    return out


def golden_training(
    env_id: str,
    preset: str,
    seed: int,
    steps: int,
    overrides: dict,
    device: str | DeviceSettings = "realistic",
) -> dict:
    """The golden model's run of the case :func:`run_cocotb_training` simulates."""
    return train_steps(env_id, preset, seed, steps, overrides, device=device)


def run_cocotb_training(
    sim: str,
    workdir: Path,
    *,
    env_id: str = "CartPole-v1",
    preset: str = "default",
    seed: int = 0,
    steps: int = 20,
    overrides: dict | None = None,
    max_batch: int = 128,
    latency: int = 0,
    build_root: Path = Path("build/cocotb"),
    waves: bool | None = None,
    device: str = "realistic",
) -> dict:
    """Train on ``sim`` ("icarus" or "verilator"); the run's figures (see
    :mod:`memrl.host.crossbar.cocotb_tb`) and ``sim_wall_s``, the simulator's wall time."""
    overrides = dict(overrides or {})
    env, agent = _agent(env_id, preset, seed, overrides, device=device)
    env.close()
    bld = build(sim, *rtl_top(agent.xbar, max_batch), build_root, waves=waves)
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    case = {
        "env_id": env_id,
        "preset": preset,
        "seed": seed,
        "steps": steps,
        "overrides": overrides,
        "max_batch": max_batch,
        "latency": latency,
        "device": device,
    }
    (workdir / "case.json").write_text(json.dumps(case))
    env = {"MEMRL_TB_CASE": str(workdir / "case.json"), "MEMRL_TB_OUT": str(workdir)}
    t0 = time.perf_counter()
    run(bld, TB_MODULE, env, workdir)
    rep = json.loads((workdir / "run.json").read_text())
    rep["sim_wall_s"] = time.perf_counter() - t0
    return rep


def compare(want: dict, got: dict) -> str | None:
    """The first difference between two runs, or None."""
    for key in ("returns", "counts", "rng_state"):
        if want[key] != got[key]:
            return f"{key}: golden {want[key]!r}, engine {got[key]!r}"
    w, g = np.asarray(want["w_flat"]), np.asarray(got["w_flat"])
    if not np.array_equal(w, g):
        i = int(np.flatnonzero(w != g)[0])
        return f"weight {i}: golden {w[i]!r}, engine {g[i]!r}"
    return None


def control_seed(
    config: ControlRunConfig,
    simulator: str,
    seed: int,
    views_dir: str,
    emit: Callable[[Episode], None],
    build_root: Path = Path("build/cocotb"),
    poll_s: float = 0.5,
) -> int:
    """One seed of a cart-pole or mountain-car run with the engine on
    ``simulator`` ("icarus" or "verilator"). The seed trains inside the
    cocotb process; its episodes come back through ``cocotb/seed<N>/episodes.jsonl``
    next to ``views_dir`` and go to ``emit`` as they are written. Returns the
    number of episodes."""
    env = gym.make(config.env_id or "")
    agent = make_agent(env, config.agent, config.preset, seed, config.device_settings())
    env.close()
    engine = engine_config(agent.xbar)
    bld = build(simulator, *rtl_top(agent.xbar), build_root)
    workdir = Path(views_dir).parent / "cocotb" / f"seed{seed}"
    workdir.mkdir(parents=True, exist_ok=True)
    lines = workdir / "episodes.jsonl"
    lines.unlink(missing_ok=True)
    case = {"mode": "control", "config": asdict(config), "seed": seed, "views_dir": views_dir,
            "episodes_file": str(lines), "max_batch": engine.max_batch, "latency": 0}  # fmt: skip
    (workdir / "case.json").write_text(json.dumps(case))
    env_vars = {"MEMRL_TB_CASE": str(workdir / "case.json"), "MEMRL_TB_OUT": str(workdir)}
    failure: list[BaseException] = []

    def simulate() -> None:
        try:
            run(bld, TB_MODULE, env_vars, workdir)
        except BaseException as exc:  # noqa: BLE001 - raised below, in this thread
            failure.append(exc)

    worker = threading.Thread(target=simulate, daemon=True)
    worker.start()
    done = 0
    while True:
        alive = worker.is_alive()
        if lines.exists():
            for row in lines.read_text().split("\n")[:-1][done:]:  # complete lines
                emit(Episode(**json.loads(row)))
                done += 1
        if not alive:
            break
        worker.join(poll_s)
    if failure:
        raise failure[0]
    return done
