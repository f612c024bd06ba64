"""``memrl cartpole`` and ``memrl mountaincar``: the Q-learning agent on the crossbar."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import click

from memrl.host.cli.options import (
    claim_out,
    config_option,
    first_seed_option,
    force_option,
    int_list,
    out_option,
    rerun_settings,
    resumable,
    resume_option,
)
from memrl.host.crossbar.backends import BACKENDS, CROSSBAR_BACKENDS
from memrl.host.crossbar.config import AGENTS, SWEEP_PARAMS, ConfigError, ControlRunConfig
from memrl.host.crossbar.control import DEVICES
from memrl.host.crossbar.qlearn import PRESETS

__all__ = ["cartpole", "mountaincar"]

# The ControlRunConfig field each command-line option sets (for error messages).
_CONTROL_OPTIONS = {
    "task": "TASK",
    "env_id": "--env",
    "agent": "--agent",
    "preset": "--preset",
    "device": "--device",
    "adc_bits": "--adc-bits",
    "c2c_frac": "--c2c",
    "stuck_rate": "--stuck-rate",
    "drift_nu": "--drift",
    "pass_samples": "--pass-samples",
    "program_entries": "--program-entries",
    "episodes": "--episodes",
    "seeds": "--seeds",
    "first_seed": "--first-seed",
    "backend": "--backend",
    "max_steps": "--max-steps",
    "watch": "--watch",
    "jobs": "--jobs",
    "param": "--param",
    "values": "--values",
}


def _control_options(task: str, env_id: str, episodes: int) -> Callable:
    """The options shared by ``cartpole``/``mountaincar`` ``run`` and ``sweep``."""
    options = [
        click.option(
            "--agent",
            type=click.Choice(list(AGENTS)),
            default="crossbar",
            show_default=True,
            help="The network on the simulated array, or float weights (software baseline).",
        ),
        click.option(
            "--preset",
            type=click.Choice(list(PRESETS)),
            default="default",
            show_default=True,
            help="paper: the published algorithm and write scheme; default: this project's.",
        ),
        click.option(
            "--env",
            "env_id",
            default=env_id,
            show_default=True,
            metavar="ENV_ID",
            help="Gymnasium environment id (discrete actions, flat observations).",
        ),
        click.option("--episodes", type=click.IntRange(min=1), default=episodes, show_default=True),
        click.option(
            "--seeds",
            type=click.IntRange(min=1),
            default=10,
            show_default=True,
            help="Number of agents (seeds first-seed ... first-seed + seeds - 1).",
        ),
        first_seed_option,
        click.option(
            "--backend",
            default="golden",
            show_default=True,
            metavar="|".join(BACKENDS),
            help="Where the crossbar's digital side runs: the Python golden model, the "
            "crossbar engine in amaranth.sim or as Verilog on Icarus or Verilator (under "
            "cocotb; in-process with --device emulator), or the crossbar firmware on a "
            "board's serial port (--device emulator, one seed; docs/crossbar/rtl.md).",
        ),
        click.option(
            "--device",
            type=click.Choice(list(DEVICES)),
            default="realistic",
            show_default=True,
            help="Set of device non-idealities; the next four options override single ones. "
            "emulator: the on-chip 1T1R emulator's integer model (the array inside the "
            "design on the RTL backends).",
        ),
        click.option(
            "--adc-bits", type=click.IntRange(2, 16), default=None, help="Column ADC bits."
        ),
        click.option(
            "--c2c",
            type=click.FloatRange(min=0.0),
            default=None,
            help="Cycle-to-cycle noise as a multiple of the device model's.",
        ),
        click.option(
            "--stuck-rate",
            type=click.FloatRange(0.0, 1.0),
            default=None,
            help="Fraction of stuck devices.",
        ),
        click.option(
            "--drift",
            type=click.FloatRange(min=0.0),
            default=None,
            help="Power-law conductance drift exponent.",
        ),
        click.option(
            "--pass-samples",
            type=click.IntRange(min=1),
            default=None,
            help="Forward passes of at most this many samples, each through every layer "
            "(a board built with a smaller engine: memrl fpga build prints its values).",
        ),
        click.option(
            "--program-entries",
            type=click.IntRange(min=1),
            default=None,
            help="Writes of at most this many devices, each RESET then SET.",
        ),
        click.option(
            "--stop-when-solved/--no-stop-when-solved",
            default=False,
            show_default=True,
            help="End a seed once it meets its environment's solve rule.",
        ),
        click.option(
            "--max-steps",
            type=click.IntRange(min=1),
            default=None,
            help="Episode step cap (default: the environment's own; 1001 for "
            "memrl/PaperCartPole-v0, 1000 for memrl/PaperMountainCar-v0).",
        ),
        click.option(
            "--watch",
            default=None,
            metavar="E1,E2,...",
            help="Episodes whose states and array are saved (views/) and drawn.",
        ),
        click.option(
            "--jobs",
            type=click.IntRange(min=1),
            default=None,
            help="Worker processes (default: one per seed, at most one per CPU).",
        ),
    ]

    def decorate(f: Callable) -> Callable:
        for opt in reversed(options):
            f = opt(f)
        return f

    return decorate


def _control_config(task: str, opts: dict) -> ControlRunConfig:
    """A ControlRunConfig from the shared options; bad values name their option."""
    watch = tuple(int_list(opts["watch"], "--watch")) if opts["watch"] else ()
    try:
        return ControlRunConfig(
            task=task,
            env_id=opts["env_id"],
            agent=opts["agent"],
            preset=opts["preset"],
            device=opts["device"],
            adc_bits=opts["adc_bits"],
            c2c_frac=opts["c2c"],
            stuck_rate=opts["stuck_rate"],
            drift_nu=opts["drift"],
            pass_samples=opts["pass_samples"],
            program_entries=opts["program_entries"],
            episodes=opts["episodes"],
            seeds=opts["seeds"],
            first_seed=opts["first_seed"],
            backend=opts["backend"],
            stop_when_solved=opts["stop_when_solved"],
            max_steps=opts["max_steps"],
            watch=watch,
            jobs=opts["jobs"],
        )
    except ConfigError as exc:
        raise click.BadParameter(str(exc), param_hint=_CONTROL_OPTIONS[exc.param]) from exc


def _solve_cell(summary: dict) -> str:
    med = summary["median"]
    if summary["solve_rule"] is None:
        return "no rule"
    if med["episodes_to_solve"] is None:
        return "-"
    if summary["seeds_solved"] == 0:
        return f"none in {summary['episode_budget']}"
    cell = f"{med['episodes_to_solve']:g}"
    return f">= {cell}" if med["episodes_to_solve_censored"] else cell


def _control_table(rows: list[tuple[str, dict]], first: str | None = None) -> str:
    """Seeds solved, median solve episode and pulses per step, one line per summary."""
    head = ["seeds solved", "median solve episode", "pulses/step"]
    if first:
        head.insert(0, first)
    lines = []
    for label, s in rows:
        pps = s["median"]["pulses_per_step"]
        cells = [
            f"{s['seeds_solved']}/{s['seeds']}",
            _solve_cell(s),
            "-" if pps is None else f"{pps:.3g}",
        ]
        if first:
            cells.insert(0, label)
        lines.append(cells)
    widths = [max(len(h), *(len(r[i]) for r in lines)) for i, h in enumerate(head)]
    fmt = "  ".join(f"{{:>{w}}}" for w in widths)
    return "\n".join([fmt.format(*head), *(fmt.format(*r) for r in lines)])


#: The option (keyword) of each ControlRunConfig setting a config.json records.
_RERUN_KEYS = {"c2c_frac": "c2c", "drift_nu": "drift"}


def _rerun_options(task: str, config_file: Path, opts: dict) -> dict:
    """The options of the run ``config_file`` records (a --config rerun)."""
    keys = tuple(k for k in ControlRunConfig.__dataclass_fields__ if k != "task")
    out = dict(opts)
    for key, value in rerun_settings(config_file, (task,), keys).items():
        out[_RERUN_KEYS.get(key, key)] = ",".join(map(str, value)) if key == "watch" else value
    return out


def _control_run(
    task: str, out: Path, opts: dict, force: bool = False, resume: bool = False
) -> None:
    from memrl.host.crossbar.plots import plot_run
    from memrl.host.crossbar.results import summarise
    from memrl.host.crossbar.runner import run_control
    from memrl.host.runs import sigterm_as_interrupt

    cfg = _control_config(task, opts)
    if not resume:
        claim_out(out, task, force)
    interrupted = False
    try:
        with sigterm_as_interrupt():
            run_control(cfg, out, progress=True, resume=resume)
    except KeyboardInterrupt:
        interrupted = True
    except (OSError, RuntimeError) as exc:  # a port, a link, a firmware, a simulator
        if not CROSSBAR_BACKENDS.entry(cfg.backend).has_engine:
            raise
        raise click.ClickException(f"backend {cfg.backend}: {exc}") from exc
    summary = summarise(out)
    if interrupted:
        if summary["seeds"]:
            plot_run(out)
        n = sum(s["episodes"] for s in summary["per_seed"])
        click.echo(f"interrupted: {n} episodes kept in {out}/episodes.csv")
    if summary["solve_rule"]:
        click.echo(f"{summary['env_id']}: solved = {summary['solve_rule']}")
    click.echo(_control_table([("", summary)]))
    click.echo(f"wrote config.json, episodes.csv, summary.json and figures to {out}/")
    if interrupted:
        sys.exit(130)


def _control_sweep(task: str, out: Path, param: str, values: str, opts: dict) -> None:
    from memrl.host.crossbar.sweep import run_sweep, sweep_folder, sweep_values

    try:
        nums = [float(x) for x in values.split(",") if x.strip()]
    except ValueError as exc:
        raise click.BadParameter(
            f"{values!r} is not a comma-separated list of numbers", param_hint="--values"
        ) from exc
    cfg = _control_config(task, opts)
    try:
        typed = sweep_values(param, nums)
        for v in typed:
            replace(cfg, **{param: v})
    except ConfigError as exc:
        hint = "--values" if exc.param in (param, "values") else _CONTROL_OPTIONS[exc.param]
        raise click.BadParameter(str(exc), param_hint=hint) from exc
    run_sweep(cfg, param, typed, out, progress=True)
    rows = []
    for v in typed:
        s = json.loads((out / sweep_folder(param, v) / "summary.json").read_text())
        rows.append((f"{v:g}", s))
    click.echo(_control_table(rows, first=param))
    click.echo(f"wrote sweep.csv, sweep.png and one folder per value to {out}/")


def _control_group(task: str, env_id: str, episodes: int, doc: str) -> click.Group:
    group = click.Group(task, help=doc)

    @group.command("run")
    @_control_options(task, env_id, episodes)
    @out_option(f"build/{task}")
    @force_option
    @config_option
    @resume_option
    def run(
        out: Path, force: bool, config_file: Path | None, resume: Path | None, **opts: object
    ) -> None:
        """Train the agents. Writes config.json, episodes.csv, summary.json, figures.

        Episodes count from 1, in --watch, episodes.csv, the summary and the figures."""
        if resume is not None:  # the run in that folder, continued
            config_file, out = resumable(resume, config_file), resume
        if config_file is not None:
            opts = _rerun_options(task, config_file, opts)
        _control_run(task, out, opts, force, resume=resume is not None)

    @group.command("sweep")
    @click.option(
        "--param",
        type=click.Choice(list(SWEEP_PARAMS)),
        required=True,
        help="The device setting to vary.",
    )
    @click.option("--values", required=True, metavar="V1,V2,...", help="Its values.")
    @_control_options(task, env_id, episodes)
    @out_option(f"build/{task}-sweep")
    def sweep(out: Path, param: str, values: str, **opts: object) -> None:
        """Vary a device setting. One run folder per value, sweep.csv, sweep.png."""
        _control_sweep(task, out, param, values, opts)

    @group.command("compare")
    @click.argument("run_a", type=click.Path(file_okay=False, path_type=Path))
    @click.argument("run_b", type=click.Path(file_okay=False, path_type=Path))
    @click.option("--plot", type=click.Path(dir_okay=False, path_type=Path), default=None,
                  help="Also draw both runs' returns and wall time to this PNG.")  # fmt: skip
    def compare(run_a: Path, run_b: Path, plot: Path | None) -> None:
        """Whether two runs' episodes are equal (every column of episodes.csv but
        the wall time); the first difference, and exit status 1, if not."""
        from memrl.host.crossbar.results import compare_runs

        try:
            diff, episodes, steps = compare_runs(run_a, run_b)
            if plot is not None:
                from memrl.host.crossbar.plots import compare_figure

                click.echo(f"wrote {compare_figure(run_a, run_b, plot)[0]}")
        except (OSError, KeyError, ValueError) as exc:
            raise click.ClickException(str(exc)) from exc
        if diff is not None:
            click.echo(f"differ: {diff}")
            sys.exit(1)
        click.echo(f"equal: {episodes} episodes, {steps} steps (every column but wall_s)")

    return group


cartpole = _control_group(
    "cartpole", "CartPole-v1", 600, "The Q-learning agent on the crossbar: cart-pole."
)
mountaincar = _control_group(
    "mountaincar", "MountainCar-v0", 300, "The Q-learning agent on the crossbar: mountain car."
)
