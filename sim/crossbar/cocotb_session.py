"""A cocotb bus model of the crossbar engine's streams: the engine's Verilog as
an :class:`~memrl.sim.crossbar.session.EngineSession`.

A Q-agent runs in a thread (``cocotb.bridge``) and each of its engine commands
runs in the simulator (``cocotb.resume``). One coroutine per command drives the
command, input and output streams and serves the engine's crossbar port from
the network's own 1T1R model through a
:class:`~memrl.sim.crossbar.port_server.CrossbarServer`; at every falling clock
edge it sets the inputs, and in the read-only phase after them it sees what the
next rising edge transfers. The cocotb test that trains an agent through it is
:mod:`memrl.host.crossbar.cocotb_tb`.
"""

from __future__ import annotations

from collections import deque

from amaranth.lib import data
from cocotb.clock import Clock
from cocotb.task import resume
from cocotb.triggers import FallingEdge, First, ReadOnly, RisingEdge, Timer
from cocotb.utils import get_sim_time

from memrl.rtl.crossbar.engine import EngineOp, command_layout
from memrl.rtl.crossbar.port import crossbar_request_layout
from memrl.sim.crossbar.golden import CrossbarQNet
from memrl.sim.crossbar.port_server import CrossbarServer
from memrl.sim.crossbar.session import (
    EMULATED_STALL_CYCLES,
    STALL_CYCLES,
    EngineSession,
    engine_config,
)

PERIOD_NS = 10


def _int(handle) -> int:  # noqa: ANN001
    return int(handle.value)


def _fields(layout: data.StructLayout) -> dict[str, tuple[int, int]]:
    """(offset, mask) of each field of a struct layout."""
    return {name: (f.offset, (1 << f.width) - 1) for name, f in layout}


class CocotbSession(EngineSession):
    """The engine's Verilog behind its streams, the array served from ``net.port``."""

    def __init__(self, dut, net: CrossbarQNet, max_batch: int, latency: int) -> None:  # noqa: ANN001
        config = engine_config(net, max_batch)
        emulated = net.config.array == "emulator"
        super().__init__(config, net if emulated else None)
        self.dut, self.latency = dut, latency
        sig = config.port_signature()
        # An emulated array is inside the design; otherwise the port is served here.
        self.server = None if emulated else CrossbarServer(net.port, sig)
        self._req = _fields(crossbar_request_layout(sig.row_bits, sig.col_bits, sig.arg_bits))
        self._cmd = _fields(command_layout(config))
        self._act_mask = (1 << config.act_bits) - 1
        self._written: dict[str, int] = {}  # the inputs as last set
        self._blocking = resume(self._run)

    def _exchange(self, op, count, reads_log2, din, n_out):  # noqa: ANN001
        return self._blocking(op, count, reads_log2, din, n_out)

    def _set(self, name: str, value: int) -> None:
        """Drive an input of the engine, only when it changes (the loop runs every cycle)."""
        if self._written.get(name) != value:
            getattr(self.dut, name).value = value
            self._written[name] = value

    def _decode(self, p: int) -> tuple[int, ...]:
        return tuple((p >> off) & mask for off, mask in self._req.values())

    async def _run(self, op: EngineOp, count: int, reads_log2: int, din: list[int], n_out: int):
        dut, put, f = self.dut, self._set, self._cmd
        cmd = (op.value << f["op"][0] | count << f["count"][0]
               | reads_log2 << f["reads_log2"][0])  # fmt: skip
        cmd_sent = False
        i, out = 0, []
        owed: deque[tuple[int, int]] = deque()  # (cycle due, response payload)
        idle = 0
        served = self.server is not None
        if served:
            put("xbar__req__ready", 1)
        put("dout__ready", 1)
        cycle = 0  # falling edges since the command began
        while True:
            await FallingEdge(dut.clk)
            cycle += 1
            put("cmd__valid", int(not cmd_sent))
            put("cmd__payload", cmd)
            more = cmd_sent and i < len(din)
            put("din__valid", int(more))
            if more:
                put("din__payload", din[i] & self._act_mask)
            due = bool(owed) and owed[0][0] <= cycle
            if served:
                put("xbar__resp__valid", int(due))
            if due:
                put("xbar__resp__payload", owed[0][1])
            await ReadOnly()
            progress = False
            if not cmd_sent and _int(dut.cmd__ready):
                cmd_sent = progress = True
            elif more and _int(dut.din__ready):
                i += 1
                progress = True
            if _int(dut.dout__valid):
                out.append(dut.dout__payload.value.to_signed())
                progress = True
            if due and _int(dut.xbar__resp__ready):
                owed.popleft()
                progress = True
            if served and _int(dut.xbar__req__valid):
                word = self._decode(_int(dut.xbar__req__payload))
                for code in self.server.word(*word):
                    owed.append((cycle + 1 + self.latency, code))
                progress = True
            busy = _int(dut.busy)
            if cmd_sent and i == len(din) and len(out) == n_out and not busy:
                break
            if not served and cmd_sent and i == len(din) and busy and not progress:
                # Only the engine's own work is left until its next output: let the
                # simulator run without a Python call per cycle.
                t0 = get_sim_time(unit="ns")  # this falling edge
                stall = Timer(EMULATED_STALL_CYCLES * PERIOD_NS, unit="ns")
                fired = await First(RisingEdge(dut.dout__valid), FallingEdge(dut.busy), stall)
                if fired is stall:
                    raise AssertionError(
                        f"the engine stalled for {EMULATED_STALL_CYCLES} cycles in {op.name} "
                        f"({len(out)} of {n_out} words out)"
                    )
                # The change came at a rising edge; the loop resumes at the falling
                # edge after it. Count the falling edges passed before that one.
                elapsed = get_sim_time(unit="ns") - t0
                cycle += round((elapsed + PERIOD_NS / 2) / PERIOD_NS) - 1
                continue
            idle = 0 if progress else idle + 1
            if idle > STALL_CYCLES:
                raise AssertionError(
                    f"the engine stalled for {STALL_CYCLES} cycles in {op.name} "
                    f"({i} of {len(din)} words in, {len(out)} of {n_out} out)"
                )
        await FallingEdge(dut.clk)
        put("cmd__valid", 0)
        put("din__valid", 0)
        if served:
            put("xbar__resp__valid", 0)
        self.cycles += cycle
        return out


def session_factory(dut, max_batch: int, latency: int):  # noqa: ANN001, ANN201
    """The ``engine`` argument of a :class:`~memrl.sim.crossbar.golden.CrossbarQNet`
    whose digital side is the engine ``dut``."""

    def make(net: CrossbarQNet) -> CocotbSession:
        return CocotbSession(dut, net, max_batch, latency)

    return make


async def start(dut) -> None:  # noqa: ANN001
    """Start the clock, idle the inputs and reset the engine."""
    Clock(dut.clk, PERIOD_NS, unit="ns", impl="gpi").start()
    inputs = ["cmd__valid", "din__valid", "dout__ready"]
    if hasattr(dut, "xbar__req__ready"):  # the engine alone: its crossbar port is served here
        inputs += ["xbar__req__ready", "xbar__resp__valid"]
    for name in inputs:
        getattr(dut, name).value = 0
    dut.rst.value = 1
    for _ in range(3):
        await FallingEdge(dut.clk)
    dut.rst.value = 0
