"""A simulated board: the firmware's Verilog on Icarus or Verilator behind a pseudo-terminal.

:class:`SimBoard` builds the firmware top (:class:`~memrl.rtl.navigator.commands.NavigatorCommands`,
with the emulator inside or its RRAM port out to the SiOx model), starts the
cocotb bridge (:mod:`memrl.sim.tools.uart_bridge_tb`) in a process of its own
and gives the pseudo-terminal's name (``port``): the host opens it with
pyserial exactly as it opens a board's serial port. ``memrl sim serve`` runs
one from the command line; ``memrl maze run --backend icarus|verilator`` starts
one per seed.

The simulated firmware is built for a clock of :data:`SIMBOARD_CLK_HZ` and
reports it in IDENTIFY. The bridge keeps the cycles it has simulated in a file
the board maps (:meth:`SimBoard.now`, simulated seconds at that clock): the
host's timeouts run on it (:class:`memrl.host.link.transports.SimBoardTransport`),
so a large build that simulates slowly never times out, and a simulator that
stops is an error (:meth:`SimBoard.check`), not a wait.
"""

from __future__ import annotations

import json
import mmap
import os
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

from memrl.rtl.navigator.commands import NavigatorCommands
from memrl.rtl.navigator.core import SLOTS, NavigatorConfig
from memrl.sim.devices.emulator import emulator_for
from memrl.sim.tools.runner import SIMULATORS, build, run

__all__ = ["SIMBOARD_CLK_HZ", "SIMBOARD_DIVISOR", "SimBoard", "main"]

#: The clock a simulated board's firmware is built for and reports in IDENTIFY,
#: a conservative estimate of the simulators' speed on small builds (Icarus and
#: Verilator simulate at least this many cycles per wall second): the host that
#: cannot read the board's clock (``memrl sim serve``) times out on wall seconds.
SIMBOARD_CLK_HZ = 10_000
#: Clock cycles per UART bit of a simulated board's firmware.
SIMBOARD_DIVISOR = 8


class SimBoard:
    """A simulated board on ``sim``; ``port`` is its pseudo-terminal. Use it as a
    context manager, or call :meth:`close`. ``top``: another firmware with UART
    pins ``rx_pin``/``tx_pin`` and its memory inside (the crossbar's,
    :class:`memrl.rtl.crossbar.commands.CrossbarCommands`, built with
    :data:`SIMBOARD_DIVISOR` and :data:`SIMBOARD_CLK_HZ`) instead of the navigator's."""

    def __init__(
        self,
        sim: str,
        config: NavigatorConfig | None,
        seed: int,
        device: str = "siox",
        workdir: Path = Path("build/simboard"),
        start_timeout_s: float = 300.0,
        traj_depth: int = 1024,
        top: object | None = None,
    ) -> None:
        if sim not in SIMULATORS:
            raise ValueError(f"simulator must be one of {SIMULATORS} (got {sim!r})")
        if top is None:
            if config is None:
                raise ValueError("a simulated board needs a navigator config or a top")
            emulator = emulator_for(device, SLOTS * config.places, seed)
            # With the SiOx model, the RRAM port is the top's: the cocotb bus model answers it.
            top = NavigatorCommands(config, SIMBOARD_DIVISOR, traj_depth, SIMBOARD_CLK_HZ,
                                    emulator=emulator)  # fmt: skip
        elif device != "emulator":
            raise ValueError("a given top has its memory inside: device must be 'emulator'")
        workdir = Path(workdir).resolve()  # the simulator runs in a directory of its own
        b = build(sim, top, "simboard", Path(workdir) / "builds", waves=False)
        run_dir = Path(workdir) / f"run-{sim}-{device}-{seed}-{os.getpid()}-{id(self)}"
        run_dir.mkdir(parents=True, exist_ok=True)
        pty_file = run_dir / "pty"
        pty_file.unlink(missing_ok=True)
        clock_file = run_dir / "clock"
        clock_file.write_bytes(bytes(8))
        self.sim, self.clk_hz, self._clock = sim, SIMBOARD_CLK_HZ, None
        cfg = {
            "sim": sim, "build_dir": str(b.build_dir), "run_dir": str(run_dir),
            "divisor": SIMBOARD_DIVISOR, "device": device, "seed": seed,
            "devices": SLOTS * config.places if config else 0, "pty_file": str(pty_file),
            "parent_pid": os.getpid(), "clock_file": str(clock_file),
        }  # fmt: skip
        cfg_file = run_dir / "bridge.json"
        cfg_file.write_text(json.dumps(cfg))
        self.log = run_dir / "bridge.log"
        with self.log.open("w") as fh:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "memrl.sim.tools.uart_bridge", str(cfg_file)],
                stdout=fh, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + start_timeout_s
        while not pty_file.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise RuntimeError(
                    f"the {sim} board did not start (log: {self.log}):\n{self._log_tail()}"
                )
            time.sleep(0.05)
        self.port = pty_file.read_text().strip()
        with clock_file.open("rb") as fh:
            self._clock = mmap.mmap(fh.fileno(), 8, access=mmap.ACCESS_READ)

    def cycles(self) -> int:
        """Clock cycles the board has simulated (at least every 256 cycles)."""
        return struct.unpack("<Q", self._clock[:8])[0] if self._clock is not None else 0

    def now(self) -> float:
        """The board's simulated seconds at :data:`SIMBOARD_CLK_HZ`."""
        return self.cycles() / self.clk_hz

    def check(self) -> None:
        """Raise when the simulator has stopped (naming its log)."""
        if self.proc.poll() is not None:
            raise RuntimeError(
                f"the {self.sim} board stopped (exit status {self.proc.returncode}; "
                f"log: {self.log}):\n{self._log_tail()}"
            )

    def _log_tail(self, lines: int = 20) -> str:
        return "\n".join(self.log.read_text().splitlines()[-lines:])

    def close(self) -> None:
        if self._clock is not None:
            self._clock.close()
            self._clock = None
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def __enter__(self) -> SimBoard:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def main(argv: list[str] | None = None) -> None:
    """Entry of the bridge process: run the cocotb bridge on a build."""
    from memrl.sim.tools.runner import Build

    (cfg_file,) = argv if argv is not None else sys.argv[1:]
    cfg = json.loads(Path(cfg_file).read_text())
    b = Build(cfg["sim"], "simboard", Path(cfg["build_dir"]), False)
    run(b, "memrl.sim.tools.uart_bridge_tb", env={"MEMRL_BRIDGE": str(Path(cfg_file).resolve())},
        test_dir=Path(cfg["run_dir"]))  # fmt: skip


if __name__ == "__main__":
    main()
