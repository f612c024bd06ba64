"""``memrl rover``: the navigator on the Mars-rover terrain."""

from __future__ import annotations

import click
from tqdm import tqdm

from memrl.host.cli.options import backend_options, out_option
from memrl.sim.navigator.golden import PRESETS


@click.group()
def rover() -> None:
    """The navigator on the Mars-rover terrain."""


@rover.command("run")
@click.option("--trials", type=click.IntRange(min=1), default=100, show_default=True)
@click.option("--transfer-at", type=click.IntRange(min=1), default=75, show_default=True)
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
@click.option("--first-seed", type=click.IntRange(min=0), default=0, show_default=True)
@backend_options
@out_option("build/rover")
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
) -> None:  # noqa: ANN001
    """Steps per trial on the rover map, with and without transfer at --transfer-at."""
    from memrl.host.navigator.rover import RoverConfig, plot_rover, run_rover, summarise_rover

    cfg = RoverConfig(
        trials=trials,
        transfer_at=min(transfer_at, trials),
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
    try:
        with tqdm(total=trials, desc=f"rover ({seeds} seeds)", unit="trial") as bar:
            run_rover(cfg, out, progress=bar.update)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    except (OSError, RuntimeError) as exc:  # a port, a link, a firmware
        raise click.ClickException(f"backend {backend}: {exc}") from exc
    plot_rover(out)
    s = summarise_rover(out)
    for cond in ("transfer", "fresh"):
        for t in (4, 49, 74, 75, 94, trials - 1):
            if t in s[cond]:
                v = s[cond][t]
                click.echo(
                    f"{cond:8s} trial {t + 1:3d}: {v['steps_mean']:7.1f} +- "
                    f"{v['steps_sd']:5.1f} steps, cost {v['cost_mean']:.1f}"
                )
    click.echo(f"wrote trials.csv, summary.json, rover.png to {out}/")
