"""Functional coverage of the cocotb runs: each test records the learning-rule
branches its run took; tests/conftest.py prints the tables at the session's end."""

from __future__ import annotations

import json
from pathlib import Path

COVERAGE_DIR = Path(__file__).resolve().parents[2] / "build" / "coverage"


def record_coverage(sim: str, run: str, counts: dict[str, int]) -> None:
    """Keep the branch counts of one run (one file per run: xdist workers write in parallel)."""
    d = COVERAGE_DIR / f"navigator-{sim}.d"
    d.mkdir(parents=True, exist_ok=True)
    (d / f"{run}.json").write_text(json.dumps(counts))
