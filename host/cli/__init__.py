"""The ``memrl`` command line."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import click
from tqdm import tqdm

from memrl.host.crossbar.backends import BACKENDS as CONTROL_BACKENDS
from memrl.host.navigator.backends import BACKENDS, RRAM_DEVICES

if TYPE_CHECKING:
    from memrl.host.crossbar.config import ControlRunConfig


def out_option(default: str, help: str = "Output folder.") -> Callable:  # noqa: A002
    """The ``--out DIR`` option of every command that writes a folder."""
    return click.option(
        "--out",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path(default),
        show_default=True,
        help=help,
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="memrl")
def main() -> None:
    """memrl: reinforcement learning on resistive-memory hardware."""


@main.command()
def doctor() -> None:
    """Check the external tools (Icarus, Verilator, YoWASP)."""
    from memrl.sim.tools.simulators import report

    lines, ok = report()
    click.echo("\n".join(lines))
    sys.exit(0 if ok else 1)


@main.group()
def devices() -> None:
    """RRAM device models."""


@devices.command("characterise")
@out_option("build/demo", help="Folder for the PNG figures and characterisation.json.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
def characterise_cmd(out: Path, seed: int) -> None:
    """Characterise the 1T1R and SiOx models: G vs Vg, pair weights, LRS vs Ic, HRS vs V_STOP."""
    from memrl.host.devices.characterise import FIGURES, CharacteriseConfig, characterise

    with tqdm(total=len(FIGURES), desc="characterise", unit="fig") as bar:
        summary = characterise(CharacteriseConfig(seed=seed), out, progress=lambda _: bar.update())
    figs = summary["figures"]
    click.echo(f"wrote {len(figs)} figures and characterisation.json to {out}/")
    click.echo(f"  1T1R fitted SET slope: {figs['onet1r_g_vs_vg']['fitted_slope_us_per_v']} uS/V")
    click.echo(f"  pair weights: error sigma {figs['onet1r_pair_weights']['error_sigma']}")
    click.echo(
        "  SiOx LRS vs table: max relative error "
        f"{figs['siox_lrs_vs_ic']['max_rel_error_vs_table']:.1%}"
    )


def device_option(f: Callable) -> Callable:
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
    f = click.option("--preset", type=click.Choice(["paper", "default"]), default="default",
                     show_default=True, help="crossbar: the run's preset.")(f)  # fmt: skip
    f = click.option(
        "--env", "env_id", default="CartPole-v1", show_default=True, metavar="ENV_ID",
        help="crossbar: the environment whose network the firmware runs.",
    )(f)  # fmt: skip
    return click.option(
        "--firmware", type=click.Choice(["navigator", "crossbar"]), default="navigator",
        show_default=True,
        help="crossbar: the crossbar engine with its emulated array (the ULX3S boards hold "
        "it), for memrl cartpole|mountaincar run --backend serial:PORT.",
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


@main.group()
def maze() -> None:
    """The self-adaptive navigator on grid mazes."""


@maze.command("run")
@click.option(
    "--layout",
    "layouts",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="Maze file (repeatable); default: the shipped 30x30 pair, switching at 40,80.",
)
@click.option(
    "--switch-at",
    default=None,
    metavar="T1,T2,...",
    help="Trials at which the next layout takes over, cyclically.",
)
@click.option("--trials", type=click.IntRange(min=1), default=120, show_default=True)
@click.option("--max-steps", type=click.IntRange(min=1), default=600, show_default=True)
@click.option(
    "--seeds",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="Number of agents (seeds first-seed ... first-seed + seeds - 1).",
)
@click.option("--first-seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option(
    "--preset", type=click.Choice(["paper", "default"]), default="default", show_default=True
)
@backend_options
@click.option(
    "--agent",
    type=click.Choice(["navigator", "tabular-q", "dqn"]),
    default="navigator",
    show_default=True,
    help="The navigator, or a baseline on the same schedule.",
)
@out_option("build/maze")
def maze_run(  # noqa: PLR0913
    layouts, switch_at, trials, max_steps, seeds, first_seed, preset, backend, device, agent, out
) -> None:  # noqa: ANN001
    """Run an agent on a maze schedule; writes config.json, trials.csv, summary and figures."""
    from memrl.host.navigator.plots import plot_run, summarise
    from memrl.host.navigator.run import MazeRunConfig, run_maze
    from memrl.sim.navigator.maze import MazeError

    switch = tuple(_int_list(switch_at, "--switch-at")) if switch_at else None
    cfg = MazeRunConfig(
        tuple(layouts), switch, trials, max_steps, seeds, first_seed, preset, backend, agent,
        device,
    )  # fmt: skip
    try:
        cfg.resolved()
    except (MazeError, ValueError) as exc:
        raise click.UsageError(str(exc)) from exc
    interrupted = False
    with tqdm(total=trials, desc=f"maze ({seeds} seeds)", unit="trial") as bar:
        try:
            run_maze(cfg, out, progress=lambda _: bar.update())
        except KeyboardInterrupt:
            interrupted = True
        except (OSError, RuntimeError, ValueError) as exc:  # a port, a link, a firmware
            raise click.ClickException(f"backend {backend}: {exc}") from exc
    files = plot_run(out)
    summary = summarise(out)
    if interrupted:
        click.echo(f"interrupted: {summary['trials_done']} trials kept in {out}/trials.csv")
    for b in summary["blocks"]:
        click.echo(
            f"trials {b['trials'][0]:3d}-{b['trials'][1]:3d}: converged in "
            f"{b['converge_median']:g} trials (median; {b['converged_seeds']}/{summary['seeds']} "
            f"seeds), last-20 success {b['reach_rate_last20']:.1%}, final path "
            f"{b['final_path_ratio_median']:.2f}x shortest"
        )
    click.echo(f"wrote {', '.join(f.name for f in files)}, summary.json to {out}/")
    if interrupted:
        sys.exit(130)


def _int_list(text: str, name: str) -> list[int]:
    try:
        out = [int(x) for x in text.split(",") if x.strip()]
    except ValueError as exc:
        raise click.BadParameter(
            f"{text!r} is not a comma-separated list", param_hint=name
        ) from exc
    if not out or min(out) < 1:
        raise click.BadParameter(f"{text!r}: positive integers expected", param_hint=name)
    return out


@maze.command("memory")
@out_option("build/maze-memory")
def maze_memory(out: Path) -> None:
    """Memory elements against the number of places: navigator, tabular Q, DQN."""
    from memrl.host.navigator.studies import memory_study

    click.echo(f"wrote {memory_study(out)} and memory.csv")


@maze.command("accuracy")
@click.option(
    "--layout",
    type=click.Path(dir_okay=False),
    default=None,
    help="Maze file; default: the shipped layout dynamic_a.",
)
@click.option("--trials", "trials_", default="35,50,70", show_default=True)
@click.option("--max-steps", "limits", default="150,300,500", show_default=True)
@click.option("--agents", default="navigator,dqn", show_default=True)
@click.option(
    "--seeds",
    type=click.IntRange(min=1),
    default=None,
    help="Seeds per agent (default: 10 for the navigator, 3 for baselines).",
)
@out_option("build/maze-accuracy")
def maze_accuracy(layout, trials_, limits, agents, seeds, out) -> None:  # noqa: ANN001
    """Accuracy over trials x step limit, one fresh run per cell (Fig. 4f)."""
    from memrl.host.navigator.run import AGENTS
    from memrl.host.navigator.studies import accuracy_study
    from memrl.sim.navigator.maze import MazeError, load_maze, shipped

    names = [a.strip() for a in agents.split(",") if a.strip()]
    bad = [a for a in names if a not in AGENTS]
    if bad:
        raise click.BadParameter(
            f"unknown agent(s) {bad}; known: {sorted(AGENTS)}", param_hint="--agents"
        )
    try:
        maze = load_maze(layout) if layout else shipped("dynamic_a")
    except (MazeError, ValueError) as exc:
        raise click.UsageError(str(exc)) from exc
    t, lim = _int_list(trials_, "--trials"), _int_list(limits, "--max-steps")
    per = {a: seeds for a in names} if seeds else None
    with tqdm(total=len(names) * len(t) * len(lim), desc="accuracy", unit="run") as bar:
        s = accuracy_study(maze, out, names, t, lim, per, progress=bar.update)
    for a in names:
        click.echo(f"{a}: accuracy {min(map(min, s[a])):.1%} to {max(map(max, s[a])):.1%}")
    click.echo(f"wrote accuracy.csv, accuracy.json, accuracy.png to {out}/")


@main.group()
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
@click.option(
    "--preset", type=click.Choice(["paper", "default"]), default="default", show_default=True
)
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


# -- control tasks: cart-pole and mountain car ---------------------------------

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
            type=click.Choice(["crossbar", "float"]),
            default="crossbar",
            show_default=True,
            help="The network on the simulated array, or float weights (software baseline).",
        ),
        click.option(
            "--preset",
            type=click.Choice(["paper", "default"]),
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
        click.option("--first-seed", type=click.IntRange(min=0), default=0, show_default=True),
        click.option(
            "--backend",
            default="golden",
            show_default=True,
            metavar="|".join(CONTROL_BACKENDS),
            help="Where the crossbar's digital side runs: the Python golden model, the "
            "crossbar engine in amaranth.sim or as Verilog on Icarus or Verilator (under "
            "cocotb; in-process with --device emulator), or the crossbar firmware on a "
            "board's serial port (--device emulator, one seed; docs/crossbar/rtl.md).",
        ),
        click.option(
            "--device",
            type=click.Choice(["realistic", "ideal", "emulator"]),
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
    from memrl.host.crossbar.config import ConfigError, ControlRunConfig

    watch = tuple(_int_list(opts["watch"], "--watch")) if opts["watch"] else ()
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


def _control_run(task: str, out: Path, opts: dict) -> None:
    from memrl.host.crossbar.plots import plot_run
    from memrl.host.crossbar.results import summarise
    from memrl.host.crossbar.runner import run_control

    cfg = _control_config(task, opts)
    interrupted = False
    try:
        run_control(cfg, out, progress=True)
    except KeyboardInterrupt:
        interrupted = True
    except (OSError, RuntimeError) as exc:  # a port, a link, a firmware, a simulator
        if cfg.backend == "golden":
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
    from memrl.host.crossbar.config import ConfigError
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
    def run(out: Path, **opts: object) -> None:
        """Train the agents. Writes config.json, episodes.csv, summary.json, figures."""
        _control_run(task, out, opts)

    @group.command("sweep")
    @click.option(
        "--param",
        type=click.Choice(["adc_bits", "c2c_frac", "stuck_rate", "drift_nu"]),
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


main.add_command(
    _control_group(
        "cartpole", "CartPole-v1", 600, "The Q-learning agent on the crossbar: cart-pole."
    )
)
main.add_command(
    _control_group(
        "mountaincar", "MountainCar-v0", 300, "The Q-learning agent on the crossbar: mountain car."
    )
)


def _firmware_config(maze_size: str) -> tuple[int, int, object]:
    """Rows, columns and the paper rule's core parameters of ``--maze-size ROWSxCOLS``."""
    from memrl.sim.navigator.golden import PRESETS
    from memrl.sim.navigator.session import rtl_config

    try:
        rows, cols = (int(v) for v in maze_size.lower().split("x"))
        return rows, cols, rtl_config(PRESETS["paper"], (rows, cols))
    except ValueError as exc:
        raise click.BadParameter(
            f"{maze_size!r}: expected ROWSxCOLS, each 2-1024 ({exc})", param_hint="--maze-size"
        ) from exc


def _crossbar_run_hint(env_id: str, preset: str, board: object, port: str) -> str:
    """The run that talks to a board's crossbar firmware (``board``: an
    :class:`~memrl.host.build.fpga.Board`), with the pieces it was built with."""
    task = "mountaincar" if "MountainCar" in env_id else "cartpole"
    d = board.crossbar
    split = (
        ""
        if d.pass_samples is None
        else f" --pass-samples {d.pass_samples} --program-entries {d.program_entries}"
    )
    return (f"memrl {task} run --backend serial:{port} --device emulator --seeds 1 "
            f"--env {env_id} --preset {preset}{split}")  # fmt: skip


@main.group()
def fpga() -> None:
    """Bitstreams of the navigator SoC for the boards, and programming them."""


@fpga.command("build")
@click.option("--board", type=click.Choice(["icebreaker", "ulx3s", "ulx3s-85f"]), required=True)
@firmware_options
@click.option(
    "--maze-size", default=None, metavar="ROWSxCOLS",
    help="Default: 30x30, the largest shipped maze (both boards hold it).",
)  # fmt: skip
@click.option(
    "--seed", type=click.IntRange(min=0), default=0, show_default=True,
    help="The seed of the on-chip RRAM emulator's devices (as --first-seed of maze run).",
)  # fmt: skip
@click.option("--baud", type=click.IntRange(min=1200), default=115_200, show_default=True)
@click.option("--pnr-seed", type=click.IntRange(min=1), default=1, show_default=True)
@out_option("build/fpga/BOARD", "Output folder (default build/fpga/<board>).")
def fpga_build(
    board: str, firmware: str, env_id: str, preset: str, maze_size: str | None, seed: int,
    baud: int, pnr_seed: int, out: Path,
) -> None:  # fmt: skip
    """Synthesise, place and route the navigator (or crossbar) SoC; writes the
    bitstream and report.json."""
    from memrl.host.build.fpga import BOARDS, BuildFailed, build
    from memrl.sim.tools.simulators import ToolMissing

    rows, cols, config = _firmware_config(maze_size or BOARDS[board].maze_size)
    if str(out) == "build/fpga/BOARD":
        out = Path("build/fpga") / board
    what = (f"crossbar SoC of {env_id} ({preset})" if firmware == "crossbar"
            else f"{rows}x{cols} navigator SoC")  # fmt: skip
    click.echo(f"building the {what} for the {board} into {out}/ ...")
    with tqdm(desc="yosys, nextpnr", unit="s", bar_format="{desc}: {elapsed}") as bar:

        def tick(phase: str) -> None:
            bar.set_description_str(phase)
            bar.update()

        try:
            r = build(board, out, config, seed, baud, pnr_seed=pnr_seed, progress=tick,
                      firmware=firmware, env_id=env_id, preset=preset)  # fmt: skip
        except (BuildFailed, ToolMissing, ValueError) as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(
        f"wrote {out / r['bitstream']}: {r['luts']} LUTs, {r['ffs']} FFs, {r['brams']} block "
        f"RAMs; Fmax {r['fmax_mhz']} MHz at a {r['clock_mhz']:g} MHz clock "
        f"(timing {'met' if r['timing_met'] else 'NOT met'}); report.json"
    )
    if firmware == "crossbar":
        b = BOARDS[board]
        click.echo("run it with: " + _crossbar_run_hint(env_id, preset, b, "PORT"))


@fpga.command("program")
@click.option("--board", type=click.Choice(["icebreaker", "ulx3s", "ulx3s-85f"]), required=True)
@click.option(
    "--bitstream", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Default: build/fpga/<board>/<firmware>.bin (iCE40) or .bit (ECP5).",
)  # fmt: skip
@click.option("--firmware", type=click.Choice(["navigator", "crossbar"]), default="navigator",
              show_default=True)  # fmt: skip
def fpga_program(board: str, bitstream: Path | None, firmware: str) -> None:
    """Load a bitstream with the board's programmer (iceprog, openFPGALoader, fujprog)."""
    from memrl.host.build.fpga import BOARDS, program
    from memrl.sim.tools.simulators import ToolMissing

    path = bitstream or Path("build/fpga") / board / f"{firmware}.{BOARDS[board].bitstream}"
    try:
        click.echo(program(board, path))
    except (ToolMissing, FileNotFoundError, ValueError, RuntimeError) as exc:
        raise click.ClickException(str(exc)) from exc


@main.group()
def sim() -> None:
    """Simulated boards."""


@sim.command("serve")
@click.option("--sim", "simulator", type=click.Choice(["icarus", "verilator"]), default="verilator",
              show_default=True)  # fmt: skip
@click.option("--maze-size", default="30x30", show_default=True, metavar="ROWSxCOLS")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="The device model's seed (as --first-seed of maze run).")  # fmt: skip
@device_option
@firmware_options
@click.option("--board", "board_name", type=click.Choice(["ulx3s-85f", "ulx3s", "icebreaker"]),
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
    memrl maze run --backend serial:PORT --seeds 1 --first-seed SEED --preset paper.
    """
    import signal
    import threading

    from memrl.sim.tools.uart_bridge import SIMBOARD_CLK_HZ, SIMBOARD_DIVISOR, SimBoard

    try:
        if firmware == "crossbar":
            from memrl.host.build.fpga import BOARDS
            from memrl.host.crossbar.commands import board_firmware

            click.echo(f"building the crossbar firmware of {env_id} ({preset}) for {simulator} ...")
            b = BOARDS[board_name]
            top = board_firmware(env_id, preset, SIMBOARD_DIVISOR, SIMBOARD_CLK_HZ, b.crossbar)
            device = "emulator"  # the firmware's array is its emulator core
            board = SimBoard(simulator, None, seed, device, top=top)
            hint = "  " + _crossbar_run_hint(env_id, preset, b, "{port}")
        else:
            rows, cols, config = _firmware_config(maze_size)
            click.echo(f"building the {rows}x{cols} navigator for {simulator} ...")
            board = SimBoard(simulator, config, seed, device)
            hint = (
                f"  memrl maze run --backend serial:{{port}} --seeds 1 --first-seed {seed} "
                f"--device {device} --preset paper --layout ... (a {rows}x{cols} maze)"
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


@main.command("verilog")
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


@main.command("bench")
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


if __name__ == "__main__":
    main()
