"""``memrl verilog``: the RTL tops' Verilog, linted."""

from __future__ import annotations

import sys
from pathlib import Path

import click


@click.command("verilog")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("build/verilog"),
    show_default=True,
)
@click.option("--top", "tops", multiple=True, help="Only this top (repeatable).")
@click.option("--lint/--no-lint", default=True, show_default=True, help="verilator --lint-only.")
def verilog_cmd(out: Path, tops: tuple[str, ...], lint: bool) -> None:
    """Write the Verilog of the RTL tops and lint it with Verilator."""
    from memrl.host.build import verilog as rtl_build
    from memrl.sim.tools.simulators import ToolMissing

    try:
        paths = rtl_build.write_verilog(out, list(tops) or None)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--top") from exc
    failed = False
    for path in paths:
        click.echo(f"wrote {path}")
        if lint:
            try:
                problems = rtl_build.lint(path)
            except ToolMissing as exc:
                raise click.ClickException(str(exc)) from exc
            for line in problems:
                click.echo(line, err=True)
            failed |= bool(problems)
            verdict = "FAILED" if problems else "clean (waivers: docs/navigator/rtl.md)"
            click.echo(f"  lint: {verdict}")
    sys.exit(1 if failed else 0)
