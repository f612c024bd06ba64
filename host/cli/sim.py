"""``memrl sim``: simulated boards."""

from __future__ import annotations

import click

from memrl.host.build.fpga import BOARDS
from memrl.host.cli.options import (
    crossbar_run_hint,
    device_option,
    firmware_config,
    firmware_options,
)
from memrl.sim.tools.runner import SIMULATORS


@click.group()
def sim() -> None:
    """Simulated boards."""


@sim.command("serve")
@click.option("--sim", "simulator", type=click.Choice(list(SIMULATORS)), default="verilator",
              show_default=True)  # fmt: skip
@click.option("--maze-size", default="30x30", show_default=True, metavar="ROWSxCOLS")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="The device model's seed (as --first-seed of maze run).")  # fmt: skip
@device_option
@firmware_options
@click.option("--board", "board_name", type=click.Choice(list(BOARDS)),
              default="ulx3s-85f",
              show_default=True,
              help="crossbar: the board whose firmware build to simulate (the ULX3S-25F's "
              "and the iCEBreaker's work in pieces).")  # fmt: skip
def sim_serve(
    simulator: str, maze_size: str, seed: int, device: str, firmware: str, env_id: str,
    preset: str, board_name: str,
) -> None:  # fmt: skip
    """Run the navigator (or crossbar) firmware's Verilog behind a pseudo-terminal until Ctrl-C.

    Point any serial client at the port it prints, for example
    memrl maze run --backend serial:PORT --seeds 1 --first-seed SEED --preset PRESET.
    """
    import signal
    import threading

    from memrl.sim.tools.uart_bridge import SIMBOARD_CLK_HZ, SIMBOARD_DIVISOR, SimBoard

    preset = preset or "default"
    try:
        if firmware == "crossbar":
            from memrl.host.crossbar.commands import board_firmware

            click.echo(f"building the crossbar firmware of {env_id} ({preset}) for {simulator} ...")
            b = BOARDS[board_name]
            top = board_firmware(env_id, preset, SIMBOARD_DIVISOR, SIMBOARD_CLK_HZ, b.crossbar)
            device = "emulator"  # the firmware's array is its emulator core
            board = SimBoard(simulator, None, seed, device, top=top)
            hint = "  " + crossbar_run_hint(env_id, preset, b, "{port}")
        else:
            rows, cols, config = firmware_config(maze_size, preset)
            click.echo(f"building the {rows}x{cols} navigator ({preset} rule) for {simulator} ...")
            board = SimBoard(simulator, config, seed, device)
            hint = (
                f"  memrl maze run --backend serial:{{port}} --seeds 1 --first-seed {seed} "
                f"--device {device} --preset {preset} --layout ... (a {rows}x{cols} maze)"
            )
    except (RuntimeError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    with board:
        click.echo(f"serving on {board.port} (seed {seed}, device {device}); Ctrl-C stops")
        click.echo(hint.format(port=board.port))
        # Ctrl-C sets a flag rather than raising, so it cannot land inside
        # Popen.poll (whose wait lock closing the board needs) or halfway through
        # the loop.
        stop = threading.Event()
        previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
        try:
            while board.proc.poll() is None and not stop.wait(0.5):
                pass
        finally:
            signal.signal(signal.SIGINT, previous)
        if stop.is_set():
            click.echo("stopped")
            return
    raise click.ClickException(f"the simulated board ended (log: {board.log})")
