"""cocotb test: a Q-agent trains with its network's digital side in the crossbar
engine's Verilog (run by :mod:`memrl.sim.tools.runner`, from
:mod:`memrl.host.crossbar.cocotb_backend`).

The case comes as JSON in the file named by ``MEMRL_TB_CASE``: ``env_id``,
``preset``, ``seed``, ``steps``, ``overrides`` (``AgentConfig`` fields),
``max_batch`` and ``latency`` (cycles from a word to its response). The run's
result goes to ``run.json`` in ``MEMRL_TB_OUT``: the episode returns, the
weights the host read back, the port's operation counts, the array's random
state, the engine's cycles and the words each way.

With ``"mode": "control"`` the case is one seed of a cart-pole or
mountain-car run instead (``config``: a ``ControlRunConfig``, ``seed``,
``views_dir``, ``episodes_file``): each episode's record is appended to
``episodes_file`` as a line of JSON as soon as it ends
(:func:`memrl.host.crossbar.cocotb_backend.control_seed` reads them).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict
from pathlib import Path

import cocotb
from cocotb.task import bridge

from memrl.sim.crossbar.cocotb_session import session_factory, start


def _engine(case: dict, dut):  # noqa: ANN001, ANN202
    return session_factory(dut, case["max_batch"], case["latency"])


def _train(case: dict, dut) -> dict:  # noqa: ANN001
    from memrl.host.crossbar.cocotb_backend import train_steps

    t0 = time.perf_counter()
    out = train_steps(case["env_id"], case["preset"], case["seed"], case["steps"],
                      case["overrides"], _engine(case, dut),
                      case.get("device", "realistic"))  # fmt: skip
    out["wall_s"] = time.perf_counter() - t0
    return out


def _control(case: dict, dut) -> dict:  # noqa: ANN001
    from memrl.host.crossbar.config import ControlRunConfig
    from memrl.host.crossbar.runner import train_seed

    config = ControlRunConfig(**case["config"])
    with open(case["episodes_file"], "a") as fh:

        def emit(rec) -> None:  # noqa: ANN001
            fh.write(json.dumps(asdict(rec)) + "\n")
            fh.flush()

        n = train_seed(config, case["seed"], case["views_dir"], emit, lambda: False,
                       _engine(case, dut))  # fmt: skip
    return {"episodes": n}


@cocotb.test()
async def crossbar_training(dut) -> None:  # noqa: ANN001
    case = json.loads(Path(os.environ["MEMRL_TB_CASE"]).read_text())
    await start(dut)
    job = _control if case.get("mode") == "control" else _train
    result = await bridge(job)(case, dut)
    out = Path(os.environ["MEMRL_TB_OUT"])
    (out / "run.json").write_text(json.dumps(result))
