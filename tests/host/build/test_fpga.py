"""The navigator and crossbar SoCs for the boards: they elaborate, a build
writes a bitstream and its report, and programming names what is missing."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from memrl.firmware.navigator import NavigatorSoC
from memrl.host.build.fpga import BOARDS, _demand, build
from memrl.host.cli import main
from memrl.rtl.navigator.core import NavigatorConfig
from memrl.sim.crossbar.session import SystemDesign
from memrl.sim.devices.emulator import EmulatorModel


@pytest.mark.parametrize("board", sorted(BOARDS))
def test_the_soc_elaborates_for_each_board(board: str) -> None:
    platform = BOARDS[board].platform()
    emulator = EmulatorModel.from_siox(9 * 30, 1)
    soc = NavigatorSoC(NavigatorConfig(height=5, width=6), emulator)
    plan = platform.prepare(soc, name="nav")
    files = plan.files
    assert "nav.il" in files and "build_nav.sh" in files
    # the UART pins and the LED are constrained
    constraints = next(v for k, v in files.items() if k.endswith((".pcf", ".lpf")))
    assert constraints.count("uart_0__") >= 2 and "led_0" in constraints


def test_the_ulx3s_crossbar_soc_works_in_pieces() -> None:
    """The 25F's crossbar firmware: passes of 16 samples, PROGRAMs of 1,024
    entries, a four-lane emulator; it elaborates for the board."""
    from memrl.firmware.crossbar import CrossbarSoC
    from memrl.host.crossbar.commands import board_network

    b = BOARDS["ulx3s"]
    config, model = board_network("CartPole-v1", "default", b.crossbar)
    assert (config.max_batch, config.max_program, b.crossbar.lanes) == (16, 1024, 4)
    soc = CrossbarSoC(config, model, lanes=b.crossbar.lanes)
    plan = b.platform().prepare(soc, name="xb")
    assert "uart_0__" in plan.files["xb.lpf"]


def test_the_icebreaker_crossbar_soc_uses_spram_and_no_engine_multipliers() -> None:
    """The iCEBreaker's crossbar firmware: passes of 8 samples, PROGRAMs of 256
    entries, a one-lane emulator; the codes and the activations in memories for
    the UP5K's SPRAM (named for the build's script, which drops their initial
    contents), products by shift-and-add. The board's IDENTIFY id is the one a
    host computes for the same network."""
    from memrl.firmware.crossbar import CrossbarSoC
    from memrl.host.build.fpga import SCRIPT_AFTER_READ
    from memrl.host.crossbar.commands import board_network
    from memrl.rtl.crossbar.commands import crossbar_config_id
    from memrl.rtl.crossbar.engine import SPRAM_PREFIX

    b = BOARDS["icebreaker"]
    d = b.crossbar
    config, model = board_network("CartPole-v1", "default", d)
    assert (config.max_batch, config.max_program, d.lanes) == (8, 256, 1)
    assert config.serial_products and d.spram
    plain, _ = board_network("CartPole-v1", "default", replace(d, serial_products=False))
    assert crossbar_config_id(config, model) == crossbar_config_id(plain, model)
    soc = CrossbarSoC(config, model, lanes=d.lanes, spram=d.spram)
    plan = b.platform().prepare(soc, name="xb")
    rtlil = plan.files["xb.il"]
    for name in ("gmem0", "act"):
        assert f"{SPRAM_PREFIX}{name}" in rtlil
    assert rtlil.count('ram_style "huge"') == 2
    assert f"*{SPRAM_PREFIX}*" in SCRIPT_AFTER_READ["ice40"]


def test_the_crossbar_soc_elaborates_for_the_ulx3s_85f() -> None:
    from memrl.firmware.crossbar import CrossbarSoC
    from memrl.host.crossbar.commands import board_network
    from memrl.sim.crossbar.golden import CrossbarConfig

    config, model = board_network("CartPole-v1", "default", SystemDesign(pass_samples=4))
    assert config.layers[0].n_in == 4 and config.max_batch == 4
    assert CrossbarConfig().sizes[1:-1] == tuple(ly.n_in for ly in config.layers[1:])
    plan = BOARDS["ulx3s-85f"].platform().prepare(CrossbarSoC(config, model), name="xb")
    constraints = plan.files["xb.lpf"]
    assert constraints.count("uart_0__") >= 2 and "led_0" in constraints
    with pytest.raises(ValueError, match="firmware must be one of"):
        build("ulx3s-85f", Path("unused"), firmware="vhdl")


def test_nextpnr_utilisation_is_read_from_its_log() -> None:
    log = (
        "Info: Device utilisation:\nInfo: \t  ICESTORM_LC:  6251/  5280   118%\n"
        "Info: \t ICESTORM_RAM:    26/    30    86%\nInfo: \t  SB_IO:     0/   96     0%\n"
    )
    assert _demand(log) == {"ICESTORM_LC": [6251, 5280], "ICESTORM_RAM": [26, 30]}


def test_the_ecp5_boards_build_row_words_read_modify_write() -> None:
    """The ECP5's block RAMs have no bit mask: its boards' SoCs write the default
    rule's row words whole, and drop the SPRAM hint of large maps."""
    from memrl.host.build.fpga import SCRIPT_AFTER_READ

    assert {b: BOARDS[b].rmw_rows for b in BOARDS} == {
        "icebreaker": False, "ulx3s": True, "ulx3s-85f": True,
    }  # fmt: skip
    assert "ram_style" in SCRIPT_AFTER_READ["ecp5"]
    soc = NavigatorSoC(NavigatorConfig(height=5, width=6), None, rmw_rows=True)
    assert soc.firmware(25_000_000, 217).core.rmw_rows


def test_a_cost_map_build_is_the_navigators() -> None:
    res = CliRunner().invoke(main, ["fpga", "build", "--board", "ulx3s", "--firmware",
                                    "crossbar", "--terrain"])  # fmt: skip
    assert res.exit_code == 2 and "a cost map is the navigator's" in res.output


def test_a_terrain_build_is_named_by_its_rule() -> None:
    """A build for cost maps (the default rule holding entry costs) is named by its
    rule in the build report, as a maze build is."""
    from memrl.host.build.fpga import rule_name
    from memrl.sim.navigator.golden import PRESETS
    from memrl.sim.navigator.session import rtl_config

    terrain = rtl_config(PRESETS["default"], (16, 16), terrain=True)
    assert terrain.terrain and rule_name(terrain) == "default"
    assert rule_name(rtl_config(PRESETS["default"], (16, 16))) == "default"


def test_program_names_the_missing_pieces(tmp_path: Path) -> None:
    res = CliRunner().invoke(main, ["fpga", "program", "--board", "icebreaker",
                                    "--bitstream", str(tmp_path / "x.bin")])  # fmt: skip
    assert res.exit_code == 1 and "no such bitstream" in res.output
    bit = tmp_path / "x.bit"
    bit.write_bytes(b"\0")
    res = CliRunner().invoke(main, ["fpga", "program", "--board", "icebreaker",
                                    "--bitstream", str(bit)])  # fmt: skip
    assert res.exit_code == 1 and "takes a .bin bitstream" in res.output


@pytest.mark.slow
@pytest.mark.fpga
def test_ulx3s_build_writes_a_bitstream_that_meets_timing(tmp_path: Path) -> None:
    r = build("ulx3s", tmp_path, NavigatorConfig(height=9, width=9), seed=0)
    assert r["built"] and r["timing_met"] and r["fmax_mhz"] > r["clock_mhz"] == 25.0
    assert (tmp_path / "navigator.bit").stat().st_size == r["bitstream_bytes"] > 100_000
    assert json.loads((tmp_path / "report.json").read_text()) == r
    assert r["luts"] > 1000 and r["brams"] >= 1


@pytest.mark.slow
@pytest.mark.fpga
def test_icebreaker_build_of_the_30x30_navigator_fits_and_meets_timing(tmp_path: Path) -> None:
    """The dynamic maze's SoC (serial emulator) on the UP5K."""
    r = build("icebreaker", tmp_path, NavigatorConfig(height=30, width=30), seed=0)
    assert r["built"] and r["timing_met"] and r["clock_mhz"] == 12.0 and r["serial_emulator"]
    used, available = r["placed"]["ICESTORM_LC"]
    assert used <= available == 5280
    assert (tmp_path / "navigator.bin").stat().st_size == r["bitstream_bytes"] > 100_000


@pytest.mark.slow
@pytest.mark.fpga
def test_ulx3s_85f_build_of_the_rover_default_rule(tmp_path: Path) -> None:
    """The default rule on the 128 x 128 rover's cost map (entry costs, the
    cheapest path; row words read-modify-write) with 4,096 trajectory places, on
    the ECP5-85F at the board's 25 MHz: about 12 minutes."""
    from memrl.sim.navigator.golden import PRESETS
    from memrl.sim.navigator.session import rtl_config

    config = rtl_config(PRESETS["default"], (128, 128), terrain=True)
    r = build("ulx3s-85f", tmp_path, config, seed=0, traj_depth=4096)
    assert r["built"] and r["timing_met"] and r["clock_mhz"] == 25.0
    assert (r["rule"], r["terrain"], r["rmw_rows"]) == ("default", True, True)
    used, available = r["placed"]["DP16KD"]
    assert 56 < used <= available == 208  # more block RAM than the ECP5-25F has


@pytest.mark.slow
@pytest.mark.fpga
def test_ulx3s_85f_build_of_the_crossbar_firmware(tmp_path: Path) -> None:
    """The cart-pole network's engine with its emulated array, its buffers and the
    link on the ULX3S's ECP5-85F, at the board's 25 MHz."""
    r = build("ulx3s-85f", tmp_path, firmware="crossbar")
    assert r["built"] and r["timing_met"] and r["clock_mhz"] == 25.0
    assert (tmp_path / "crossbar.bit").stat().st_size == r["bitstream_bytes"] > 100_000
    used, available = r["placed"]["DP16KD"]
    assert 56 < used <= available  # more block RAM than the ECP5-25F has


@pytest.mark.slow
@pytest.mark.fpga
def test_ulx3s_25f_build_of_the_crossbar_firmware_in_pieces(tmp_path: Path) -> None:
    """The 25F's crossbar firmware (passes of 16 samples, PROGRAMs of 1,024
    entries, four lanes) fits its block RAMs and multipliers at 25 MHz."""
    r = build("ulx3s", tmp_path, firmware="crossbar")
    assert r["built"] and r["timing_met"] and r["clock_mhz"] == 25.0
    assert (r["pass_samples"], r["program_entries"], r["lanes"]) == (16, 1024, 4)
    for cell in ("DP16KD", "MULT18X18D"):
        used, available = r["placed"][cell]
        assert 0 < used <= available == {"DP16KD": 56, "MULT18X18D": 28}[cell]


@pytest.mark.slow
@pytest.mark.fpga
def test_icebreaker_build_of_the_crossbar_firmware(tmp_path: Path) -> None:
    """The iCEBreaker's crossbar firmware (passes of 8 samples, PROGRAMs of 256
    entries, one lane, SPRAM, shift-and-add products) fits the UP5K's logic
    cells, block RAMs and multipliers and meets timing at 12 MHz."""
    r = build("icebreaker", tmp_path, firmware="crossbar")
    assert r["built"] and r["timing_met"] and r["clock_mhz"] == 12.0
    assert (r["pass_samples"], r["program_entries"], r["lanes"]) == (8, 256, 1)
    assert r["spram"] and r["serial_products"]
    for cell in ("ICESTORM_LC", "ICESTORM_RAM", "ICESTORM_DSP", "ICESTORM_SPRAM"):
        used, available = r["placed"][cell]
        assert 0 < used <= available
    assert r["placed"]["ICESTORM_SPRAM"][0] == 3  # the codes, the activations (24 bits)
    assert (tmp_path / "crossbar.bin").stat().st_size == r["bitstream_bytes"] > 100_000
