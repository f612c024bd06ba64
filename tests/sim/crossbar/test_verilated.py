"""The crossbar engine with its emulated array, Verilated into the test process
(:mod:`memrl.sim.crossbar.verilated`): the golden model's runs, the cocotb
testbench's cycle counts, and the errors of a stalled or wrong design."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from memrl.host.cli import main
from memrl.host.crossbar.cocotb_backend import (
    compare,
    golden_training,
    run_cocotb_training,
    train_steps,
)
from memrl.host.crossbar.control import DEVICES, crossbar_config
from memrl.rtl.crossbar.engine import EngineOp, command_layout
from memrl.sim.crossbar.golden import CrossbarConfig, CrossbarQNet
from memrl.sim.crossbar.session import EngineMismatch, engine_config, rtl_top
from memrl.sim.crossbar.verilated import VerilatedSession, verilated_engine
from memrl.sim.tools.verilated import StreamStalled, VerilatedStream, build_library

pytestmark = pytest.mark.verilator

BUILD_ROOT = Path(__file__).resolve().parents[3] / "build" / "cocotb"
SMALL = {"batch": 8, "replay": 100}
# The emulator case of test_cocotb_crossbar.py: (environment, preset, seed, steps).
CASE = ("CartPole-v1", "default", 4, 16)


def _small_net(engine=None) -> CrossbarQNet:  # noqa: ANN001
    config = crossbar_config(DEVICES["emulator"], CrossbarConfig(sizes=(2, 4, 4, 2)))
    return CrossbarQNet(config, np.random.default_rng(0), engine=engine)


def test_training_equals_the_golden_model_and_the_cocotb_cycles(tmp_path: Path) -> None:
    """Same episodes, weights, operations and array state as the golden model,
    and each command's cycles as the cocotb testbench counts them on the same Verilog."""
    env_id, preset, seed, steps = CASE
    want = golden_training(env_id, preset, seed, steps, SMALL, "emulator")
    got = train_steps(env_id, preset, seed, steps, SMALL, verilated_engine(16, BUILD_ROOT),
                      "emulator")  # fmt: skip
    assert compare(want, got) is None, compare(want, got)
    assert got["counts"]["VMM"] > steps and got["counts"]["SET"] > 0
    tb = run_cocotb_training("verilator", tmp_path, env_id=env_id, preset=preset, seed=seed,
                             steps=steps, overrides=SMALL, max_batch=16, latency=1,
                             build_root=BUILD_ROOT, device="emulator")  # fmt: skip
    assert got["history"] == tb["history"]
    assert got["cycles"] == tb["cycles"] > 0


def test_passes_and_writes_in_pieces_equal_the_golden_model() -> None:
    """A network that works in pieces (``pass_samples``, ``program_entries``) on an
    engine that holds no more: the golden model's run, every FORWARD and PROGRAM
    within the pieces, and a run that differs from the unsplit network's (the
    pieces reorder the array's noise draws)."""
    from dataclasses import replace

    env_id, preset, seed, steps = CASE
    small = {"batch": 16, "replay": 100}
    split = replace(DEVICES["emulator"], pass_samples=6, program_entries=40)
    want = golden_training(env_id, preset, seed, steps, small, split)
    got = train_steps(env_id, preset, seed, steps, small, verilated_engine(6, BUILD_ROOT), split)
    assert compare(want, got) is None, compare(want, got)
    counts = {op: [h[1] for h in got["history"] if h[0] == op] for op in ("FORWARD", "PROGRAM")}
    assert max(counts["FORWARD"]) == 6 and 4 in counts["FORWARD"]  # 16 = 6 + 6 + 4
    assert max(counts["PROGRAM"]) == 40 and len(counts["PROGRAM"]) > 10
    whole = golden_training(env_id, preset, seed, steps, small, "emulator")
    assert whole["w_flat"] != want["w_flat"]


@pytest.mark.slow
def test_the_icebreaker_design_equals_the_golden_model() -> None:
    """The iCEBreaker's crossbar system as ``memrl fpga build`` makes it (its
    pieces, one lane, codes and activations in single-port memories cleared
    after reset, products by shift-and-add): the golden model's run with the
    same pieces, in more cycles than the default design takes."""
    from memrl.host.build.fpga import BOARDS

    d = BOARDS["icebreaker"].crossbar
    assert d.spram and d.serial_products and d.lanes == 1
    env_id, preset, seed, steps = CASE
    split = d.pieces(DEVICES["emulator"])
    want = golden_training(env_id, preset, seed, steps, SMALL, split)
    engine = verilated_engine(d.pass_samples, BUILD_ROOT, d)
    got = train_steps(env_id, preset, seed, steps, SMALL, engine, split)
    assert compare(want, got) is None, compare(want, got)
    assert got["counts"]["VMM"] > steps and got["counts"]["SET"] > 0
    default = train_steps(env_id, preset, seed, steps, SMALL,
                          verilated_engine(d.pass_samples, BUILD_ROOT), split)  # fmt: skip
    assert compare(default, got) is None
    assert got["cycles"] > default["cycles"]


def test_a_wrong_answer_is_caught_at_its_command() -> None:
    net = _small_net(lambda n: VerilatedSession(n, 4, BUILD_ROOT))
    session = net.engine
    try:
        x_q = net.config.datapath.to_fixed(np.full((2, 2), 0.5))
        b_q = np.concatenate(net.bias_fixed())
        session.forward(b_q, x_q)  # equal so far
        net.array.g[net.pos[0][0, 0]] ^= 0x40  # layer 1, input 0, output 0
        with pytest.raises(EngineMismatch, match=r"FORWARD layer 1 activations: element \d+"):
            session.forward(b_q, x_q)
    finally:
        session.close()


def test_a_stalled_command_names_how_far_it_got() -> None:
    """A FORWARD of 2 samples given one sample's inputs waits for the rest."""
    net = _small_net()
    config = engine_config(net, 4)
    engine = VerilatedStream(build_library(*rtl_top(net, 4), BUILD_ROOT), config.act_bits,
                             config.act_bits)  # fmt: skip
    try:
        f = {n: fl.offset for n, fl in command_layout(config)}
        bias = EngineOp.BIAS.value << f["op"]
        out, cycles = engine.command(bias, [0] * config.n_bias, 0, 1000)
        assert out == [] and cycles >= config.n_bias
        fwd = EngineOp.FORWARD.value << f["op"] | 2 << f["count"]
        with pytest.raises(StreamStalled, match=r"stalled for 1000 cycles \(2 of 2 words in"):
            engine.command(fwd, [1, 2], 2 * 7, 1000)
    finally:
        engine.close()
    with pytest.raises(RuntimeError, match="closed"):
        engine.command(bias, [], 0, 10)


def test_a_1t1r_array_is_refused() -> None:
    config = crossbar_config(DEVICES["realistic"], CrossbarConfig(sizes=(2, 4, 4, 2)))
    net = CrossbarQNet(config, np.random.default_rng(0))
    with pytest.raises(ValueError, match="emulator device"):
        VerilatedSession(net, 4, BUILD_ROOT)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("task", "extra"),
    [("cartpole", ["--episodes", "3", "--preset", "paper"]),
     ("mountaincar", ["--episodes", "2", "--max-steps", "120"])],
)  # fmt: skip
def test_cli_run_on_verilator_equals_the_golden_model(
    tmp_path: Path, task: str, extra: list[str]
) -> None:
    """``--backend verilator --device emulator`` runs in-process: the golden
    model's episodes (all columns but the wall time)."""
    outs = []
    for backend in ("golden", "verilator"):
        out = tmp_path / backend
        args = [task, "run", "--seeds", "1", "--first-seed", "2", "--device", "emulator",
                "--backend", backend, "--out", str(out), *extra]  # fmt: skip
        res = CliRunner().invoke(main, args)
        assert res.exit_code == 0, res.output
        outs.append(str(out))
    res = CliRunner().invoke(main, [task, "compare", *outs])
    assert res.exit_code == 0 and res.output.startswith("equal: "), res.output
    assert not (tmp_path / "verilator" / "cocotb").exists()  # not under cocotb
