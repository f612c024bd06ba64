"""`memrl maze run --backend`: the simulated firmware writes the golden model's
run folder, byte for byte, on both devices; bad combinations are refused by name."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from memrl.host.cli import main
from memrl.host.navigator.backends import Backend, close_agents, navigator_agent, parse_backend
from memrl.host.navigator.rover import RoverConfig
from memrl.sim.navigator.golden import run_agent
from memrl.sim.navigator.maze import SHIPPED_DIR, terrain_transfer
from memrl.sim.navigator.session import TRIAL_FIELDS

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


@pytest.mark.parametrize(
    ("device", "seeds", "preset"),
    [
        pytest.param("siox", "2", "paper", marks=pytest.mark.slow),
        ("emulator", "1", "paper"),
        # the default rule's firmware runs over the link on Icarus and Verilator in make test
        pytest.param("siox", "1", "default", marks=pytest.mark.slow),
    ],  # fmt: skip
)
def test_amaranth_backend_writes_the_golden_models_trials(
    tmp_path: Path, device: str, seeds: str, preset: str
) -> None:
    args = ("--device", device, "--seeds", seeds, "--first-seed", "3", "--preset", preset)
    gold = _run(tmp_path, "golden", "--backend", "golden", *args)
    fw = _run(tmp_path, "amaranth", "--backend", "amaranth", *args)
    assert fw == gold
    assert len(gold.splitlines()) == 1 + 6 * int(seeds)
    assert ",1," in gold  # some trial reached the goal: the comparison is not of empty runs


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--backend", "fpga"], "one of golden, amaranth, icarus, verilator, serial:PORT"),
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


@pytest.mark.parametrize(
    ("sim", "device"),
    [
        pytest.param("icarus", "siox", marks=pytest.mark.icarus),
        pytest.param("icarus", "emulator", marks=[pytest.mark.icarus, pytest.mark.slow]),
        pytest.param("verilator", "siox", marks=[pytest.mark.verilator, pytest.mark.slow]),
        pytest.param("verilator", "emulator", marks=pytest.mark.verilator),
    ],
)
def test_simulated_boards_write_the_golden_models_trials(
    tmp_path: Path, sim: str, device: str
) -> None:
    """The firmware's Verilog behind a pseudo-terminal, spoken to through pyserial."""
    args = ("--device", device, "--seeds", "1", "--first-seed", "5")
    gold = _run(tmp_path, "golden", "--backend", "golden", *args)
    assert _run(tmp_path, sim, "--backend", sim, *args) == gold


@pytest.mark.verilator
def test_serial_backend_on_a_served_board(tmp_path: Path) -> None:
    """`memrl sim serve`'s board, reached as a serial port: the board's code path."""
    from memrl.sim.navigator.golden import PRESETS
    from memrl.sim.navigator.session import rtl_config
    from memrl.sim.tools.uart_bridge import SimBoard

    config = rtl_config(PRESETS["paper"], (9, 9))
    args = ("--seeds", "1", "--first-seed", "2")
    gold = _run(tmp_path, "golden", "--backend", "golden", *args)
    with SimBoard("verilator", config, 2) as board:
        got = _run(tmp_path, "serial", "--backend", f"serial:{board.port}", *args)
        assert board.proc.poll() is None  # the board outlives its client
    assert got == gold


@pytest.mark.slow
@pytest.mark.verilator
def test_full_dynamic_maze_over_the_pty_equals_golden(tmp_path: Path) -> None:
    """The shipped 30x30 pair, 120 trials, through the Verilator board's pty."""

    def run(name: str, backend: str) -> str:
        out = tmp_path / name
        res = CliRunner().invoke(main, ["maze", "run", "--preset", "paper", "--seeds", "1",
                                        "--backend", backend, "--out", str(out)])  # fmt: skip
        assert res.exit_code == 0, res.output
        return (out / "trials.csv").read_text()

    gold = run("golden", "golden")
    assert run("verilator", "verilator") == gold
    assert len(gold.splitlines()) == 121


def _rover_on_golden_and_verilator(tmp_path: Path, *args: str) -> tuple[list[str], str]:
    """``memrl rover run`` (one seed, 200 steps, ``args``) on the golden model and
    on Verilator: the two trials.csv and the Verilator run's output."""
    csvs, res = [], None
    for backend in ("golden", "verilator"):
        out = tmp_path / backend
        run = ["rover", "run", "--max-steps", "200", "--seeds", "1", *args]
        res = CliRunner().invoke(main, [*run, "--backend", backend, "--out", str(out)])
        assert res.exit_code == 0, res.output
        csvs.append((out / "trials.csv").read_text())
    return csvs, res.output


@pytest.mark.slow
@pytest.mark.verilator
def test_rover_on_the_verilator_board_equals_golden(tmp_path: Path) -> None:
    """The 128x128 rover map, both conditions (a fresh board at the transfer): steps,
    ticks and the terrain cost, which the host sums from the trajectory read back.
    (The default rule's 128x128 terrain build: test_rover_default_on_the_verilator_board
    _equals_golden, slow; test_terrain_firmware_equals_golden runs it on small cost maps.)"""
    csvs, _ = _rover_on_golden_and_verilator(tmp_path, "--trials", "3", "--transfer-at", "2",
                                             "--first-seed", "1", "--preset", "paper")  # fmt: skip
    assert csvs[0] == csvs[1]
    assert csvs[0].count("fresh,") == 1 and len(csvs[0].splitlines()) == 5


@pytest.mark.slow
@pytest.mark.verilator
def test_rover_default_on_the_verilator_board_equals_golden(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default rule's 128x128 terrain firmware on simulated boards, both
    conditions: it simulates at about 10,000 cycles a second, so the link's
    timeouts run on the board's clock (14 min on two cores). The model is the
    CLI's, optimised: compiled with the suite's -O0 it ran 740 cycles a second."""
    monkeypatch.setenv("MEMRL_VERILATOR_CFLAGS", "")
    csvs, output = _rover_on_golden_and_verilator(tmp_path, "--trials", "2", "--transfer-at",
                                                  "1", "--preset", "default")  # fmt: skip
    assert "note: --backend verilator simulates" in output
    assert csvs[0] == csvs[1]
    assert csvs[0].count("fresh,") == 1 and len(csvs[0].splitlines()) == 4


def test_rover_refuses_what_a_board_cannot_run(tmp_path: Path) -> None:
    res = CliRunner().invoke(main, ["rover", "run", "--backend", "serial:/dev/null", "--seeds",
                                    "1", "--preset", "paper", "--out", str(tmp_path)])  # fmt: skip
    assert res.exit_code == 2 and "no fresh condition" in res.output
    res = CliRunner().invoke(main, ["rover", "run", "--backend", "amaranth", "--preset", "best",
                                    "--out", str(tmp_path)])  # fmt: skip
    assert res.exit_code == 2 and "preset" in res.output
    # The default rule simulated on the rover map: accepted (slow_rover_default below).
    RoverConfig(backend="verilator").check()
    # The default rule on a board (a ULX3S-85F's terrain build): accepted with one
    # condition, refused with two.
    RoverConfig(trials=4, transfer_at=4, seeds=1, backend="serial:/dev/null").check()
    with pytest.raises(ValueError, match="no fresh condition"):
        RoverConfig(trials=4, transfer_at=3, seeds=1, backend="serial:/dev/null").check()


@pytest.mark.icarus
def test_sim_serve_serves_until_interrupted(tmp_path: Path) -> None:
    """`memrl sim serve` prints its port, answers on it, and stops its simulator on Ctrl-C."""
    import signal
    import subprocess
    import sys
    import time

    from memrl.host.link.client import LinkClient
    from memrl.host.link.transports import SerialTransport
    from memrl.host.navigator.commands import NavigatorClient

    cmd = [sys.executable, "-m", "memrl.host.cli", "sim", "serve", "--sim", "icarus",
           "--maze-size", "5x6", "--seed", "3"]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, text=True)
    try:
        port = None
        deadline = time.monotonic() + 120
        while port is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            assert line, "sim serve ended before serving"
            if line.startswith("serving on "):
                port = line.split()[2]
        assert port is not None
        transport = SerialTransport(port)
        client = NavigatorClient(LinkClient(transport, timeout_s=2.0))
        assert (client.info.rows, client.info.cols) == (5, 6)
        transport.close()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
        assert "stopped" in proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.slow
@pytest.mark.verilator
def test_sim_serve_simulates_a_boards_crossbar_build(tmp_path: Path) -> None:
    """`memrl sim serve --firmware crossbar --board ulx3s`: the 25F's firmware,
    which works in pieces; the printed run command carries them, and IDENTIFY
    reports the board's forward batch."""
    import signal
    import struct
    import subprocess
    import sys
    import time

    from memrl.host.link.client import LinkClient
    from memrl.host.link.transports import SerialTransport
    from memrl.rtl.crossbar.commands import XB_IDENTIFY_FORMAT
    from memrl.rtl.link.protocol import Cmd

    cmd = [sys.executable, "-m", "memrl.host.cli", "sim", "serve", "--sim", "verilator",
           "--firmware", "crossbar", "--board", "ulx3s"]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, text=True)
    try:
        lines: list[str] = []
        deadline = time.monotonic() + 300
        while not any("--backend serial:" in ln for ln in lines) and time.monotonic() < deadline:
            line = proc.stdout.readline()
            assert line, f"sim serve ended before serving: {lines}"
            lines.append(line)
        port = next(ln.split()[2] for ln in lines if ln.startswith("serving on "))
        assert "--pass-samples 16 --program-entries 1024" in lines[-1], lines
        transport = SerialTransport(port)
        raw = LinkClient(transport, timeout_s=5.0).request(Cmd.IDENTIFY)
        assert struct.unpack(XB_IDENTIFY_FORMAT, raw)[5] == 16  # max batch
        transport.close()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.parametrize(
    ("backend", "size", "trials"),
    [pytest.param("amaranth", 8, 6, marks=pytest.mark.slow),
     pytest.param("verilator", 10, 10, marks=[pytest.mark.verilator, pytest.mark.slow])],
)  # fmt: skip
def test_terrain_firmware_equals_golden(backend: str, size: int, trials: int) -> None:
    """The default rule's firmware on a cost map whose goal moves: the host writes
    the entry costs (WRITE_COSTS) with the layout; every trial's figures and
    terrain cost equal the golden model's. (make test covers WRITE_COSTS in
    tests/rtl/navigator/test_commands.py and the core's terrain rule in
    amaranth.sim, tests/rtl/navigator/test_default_rule.py.)"""
    maps = list(terrain_transfer(size, np.random.default_rng(1)))
    steps = 4 * size * size

    def run(b: str) -> list[tuple]:
        agent = navigator_agent(parse_backend(b), "siox", (size, size), [0], "default",
                                traj_depth=steps + 1, terrain=True)  # fmt: skip
        rows: list[tuple] = []

        def keep(t, k, r) -> None:  # noqa: ANN001
            rows.append((k, *(int(getattr(r, f)[0]) for f in TRIAL_FIELDS), float(r.cost[0])))

        try:
            run_agent(agent, maps, [trials // 2], trials, steps, keep)
        finally:
            close_agents([agent])
        return rows

    gold = run("golden")
    assert run(backend) == gold
    assert len({r[-1] for r in gold}) > 2  # the costs walked differ from trial to trial
