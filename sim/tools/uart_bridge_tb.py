"""cocotb testbench: the simulated firmware's UART pins bridged to a pseudo-terminal.

Started by :mod:`memrl.sim.tools.uart_bridge` (see there). The configuration comes
as JSON in the file named by ``MEMRL_BRIDGE``: ``divisor`` (clock cycles per
UART bit), ``device`` (``siox``: the SiOx model of ``seed`` answers the top's
RRAM port; ``emulator``: the top has its emulator inside), ``pty_file`` (where
the pseudo-terminal's name is written once the bridge listens),
``parent_pid`` (the bridge ends when that process is gone) and ``clock_file``
(optional: 8 bytes, little-endian, where the bridge keeps the clock cycles
simulated so far, at least every :data:`POLL_CYCLES` cycles and after every
byte; the host's timeouts run on this clock).

Bytes the host writes to the pseudo-terminal are shifted into ``rx_pin`` bit
by bit; bytes the firmware sends on ``tx_pin`` are sampled mid-bit and written
back. The simulation runs for as long as the bridge lives.
"""

from __future__ import annotations

import json
import mmap
import os
import struct
import tty
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, Timer
from cocotb.utils import get_sim_time

from memrl.sim.devices import SiOxArray, SiOxParams, SiOxPort
from memrl.sim.navigator.cocotb_port import RRAMBus, RRAMDevice, value_of
from memrl.sim.tools.amaranth_tb import uart_bits

PERIOD_NS = 10
POLL_CYCLES = 256  # how often an idle line looks for host bytes


def _cycles(n: int) -> Timer:
    """``n`` clock periods as one timer: the simulator runs them without Python
    (``ClockCycles`` wakes Python at every edge)."""
    return Timer(n * PERIOD_NS, unit="ns")


async def _tx_to_pty(dut, master: int, divisor: int) -> None:
    while True:
        await FallingEdge(dut.tx_pin)
        await _cycles(divisor // 2)
        if value_of(dut.tx_pin) != 0:  # not a start bit (a glitch, or X at time 0)
            continue
        byte = 0
        for i in range(8):
            await _cycles(divisor)
            byte |= value_of(dut.tx_pin) << i
        await _cycles(divisor)
        os.write(master, bytes([byte]))


class _ClockFile:
    """The cycles simulated so far, kept in ``path`` (8 bytes, little-endian) for
    the host to read; nothing when ``path`` is None."""

    def __init__(self, path: str | None) -> None:
        self.map = None
        if path:
            with open(path, "r+b") as fh:
                self.map = mmap.mmap(fh.fileno(), 8)

    def publish(self) -> None:
        if self.map is not None:
            self.map[:8] = struct.pack("<Q", int(get_sim_time(unit="ns")) // PERIOD_NS)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@cocotb.test()
async def uart_bridge(dut) -> None:
    cfg = json.loads(Path(os.environ["MEMRL_BRIDGE"]).read_text())
    divisor = int(cfg["divisor"])
    clock = _ClockFile(cfg.get("clock_file"))
    master, slave = os.openpty()
    tty.setraw(slave)  # bytes as they are: no echo, no line editing
    os.set_blocking(master, False)
    dut.rx_pin.value = 1
    dut.rst.value = 1
    Clock(dut.clk, PERIOD_NS, unit="ns", impl="gpi").start()  # the clock in C, not Python
    if cfg["device"] == "siox":
        device = SiOxPort(SiOxArray.batch([cfg["seed"]], cfg["devices"], SiOxParams()))
        cocotb.start_soon(RRAMDevice(RRAMBus(dut), dut.clk, device).run())
    await ClockCycles(dut.clk, 2)
    dut.rst.value = 0
    cocotb.start_soon(_tx_to_pty(dut, master, divisor))
    pty_file = Path(cfg["pty_file"])
    tmp = pty_file.with_suffix(".tmp")
    tmp.write_text(os.ttyname(slave))
    tmp.replace(pty_file)
    dut._log.info("UART bridged to %s", os.ttyname(slave))
    polls = 0
    while True:
        try:
            data = os.read(master, 4096)
        except (BlockingIOError, OSError):  # nothing written, or no one has the port open
            data = b""
        if not data:
            polls += 1
            if polls % 1024 == 0 and not _alive(int(cfg["parent_pid"])):
                dut._log.info("the host is gone: bridge ends")
                return
            await _cycles(POLL_CYCLES)
            clock.publish()
            continue
        for byte in data:
            for bit in uart_bits(byte):
                dut.rx_pin.value = bit
                await _cycles(divisor)
            clock.publish()
