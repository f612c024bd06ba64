"""Control-task run folders: CSV, config status, interrupts, views, sweeps and the CLI."""

from __future__ import annotations

import csv
import json
import multiprocessing
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from memrl.host.cli import main
from memrl.host.crossbar import config, results, runner, sweep
from memrl.host.crossbar.config import (
    SOLVE_RULES,
    ConfigError,
    ControlRunConfig,
    SolveRule,
    solve_rule,
)
from memrl.host.crossbar.plots import views
from memrl.host.crossbar.results import episode_fields, summarise
from memrl.host.crossbar.runner import run_control
from memrl.host.crossbar.sweep import run_sweep

TINY = {"episodes": 3, "seeds": 2, "max_steps": 30, "jobs": 1}


def _rows(out: Path) -> list[dict[str, str]]:
    with (out / "episodes.csv").open() as fh:
        return list(csv.DictReader(fh))


def _status(out: Path) -> dict:
    return json.loads((out / "config.json").read_text())


def _by_key(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """Rows by (seed, episode), without the wall-clock column."""
    keyed = sorted(rows, key=lambda r: (int(r["seed"]), int(r["episode"])))
    return [{k: v for k, v in r.items() if k != "wall_s"} for r in keyed]


def test_run_writes_csv_config_summary_and_figures(tmp_path: Path) -> None:
    cfg = ControlRunConfig(**TINY)
    path = run_control(cfg, tmp_path, progress=False)
    assert path == tmp_path / "episodes.csv"
    with path.open() as fh:
        header = next(csv.reader(fh))
    assert tuple(header) == episode_fields()
    assert header[:5] == ["seed", "episode", "return", "steps", "pulses"]
    rows = _rows(tmp_path)
    assert len(rows) == 6
    assert {(int(r["seed"]), int(r["episode"])) for r in rows} == {
        (s, e) for s in (0, 1) for e in (1, 2, 3)
    }
    assert all(1 <= int(r["steps"]) <= 30 for r in rows)
    meta = _status(tmp_path)
    assert meta["status"] == "complete"
    assert meta["env_id"] == "CartPole-v1" and meta["seed_list"] == [0, 1]
    assert "finished" in meta and meta["device_settings"]["adc_bits"] == 8
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["seeds"] == 2 and summary["seeds_solved"] == 0
    steps = sum(int(r["steps"]) for r in rows if r["seed"] == "0")
    pulses = sum(int(r["pulses"]) for r in rows if r["seed"] == "0")
    assert summary["per_seed"][0]["pulses_per_step"] == pytest.approx(pulses / steps)
    for name in ("learning.png", "device_load.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_same_seed_gives_the_same_episodes(tmp_path: Path) -> None:
    cfg = ControlRunConfig(episodes=5, seeds=1, max_steps=40, preset="paper", jobs=1)
    run_control(cfg, tmp_path / "a", progress=False, figures=False)
    run_control(cfg, tmp_path / "b", progress=False, figures=False)
    a, b = _by_key(_rows(tmp_path / "a")), _by_key(_rows(tmp_path / "b"))
    assert a == b
    assert sum(int(r["pulses"]) for r in a) > 0  # the array was written to


def test_two_jobs_match_one_job(tmp_path: Path) -> None:
    cfg = ControlRunConfig(episodes=4, seeds=2, max_steps=30, preset="paper", jobs=1)
    run_control(cfg, tmp_path / "serial", progress=False, figures=False)
    par = ControlRunConfig(episodes=4, seeds=2, max_steps=30, preset="paper", jobs=2)
    run_control(par, tmp_path / "parallel", progress=False, figures=False)
    assert _by_key(_rows(tmp_path / "parallel")) == _by_key(_rows(tmp_path / "serial"))
    assert _status(tmp_path / "parallel")["jobs_used"] == 2


@pytest.mark.parametrize("jobs", [1, 2])
def test_interrupt_keeps_rows_and_sets_status(tmp_path: Path, jobs: int) -> None:
    seen: list[int] = []

    def hook(rec: object) -> None:
        seen.append(1)
        if len(seen) == 2:
            raise KeyboardInterrupt

    cfg = ControlRunConfig(episodes=20, seeds=2, max_steps=30, jobs=jobs)
    with pytest.raises(KeyboardInterrupt):
        run_control(cfg, tmp_path, progress=False, on_episode=hook)
    rows = _rows(tmp_path)
    if jobs == 1:
        assert len(rows) == 2
    else:  # episodes the workers finished before they stopped are kept too
        assert 2 <= len(rows) < 40
    assert len({(r["seed"], r["episode"]) for r in rows}) == len(rows)
    assert _status(tmp_path)["status"] == "interrupted"
    assert summarise(tmp_path)["seeds"] >= 1


def test_error_sets_failed_status_with_the_message(tmp_path: Path) -> None:
    def hook(rec: object) -> None:
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        run_control(ControlRunConfig(**TINY), tmp_path, progress=False, on_episode=hook)
    meta = _status(tmp_path)
    assert meta["status"] == "failed" and "disk full" in meta["error"]
    assert len(_rows(tmp_path)) == 1


@pytest.mark.skipif(
    multiprocessing.get_start_method() != "fork", reason="the patch must reach the workers"
)
def test_worker_error_fails_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError("boom")

    monkeypatch.setattr(runner, "train", broken)
    cfg = ControlRunConfig(episodes=3, seeds=2, max_steps=20, jobs=2)
    with pytest.raises(ValueError, match="boom"):
        run_control(cfg, tmp_path, progress=False)
    meta = _status(tmp_path)
    assert meta["status"] == "failed" and "boom" in meta["error"]


@pytest.mark.parametrize(
    ("kwargs", "param", "text"),
    [
        ({"env_id": "NoSuchEnv-v9"}, "env_id", "NoSuchEnv-v9"),
        ({"env_id": "Pendulum-v1"}, "env_id", "Discrete"),
        ({"backend": "vhdl"}, "backend", "golden"),
        ({"backend": "amaranth", "agent": "float"}, "backend", "no crossbar engine"),
        ({"preset": "fast"}, "preset", "fast"),
        ({"agent": "dqn"}, "agent", "crossbar"),
        ({"task": "acrobot"}, "task", "cartpole"),
        ({"device": "perfect"}, "device", "realistic"),
        ({"episodes": 0}, "episodes", "episodes"),
        ({"watch": (0,)}, "watch", "watch"),
        ({"adc_bits": 1}, "adc_bits", "adc_bits"),
        ({"stuck_rate": 1.5}, "stuck_rate", "stuck_rate"),
        ({"jobs": 0}, "jobs", "jobs"),
        ({"backend": "serial:/dev/ttyUSB0", "seeds": 1}, "backend", "emulator"),
        ({"device": "emulator", "drift_nu": 0.1}, "drift_nu", "emulator"),
        ({"device": "emulator", "stuck_rate": 0.01}, "stuck_rate", "emulator"),
        ({"backend": "serial:/dev/ttyUSB0", "device": "emulator", "seeds": 2}, "backend", "one"),
    ],
)
def test_bad_config_names_the_parameter(kwargs: dict, param: str, text: str) -> None:
    with pytest.raises(ConfigError) as info:
        ControlRunConfig(**kwargs)
    assert info.value.param == param
    assert param in str(info.value) and text in str(info.value)


def test_defaults_and_solve_rules() -> None:
    assert ControlRunConfig().env_id == "CartPole-v1"
    assert ControlRunConfig(task="mountaincar").env_id == "MountainCar-v0"
    paper_mc = ControlRunConfig(task="mountaincar", env_id="memrl/PaperMountainCar-v0")
    assert paper_mc.episode_cap == 1000
    assert ControlRunConfig(env_id="memrl/PaperCartPole-v0").episode_cap == 1001
    assert ControlRunConfig(env_id="CartPole-v1").episode_cap is None
    assert ControlRunConfig(adc_bits=6, c2c_frac=0.5).device_settings().adc_bits == 6
    assert set(SOLVE_RULES) == {
        "CartPole-v1",
        "MountainCar-v0",
        "memrl/PaperCartPole-v0",
        "memrl/PaperMountainCar-v0",
    }
    assert not SOLVE_RULES["MountainCar-v0"].stops
    acro = solve_rule("Acrobot-v1")  # from gymnasium's reward threshold
    assert acro is not None and acro.kind == "mean" and acro.threshold == -100
    cart = SOLVE_RULES["CartPole-v1"]
    assert cart.solved_at([500.0] * 99, [500] * 99) is None
    assert cart.solved_at([0.0] * 50 + [500.0] * 100, [1] * 150) == 145  # 5 zeros in 100
    paper = SOLVE_RULES["memrl/PaperCartPole-v0"]
    assert paper.solved_at([5.0, 1001.0], [5, 1001]) == 2 and paper.met([1001.0], [1001])
    car = SOLVE_RULES["memrl/PaperMountainCar-v0"]
    reached = ([-99.0] * 20, [100] * 20)  # the goal step pays 0
    assert car.solved_at(*reached) == 20 and car.met(*reached)
    assert car.solved_at([-100.0] + reached[0], [100] + reached[1]) == 21
    assert car.solved_at([-100.0] * 30, [100] * 30) is None


def test_stop_when_solved_ends_each_seed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(SOLVE_RULES, "CartPole-v1", SolveRule("mean", 0.0, 2, True, "test"))
    cfg = ControlRunConfig(episodes=10, seeds=2, max_steps=20, jobs=1, stop_when_solved=True)
    run_control(cfg, tmp_path, progress=False, figures=False)
    assert len(_rows(tmp_path)) == 4
    s = summarise(tmp_path)
    assert s["seeds_solved"] == 2 and s["median"]["episodes_to_solve"] == 2


def test_watched_episode_is_saved_and_drawn(tmp_path: Path) -> None:
    cfg = ControlRunConfig(episodes=3, seeds=1, max_steps=30, jobs=1, watch=(2,))
    run_control(cfg, tmp_path, progress=False)
    npz = tmp_path / "views" / "seed0_ep2.npz"
    with np.load(npz) as z:
        assert {"obs", "action", "loss", "w1", "w3", "g_us", "vg", "set_count"} <= set(z.files)
        assert z["g_us"].shape == (128, 64) and z["obs"].shape[1] == 4
    assert (tmp_path / "views" / "seed0_ep2.png").exists()


def test_float_agent_view_draws_what_exists(tmp_path: Path) -> None:
    cfg = ControlRunConfig(
        task="mountaincar", agent="float", episodes=2, seeds=1, max_steps=20, jobs=1, watch=(1,)
    )
    run_control(cfg, tmp_path, progress=False, figures=False)
    with np.load(tmp_path / "views" / "seed0_ep1.npz") as z:
        assert "g_us" not in z.files
    assert views(tmp_path) == [tmp_path / "views" / "seed0_ep1.png"]


def test_sweep_writes_a_row_and_a_folder_per_value(tmp_path: Path) -> None:
    base = ControlRunConfig(episodes=2, seeds=2, max_steps=20, jobs=1)
    path = run_sweep(base, "adc_bits", [4, 8], tmp_path, progress=False)
    with path.open() as fh:
        rows = list(csv.DictReader(fh))
    assert [r["value"] for r in rows] == ["4", "8"]
    assert all(r["seeds"] == "2" and r["seeds_solved"] == "0" for r in rows)
    assert all(r["median_censored"] == "1" for r in rows)
    for v in (4, 8):
        meta = _status(tmp_path / f"adc_bits={v}")
        assert meta["status"] == "complete" and meta["device_settings"]["adc_bits"] == v
    assert (tmp_path / "sweep.png").exists()
    with pytest.raises(ConfigError) as info:
        run_sweep(base, "gains", [1], tmp_path)
    assert info.value.param == "param"
    with pytest.raises(ConfigError) as info:
        run_sweep(base, "stuck_rate", [0.1, 2.0], tmp_path)
    assert info.value.param == "stuck_rate"


def test_cli_cartpole_run_writes_the_run_folder(tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["cartpole", "run", "--agent", "crossbar", "--preset", "paper", "--env", "CartPole-v1"]
    args += ["--episodes", "3", "--seeds", "2", "--backend", "golden", "--max-steps", "30"]
    args += ["--jobs", "1", "--watch", "3", "--adc-bits", "6", "--out", str(out)]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    assert "seeds solved" in res.output and "0/2" in res.output
    rows = _rows(out)
    assert len(rows) == 6
    assert {"seed", "episode", "return", "steps", "pulses"} <= set(rows[0])
    meta = _status(out)
    assert meta["status"] == "complete" and meta["preset"] == "paper" and meta["adc_bits"] == 6
    assert (out / "views" / "seed1_ep3.png").exists()


def test_cli_mountaincar_run_and_sweep(tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["--episodes", "2", "--seeds", "1", "--max-steps", "20", "--jobs", "1"]
    res = runner.invoke(main, ["mountaincar", "run", *args, "--out", str(tmp_path / "r")])
    assert res.exit_code == 0, res.output
    meta = _status(tmp_path / "r")
    assert meta["env_id"] == "MountainCar-v0"
    # config.json records the algorithm the run used: the goal-task settings too
    agent = meta["agent_config"]
    assert (agent["terminal_repeats"], agent["n_step"], agent["obs_gain"]) == (100, 8, 4.0)
    sweep = ["mountaincar", "sweep", "--param", "c2c_frac", "--values", "0,1", *args]
    res = runner.invoke(main, [*sweep, "--out", str(tmp_path / "s")])
    assert res.exit_code == 0, res.output
    assert "c2c_frac" in res.output
    assert len(list(csv.DictReader((tmp_path / "s" / "sweep.csv").open()))) == 2


@pytest.mark.parametrize(
    ("extra", "option"),
    [
        (["--env", "NoSuchEnv-v9"], "--env"),
        (["--env", "Pendulum-v1"], "--env"),
        (["--backend", "vhdl"], "--backend"),
        (["--backend", "amaranth", "--agent", "float"], "--backend"),
        (["--preset", "fast"], "--preset"),
        (["--watch", "0"], "--watch"),
        (["--watch", "9"], "--watch"),
        (["--adc-bits", "1"], "--adc-bits"),
    ],
)
def test_cli_bad_values_name_the_option(tmp_path: Path, extra: list[str], option: str) -> None:
    args = ["cartpole", "run", "--episodes", "3", "--out", str(tmp_path), *extra]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 2
    assert option in res.output
    assert not (tmp_path / "episodes.csv").exists()


def test_cli_names_a_serial_port_it_cannot_open(tmp_path: Path) -> None:
    port = tmp_path / "no-such-port"
    args = ["cartpole", "run", "--episodes", "1", "--seeds", "1", "--device", "emulator",
            "--backend", f"serial:{port}", "--out", str(tmp_path / "run")]  # fmt: skip
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 1 and "cannot open serial port" in res.output, res.output


def test_cli_sweep_bad_values_name_the_option(tmp_path: Path) -> None:
    base = ["cartpole", "sweep", "--episodes", "2", "--out", str(tmp_path)]
    for param, values in (("adc_bits", "4,x"), ("adc_bits", "4,20"), ("stuck_rate", "0.1,2")):
        res = CliRunner().invoke(main, [*base, "--param", param, "--values", values])
        assert res.exit_code == 2 and "--values" in res.output, res.output


def test_the_modules_list_their_public_names() -> None:
    for module in (config, results, runner, sweep):
        for name in module.__all__:
            assert hasattr(module, name), (module.__name__, name)


@pytest.mark.slow
def test_cli_run_on_the_amaranth_engine_equals_the_golden_model(tmp_path: Path) -> None:
    """A run with the crossbar engine in amaranth.sim writes the golden model's
    episodes (returns, pulses, energy, epsilon, loss: all but the wall time)."""
    rows = {}
    for backend in ("golden", "amaranth"):
        out = tmp_path / backend
        args = ["cartpole", "run", "--episodes", "2", "--seeds", "1", "--first-seed", "4",
                "--backend", backend, "--out", str(out)]  # fmt: skip
        res = CliRunner().invoke(main, args)
        assert res.exit_code == 0, res.output
        with (out / "episodes.csv").open() as fh:
            rows[backend] = [
                {k: v for k, v in r.items() if k != "wall_s"} for r in csv.DictReader(fh)
            ]
        assert json.loads((out / "config.json").read_text())["backend"] == backend
    assert rows["amaranth"] == rows["golden"] and len(rows["golden"]) == 2


@pytest.mark.verilator
@pytest.mark.parametrize(
    "board_name",
    # the iCEBreaker's design runs on Verilator in-process in make test
    # (tests/sim/crossbar/test_verilated.py); its whole firmware over the link is slow
    [
        pytest.param("ulx3s-85f", marks=pytest.mark.slow),
        pytest.param("ulx3s", marks=pytest.mark.slow),
        pytest.param("icebreaker", marks=pytest.mark.slow),
    ],
)
def test_cli_run_on_a_simulated_board_equals_the_golden_model(
    tmp_path: Path, board_name: str
) -> None:
    """``--backend serial:PORT`` with the crossbar firmware's Verilog behind a
    pseudo-terminal (a simulated board): the golden model's episodes. The
    ULX3S-25F's and the iCEBreaker's firmware work in pieces, and so do both
    runs; the iCEBreaker's also keeps its codes in single-port memory and
    multiplies by shift-and-add."""
    from memrl.host.build.fpga import BOARDS
    from memrl.host.crossbar.commands import board_firmware
    from memrl.sim.tools.uart_bridge import SIMBOARD_CLK_HZ, SIMBOARD_DIVISOR, SimBoard

    d = BOARDS[board_name].crossbar
    top = board_firmware("CartPole-v1", "default", SIMBOARD_DIVISOR, SIMBOARD_CLK_HZ, d)
    split = (
        []
        if d.pass_samples is None
        else ["--pass-samples", str(d.pass_samples), "--program-entries", str(d.program_entries)]
    )
    rows = {}
    with SimBoard("verilator", None, 0, "emulator", workdir=tmp_path / "board", top=top) as board:
        for backend in ("golden", f"serial:{board.port}"):
            out = tmp_path / backend.split(":")[0]
            args = ["cartpole", "run", "--episodes", "2", "--seeds", "1", "--first-seed", "5",
                    "--device", "emulator", "--backend", backend, "--out", str(out),
                    *split]  # fmt: skip
            res = CliRunner().invoke(main, args)
            assert res.exit_code == 0, res.output
            with (out / "episodes.csv").open() as fh:
                rows[backend.split(":")[0]] = [
                    {k: v for k, v in r.items() if k != "wall_s"} for r in csv.DictReader(fh)
                ]
    assert rows["serial"] == rows["golden"] and len(rows["golden"]) == 2


def test_cli_compare_names_the_first_difference(tmp_path: Path) -> None:
    """``memrl cartpole compare``: equal runs (the wall time aside), then a
    changed value, a missing episode and a folder without a run."""
    runs = []
    for name in ("a", "b"):
        out = tmp_path / name
        args = ["cartpole", "run", "--episodes", "3", "--seeds", "1", "--out", str(out)]
        assert CliRunner().invoke(main, args).exit_code == 0
        runs.append(out)
    a, b = (str(r) for r in runs)
    res = CliRunner().invoke(main, ["cartpole", "compare", a, b, "--plot", f"{a}/vs.png"])
    assert res.exit_code == 0 and "equal: 3 episodes" in res.output, res.output
    assert (runs[0] / "vs.png").stat().st_size > 10_000
    path = runs[1] / "episodes.csv"
    lines = path.read_text().splitlines()
    head = lines[0].split(",")
    row = lines[2].split(",")
    row[head.index("pulses")] = str(int(row[head.index("pulses")]) + 1)
    path.write_text("\n".join([*lines[:2], ",".join(row), *lines[3:]]) + "\n")
    res = CliRunner().invoke(main, ["cartpole", "compare", a, b])
    assert res.exit_code == 1 and "seed 0 episode 2, pulses" in res.output, res.output
    path.write_text("\n".join(lines[:3]) + "\n")
    res = CliRunner().invoke(main, ["cartpole", "compare", a, b])
    assert res.exit_code == 1 and "3 episodes" in res.output and "2 equal" in res.output
    res = CliRunner().invoke(main, ["cartpole", "compare", a, str(tmp_path)])
    assert res.exit_code == 1 and "no such file" in res.output, res.output
