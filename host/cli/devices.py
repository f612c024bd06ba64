"""``memrl devices``: the RRAM device models."""

from __future__ import annotations

from pathlib import Path

import click
from tqdm import tqdm

from memrl.host.cli.options import out_option


@click.group()
def devices() -> None:
    """RRAM device models."""


@devices.command("characterise")
@out_option("build/demo", help="Folder for the PNG figures and characterisation.json.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
def characterise_cmd(out: Path, seed: int) -> None:
    """Characterise the 1T1R and SiOx models: G vs Vg, pair weights, LRS vs Ic, HRS vs V_STOP."""
    from memrl.host.devices.characterise import FIGURES, CharacteriseConfig, characterise

    try:
        out.mkdir(parents=True, exist_ok=True)
        with tqdm(total=len(FIGURES), desc="characterise", unit="fig") as bar:
            summary = characterise(
                CharacteriseConfig(seed=seed), out, progress=lambda _: bar.update()
            )
    except OSError as exc:
        where = exc.filename or out
        raise click.ClickException(
            f"--out {out}: cannot write {where} ({exc.strerror or exc})"
        ) from exc
    figs = summary["figures"]
    click.echo(f"wrote {len(figs)} figures and characterisation.json to {out}/")
    click.echo(f"  1T1R fitted SET slope: {figs['onet1r_g_vs_vg']['fitted_slope_us_per_v']} uS/V")
    click.echo(f"  pair weights: error sigma {figs['onet1r_pair_weights']['error_sigma']}")
    click.echo(
        "  SiOx LRS vs table: max relative error "
        f"{figs['siox_lrs_vs_ic']['max_rel_error_vs_table']:.1%}"
    )
