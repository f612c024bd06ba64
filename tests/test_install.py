"""Both an editable and a regular install import every subpackage, checked from outside the repo."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SUBPACKAGES = ("rtl", "firmware", "host", "sim")
PROBE = (
    "import importlib, json\n"
    "out = {}\n"
    f"for sub in {SUBPACKAGES!r}:\n"
    "    out[sub] = importlib.import_module('memrl.' + sub).__file__\n"
    "print(json.dumps(out))\n"
)


def _import_paths(python: str, cwd: Path, env: dict[str, str] | None = None) -> dict[str, str]:
    import json

    out = subprocess.run(
        [python, "-c", PROBE], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def test_editable_install_maps_the_top_level_folders(tmp_path: Path) -> None:
    paths = _import_paths(sys.executable, tmp_path)
    for sub in SUBPACKAGES:
        assert Path(paths[sub]) == REPO / sub / "__init__.py"


def _install_wheel(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """Build a wheel of the repository, install it into a folder of its own and
    return that folder and an environment that imports memrl from it alone."""
    dist, target, source = tmp_path / "dist", tmp_path / "site", tmp_path / "source"
    # The wheel is built from a copy of the tracked files: a build/ folder left in
    # the repository by an earlier build would otherwise supply files the
    # package data does not name.
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split("\0")
    for name in filter(None, tracked):
        if (REPO / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, source / name)
    pip = [sys.executable, "-m", "pip", "--quiet"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(dist), str(source)],
        check=True,
        capture_output=True,
        text=True,
    )
    (wheel,) = dist.glob("memrl-*.whl")
    subprocess.run(
        [*pip, "install", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
        text=True,
    )
    # With -S the site module does not run, so no .pth file (the editable install's
    # finder) is processed; site-packages is on the path only for the dependencies,
    # after the target.
    import sysconfig

    site = sysconfig.get_paths()["purelib"]
    return target, {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), site])}


@pytest.mark.install
def test_wheel_installs_every_package_and_runs_a_maze_on_its_shipped_layouts(
    tmp_path: Path,
) -> None:
    import json
    import tomllib

    target, env = _install_wheel(tmp_path)
    out = subprocess.run(
        [sys.executable, "-S", "-c", PROBE],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    paths = json.loads(out.stdout)
    for sub in SUBPACKAGES:
        assert Path(paths[sub]).is_relative_to(target), paths[sub]
    packages = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    for package in packages["packages"]:
        init = target.joinpath(*package.split("."), "__init__.py")
        assert init.exists(), f"the wheel lacks {package}"
    shipped = sorted(p.name for p in (REPO / "sim" / "navigator" / "mazes").glob("*.txt"))
    installed = sorted(p.name for p in (target / "memrl/sim/navigator/mazes").glob("*.txt"))
    assert shipped and installed == shipped
    assert (target / "memrl/sim/tools/verilated_stream.cpp").exists()

    # The command line, from outside the repository, on the shipped dynamic pair.
    run = tmp_path / "run"
    cli = "import sys; from memrl.host.cli import main; sys.exit(main())"
    args = ["maze", "run", "--seeds", "1", "--trials", "4", "--switch-at", "2,3"]
    args += ["--max-steps", "60", "--out", str(run)]
    done = subprocess.run(
        [sys.executable, "-S", "-c", cli, *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    rows = (run / "trials.csv").read_text().splitlines()
    assert len(rows) == 1 + 4, rows
