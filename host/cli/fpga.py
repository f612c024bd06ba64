"""``memrl fpga``: bitstreams for the boards, and programming them."""

from __future__ import annotations

from pathlib import Path

import click
from tqdm import tqdm

from memrl.host.build.fpga import BOARDS, FIRMWARES
from memrl.host.cli.options import crossbar_run_hint, firmware_config, firmware_options, out_option


@click.group()
def fpga() -> None:
    """Bitstreams of the navigator SoC for the boards, and programming them."""


@fpga.command("build")
@click.option("--board", type=click.Choice(list(BOARDS)), required=True)
@firmware_options
@click.option(
    "--maze-size", default=None, metavar="ROWSxCOLS",
    help="Default: 30x30, the largest shipped maze (both boards hold it).",
)  # fmt: skip
@click.option(
    "--seed", type=click.IntRange(min=0), default=0, show_default=True,
    help="The seed of the on-chip RRAM emulator's devices (as --first-seed of maze run).",
)  # fmt: skip
@click.option(
    "--terrain", is_flag=True,
    help="A cost-map build (the rover's, memrl rover run): the default rule's core holds "
    "each place's entry cost and plans the cheapest path.",
)  # fmt: skip
@click.option(
    "--traj-depth", type=click.IntRange(2, 1 << 16), default=1024, show_default=True,
    help="Trajectory places kept per trial: a cost-map run reads them all (max steps + 1).",
)  # fmt: skip
@click.option("--baud", type=click.IntRange(min=1200), default=115_200, show_default=True)
@click.option("--pnr-seed", type=click.IntRange(min=1), default=1, show_default=True)
@out_option("build/fpga/BOARD", "Output folder (default build/fpga/<board>).")
def fpga_build(
    board: str, firmware: str, env_id: str, preset: str, maze_size: str | None, seed: int,
    terrain: bool, traj_depth: int, baud: int, pnr_seed: int, out: Path,
) -> None:  # fmt: skip
    """Synthesise, place and route the navigator (or crossbar) SoC; writes the
    bitstream and report.json."""
    from memrl.host.build.fpga import BuildFailed, build
    from memrl.sim.tools.simulators import ToolMissing

    preset = preset or (BOARDS[board].navigator_preset if firmware == "navigator" else "default")
    if firmware == "crossbar" and terrain:
        raise click.BadParameter("a cost map is the navigator's", param_hint="--terrain")
    rows, cols, config = firmware_config(maze_size or BOARDS[board].maze_size, preset, terrain)
    if str(out) == "build/fpga/BOARD":
        out = Path("build/fpga") / board
    what = (f"crossbar SoC of {env_id} ({preset})" if firmware == "crossbar"
            else f"{rows}x{cols} navigator SoC ({preset} rule{', terrain' * terrain})")  # fmt: skip
    click.echo(f"building the {what} for the {board} into {out}/ ...")
    with tqdm(desc="yosys, nextpnr", unit="s", bar_format="{desc}: {elapsed}") as bar:

        def tick(phase: str) -> None:
            bar.set_description_str(phase)
            bar.update()

        try:
            r = build(board, out, config, seed, baud, traj_depth, pnr_seed=pnr_seed,
                      progress=tick, firmware=firmware, env_id=env_id, preset=preset)  # fmt: skip
        except (BuildFailed, ToolMissing, ValueError) as exc:
            msg = str(exc)
            if firmware == "navigator" and preset != "paper" and "does not fit" in msg:
                msg += " (the default rule's knowledge and planner; --preset paper builds "
                msg += "the paper rule's SoC)"
            raise click.ClickException(msg) from exc
    click.echo(
        f"wrote {out / r['bitstream']}: {r['luts']} LUTs, {r['ffs']} FFs, {r['brams']} block "
        f"RAMs; Fmax {r['fmax_mhz']} MHz at a {r['clock_mhz']:g} MHz clock "
        f"(timing {'met' if r['timing_met'] else 'NOT met'}); report.json"
    )
    if firmware == "crossbar":
        b = BOARDS[board]
        click.echo("run it with: " + crossbar_run_hint(env_id, preset, b, "PORT"))
    elif terrain:
        click.echo(
            f"run it with: memrl rover run --backend serial:PORT --seeds 1 --first-seed {seed} "
            f"--device emulator --preset {preset} --max-steps {traj_depth - 1} "
            "--trials N --transfer-at N (a board runs no fresh condition)"
            + ("" if (rows, cols) == (128, 128) else
               f"; the rover's map is 128x128, this build's {rows}x{cols}")
        )  # fmt: skip
    else:
        click.echo(
            f"run it with: memrl maze run --backend serial:PORT --seeds 1 --first-seed {seed} "
            f"--device emulator --preset {preset} --layout ... (a {rows}x{cols} maze)"
        )


@fpga.command("program")
@click.option("--board", type=click.Choice(list(BOARDS)), required=True)
@click.option(
    "--bitstream", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Default: build/fpga/<board>/<firmware>.bin (iCE40) or .bit (ECP5).",
)  # fmt: skip
@click.option("--firmware", type=click.Choice(list(FIRMWARES)), default="navigator",
              show_default=True)  # fmt: skip
def fpga_program(board: str, bitstream: Path | None, firmware: str) -> None:
    """Load a bitstream with the board's programmer (iceprog, openFPGALoader, fujprog)."""
    from memrl.host.build.fpga import program
    from memrl.sim.tools.simulators import ToolMissing

    path = bitstream or Path("build/fpga") / board / f"{firmware}.{BOARDS[board].bitstream}"
    try:
        click.echo(program(board, path))
    except (ToolMissing, FileNotFoundError, ValueError, RuntimeError) as exc:
        raise click.ClickException(str(exc)) from exc
