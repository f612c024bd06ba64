"""The memrl CLI: characterisation figures, benchmarks, doctor."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from memrl.host.bench import registry as bench
from memrl.host.cli import main
from memrl.host.devices.characterise import CharacteriseConfig, characterise


def test_characterise_writes_every_figure_and_the_numbers(tmp_path: Path) -> None:
    cfg = CharacteriseConfig(
        rows=32, cols=16, siox_devices=2000, vg_points=5, ic_points=6, v_stop_points=4
    )
    summary = characterise(cfg, tmp_path)
    for name in ("onet1r_g_vs_vg", "onet1r_pair_weights", "siox_lrs_vs_ic", "siox_hrs_vs_vstop"):
        png = tmp_path / f"{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    on_disk = json.loads((tmp_path / "characterisation.json").read_text())
    assert on_disk == json.loads(json.dumps(summary))
    figs = summary["figures"]
    assert abs(figs["onet1r_g_vs_vg"]["fitted_slope_us_per_v"] - 98.0) < 5.0
    assert figs["siox_lrs_vs_ic"]["max_rel_error_vs_table"] < 0.05


def test_cli_characterise_and_version(tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(main, ["devices", "characterise", "--out", str(tmp_path / "d")])
    assert res.exit_code == 0, res.output
    assert "wrote 4 figures" in res.output
    assert (tmp_path / "d" / "siox_hrs_vs_vstop.png").exists()
    res = runner.invoke(main, ["--version"])
    assert res.exit_code == 0 and "0.1.0" in res.output


def test_bench_merges_into_json_and_prints_a_table(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    out.write_text(json.dumps({"other_group": {"kept": True}}))
    runner = CliRunner()
    res = runner.invoke(
        main,
        [
            "bench",
            "--out",
            str(out),
            "--only",
            "onet1r_vmm",
            "--repeats",
            "2",
            "--min-time",
            "0.01",
        ],
    )
    assert res.exit_code == 0, res.output
    data = json.loads(out.read_text())
    assert data["other_group"] == {"kept": True}
    r = data["onet1r_vmm"]
    assert r["unit"] == "VMMs" and r["min_per_s"] <= r["median_per_s"] <= r["max_per_s"]
    assert r["median_per_s"] > 0 and r["peak_mib"] > 0
    assert "onet1r_vmm" in res.output and "median/s" in res.output


def test_bench_unknown_name_is_a_usage_error(tmp_path: Path) -> None:
    res = CliRunner().invoke(main, ["bench", "--out", str(tmp_path / "b.json"), "--only", "nope"])
    assert res.exit_code == 2
    assert "unknown benchmark(s) ['nope']" in res.output


@pytest.mark.slow
def test_every_registered_bench_runs_once() -> None:
    bench._load_groups()
    assert len(bench.BENCHES) >= 5
    for b in bench.BENCHES.values():
        work, items = b.setup()
        work()
        assert items > 0


@pytest.mark.icarus
@pytest.mark.verilator
def test_doctor_finds_the_simulators_make_install_provides() -> None:
    res = CliRunner().invoke(main, ["doctor"])
    assert res.exit_code == 0, res.output
    assert "ok       icarus" in res.output and "ok       verilator" in res.output
    assert "MISSING" not in res.output


def test_maze_run_contract(tmp_path: Path) -> None:
    from memrl.sim.navigator.maze import SHIPPED_DIR

    a, b = SHIPPED_DIR / "small_a_9x9.txt", SHIPPED_DIR / "small_b_9x9.txt"
    out = tmp_path / "run"
    res = CliRunner().invoke(
        main,
        ["maze", "run", "--layout", str(a), "--layout", str(b), "--switch-at", "4,8",
         "--trials", "12", "--max-steps", "100", "--seeds", "3", "--backend", "golden",
         "--out", str(out)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    lines = (out / "trials.csv").read_text().splitlines()
    assert lines[0].startswith("seed,trial,layout,steps,reached_goal,ticks")
    assert len(lines) == 1 + 12 * 3
    layouts = [int(line.split(",")[2]) for line in lines[1:]]
    assert layouts[: 4 * 3] == [0] * 12 and layouts[4 * 3 : 8 * 3] == [1] * 12
    assert layouts[8 * 3 :] == [0] * 12  # cyclic: A, B, A
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["status"] == "complete" and cfg["switch_at"] == [4, 8]
    assert (out / "steps_per_trial.png").exists() and (out / "summary.json").exists()
    # blocks of 4 trials cannot hold 5 converged trials in a row
    assert res.output.count("none converged") == 3 and "converged in" not in res.output
    # Trials count from 1 and --switch-at names the trial after which the layout
    # changes: trials 1-4 on A, 5-8 on B, 9-12 on A, in the CSV, summary and output.
    trials = [int(line.split(",")[1]) for line in lines[1:]]
    assert trials == [t for t in range(1, 13) for _ in range(3)]
    assert "layouts switch after trials 4, 8" in res.output
    assert [b["trials"] for b in json.loads((out / "summary.json").read_text())["blocks"]] == [
        [1, 4], [5, 8], [9, 12]
    ]  # fmt: skip
    assert "trials   1-  4:" in res.output and "trials   9- 12:" in res.output


def test_maze_run_bad_input_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("#####\n#S.G#\n#..#\n")
    res = CliRunner().invoke(main, ["maze", "run", "--layout", str(bad), "--out", str(tmp_path)])
    assert res.exit_code == 2
    assert f"{bad}, line 3, column 5: ragged row" in res.output
    res = CliRunner().invoke(main, ["maze", "run", "--switch-at", "4,x", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "not a comma-separated list" in res.output


def test_maze_run_switch_points_follow_the_trials(tmp_path: Path) -> None:
    """Without --switch-at, two layouts switch at thirds of --trials (so a first
    small run works and says where); bad or too few switch points are named."""
    from memrl.host.navigator.run import default_switch_points
    from memrl.sim.navigator.maze import SHIPPED_DIR

    assert default_switch_points(2, 120) == [40, 80] and default_switch_points(2, 5) == [1, 3]
    assert default_switch_points(1, 5) == [] and default_switch_points(4, 8) == [2, 4, 6]
    out = tmp_path / "small"
    res = CliRunner().invoke(main, ["maze", "run", "--seeds", "1", "--trials", "5",
                                    "--max-steps", "50", "--out", str(out)])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "layouts switch after trials 1, 3" in res.output
    assert json.loads((out / "config.json").read_text())["switch_at"] == [1, 3]
    small = [str(SHIPPED_DIR / f"small_{k}_9x9.txt") for k in "ab"]
    cases = [
        (["--trials", "2"], "--trials 2 is too few"),
        (["--switch-at", "", "--trials", "6"], "an empty entry"),
        (["--switch-at", "2,,3", "--trials", "6"], "an empty entry"),
        (["--switch-at", "9", "--trials", "6"], "for --trials 6 (got 9)"),
        (["--layout", small[0], "--layout", small[1], "--layout", small[0],
          "--switch-at", "2", "--trials", "6"], "layout 3 would never run"),
    ]  # fmt: skip
    for args, message in cases:
        res = CliRunner().invoke(main, ["maze", "run", *args, "--out", str(tmp_path / "x")])
        assert res.exit_code == 2 and message in res.output, (args, res.output)


def test_maze_run_summary_when_nothing_converged(tmp_path: Path) -> None:
    """A run whose trials are all capped says none converged and gives no path
    ratio (a capped trial's steps are not a path); summary.json holds None."""
    from memrl.sim.navigator.maze import SHIPPED_DIR

    out = tmp_path / "capped"
    args = ["--layout", str(SHIPPED_DIR / "small_a_9x9.txt"), "--seeds", "2", "--trials", "3",
            "--max-steps", "3", "--out", str(out)]  # fmt: skip
    res = CliRunner().invoke(main, ["maze", "run", *args])
    assert res.exit_code == 0, res.output
    assert "none converged" in res.output and "x shortest" not in res.output
    assert "no seed reached the goal in its last trial" in res.output
    (block,) = json.loads((out / "summary.json").read_text())["blocks"]
    assert block["converge_median"] is None and block["final_path_ratio_median"] is None
