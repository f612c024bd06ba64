"""``memrl maze``: the self-adaptive navigator on grid mazes."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from tqdm import tqdm

from memrl.host.cli.options import (
    backend_options,
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
from memrl.host.navigator.run import AGENTS
from memrl.sim.navigator.golden import PRESETS


@click.group()
def maze() -> None:
    """The self-adaptive navigator on grid mazes."""


@maze.command("run")
@click.option(
    "--layout",
    "layouts",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="Maze file (repeatable); default: the shipped 30x30 pair.",
)
@click.option(
    "--switch-at",
    default=None,
    metavar="T1,T2,...",
    help="Trials after which the next layout takes over, cyclically (trials count from 1: "
    "with 40 the first 40 trials run layout A, trial 41 on layout B); "
    "default: two layouts A, B, A at thirds of --trials (40,80 of 120), more layouts "
    "each once in equal blocks.",
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
@first_seed_option
@click.option("--preset", type=click.Choice(list(PRESETS)), default="default", show_default=True)
@backend_options
@click.option(
    "--agent",
    type=click.Choice(list(AGENTS)),
    default="navigator",
    show_default=True,
    help="The navigator, or a baseline on the same schedule.",
)
@out_option("build/maze")
@force_option
@config_option
@resume_option
def maze_run(  # noqa: PLR0913
    layouts,
    switch_at,
    trials,
    max_steps,
    seeds,
    first_seed,
    preset,
    backend,
    device,
    agent,
    out,
    force,
    config_file,
    resume,
) -> None:  # noqa: ANN001
    """Run an agent on a maze schedule; writes config.json, trials.csv, summary and figures.

    Trials count from 1, in --switch-at, trials.csv, the summary and the figures."""
    if resume is not None:  # the run in that folder, continued
        config_file, out = resumable(resume, config_file), resume
    if config_file is not None:  # a rerun: the recorded settings
        old = rerun_settings(config_file, ("maze",), (
            "layouts", "switch_at", "trials", "max_steps", "seeds", "first_seed", "preset",
            "agent", "device", "backend"))  # fmt: skip
        layouts = tuple(old["layouts"])
        switch_at = ",".join(map(str, old["switch_at"])) if old["switch_at"] else None
        trials, max_steps, seeds = old["trials"], old["max_steps"], old["seeds"]
        first_seed, preset, agent = old["first_seed"], old["preset"], old["agent"]
        device, backend = old["device"], old.get("backend", backend)
    from memrl.host.navigator.plots import plot_run, summarise
    from memrl.host.navigator.run import MazeRunConfig, run_maze
    from memrl.host.runs import sigterm_as_interrupt
    from memrl.sim.navigator.maze import MazeError

    switch = tuple(int_list(switch_at, "--switch-at")) if switch_at is not None else None
    cfg = MazeRunConfig(
        tuple(layouts), switch, trials, max_steps, seeds, first_seed, preset, backend, agent,
        device,
    )  # fmt: skip
    try:
        _, switch_points = cfg.resolved()
    except (MazeError, ValueError) as exc:
        raise click.UsageError(str(exc)) from exc
    if resume is None:
        claim_out(out, "maze", force)
    if switch_points:
        click.echo(f"layouts switch after trials {', '.join(map(str, switch_points))}")
    interrupted = False
    with tqdm(total=trials, desc=f"maze ({seeds} seeds)", unit="trial") as bar:
        try:
            with sigterm_as_interrupt():
                run_maze(cfg, out, progress=lambda _: bar.update(), resume=resume is not None)
        except KeyboardInterrupt:
            interrupted = True
        except (OSError, RuntimeError, ValueError) as exc:  # a port, a link, a firmware
            where = "" if backend == "golden" else f"backend {backend}: "
            raise click.ClickException(f"{where}{exc}") from exc
    files = plot_run(out)
    summary = summarise(out)
    if interrupted:
        click.echo(f"interrupted: {summary['trials_done']} trials kept in {out}/trials.csv")
    n = summary["seeds"]
    for b in summary["blocks"]:
        conv = (
            "none converged"
            if b["converge_median"] is None
            else f"converged in {b['converge_median']:g} trials "
            f"(median; {b['converged_seeds']}/{n} seeds)"
        )
        final = (
            "no seed reached the goal in its last trial"
            if b["final_path_ratio_median"] is None
            else f"final path {b['final_path_ratio_median']:.2f}x shortest "
            f"(median of the {b['final_reached_seeds']}/{n} seeds that reached the goal)"
        )
        click.echo(
            f"trials {b['trials'][0]:3d}-{b['trials'][1]:3d}: {conv}, "
            f"last-20 success {b['reach_rate_last20']:.1%}, {final}"
        )
    click.echo(f"wrote {', '.join(f.name for f in files)}, summary.json to {out}/")
    if interrupted:
        sys.exit(130)


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
    from memrl.host.navigator.studies import accuracy_study
    from memrl.sim.navigator.maze import MazeError, load_maze, shipped

    names = [a.strip() for a in agents.split(",") if a.strip()]
    if not names:
        raise click.BadParameter(
            f"{agents!r} names no agent; known: {', '.join(sorted(AGENTS))}", param_hint="--agents"
        )
    bad = [a for a in names if a not in AGENTS]
    if bad:
        raise click.BadParameter(
            f"unknown agent(s) {bad}; known: {sorted(AGENTS)}", param_hint="--agents"
        )
    try:
        maze = load_maze(layout) if layout else shipped("dynamic_a")
    except (MazeError, ValueError) as exc:
        raise click.UsageError(str(exc)) from exc
    t, lim = int_list(trials_, "--trials"), int_list(limits, "--max-steps")
    per = {a: seeds for a in names} if seeds else None
    with tqdm(total=len(names) * len(t) * len(lim), desc="accuracy", unit="run") as bar:
        s = accuracy_study(maze, out, names, t, lim, per, progress=bar.update)
    for a in names:
        click.echo(f"{a}: accuracy {min(map(min, s[a])):.1%} to {max(map(max, s[a])):.1%}")
    click.echo(f"wrote accuracy.csv, accuracy.json, accuracy.png to {out}/")
