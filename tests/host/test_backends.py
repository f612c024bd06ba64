"""`memrl maze run --backend`: the simulated firmware writes the golden model's
run folder, byte for byte, on both devices; bad combinations are refused by name."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from memrl.host.backends import Backend, parse_backend
from memrl.host.cli import main
from memrl.host.maze import SHIPPED_DIR

SCHEDULE = [
    "--layout", str(SHIPPED_DIR / "small_a_9x9.txt"),
    "--layout", str(SHIPPED_DIR / "small_b_9x9.txt"),
    "--switch-at", "3", "--trials", "6", "--max-steps", "80", "--preset", "paper",
]  # fmt: skip


def _run(tmp_path: Path, name: str, *args: str) -> str:
    out = tmp_path / name
    res = CliRunner().invoke(main, ["maze", "run", *SCHEDULE, *args, "--out", str(out)])
    assert res.exit_code == 0, res.output
    return (out / "trials.csv").read_text()


@pytest.mark.parametrize(("device", "seeds"), [("siox", "2"), ("emulator", "1")])
def test_amaranth_backend_writes_the_golden_models_trials(
    tmp_path: Path, device: str, seeds: str
) -> None:
    args = ("--device", device, "--seeds", seeds, "--first-seed", "3")
    gold = _run(tmp_path, "golden", "--backend", "golden", *args)
    fw = _run(tmp_path, "amaranth", "--backend", "amaranth", *args)
    assert fw == gold
    assert len(gold.splitlines()) == 1 + 6 * int(seeds)
    assert ",1," in gold  # some trial reached the goal: the comparison is not of empty runs


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--backend", "fpga"], "backend must be one of golden, amaranth, serial:PORT"),
        (["--backend", "amaranth", "--preset", "default"], "use --preset paper"),
        (["--backend", "serial:/dev/null", "--seeds", "2"], "use --seeds 1"),
        (["--backend", "amaranth", "--agent", "dqn"], "golden backend with the siox device"),
        (["--device", "flash"], "'flash' is not one of 'siox', 'emulator'"),
    ],
)
def test_bad_backend_choices_are_named(tmp_path: Path, args: list[str], message: str) -> None:
    res = CliRunner().invoke(main, ["maze", "run", *SCHEDULE, *args, "--out", str(tmp_path)])
    assert res.exit_code == 2 and message in res.output, res.output


def test_parse_backend() -> None:
    assert parse_backend("serial:/dev/ttyUSB1") == Backend("serial", "/dev/ttyUSB1")
    assert str(parse_backend("serial:COM3")) == "serial:COM3"
    with pytest.raises(ValueError, match="serial:PORT"):
        parse_backend("serial:")
