"""Backend tables: names as written, parsing, and what each system's entries say."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from memrl.host.backend import Backend, BackendTable
from memrl.host.crossbar.backends import CROSSBAR_BACKENDS
from memrl.host.navigator.backends import NAVIGATOR_BACKENDS


@dataclass(frozen=True)
class Entry:
    board: bool = False


TABLE = BackendTable(model=Entry(), rig=Entry(board=True))


def test_names_and_parsing() -> None:
    assert TABLE.names() == ("model", "rig:PORT")
    assert TABLE.parse("model") == Backend("model")
    assert TABLE.parse("rig:socket://host:5000") == Backend("rig", "socket://host:5000")
    assert str(TABLE.parse("rig:/dev/ttyUSB0")) == "rig:/dev/ttyUSB0"
    assert TABLE.entry("rig:COM3") is TABLE["rig"]
    for bad in ("rig", "rig:", "model:x", "other", ""):
        with pytest.raises(ValueError, match="one of model, rig:PORT"):
            TABLE.parse(bad)


def test_both_systems_name_the_same_backends() -> None:
    names = ("golden", "amaranth", "icarus", "verilator", "serial:PORT")
    assert NAVIGATOR_BACKENDS.names() == names
    assert CROSSBAR_BACKENDS.names() == names


def test_navigator_entries() -> None:
    firmware = {n for n, e in NAVIGATOR_BACKENDS.items() if e.firmware}
    assert firmware == {"amaranth", "icarus", "verilator", "serial"}
    assert [n for n, e in NAVIGATOR_BACKENDS.items() if e.board] == ["serial"]


def test_crossbar_entries_say_where_a_seed_trains() -> None:
    where = {
        name: tuple(e.cocotb_simulator(d) for d in ("realistic", "emulator"))
        for name, e in CROSSBAR_BACKENDS.items()
    }
    # Verilator runs a design that holds the whole array (the emulator device) in
    # this process; a 1T1R model's port is served from the cocotb testbench.
    assert where == {
        "golden": (None, None),
        "amaranth": (None, None),
        "icarus": ("icarus", "icarus"),
        "verilator": ("verilator", None),
        "serial": (None, None),
    }
    assert [n for n, e in CROSSBAR_BACKENDS.items() if not e.has_engine] == ["golden"]
    assert CROSSBAR_BACKENDS["golden"].make_engine("") is None
    assert [n for n, e in CROSSBAR_BACKENDS.items() if e.board] == ["serial"]
