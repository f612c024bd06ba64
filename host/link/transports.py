"""Byte transports for :class:`~memrl.host.link.client.LinkClient`.

* :class:`AmaranthTransport`: the firmware (:class:`memrl.rtl.navigator.commands.NavigatorCommands`)
  simulated in-process by ``amaranth.sim``, bytes crossing its UART pins bit by
  bit. Its RRAM port is answered by the SiOx model of one seed (``device="siox"``)
  or by the on-chip emulator core built from that seed (``device="emulator"``).
  Time is simulated time: the transport's :meth:`~AmaranthTransport.now` is the
  clock the client's timeouts run on, so a slow simulation never times out.
* :class:`UARTSimTransport`: what the two share, for any design with UART
  pins ``rx_pin`` and ``tx_pin`` (the crossbar firmware's as well,
  :mod:`memrl.host.crossbar.commands`).
* :class:`SerialTransport`: a serial port through pyserial, the same for a board
  and for a simulated board behind a pseudo-terminal; or any pyserial URL
  (``socket://HOST:PORT``, ``rfc2217://HOST:PORT``, ``loop://``).
* :class:`SimBoardTransport`: the pseudo-terminal of a simulated board the host
  started (:class:`memrl.sim.tools.uart_bridge.SimBoard`), with its timeouts on
  the board's simulated clock, as the in-process transports have.
"""

from __future__ import annotations

import time
from collections import deque

from amaranth.sim import Simulator

from memrl.rtl.navigator.commands import NavigatorCommands
from memrl.rtl.navigator.core import SLOTS, NavigatorConfig
from memrl.sim.devices import SiOxArray, SiOxParams, SiOxPort
from memrl.sim.devices.emulator import emulator_for
from memrl.sim.navigator.amaranth_port import RRAMResponder
from memrl.sim.tools.amaranth_tb import uart_read_byte, uart_write

__all__ = ["AMARANTH_SIM_CLK_HZ", "AMARANTH_SIM_DIVISOR", "UARTSimTransport",
           "AmaranthTransport", "SerialTransport"]  # fmt: skip

#: The clock of a firmware simulated in-process by amaranth.sim (the iCEBreaker's
#: oscillator), in simulated time.
AMARANTH_SIM_CLK_HZ = 12_000_000
#: Clock cycles per UART bit of a firmware in amaranth.sim (3 Mbaud at its clock).
AMARANTH_SIM_DIVISOR = 4


class UARTSimTransport:
    """A design with UART pins ``rx_pin``/``tx_pin`` in ``amaranth.sim``, bytes
    crossing them bit by bit at ``divisor`` cycles per bit; ``processes``: more
    simulator processes (a model answering the design's ports). Time is
    simulated time (:meth:`now`)."""

    def __init__(self, fw, divisor: int, clk_hz: int, processes=()) -> None:  # noqa: ANN001
        self.fw = fw
        self.divisor, self.clk_hz = divisor, clk_hz
        self._out: deque[int] = deque()
        self._in = bytearray()
        self._cycles = 0  # simulated so far (run_until targets fall a quarter cycle later)
        self.cycles_per_poll = 32
        self.chunk_cycles = 200  # simulated per step of read(): now()'s resolution
        sim = Simulator(fw)
        sim.add_clock(1 / clk_hz)
        for process in processes:
            sim.add_process(process)
        sim.add_testbench(self._drive_rx, background=True)
        sim.add_testbench(self._sample_tx, background=True)
        self.sim = sim

    async def _drive_rx(self, ctx) -> None:  # noqa: ANN001 - amaranth.sim context
        pin = self.fw.rx_pin
        ctx.set(pin, 1)
        while True:
            if not self._out:
                await ctx.delay(self.cycles_per_poll / self.clk_hz)
                await ctx.tick()
                continue
            await uart_write(ctx, pin, [self._out.popleft()], self.divisor)

    async def _sample_tx(self, ctx) -> None:  # noqa: ANN001
        while True:
            self._in.append(await uart_read_byte(ctx, self.fw.tx_pin, self.divisor))

    def now(self) -> float:
        """Simulated seconds."""
        return self._cycles / self.clk_hz

    def write(self, data: bytes) -> None:
        self._out.extend(data)

    def read(self, timeout_s: float) -> bytes:
        """Simulate until a frame delimiter arrives or ``timeout_s`` simulated
        seconds pass; the bytes received."""
        end = self._cycles + max(1, round(timeout_s * self.clk_hz))
        while 0 not in self._in and self._cycles < end:
            self._cycles = min(end, self._cycles + self.chunk_cycles)
            # A quarter cycle past the edge: never on an event, always after the last run.
            self.sim.run_until((self._cycles + 0.25) / self.clk_hz)
        out = bytes(self._in)
        self._in.clear()
        return out


class AmaranthTransport(UARTSimTransport):
    """The firmware of ``config`` in ``amaranth.sim``; see the module text.

    ``log``: with ``device="siox"``, every device operation as ``(op, addr, level,
    result)``, in the golden model's form. ``serial_emulator``: with
    ``device="emulator"``, the emulator's small form (the iCEBreaker's).
    """

    def __init__(
        self,
        config: NavigatorConfig,
        seed: int,
        device: str = "siox",
        siox: SiOxParams | None = None,
        divisor: int = AMARANTH_SIM_DIVISOR,
        clk_hz: int = AMARANTH_SIM_CLK_HZ,
        traj_depth: int = 1024,
        serial_emulator: bool = False,
    ) -> None:
        n = SLOTS * config.places
        emulator = emulator_for(device, n, seed, siox)
        fw = NavigatorCommands(
            config, divisor, traj_depth=traj_depth, clk_hz=clk_hz, emulator=emulator,
            serial_emulator=serial_emulator,
        )  # fmt: skip
        self.log: list[tuple[int, int, int, int]] | None = None
        processes = []
        if emulator is None:
            port = SiOxPort(SiOxArray.batch([seed], n, siox or SiOxParams()))
            responder = RRAMResponder(fw.rram, port, pipelined=True)
            self.log = responder.log
            processes.append(responder.process)
        super().__init__(fw, divisor, clk_hz, processes)


class SerialTransport:
    """A serial port (pyserial): a board, or a simulated board behind a pty.

    ``url`` is a device (``/dev/ttyUSB1``, ``COM3``) or a pyserial URL
    (``socket://HOST:PORT``, ``rfc2217://HOST:PORT``, ``loop://``)."""

    def __init__(self, url: str, baud: int = 115_200) -> None:
        try:
            import serial
        except ImportError as exc:  # pragma: no cover - pyserial is a dependency
            raise RuntimeError("the serial transport needs pyserial: pip install pyserial") from exc
        try:
            self.port = serial.serial_for_url(url, baudrate=baud, timeout=0)
        except (serial.SerialException, ValueError) as exc:
            raise RuntimeError(f"cannot open serial port {url}: {exc}") from exc

    def now(self) -> float:
        return time.monotonic()

    def write(self, data: bytes) -> None:
        self.port.write(data)

    def read(self, timeout_s: float) -> bytes:
        self.port.timeout = max(0.0, timeout_s)
        first = self.port.read(1)
        return first + self.port.read(self.port.in_waiting) if first else b""

    def close(self) -> None:
        self.port.close()


class SimBoardTransport(SerialTransport):
    """``board``'s pseudo-terminal (a :class:`memrl.sim.tools.uart_bridge.SimBoard`):
    :meth:`now` is the board's simulated time, so a build that simulates slowly
    (the 128 x 128 rover map's) never times out; a board whose simulator has
    stopped raises (``board.check()``) instead of being waited for."""

    #: Wall seconds a read waits before it looks at the board's clock again.
    POLL_S = 0.05

    def __init__(self, board: object) -> None:
        super().__init__(board.port)
        self.board = board

    def now(self) -> float:
        return self.board.now()

    def read(self, timeout_s: float) -> bytes:
        self.board.check()
        return super().read(min(timeout_s, self.POLL_S))
