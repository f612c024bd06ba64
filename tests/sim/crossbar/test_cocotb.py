"""The crossbar engine's Verilog on Icarus and Verilator under cocotb, against
the golden model: a Q-agent trains for some steps with its network's digital
side in the simulated engine (forward passes, programming, read-back); its
episodes, read-back weights, port operation counts and the array's random
state must equal the golden model's. With the ``emulator`` device the array
is the emulator core inside the design, and every command's answer is also
checked against the golden model as it comes."""

from __future__ import annotations

from pathlib import Path

import pytest

from memrl.host.crossbar.cocotb_backend import compare, golden_training, run_cocotb_training

SIMS = [pytest.param("icarus", marks=pytest.mark.icarus),
        pytest.param("verilator", marks=pytest.mark.verilator)]  # fmt: skip
BUILD_ROOT = Path(__file__).resolve().parents[3] / "build" / "cocotb"
SMALL = {"batch": 8, "replay": 100}

# name: (environment, preset, seed, steps, device)
CASES = {
    "cartpole_default": ("CartPole-v1", "default", 3, 14, "realistic"),
    "cartpole_paper": ("CartPole-v1", "paper", 5, 10, "realistic"),
    "mountaincar_default": ("MountainCar-v0", "default", 1, 24, "realistic"),
    "cartpole_emulator": ("CartPole-v1", "default", 4, 16, "emulator"),
}


def _slow(sim: str, case: str) -> bool:
    """Icarus runs the cart-pole default case in make test, Verilator the others;
    SLOW=1 runs every case on both."""
    return (sim == "icarus") != (case == "cartpole_default")


@pytest.mark.parametrize(
    ("sim", "case"),
    [pytest.param(s.values[0], c, marks=[*s.marks, *([pytest.mark.slow]
                  if _slow(s.values[0], c) else [])])
     for s in SIMS for c in CASES],
)  # fmt: skip
def test_training_equals_golden_model(sim, case, tmp_path):
    env_id, preset, seed, steps, device = CASES[case]
    want = golden_training(env_id, preset, seed, steps, SMALL, device)
    got = run_cocotb_training(
        sim, tmp_path, env_id=env_id, preset=preset, seed=seed, steps=steps,
        overrides=SMALL, max_batch=16, latency=1, build_root=BUILD_ROOT, device=device,
    )  # fmt: skip
    assert compare(want, got) is None, compare(want, got)
    assert got["counts"]["VMM"] > steps  # learning ran: minibatch forward passes
    assert got["counts"]["SET"] > 0
    assert got["cycles"] > 0 and got["words_in"] > 0


def test_compare_names_the_first_difference():
    run = {"returns": [9.0], "counts": {"SET": 1}, "rng_state": {"s": 1}, "w_flat": [0.0, 1.0]}
    assert compare(run, dict(run)) is None
    assert compare(run, {**run, "w_flat": [0.0, 2.0]}).startswith("weight 1")
    assert compare(run, {**run, "returns": [8.0]}).startswith("returns")


@pytest.mark.slow
@pytest.mark.verilator
def test_episodes_with_the_agents_batch_equal_golden_model(tmp_path):
    """The default agent as it trains (minibatch 80, replay 10,000): 200
    cart-pole steps, 120 of them with an update, on Verilator."""
    want = golden_training("CartPole-v1", "default", 2, 200, {})
    got = run_cocotb_training("verilator", tmp_path, seed=2, steps=200, build_root=BUILD_ROOT)
    assert compare(want, got) is None, compare(want, got)
    assert len(got["returns"]) >= 5
