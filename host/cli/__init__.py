"""The ``memrl`` command line: one module per command group, gathered here."""

from __future__ import annotations

import click

from memrl.host.cli.bench import bench_cmd
from memrl.host.cli.control import cartpole, mountaincar
from memrl.host.cli.devices import devices
from memrl.host.cli.doctor import doctor
from memrl.host.cli.fpga import fpga
from memrl.host.cli.maze import maze
from memrl.host.cli.rover import rover
from memrl.host.cli.sim import sim
from memrl.host.cli.verilog import verilog_cmd

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="memrl")
def main() -> None:
    """memrl: reinforcement learning on resistive-memory hardware."""


for command in (doctor, devices, maze, rover, cartpole, mountaincar, fpga, sim, verilog_cmd,
                bench_cmd):  # fmt: skip
    main.add_command(command)


if __name__ == "__main__":
    main()
