"""Verilog of the tops: written, and clean under Verilator's lint with the documented waivers."""

from __future__ import annotations

import pytest

from memrl.host.build.verilog import LINT_WAIVERS, lint, write_verilog


@pytest.mark.verilator
@pytest.mark.parametrize(
    "top",
    [
        "navigator",
        "navigator_default_rmw",
        "crossbar_engine",
        "crossbar_emulator",
        "crossbar_system",
    ],  # fmt: skip
)
def test_top_verilog_is_lint_clean(tmp_path, top):
    (path,) = write_verilog(tmp_path, [top])
    assert f"module {top}" in path.read_text()
    assert lint(path) == []


@pytest.mark.verilator
def test_lint_reports_what_is_not_waived(tmp_path):
    bad = tmp_path / "foo.v"  # an output nothing drives: UNDRIVEN
    bad.write_text("module foo(input wire a, output wire b);\nendmodule\n")
    problems = lint(bad)
    assert problems and any("UNDRIVEN" in p for p in problems)
    assert "UNDRIVEN" not in LINT_WAIVERS


def test_unknown_top_is_named(tmp_path):
    with pytest.raises(ValueError, match="unknown top"):
        write_verilog(tmp_path, ["nope"])
