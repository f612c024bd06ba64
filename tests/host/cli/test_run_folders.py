"""Run folders a user can trust: an earlier run is not overwritten without
--force, a folder of another run type is refused, the status says how a run
ended (SIGTERM included), config.json says where the run came from, and bad
input is a one-line error naming the file or option."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from memrl.host.cli import main
from memrl.host.runs import STATUSES, run_kind
from memrl.sim.navigator.maze import SHIPPED_DIR

SMALL = ["--layout", str(SHIPPED_DIR / "small_a_9x9.txt"), "--seeds", "1", "--trials", "2",
         "--max-steps", "20"]  # fmt: skip


def _maze(out: Path, *extra: str):  # noqa: ANN202
    return CliRunner().invoke(main, ["maze", "run", *SMALL, "--out", str(out), *extra])


def _config(out: Path) -> dict:
    return json.loads((out / "config.json").read_text())


def test_an_earlier_run_is_replaced_only_with_force(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert _maze(out).exit_code == 0
    (out / "notes.txt").write_text("mine")
    first = _config(out)["started"]
    res = _maze(out)
    assert res.exit_code == 2
    assert "already holds a maze run (complete): pass --force" in res.output
    (out / "trials.csv").unlink()  # a later run would have to write it again
    time.sleep(1.1)
    res = _maze(out, "--force")
    assert res.exit_code == 0, res.output
    assert _config(out)["started"] != first and (out / "trials.csv").exists()
    assert (out / "notes.txt").read_text() == "mine"  # not the run's: left alone
    mine = tmp_path / "mine"  # a folder of the user's files, no run
    mine.mkdir()
    (mine / "plot.png").write_bytes(b"png")
    assert "pass --force" in _maze(mine).output
    assert _maze(mine, "--force").exit_code == 0
    assert (mine / "plot.png").read_bytes() == b"png" and (mine / "trials.csv").exists()


def test_a_folder_of_another_run_type_is_refused_even_with_force(tmp_path: Path) -> None:
    maze_run = tmp_path / "maze"
    assert _maze(maze_run).exit_code == 0
    assert run_kind(maze_run) == "maze"
    res = CliRunner().invoke(main, ["cartpole", "run", "--episodes", "1", "--seeds", "1",
                                    "--out", str(maze_run), "--force"])  # fmt: skip
    assert (
        res.exit_code == 2 and "holds a maze run: a cartpole run goes into a folder" in res.output
    )
    rows = tmp_path / "rows"
    rows.mkdir()
    (rows / "episodes.csv").write_text("seed,episode\n")
    res = _maze(rows, "--force")
    assert res.exit_code == 2 and "holds a control run's episodes.csv" in res.output
    assert not (rows / "config.json").exists()


def test_status_is_failed_with_the_error_when_the_agent_cannot_start(tmp_path: Path) -> None:
    out = tmp_path / "serial"
    res = _maze(out, "--backend", f"serial:{tmp_path / 'no-such-port'}")
    assert res.exit_code == 1 and "backend serial:" in res.output
    cfg = _config(out)
    assert cfg["status"] == "failed" and "no-such-port" in cfg["error"]


def test_sigterm_keeps_the_rows_and_records_an_interrupt(tmp_path: Path) -> None:
    out = tmp_path / "long"
    cmd = [sys.executable, "-m", "memrl.host.cli", "maze", "run", "--seeds", "2", "--trials",
           "3000", "--max-steps", "600", "--out", str(out)]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    csv = out / "trials.csv"
    while time.monotonic() < deadline and (
        not csv.exists() or len(csv.read_text().splitlines()) < 5
    ):
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, output
    cfg = _config(out)
    assert cfg["status"] == "interrupted" and cfg["status"] in STATUSES
    kept = len(csv.read_text().splitlines()) - 1
    assert kept >= 4 and "trials kept" in output
    assert (out / "summary.json").exists()  # figures from what exists


def test_config_records_where_the_run_came_from(tmp_path: Path) -> None:
    out = tmp_path / "prov"
    assert _maze(out).exit_code == 0
    prov = _config(out)["provenance"]
    assert prov["packages"]["numpy"] == np.__version__
    assert prov["python"] == sys.version.split()[0] and prov["memrl"]
    if shutil.which("iverilog"):
        assert prov["icarus"].startswith("Icarus Verilog")
    checkout = Path(__file__).resolve().parents[3]
    if (checkout / ".git").exists():
        assert re.fullmatch(r"[0-9a-f]{40}", prov["git"]["commit"])
        assert isinstance(prov["git"]["dirty"], bool)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["cartpole", "run", "--env", "MountainCar-v0"], "is the mountaincar task's environment"),
        (["mountaincar", "run", "--env", "CartPole-v1"], "is the cartpole task's environment"),
        (["cartpole", "run", "--agent", "float", "--adc-bits", "4"], "the float agent has none"),
        (["cartpole", "run", "--agent", "float", "--device", "ideal"], "has no devices"),
        (["rover", "run", "--trials", "5", "--transfer-at", "6"], "past the run's last trial"),
        (["maze", "accuracy", "--agents", ""], "names no agent"),
        (["maze", "run", "--first-seed", str(2**63)], "--first-seed"),
    ],
)  # fmt: skip
def test_inputs_that_would_be_ignored_or_overflow_are_refused(
    tmp_path: Path, args: list[str], message: str
) -> None:
    res = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "x")])
    assert res.exit_code == 2 and message in res.output, res.output
    assert not (tmp_path / "x").exists()


def test_a_rover_cost_map_of_the_wrong_shape_is_named(tmp_path: Path) -> None:
    costs = tmp_path / "small.csv"
    np.savetxt(costs, np.ones((10, 12)), delimiter=",")
    args = ["rover", "run", "--cost-file", str(costs), "--trials", "2", "--transfer-at", "1"]
    res = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "r")])
    assert res.exit_code == 2
    assert f"{costs}: the rover's cost map is 128 x 128" in res.output and "10 x 12" in res.output


def test_an_unwritable_folder_is_a_one_line_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    res = _maze(blocker / "sub")
    assert res.exit_code == 2 and "cannot write there" in res.output
    res = CliRunner().invoke(main, ["cartpole", "run", "--out", str(blocker / "sub")])
    assert res.exit_code == 2 and "cannot write there" in res.output
    res = CliRunner().invoke(main, ["devices", "characterise", "--out", str(blocker / "sub")])
    assert res.exit_code == 1 and "cannot write" in res.output
    assert isinstance(res.exception, SystemExit)  # an error message, not a traceback
    if os.geteuid() != 0:  # a read-only folder stops only a user who is not root
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o500)
        assert "cannot write there" in _maze(ro / "sub").output


def test_maze_file_errors_name_the_file(tmp_path: Path) -> None:
    """A UTF-16 or binary file, a tab, a maze too large, layouts of different
    sizes: each error names the file (and the line and column where there is one)."""
    utf16 = tmp_path / "wide.txt"
    utf16.write_text("#S.G#\n", encoding="utf-16")
    binary = tmp_path / "blob.txt"
    binary.write_bytes(bytes(range(128, 256)))
    tab = tmp_path / "tab.txt"
    tab.write_text("#S.G#\n#.\t.#\n")
    big = tmp_path / "big.txt"
    big.write_text("S" + "." * 1100 + "G\n" + "." * 1102 + "\n")
    cases = [
        ([utf16], f"{utf16}: not a UTF-8 text file"),
        ([binary], f"{binary}: not a UTF-8 text file"),
        ([tab], f"{tab}, line 2, column 3: unknown character '\\t'"),
        ([big], f"{big}: a maze is at least 2 and at most 1024 places in each direction "
                "(this one is 2 x 1102)"),
        ([SHIPPED_DIR / "small_a_9x9.txt", SHIPPED_DIR / "dynamic_a.txt"],
         "the layouts of a run must have the same size: "),
    ]  # fmt: skip
    for files, message in cases:
        args = [a for f in files for a in ("--layout", str(f))]
        res = CliRunner().invoke(main, ["maze", "run", *args, "--out", str(tmp_path / "x")])
        assert res.exit_code == 2 and message in res.output.replace("\n", " "), res.output
    assert "small_a_9x9.txt is 9 x 9" in res.output.replace("\n", " ")


def test_config_reruns_a_run_and_reproduces_its_rows(tmp_path: Path) -> None:
    """--config FILE reruns a run with the settings its config.json records: the
    deterministic backends give the same CSV. Other settings beside it are
    refused, as is a config of another run type."""
    first, again = tmp_path / "first", tmp_path / "again"
    args = ["--switch-at", "1", "--first-seed", "7", "--preset", "paper"]
    assert _maze(first, *args).exit_code == 0
    res = CliRunner().invoke(main, ["maze", "run", "--config", str(first / "config.json"),
                                    "--out", str(again)])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert (again / "trials.csv").read_text() == (first / "trials.csv").read_text()
    assert _config(again)["preset"] == "paper" and _config(again)["first_seed"] == 7
    res = CliRunner().invoke(main, ["maze", "run", "--config", str(first / "config.json"),
                                    "--trials", "9", "--out", str(tmp_path / "x")])  # fmt: skip
    assert res.exit_code == 2 and "drop --trials" in res.output

    rover = tmp_path / "rover"
    rover_args = ["--trials", "2", "--transfer-at", "1", "--max-steps", "30", "--seeds", "1"]
    res = CliRunner().invoke(main, ["rover", "run", *rover_args, "--out", str(rover)])
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(main, ["rover", "run", "--config", str(rover / "config.json"),
                                    "--out", str(tmp_path / "rover2")])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert (tmp_path / "rover2" / "trials.csv").read_text() == (rover / "trials.csv").read_text()
    res = CliRunner().invoke(main, ["maze", "run", "--config", str(rover / "config.json"),
                                    "--out", str(tmp_path / "x")])  # fmt: skip
    assert res.exit_code == 2 and "records a rover run" in res.output

    cp = tmp_path / "cp"
    cp_args = ["--episodes", "2", "--seeds", "1", "--jobs", "1", "--c2c", "0.5"]
    assert CliRunner().invoke(main, ["cartpole", "run", *cp_args, "--out", str(cp)]).exit_code == 0
    res = CliRunner().invoke(main, ["cartpole", "run", "--config", str(cp / "config.json"),
                                    "--out", str(tmp_path / "cp2")])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "cp2" / "config.json").read_text())["c2c_frac"] == 0.5
    res = CliRunner().invoke(main, ["cartpole", "compare", str(cp), str(tmp_path / "cp2")])
    assert res.exit_code == 0 and "equal: 2 episodes" in res.output, res.output


def _interrupted_maze_run(out: Path, *args: str, command: str = "maze") -> None:
    """A maze (or rover) run stopped by SIGTERM once it has written a few trials."""
    cmd = [sys.executable, "-m", "memrl.host.cli", command, "run", *args, "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    csv = out / "trials.csv"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (
        not csv.exists() or len(csv.read_text().splitlines()) < 7
    ):
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=120) == 130
    assert _config(out)["status"] == "interrupted"


def test_resume_continues_an_interrupted_run_to_the_uninterrupted_result(tmp_path: Path) -> None:
    """--resume DIR keeps the rows an interrupted run wrote, runs the rest, and
    ends with the rows of a run never interrupted; a complete run, a kept row
    that the agents no longer reproduce, and other settings are refused."""
    args = ["--seeds", "2", "--trials", "400", "--max-steps", "600"]
    out = tmp_path / "cut"
    _interrupted_maze_run(out, *args)
    kept = len((out / "trials.csv").read_text().splitlines()) - 1
    assert 6 <= kept < 800
    res = CliRunner().invoke(main, ["maze", "run", "--resume", str(out)])
    assert res.exit_code == 0, res.output
    cfg = _config(out)
    assert cfg["status"] == "complete" and cfg["resumed"]["trials_kept"] == kept // 2
    whole = tmp_path / "whole"
    res = CliRunner().invoke(main, ["maze", "run", *args, "--out", str(whole)])
    assert res.exit_code == 0, res.output
    assert (out / "trials.csv").read_text() == (whole / "trials.csv").read_text()

    res = CliRunner().invoke(main, ["maze", "run", "--resume", str(out)])
    assert res.exit_code == 2 and "holds a complete run: nothing to resume" in res.output

    tampered = tmp_path / "tampered"
    _interrupted_maze_run(tampered, *args)
    res = CliRunner().invoke(main, ["maze", "run", "--resume", str(tampered), "--trials", "5"])
    assert res.exit_code == 2 and "drop --trials" in res.output
    res = CliRunner().invoke(main, ["maze", "run", "--resume", str(tampered), "--config",
                                    str(tampered / "config.json")])  # fmt: skip
    assert res.exit_code == 2 and "drop --config" in res.output
    lines = (tampered / "trials.csv").read_text().splitlines()
    fields = lines[1].split(",")
    fields[3] = str(int(fields[3]) + 1)  # trial 1's steps
    (tampered / "trials.csv").write_text("\n".join([lines[0], ",".join(fields), *lines[2:]]) + "\n")
    res = CliRunner().invoke(main, ["maze", "run", "--resume", str(tampered)])
    assert res.exit_code == 1 and "trial 1 ran differently from the row kept" in res.output
    assert _config(tampered)["status"] == "failed"


@pytest.mark.slow
def test_resume_continues_an_interrupted_rover_run(tmp_path: Path) -> None:
    """The rover's two conditions (a fresh agent from the transfer) resume too."""
    args = ["--seeds", "1", "--trials", "300", "--transfer-at", "3", "--max-steps", "200"]
    out = tmp_path / "cut"
    _interrupted_maze_run(out, *args, command="rover")
    res = CliRunner().invoke(main, ["rover", "run", "--resume", str(out)])
    assert res.exit_code == 0, res.output
    assert _config(out)["status"] == "complete" and _config(out)["resumed"]["trials_kept"] >= 3
    whole = tmp_path / "whole"
    res = CliRunner().invoke(main, ["rover", "run", *args, "--out", str(whole)])
    assert res.exit_code == 0, res.output
    assert (out / "trials.csv").read_bytes() == (whole / "trials.csv").read_bytes()


@pytest.mark.slow
def test_resume_continues_an_interrupted_control_run(tmp_path: Path) -> None:
    """A cart-pole run on two workers stopped by SIGTERM once a seed has finished:
    --resume keeps the finished seeds' episodes, trains the others again from
    their start, and ends with the episodes of a run never interrupted."""
    args = ["--agent", "float", "--seeds", "4", "--episodes", "60", "--jobs", "2"]
    out = tmp_path / "cut"
    cmd = [sys.executable, "-m", "memrl.host.cli", "cartpole", "run", *args, "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            if _config(out)["seeds_done"]:
                break
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=300) == 130
    cut = _config(out)
    assert cut["status"] == "interrupted" and 1 <= len(cut["seeds_done"]) < 4
    res = CliRunner().invoke(main, ["cartpole", "run", "--resume", str(out)])
    assert res.exit_code == 0, res.output
    resumed = _config(out)
    assert resumed["status"] == "complete" and resumed["seeds_done"] == [0, 1, 2, 3]
    assert resumed["resumed"]["seeds_kept"] == cut["seeds_done"]
    whole = tmp_path / "whole"
    assert CliRunner().invoke(main, ["cartpole", "run", *args, "--out", str(whole)]).exit_code == 0
    res = CliRunner().invoke(main, ["cartpole", "compare", str(out), str(whole)])
    assert res.exit_code == 0 and "equal: 240 episodes" in res.output, res.output


def test_a_baseline_run_gets_its_own_figures(tmp_path: Path) -> None:
    """Tabular Q has no integration ticks and no devices: one steps panel, no
    energy figure or energy figures in its summary; the navigator keeps them."""
    out = tmp_path / "q"
    res = _maze(out, "--agent", "tabular-q")
    assert res.exit_code == 0, res.output
    assert "energy_per_trial.png" not in res.output and not (out / "energy_per_trial.png").exists()
    assert "energy_first_trial_j" not in json.loads((out / "summary.json").read_text())
    assert (out / "steps_per_trial.png").exists() and (out / "convergence.png").exists()
    nav = tmp_path / "nav"
    assert _maze(nav).exit_code == 0 and (nav / "energy_per_trial.png").exists()
    assert "energy_first_trial_j" in json.loads((nav / "summary.json").read_text())
