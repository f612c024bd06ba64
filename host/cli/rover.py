"""``memrl rover``: the navigator on the Mars-rover terrain."""

from __future__ import annotations

import sys

import click
from tqdm import tqdm

from memrl.host.cli.options import (
    backend_options,
    claim_out,
    config_option,
    first_seed_option,
    force_option,
    out_option,
    rerun_settings,
    resumable,
    resume_option,
)
from memrl.sim.navigator.golden import PRESETS


@click.group()
def rover() -> None:
    """The navigator on the Mars-rover terrain."""


@rover.command("run")
@click.option("--trials", type=click.IntRange(min=1), default=100, show_default=True)
@click.option(
    "--transfer-at", type=click.IntRange(min=1), default=None,
    help="The goal moves after this trial (trials count from 1: with 75 the first 75 trials "
    "seek the first goal, trial 76 on the moved one); at most --trials (equal: no transfer, "
    "and no fresh condition). Default: three quarters of --trials (75 of 100).",
)  # fmt: skip
@click.option("--max-steps", type=click.IntRange(min=1), default=5000, show_default=True)
@click.option("--seeds", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--terrain-seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option(
    "--cost-file",
    type=click.Path(dir_okay=False, exists=True),
    default=None,
    help="A 128x128 cost map (.npy or CSV) instead of the generated terrain.",
)
@click.option("--preset", type=click.Choice(list(PRESETS)), default="default", show_default=True)
@first_seed_option
@backend_options
@out_option("build/rover")
@force_option
@config_option
@resume_option
def rover_run(  # noqa: PLR0913
    trials,
    transfer_at,
    max_steps,
    seeds,
    terrain_seed,
    cost_file,
    preset,
    first_seed,
    backend,
    device,
    out,
    force,
    config_file,
    resume,
) -> None:  # noqa: ANN001
    """Steps per trial on the rover map, with and without transfer at --transfer-at.

    Trials count from 1, in --transfer-at, trials.csv, the summary and rover.png."""
    if resume is not None:  # the run in that folder, continued
        config_file, out = resumable(resume, config_file), resume
    if config_file is not None:  # a rerun: the recorded settings
        old = rerun_settings(config_file, ("rover",), (
            "trials", "transfer_at", "max_steps", "seeds", "terrain_seed", "cost_file", "preset",
            "first_seed", "device", "backend"))  # fmt: skip
        trials, transfer_at, max_steps = old["trials"], old["transfer_at"], old["max_steps"]
        seeds, terrain_seed, cost_file = old["seeds"], old["terrain_seed"], old["cost_file"]
        preset, first_seed, device = old["preset"], old["first_seed"], old["device"]
        backend = old.get("backend", backend)
    from memrl.host.navigator.rover import (
        RoverConfig,
        plot_rover,
        run_rover,
        slow_simulation,
        summarise_rover,
    )
    from memrl.host.runs import sigterm_as_interrupt

    if transfer_at is None:
        transfer_at = max(1, round(0.75 * trials))
        click.echo(f"the goal moves after trial {transfer_at}")
    if transfer_at > trials:
        raise click.BadParameter(
            f"{transfer_at} is past the run's last trial (--trials {trials}): at most "
            f"{trials}, which runs no transfer",
            param_hint="--transfer-at",
        )
    cfg = RoverConfig(
        trials=trials,
        transfer_at=transfer_at,
        max_steps=max_steps,
        seeds=seeds,
        terrain_seed=terrain_seed,
        cost_file=cost_file,
        preset=preset,
        first_seed=first_seed,
        backend=backend,
        device=device,
    )
    try:
        cfg.check()
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    if slow_simulation(cfg):
        click.echo(
            f"note: --backend {backend} simulates the {preset} rule's 128x128 terrain firmware "
            "at about 10,000 clock cycles a second: each board (one per seed, and the fresh "
            "condition's) takes about 5 minutes to start, a trial about half a minute plus "
            "its steps; --backend golden writes the same trials.csv in seconds "
            "(docs/navigator/rtl.md, Terrain)"
        )
    if resume is None:
        claim_out(out, "rover", force)
    interrupted = False
    try:
        with tqdm(total=trials, desc=f"rover ({seeds} seeds)", unit="trial") as bar:
            with sigterm_as_interrupt():
                run_rover(cfg, out, progress=bar.update, resume=resume is not None)
    except KeyboardInterrupt:
        interrupted = True
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    except (OSError, RuntimeError) as exc:  # a port, a link, a firmware
        where = "" if backend == "golden" else f"backend {backend}: "
        raise click.ClickException(f"{where}{exc}") from exc
    if not (out / "trials.csv").exists() or len((out / "trials.csv").read_text().splitlines()) < 2:
        click.echo(f"interrupted before the first trial; {out}/config.json says so")
        sys.exit(130)
    plot_rover(out)
    s = summarise_rover(out)
    for cond in ("transfer", "fresh"):
        for t in sorted({5, 50, transfer_at, transfer_at + 1, 95, trials}):
            if t in s[cond]:
                v = s[cond][t]
                click.echo(
                    f"{cond:8s} trial {t:3d}: {v['steps_mean']:7.1f} +- "
                    f"{v['steps_sd']:5.1f} steps, cost {v['cost_mean']:.1f}"
                )
    click.echo(f"wrote trials.csv, summary.json, rover.png to {out}/")
    if interrupted:
        click.echo(f"interrupted: the trials run so far are kept in {out}/trials.csv")
        sys.exit(130)
