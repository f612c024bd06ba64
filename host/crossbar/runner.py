"""Running a cart-pole or mountain-car experiment into a run folder.

:func:`run_control` trains ``seeds`` agents (one :func:`train_seed` per seed, in
worker processes when ``jobs > 1``) and writes into a folder:

* ``config.json``: the configuration, the resolved settings, and ``status``
  (``running``, then ``done``, ``interrupted`` or ``failed`` with the error);
* ``episodes.csv``: one row per episode (:mod:`memrl.host.crossbar.results`),
  appended and flushed as each episode finishes, whichever seed it belongs to,
  so an interrupted run keeps every episode it finished;
* ``views/seed{S}_ep{E}.npz``: the watched episodes (states, actions, losses and
  the array's state at the episode's end);
* at the end: ``summary.json`` (:func:`~memrl.host.crossbar.results.summarise`)
  and the figures of :mod:`memrl.host.crossbar.plots`.

:func:`train_seed` trains one seed with its digital side on the run's backend
(:data:`~memrl.host.crossbar.backends.CROSSBAR_BACKENDS`).
"""

from __future__ import annotations

import concurrent.futures as cf
import csv
import json
import queue as queue_mod
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from multiprocessing.managers import SyncManager
from pathlib import Path
from typing import Any

import numpy as np

from memrl.host.crossbar.backends import CROSSBAR_BACKENDS, parse_backend
from memrl.host.crossbar.config import ControlRunConfig, solve_rule
from memrl.host.crossbar.control import Episode, resolve_preset, train
from memrl.host.crossbar.results import EpisodeCSV, episode_fields, summarise
from memrl.host.runs import finish_status, provenance, read_config
from memrl.sim.crossbar.golden import EngineFactory

__all__ = ["run_control", "train_seed"]


def _ignore_sigint() -> None:
    """Worker-side: leave Ctrl-C to the parent (which stops the workers)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def train_seed(
    config: ControlRunConfig,
    seed: int,
    views_dir: str,
    emit: Callable[[Episode], None],
    halt: Callable[[], bool],
    engine: EngineFactory | None = None,
) -> int:
    """Train one seed; ``emit`` gets every episode, ``halt()`` ends the run early.
    Returns the number of episodes run. ``engine`` makes the crossbar's digital
    side; by default the run's backend makes it
    (:class:`~memrl.host.crossbar.backends.CrossbarBackend`), or trains the seed
    inside a cocotb process, on a simulator."""
    if engine is None:
        backend = parse_backend(config.backend)
        entry = CROSSBAR_BACKENDS.entry(backend)
        simulator = entry.cocotb_simulator(config.device)
        if simulator is not None:
            from memrl.host.crossbar.cocotb_backend import control_seed

            return control_seed(config, simulator, seed, views_dir, emit)
        engine = entry.make_engine(backend.port)
    rule = solve_rule(config.env_id or "")
    stop_rule = rule if config.stop_when_solved and rule is not None and rule.stops else None
    returns: list[float] = []
    steps: list[int] = []

    def on_episode(rec: Episode) -> None:
        returns.append(rec.ret)
        steps.append(rec.steps)
        emit(rec)

    def stop(_returns: list[float]) -> bool:
        return halt() or (stop_rule is not None and stop_rule.met(returns, steps))

    def on_watch(ep: int, view: dict) -> None:
        path = Path(views_dir) / f"seed{seed}_ep{ep}.npz"
        np.savez_compressed(path, **view)

    _, records = train(
        config.env_id or "",
        agent=config.agent,
        preset=config.preset,
        seed=seed,
        episodes=config.episodes,
        device=config.device_settings(),
        on_episode=on_episode,
        stop=stop,
        max_steps=config.episode_cap,
        watch=config.watch,
        on_watch=on_watch,
        engine=engine,
    )
    return len(records)


def _worker(config: ControlRunConfig, seed: int, views_dir: str, q: Any, halt_event: Any) -> int:
    """A pool task: one seed, its episodes sent to the parent through ``q``."""
    return train_seed(config, seed, views_dir, q.put, halt_event.is_set)


def _package_version() -> str | None:
    try:
        from importlib.metadata import version

        return version("memrl")
    except Exception:  # noqa: BLE001
        return None


def run_control(
    config: ControlRunConfig,
    out: Path,
    progress: bool = True,
    on_episode: Callable[[Episode], None] | None = None,
    figures: bool = True,
    resume: bool = False,
) -> Path:
    """Run the experiment into ``out`` (created); returns the path of episodes.csv.

    ``on_episode`` is called in this process after each episode's row is
    written. Views left in ``out/views`` by an earlier run are removed. On
    KeyboardInterrupt or an error the rows written so far stay, ``config.json``
    gets status ``interrupted`` or ``failed`` (with the error), the workers are
    stopped and the exception propagates. ``figures``: write
    ``summary.json`` and the figures once the run is done. ``config.json``'s
    ``seeds_done`` lists the seeds whose training ended.

    ``resume``: continue the run ``out`` holds (same settings): the rows of its
    finished seeds (``seeds_done``) stay, the other seeds run again from their
    start (their rows, cut short, are dropped).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    done: set[int] = set()
    kept: list[dict[str, str]] = []
    started = None
    if resume:
        old = read_config(out) or {}
        done = {int(s) for s in old.get("seeds_done", [])} & set(config.seed_list)
        started = old.get("started")
        if (out / "episodes.csv").exists():
            with (out / "episodes.csv").open(newline="") as fh:
                kept = [r for r in csv.DictReader(fh) if int(r["seed"]) in done]
    views_dir = out / "views"
    for stale in views_dir.glob("seed*_ep*.*"):  # views of an earlier run in this folder
        seed_of = stale.name[4:].split("_")[0]
        if stale.suffix in (".npz", ".png") and not (seed_of.isdigit() and int(seed_of) in done):
            stale.unlink()
    if config.watch:
        views_dir.mkdir(exist_ok=True)
    rule = solve_rule(config.env_id or "")
    meta: dict[str, Any] = {
        "run": config.task,
        **asdict(config),
        "max_steps_used": config.episode_cap,
        "jobs_used": config.workers,
        "seed_list": config.seed_list,
        "device_settings": asdict(config.device_settings()),
        "agent_config": asdict(resolve_preset(config.env_id or "", config.preset)),
        "solve_rule": asdict(rule) if rule else None,
        "version": _package_version(),
        "status": "running",
        "started": started or time.strftime("%Y-%m-%dT%H:%M:%S"),
        "provenance": provenance(),
        "seeds_done": sorted(done),
    }
    if resume:
        meta["resumed"] = {"at": time.strftime("%Y-%m-%dT%H:%M:%S"), "seeds_kept": sorted(done)}
    cfg_path = out / "config.json"
    cfg_path.write_text(json.dumps(meta, indent=1))
    csv_path = out / "episodes.csv"
    failure: BaseException | None = None
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(
            total=config.episodes * config.seeds,
            desc=f"{config.env_id} {config.agent} ({config.seeds} seeds)",
            unit="ep",
        )
    try:
        with csv_path.open("w", newline="") as fh:
            write = EpisodeCSV(fh).write

            csv.DictWriter(fh, fieldnames=episode_fields()).writerows(kept)
            fh.flush()
            if bar is not None:
                bar.update(len(kept))

            def record(rec: Episode) -> None:
                write(rec)
                if bar is not None:
                    bar.update()
                if on_episode is not None:
                    on_episode(rec)

            def seed_done(seed: int) -> None:
                meta["seeds_done"] = sorted({*meta["seeds_done"], seed})
                cfg_path.write_text(json.dumps(meta, indent=1))

            todo = [s for s in config.seed_list if s not in done]
            if config.workers == 1:
                for seed in todo:
                    train_seed(config, seed, str(views_dir), record, lambda: False)
                    seed_done(seed)
            else:
                _run_pool(config, str(views_dir), record, write, todo, seed_done)
    except BaseException as exc:
        failure = exc
        raise
    finally:
        meta["status"], error = finish_status(failure)
        if error:
            meta["error"] = error
        if bar is not None:
            bar.close()
        meta["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S")
        cfg_path.write_text(json.dumps(meta, indent=1))
    if figures:
        from memrl.host.crossbar.plots import plot_run

        summarise(out)
        plot_run(out)
    return csv_path


def _run_pool(
    config: ControlRunConfig,
    views_dir: str,
    record: Callable[[Episode], None],
    write: Callable[[Episode], None],
    seeds: list[int] | None = None,
    seed_done: Callable[[int], None] | None = None,
) -> None:
    """Seeds on worker processes; episodes come back through a managed queue and
    are recorded here as they arrive. Any exception (or Ctrl-C) halts the workers
    after their current episode, passes the episodes they still sent to ``write``
    (not ``record``), and propagates.

    The workers and the manager ignore Ctrl-C. Here the first Ctrl-C only sets a
    flag, checked between queue calls (an interrupt in the middle of a call to
    the manager would leave its connection out of step); a second one
    interrupts at once."""
    sigint = _DeferredSigint()
    manager = SyncManager()
    manager.start(_ignore_sigint)
    try:
        q = manager.Queue()
        halt = manager.Event()
        pool = cf.ProcessPoolExecutor(max_workers=config.workers, initializer=_ignore_sigint)
        futures: list[cf.Future] = []
        try:
            todo = config.seed_list if seeds is None else seeds
            futures = [pool.submit(_worker, config, seed, views_dir, q, halt) for seed in todo]
            seed_of = dict(zip(futures, todo, strict=True))
            pending = set(futures)
            while pending:
                _drain(q, record, timeout=0.2)
                sigint.check()
                done = {f for f in pending if f.done()}
                for f in done:
                    f.result()  # raises a worker's exception
                pending -= done
                if done:  # their episodes are all queued: record them before saying so
                    _drain(q, record, timeout=None)
                    for f in done:
                        if seed_done is not None:
                            seed_done(seed_of[f])
            _drain(q, record, timeout=None)
        except BaseException:
            halt.set()
            for f in futures:
                f.cancel()
            pool.shutdown(wait=True, cancel_futures=True)
            _drain(q, write, timeout=None)
            raise
        else:
            pool.shutdown(wait=True)
    finally:
        manager.shutdown()
        sigint.restore()


class _DeferredSigint:
    """In the main thread: the first SIGINT (or SIGTERM, handled alike) sets a
    flag that :meth:`check` turns into KeyboardInterrupt; the handlers before it
    are back for the next one."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.caught = False
        self.installed = threading.current_thread() is threading.main_thread()
        self.previous: dict[int, Any] = {}
        if self.installed:
            for sig in self.SIGNALS:
                self.previous[sig] = signal.signal(sig, self._handler)

    def _handler(self, signum: int, frame: object) -> None:
        self.caught = True
        self.restore()

    def restore(self) -> None:
        if self.installed:
            for sig, prev in self.previous.items():
                if prev is None:
                    prev = signal.default_int_handler if sig == signal.SIGINT else signal.SIG_DFL
                signal.signal(sig, prev)
            self.installed = False

    def check(self) -> None:
        if self.caught:
            raise KeyboardInterrupt


def _drain(q: Any, record: Callable[[Episode], None], timeout: float | None) -> None:
    """Record the queued episodes: wait up to ``timeout`` for the first (None:
    do not wait), then take whatever else is there."""
    try:
        rec = q.get(timeout=timeout) if timeout else q.get_nowait()
    except queue_mod.Empty:
        return
    record(rec)
    while True:
        try:
            rec = q.get_nowait()
        except queue_mod.Empty:
            return
        record(rec)
