"""``memrl doctor``: the external tools."""

from __future__ import annotations

import sys

import click


@click.command()
def doctor() -> None:
    """Check the external tools (Icarus, Verilator, YoWASP)."""
    from memrl.sim.tools.simulators import report

    lines, ok = report()
    click.echo("\n".join(lines))
    sys.exit(0 if ok else 1)
