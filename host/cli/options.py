"""Options and helpers that several command groups share."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from memrl.host.build.fpga import FIRMWARES, Board
from memrl.host.crossbar.qlearn import PRESETS as CONTROL_PRESETS
from memrl.host.navigator.backends import BACKENDS, RRAM_DEVICES

__all__ = ["out_option", "int_list", "device_option", "backend_options", "firmware_options",
           "firmware_config", "crossbar_run_hint"]  # fmt: skip


def out_option(default: str, help: str = "Output folder.") -> Callable:  # noqa: A002
    """The ``--out DIR`` option of every command that writes a folder."""
    return click.option(
        "--out",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path(default),
        show_default=True,
        help=help,
    )


#: The largest --first-seed: a run's seeds stay 64-bit signed integers in its CSV.
MAX_FIRST_SEED = 2**62


def first_seed_option(f: Callable) -> Callable:
    """``--first-seed``: the first agent's seed (the others follow it)."""
    return click.option(
        "--first-seed", type=click.IntRange(0, MAX_FIRST_SEED), default=0, show_default=True,
        help=f"The first agent's seed; the others count on from it (at most {MAX_FIRST_SEED}).",
    )(f)  # fmt: skip


#: The options a --config rerun may take beside it.
RERUN_OPTIONS = ("out", "force", "config_file", "resume", "backend")


def config_option(f: Callable) -> Callable:
    """``--config FILE``: rerun the run a config.json records."""
    return click.option(
        "--config", "config_file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
        default=None,
        help="Rerun the run this config.json records, with its settings (only --out, --force "
        "and --backend may be given beside it); the deterministic backends reproduce its CSV.",
    )(f)  # fmt: skip


def resume_option(f: Callable) -> Callable:
    """``--resume DIR``: continue an interrupted or failed run in its folder."""
    return click.option(
        "--resume", type=click.Path(file_okay=False, exists=True, path_type=Path), default=None,
        help="Continue the interrupted or failed run in this folder, with its settings (only "
        "--backend may be given beside it): its rows are kept and the rest run.",
    )(f)  # fmt: skip


def resumable(folder: Path, config_file: Path | None = None) -> Path:
    """The config.json of the run ``folder`` holds (``--resume``), after refusing a
    complete run (or no run) and a ``--config`` beside it."""
    if config_file is not None:
        raise click.UsageError("--resume continues a run with its own settings: drop --config")
    cfg = folder / "config.json"
    if not cfg.is_file():
        raise click.BadParameter(f"{folder} holds no run (no config.json)", param_hint="--resume")
    ctx = click.get_current_context()
    if ctx.get_parameter_source("out") is not click.core.ParameterSource.DEFAULT:
        raise click.UsageError("--resume continues a run in its own folder: drop --out")
    from memrl.host.runs import read_config

    if (read_config(cfg) or {}).get("status") == "complete":
        raise click.BadParameter(f"{folder} holds a complete run: nothing to resume",
                                 param_hint="--resume")  # fmt: skip
    return cfg


def rerun_settings(config_file: Path, kinds: tuple[str, ...], names: tuple[str, ...]) -> dict:
    """The settings ``names`` of the run ``config_file`` records (``backend`` only
    when ``--backend`` is not given), after refusing a file of another run type,
    a missing setting, and any run option given beside ``--config`` but those a
    rerun may change (:data:`RERUN_OPTIONS`)."""
    from memrl.host.runs import config_kind, read_config

    ctx = click.get_current_context()
    given = [
        p for p in ctx.command.params
        if p.name not in RERUN_OPTIONS
        and ctx.get_parameter_source(p.name) is not click.core.ParameterSource.DEFAULT
    ]  # fmt: skip
    if given:
        names = ", ".join(p.opts[0] for p in given)
        raise click.UsageError(f"--config reruns a run with its own settings: drop {names}")
    settings = read_config(config_file)
    if settings is None:
        raise click.BadParameter(f"{config_file}: not a run's config.json", param_hint="--config")
    kind = config_kind(settings)
    if kind not in kinds:
        raise click.BadParameter(
            f"{config_file} records a {kind or 'unknown'} run; this command reruns "
            f"{' or '.join(kinds)} runs",
            param_hint="--config",
        )
    backend_given = ctx.get_parameter_source("backend") is not click.core.ParameterSource.DEFAULT
    wanted = [n for n in names if not (n == "backend" and backend_given)]
    missing = [n for n in wanted if n not in settings]
    if missing:
        raise click.BadParameter(f"{config_file}: no setting {', '.join(missing)}",
                                 param_hint="--config")  # fmt: skip
    return {n: settings[n] for n in wanted}


def force_option(f: Callable) -> Callable:
    """``--force``: replace the run a non-empty ``--out`` folder holds."""
    return click.option(
        "--force", is_flag=True,
        help="Replace the run the --out folder holds (its files are removed first).",
    )(f)  # fmt: skip


def claim_out(out: Path, kind: str, force: bool) -> None:
    """Make ``out`` ready for a ``kind`` run, or stop with why (memrl.host.runs.claim)."""
    from memrl.host.runs import RunFolderError, claim

    try:
        claim(out, kind, force)
    except RunFolderError as exc:
        raise click.UsageError(str(exc)) from exc


def int_list(text: str, name: str) -> list[int]:
    """Positive integers from the comma-separated ``text`` of option ``name``."""
    items = text.split(",")
    if any(not x.strip() for x in items):
        raise click.BadParameter(f"{text!r}: an empty entry in the list", param_hint=name)
    try:
        out = [int(x) for x in items]
    except ValueError as exc:
        raise click.BadParameter(
            f"{text!r} is not a comma-separated list", param_hint=name
        ) from exc
    if not out or min(out) < 1:
        raise click.BadParameter(f"{text!r}: positive integers expected", param_hint=name)
    return out


def device_option(f: Callable) -> Callable:
    """``--device``: the navigator's RRAM device."""
    return click.option(
        "--device",
        type=click.Choice(list(RRAM_DEVICES)),
        default="siox",
        show_default=True,
        help="The SiOx device model, or the on-chip RRAM emulator (its Python twin for golden).",
    )(f)


def firmware_options(f: Callable) -> Callable:
    """``--firmware``, ``--env`` and ``--preset``: which firmware a board (or a
    simulated board) runs, and for the crossbar's, which network."""
    f = click.option("--preset", type=click.Choice(list(CONTROL_PRESETS)), default=None,
                     help="The rule the firmware runs: the crossbar run's preset (default: "
                     "default), or the navigator's, paper or default (default: the board's, "
                     "default on the ULX3S, paper on the iCEBreaker).")(f)  # fmt: skip
    f = click.option(
        "--env", "env_id", default="CartPole-v1", show_default=True, metavar="ENV_ID",
        help="crossbar: the environment whose network the firmware runs.",
    )(f)  # fmt: skip
    return click.option(
        "--firmware", type=click.Choice(list(FIRMWARES)), default="navigator",
        show_default=True,
        help="crossbar: the crossbar engine with its emulated array (every board holds it; "
        "the smaller ones work in pieces), for memrl cartpole|mountaincar run "
        "--backend serial:PORT.",
    )(f)  # fmt: skip


def backend_options(f: Callable) -> Callable:
    """``--backend`` and ``--device`` of the navigator's runs (docs/firmware/boards.md)."""
    f = device_option(f)
    return click.option(
        "--backend",
        default="golden",
        show_default=True,
        metavar="|".join(BACKENDS),
        help="The golden model; the firmware in amaranth.sim, or its Verilog on Icarus or "
        "Verilator behind a pseudo-terminal (one per seed); or a board on a serial port.",
    )(f)


def firmware_config(
    maze_size: str, preset: str = "default", terrain: bool = False
) -> tuple[int, int, object]:
    """Rows, columns and the core parameters of ``--maze-size ROWSxCOLS`` with the
    navigator rule of ``preset`` (``terrain``: on a cost map)."""
    from memrl.sim.navigator.golden import PRESETS
    from memrl.sim.navigator.session import rtl_config

    try:
        rows, cols = (int(v) for v in maze_size.lower().split("x"))
        return rows, cols, rtl_config(PRESETS[preset], (rows, cols), terrain)
    except ValueError as exc:
        raise click.BadParameter(
            f"{maze_size!r}: expected ROWSxCOLS, each 2-1024 ({exc})", param_hint="--maze-size"
        ) from exc


def crossbar_run_hint(env_id: str, preset: str, board: Board, port: str) -> str:
    """The run that talks to ``board``'s crossbar firmware on ``port``, with the
    pieces it was built with."""
    task = "mountaincar" if "MountainCar" in env_id else "cartpole"
    d = board.crossbar
    split = (
        ""
        if d.pass_samples is None
        else f" --pass-samples {d.pass_samples} --program-entries {d.program_entries}"
    )
    return (f"memrl {task} run --backend serial:{port} --device emulator --seeds 1 "
            f"--env {env_id} --preset {preset}{split}")  # fmt: skip
