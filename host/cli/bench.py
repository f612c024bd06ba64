"""``memrl bench``: the benchmarks."""

from __future__ import annotations

from pathlib import Path

import click
from tqdm import tqdm


@click.command("bench")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("build/bench.json"),
    show_default=True,
)
@click.option("--only", multiple=True, help="Run only this benchmark (repeatable).")
@click.option("--repeats", type=click.IntRange(min=1), default=5, show_default=True)
@click.option(
    "--min-time",
    type=click.FloatRange(min=0.0),
    default=0.2,
    show_default=True,
    help="Seconds of work per repeat.",
)
def bench_cmd(out: Path, only: tuple[str, ...], repeats: int, min_time: float) -> None:
    """Run the benchmarks, merge the figures into a JSON file and print a table."""
    from memrl.host.bench import registry as b

    b._load_groups()
    names = list(only) or [*b.BENCHES, *b.EXPERIMENTS]
    try:
        with tqdm(total=len(names), desc="bench", unit="bench") as bar:
            results = b.run(out, names, repeats, min_time, progress=lambda _: bar.update())
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--only") from exc
    click.echo(b.table(results))
    click.echo(f"figures merged into {out}")
