"""Both an editable and a regular install import every subpackage, checked from outside the repo."""

from __future__ import annotations

import os
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


@pytest.mark.install
def test_regular_install_imports_every_subpackage(tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(REPO),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    # -S: the site module does not run, so no .pth file (the editable install's
    # finder) is processed; site-packages is on the path only for the dependencies,
    # after the target.
    import sysconfig

    site = sysconfig.get_paths()["purelib"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), site])}
    out = subprocess.run(
        [sys.executable, "-S", "-c", PROBE],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    import json

    paths = json.loads(out.stdout)
    for sub in SUBPACKAGES:
        assert Path(paths[sub]).is_relative_to(target), paths[sub]
    for sub in SUBPACKAGES:
        assert (target / "memrl" / sub / "__init__.py").exists()
    assert (target / "memrl" / "sim" / "devices" / "onet1r.py").exists()
