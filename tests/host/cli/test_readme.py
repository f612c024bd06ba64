"""The README's first-five-minutes commands run as printed and write what the
README says they write."""

from __future__ import annotations

import shlex
from pathlib import Path

from click.testing import CliRunner

from memrl.host.cli import main

README = Path(__file__).resolve().parents[3] / "README.md"


def _first_commands() -> list[list[str]]:
    text = README.read_text()
    section = text.split("## The first five minutes", 1)[1]
    block = section.split("```sh", 1)[1].split("```", 1)[0]
    return [shlex.split(line)[1:] for line in block.strip().splitlines()]


def test_the_first_five_minutes_run_as_printed() -> None:
    commands = _first_commands()
    kinds = [["maze", "run"], ["rover", "run"], ["cartpole", "run"], ["devices", "characterise"]]
    assert [c[:2] for c in commands] == kinds
    runner = CliRunner()
    with runner.isolated_filesystem():
        for args in commands:
            res = runner.invoke(main, args)
            assert res.exit_code == 0, (args, res.output)
        first = Path("build/first")
        for folder, files in {
            "maze": ("config.json", "trials.csv", "summary.json", "steps_per_trial.png"),
            "rover": ("config.json", "trials.csv", "summary.json", "rover.png"),
            "cartpole": ("config.json", "episodes.csv", "summary.json", "learning.png"),
            "devices": ("characterisation.json",),
        }.items():
            for name in files:
                assert (first / folder / name).is_file(), f"{folder}/{name}"
