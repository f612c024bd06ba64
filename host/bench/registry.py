"""Benchmarks: throughput and peak memory, as medians over repeated runs.

Each benchmark is a function registered with :func:`bench`; it returns a
callable that does one unit of work and the number of items that unit counts
(device updates, VMMs, agent steps, ...). The runner times the callable for a
minimum wall time per repeat, takes the median rate over repeats, measures the
peak traced memory of one extra setup and call, merges the figures into a JSON file
(``build/bench.json`` by default; each benchmark owns its own key so later
groups add to the same file) and prints a table.
"""

from __future__ import annotations

import json
import statistics
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["bench", "BENCHES", "run"]

Work = Callable[[], object]


@dataclass(frozen=True)
class Bench:
    name: str
    unit: str
    setup: Callable[[], tuple[Work, int]]
    doc: str


BENCHES: dict[str, Bench] = {}
# Experiments run once and report figures (targets), not rates.
EXPERIMENTS: dict[str, Callable[[], dict]] = {}


def experiment(name: str) -> Callable:
    def register(fn: Callable[[], dict]) -> Callable:
        EXPERIMENTS[name] = fn
        return fn

    return register


def bench(name: str, unit: str) -> Callable:
    def register(setup: Callable[[], tuple[Work, int]]) -> Callable:
        BENCHES[name] = Bench(name, unit, setup, (setup.__doc__ or "").strip())
        return setup

    return register


def _measure(b: Bench, repeats: int, min_time_s: float) -> dict:
    work, items = b.setup()
    work()  # warm-up
    rates = []
    for _ in range(repeats):
        n, t0 = 0, time.perf_counter()
        while True:
            got = work()
            # A unit of work may report how many items it did (an int); else ``items``.
            n += got / items if isinstance(got, int) and not isinstance(got, bool) else 1
            dt = time.perf_counter() - t0
            if dt >= min_time_s:
                break
        rates.append(n * items / dt)
    tracemalloc.start()  # setup included: the model's own arrays count
    work, _ = b.setup()
    work()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "unit": b.unit,
        "median_per_s": statistics.median(rates),
        "min_per_s": min(rates),
        "max_per_s": max(rates),
        "repeats": repeats,
        "peak_mib": peak / 2**20,
        "what": b.doc,
    }


def run(
    out: Path,
    names: list[str] | None = None,
    repeats: int = 5,
    min_time_s: float = 0.2,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Run benchmarks and experiments (all, or ``names``), merge into ``out``, return
    this run's figures."""
    _load_groups()
    chosen = names or [*BENCHES, *EXPERIMENTS]
    unknown = [n for n in chosen if n not in BENCHES and n not in EXPERIMENTS]
    if unknown:
        raise ValueError(f"unknown benchmark(s) {unknown}; known: {sorted(BENCHES)}")
    results = {}
    out.parent.mkdir(parents=True, exist_ok=True)
    existing = json.loads(out.read_text()) if out.exists() else {}
    for name in chosen:
        if name in EXPERIMENTS:
            results[name] = {"experiment": EXPERIMENTS[name]()}
        else:
            results[name] = _measure(BENCHES[name], repeats, min_time_s)
        existing[name] = results[name]
        out.write_text(json.dumps(existing, indent=1, sort_keys=True, default=_plain))
        if progress:
            progress(name)
    return results


def _plain(value: object) -> object:
    """numpy scalars and arrays as plain JSON values."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} to the benchmark JSON")


def table(results: dict) -> str:
    rows = [("benchmark", "median/s", "min/s", "max/s", "unit", "peak MiB")]
    lines = []
    for name, r in results.items():
        if "experiment" in r:
            figures = ", ".join(f"{k} {v}" for k, v in _flat(r["experiment"]))
            lines.append(f"{name}: {figures}")
            continue
        rows.append(
            (
                name,
                f"{r['median_per_s']:.3g}",
                f"{r['min_per_s']:.3g}",
                f"{r['max_per_s']:.3g}",
                r["unit"],
                f"{r['peak_mib']:.2f}",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    text = (
        []
        if len(rows) == 1
        else ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    )
    return "\n".join(text + lines)


def _flat(d: dict, prefix: str = "") -> list[tuple[str, object]]:
    out: list[tuple[str, object]] = []
    for k, v in d.items():
        if isinstance(v, dict):
            out += _flat(v, f"{prefix}{k}.")
        else:
            out.append((f"{prefix}{k}", round(v, 3) if isinstance(v, float) else v))
    return out


def _load_groups() -> None:
    """Import the modules that register benchmarks."""
    from memrl.host.bench import (  # noqa: F401
        crossbar,
        crossbar_rtl,
        devices,
        link,
        navigator,
        navigator_cocotb,
        navigator_rtl,
    )


def seeded(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)
