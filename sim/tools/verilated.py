"""A stream engine's Verilog, Verilated into a library this process drives.

cocotb wakes Python at every clock edge it is asked to see; a design that
holds its whole array (the crossbar engine with its emulator core) needs
Python only per command. :func:`build_library` Verilates an Amaranth
component whose signature is a ``cmd`` stream, a ``din`` stream, a ``dout``
stream and a ``busy`` flag, with the C++ driver ``verilated_stream.cpp``,
into a shared library; :class:`VerilatedStream` loads it and runs a whole
command (its input words in, its output words out) in one call.

The driver keeps the cocotb testbench's discipline: inputs change while the
clock is low, the outputs sampled before a rising edge say what that edge
transfers, and the cycles of a command are counted as the testbench counts
them (from the first cycle the command is offered to the cycle its last
output word is taken with the engine idle). Builds are keyed by a hash of
the Verilog and the driver, like :func:`memrl.sim.tools.runner.build`'s.
"""

from __future__ import annotations

import ctypes
import fcntl
import hashlib
import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from amaranth.back import verilog

from memrl.sim.tools.simulators import find_verilator, verilator_env

__all__ = ["DRIVER", "StreamStalled", "build_library", "VerilatedStream"]

#: The C++ driver compiled with every design.
DRIVER = Path(__file__).with_name("verilated_stream.cpp")

_I64P = ctypes.POINTER(ctypes.c_int64)


class StreamStalled(RuntimeError):
    """No word moved on the design's streams for the stall bound."""


def build_library(core: object, toplevel: str, root: Path) -> Path:
    """Verilate ``core`` as ``toplevel`` with the stream driver; the library's path.

    The build lives in ``root/<toplevel>-lib-<hash>`` and is made once per
    Verilog text and driver; concurrent builders wait for each other, and an
    interrupted build leaves no library behind."""
    find_verilator()
    text = verilog.convert(core, name=toplevel)
    driver = DRIVER.read_text()
    # MEMRL_VERILATOR_CFLAGS overrides the C++ optimisation (the test suite's
    # short runs compile with -O0); part of the key.
    opt = os.environ.get("MEMRL_VERILATOR_CFLAGS", "").strip() or "-O2"
    key = hashlib.sha256((text + driver + opt).encode()).hexdigest()[:12]
    build_dir = Path(root).resolve() / f"{toplevel}-lib-{key}"
    lib = build_dir / "libengine.so"  # moved here whole once linked
    build_dir.mkdir(parents=True, exist_ok=True)
    with (build_dir / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if lib.exists():
            return lib
        source = build_dir / f"{toplevel}.v"
        source.write_text(text)
        env = verilator_env()
        jobs = str(min(4, os.cpu_count() or 1))
        cflags = f"-fPIC {opt} -DMEMRL_TOP=V{toplevel} -DMEMRL_TOP_HEADER='\"V{toplevel}.h\"'"
        cmd = [
            str(Path(env["VERILATOR_ROOT"]) / "bin" / "verilator"),
            "--cc", "--exe", "--build", "-j", jobs, "-O3",
            # Amaranth's Verilog idioms are lint warnings (`make verilog` lints them).
            "-Wno-fatal", "-Wno-lint", "-Wno-style",
            "--top-module", toplevel, "--Mdir", str(build_dir / "obj"),
            "-CFLAGS", cflags, "-LDFLAGS", "-shared", "-o", lib.name,
            str(source), str(DRIVER),
        ]  # fmt: skip
        log = build_dir / "build.log"
        with log.open("w") as fh:
            done = subprocess.run(cmd, env=env, stdout=fh, stderr=subprocess.STDOUT, check=False)
        linked = build_dir / "obj" / lib.name
        if done.returncode != 0 or not linked.exists():
            tail = "\n".join(log.read_text().splitlines()[-30:])
            raise RuntimeError(f"Verilating {toplevel} failed (log: {log}):\n{tail}")
        linked.replace(lib)
    return lib


class VerilatedStream:
    """One instance of a Verilated stream engine, out of reset.

    ``din_bits`` and ``dout_bits`` are the widths of the input and output
    words (outputs are signed)."""

    def __init__(self, lib: Path, din_bits: int, dout_bits: int) -> None:
        self._h: int | None = None
        self._lib = ctypes.CDLL(str(lib))
        self._lib.mr_new.restype = ctypes.c_void_p
        self._lib.mr_free.argtypes = [ctypes.c_void_p]
        self._lib.mr_command.restype = ctypes.c_int
        self._lib.mr_command.argtypes = [
            ctypes.c_void_p, ctypes.c_uint64, _I64P, ctypes.c_int64, _I64P, ctypes.c_int64,
            ctypes.c_int, ctypes.c_uint64, ctypes.c_uint64,
            ctypes.POINTER(ctypes.c_uint64), _I64P,
        ]  # fmt: skip
        self.din_mask = (1 << din_bits) - 1
        self.dout_bits = dout_bits
        self._h = self._lib.mr_new()

    def command(
        self, payload: int, din: Sequence[int], n_out: int, stall: int
    ) -> tuple[list[int], int]:
        """Offer the command ``payload``, send ``din``, take ``n_out`` words: those
        words and the cycles it took. :class:`StreamStalled` if no word moved for
        ``stall`` cycles."""
        if self._h is None:
            raise RuntimeError("the Verilated engine is closed")
        words = np.ascontiguousarray(din, dtype=np.int64)
        out = np.zeros(max(n_out, 1), dtype=np.int64)
        cycles = ctypes.c_uint64(0)
        progress = np.zeros(2, dtype=np.int64)
        rc = self._lib.mr_command(
            self._h, payload, words.ctypes.data_as(_I64P), words.size,
            out.ctypes.data_as(_I64P), n_out, self.dout_bits, self.din_mask, stall,
            ctypes.byref(cycles), progress.ctypes.data_as(_I64P),
        )  # fmt: skip
        where = f"{progress[0]} of {words.size} words in, {progress[1]} of {n_out} out"
        if rc == 1:
            raise StreamStalled(f"the engine stalled for {stall} cycles ({where})")
        if rc != 0:
            raise RuntimeError(f"the engine sent more words than the command gives ({where})")
        return out[:n_out].tolist(), int(cycles.value)

    def close(self) -> None:
        if self._h is not None:
            self._lib.mr_free(self._h)
            self._h = None

    def __del__(self) -> None:
        self.close()
