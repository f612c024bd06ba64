"""cocotb testbench of the navigator core's Verilog (run by :mod:`memrl.sim.tools.runner`).

The case comes as JSON in the file named by ``MEMRL_TB_CASE``:

* ``layouts``: per layout, the flags of every place (bit 0 wall, bit 1 goal),
  and ``starts``: its start (row, column); ``width``;
* ``schedule``: the layout index of each trial; ``max_steps``;
* ``seed``: the SiOx device model of that agent;
* ``bus``: ``"cycle"`` (the core's own port, :class:`RRAMDevice` with
  ``latency``, ``ready_prob`` and ``backpressure_seed``) or ``"batch"`` (a
  :class:`~memrl.sim.navigator.batch_port.BatchPortTop`, :class:`RRAMBatchDevice`);
  ``addr_width`` and ``lanes`` of the core's port;
* optionally ``reset_at``: ``[trial, cycles]``, a reset that many cycles into
  that trial, after which the whole schedule runs again from a fresh device
  model of the same seed (only the run after the reset is reported);
* optionally ``expected_log`` (an ``.npy`` file of ``(op, addr, level,
  result)`` rows) and ``expected_trials`` (per-trial figures), compared by the
  scoreboard.

What the core did goes to the directory ``MEMRL_TB_OUT``: ``log.npy`` (the
device operations) and ``run.json`` (per trial ``steps, reached, ticks, moves,
hits, reads, sets, resets``, the trajectory, the ticks of each step, the
cycles; the run's cycles and the wall time of the schedule in this process,
the bus figures and the reset's figures).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, First, RisingEdge, Timer
from cocotb.utils import get_sim_time

from memrl.rtl.navigator.core import SLOTS
from memrl.sim.devices import SiOxArray, SiOxParams, SiOxPort
from memrl.sim.navigator.cocotb_port import RRAMBatchDevice, RRAMBus, RRAMDevice, value_of
from memrl.sim.tools.scoreboard import check_streams

COUNTERS = ("steps", "ticks", "moves", "hits", "reads", "sets", "resets")
PERIOD_NS = 10
STALL_CYCLES = 200_000  # no step and no end of trial for this long: the core hangs


def _cycle() -> int:
    return int(get_sim_time(unit="ns")) // PERIOD_NS


async def _idle(dut) -> None:
    """Wait until the core is idle (it takes commands and layout writes only then)."""
    while value_of(dut.busy):
        await FallingEdge(dut.clk)


async def _pulse(dut, name: str) -> None:
    await _idle(dut)
    getattr(dut, name).value = 1
    await FallingEdge(dut.clk)
    getattr(dut, name).value = 0


class _Progress:
    """A watchdog: fails the test when the core makes no progress for ``STALL_CYCLES``."""

    def __init__(self) -> None:
        self.mark = 0

    async def watch(self) -> None:
        seen = -1
        while True:
            await Timer(STALL_CYCLES * PERIOD_NS, unit="ns")
            if self.mark == seen:
                raise AssertionError(
                    f"the core made no step for {STALL_CYCLES} cycles (at cycle {_cycle()})"
                )
            seen = self.mark


def _device(case: dict) -> SiOxPort:
    places = len(case["layouts"][0])
    return SiOxPort(SiOxArray.batch([case["seed"]], SLOTS * places, SiOxParams()))


async def _reset(dut, model) -> None:  # noqa: ANN001
    dut.rst.value = 1
    for name in ("init", "start", "layout_we", "cost_we"):
        getattr(dut, name).value = 0
    await ClockCycles(dut.clk, 2)
    await FallingEdge(dut.clk)
    model.clear()
    dut.rst.value = 0


async def _schedule(dut, case: dict, progress: _Progress, reset_at: list[int] | None):  # noqa: ANN201
    """Run init and every trial of the schedule; the trials, or None after a reset."""
    await _pulse(dut, "init")
    t0 = _cycle()
    await RisingEdge(dut.done)
    dut._log.info("run start (device init): %d cycles", _cycle() - t0)
    trials = []
    loaded = None
    step, done = RisingEdge(dut.step_valid), RisingEdge(dut.done)
    for k in case["schedule"]:
        if k != loaded:
            loaded = k
            await _idle(dut)
            dut.layout_we.value = 1
            dut.cost_we.value = 1  # terrain: the entry costs with the flags
            for cell, flags in enumerate(case["layouts"][k]):
                dut.layout_addr.value = cell
                dut.layout_data.value = flags
                await FallingEdge(dut.clk)
            dut.layout_we.value = 0
            dut.cost_we.value = 0
        row, col = case["starts"][k]
        dut.start_row.value = row
        dut.start_col.value = col
        dut.max_steps.value = case["max_steps"]
        await _pulse(dut, "start")
        start = _cycle()
        rec = {"trajectory": [row * case["width"] + col], "step_ticks": []}
        if reset_at is not None and reset_at[0] == len(trials):
            await ClockCycles(dut.clk, reset_at[1])
            return None
        while True:
            fired = await First(step, done)
            progress.mark += 1
            await FallingEdge(dut.clk)
            if fired is step or value_of(dut.step_valid):
                pos = value_of(dut.pos)
                if pos != rec["trajectory"][-1]:
                    rec["trajectory"].append(pos)
                rec["step_ticks"].append(value_of(dut.step_ticks))
            if value_of(dut.done):
                break
        rec["cycles"] = _cycle() - start
        for name in COUNTERS:
            rec[name] = value_of(getattr(dut, name))
        rec["reached"] = bool(value_of(dut.reached))
        trials.append(rec)
        dut._log.info(
            "trial %d: %d steps, reached %s, %d cycles",
            len(trials) - 1,
            rec["steps"],
            rec["reached"],
            rec["cycles"],
        )
    return trials


@cocotb.test()
async def navigator_schedule(dut) -> None:
    case = json.loads(Path(os.environ["MEMRL_TB_CASE"]).read_text())
    if case.get("bus", "cycle") == "batch":
        model = RRAMBatchDevice(
            dut, dut.clk, _device(case), case["addr_width"], lanes=case.get("lanes", 8)
        )
    else:
        model = RRAMDevice(
            RRAMBus(dut),
            dut.clk,
            _device(case),
            latency=case.get("latency", 0),
            ready_prob=case.get("ready_prob", 1.0),
            rng=np.random.default_rng(case.get("backpressure_seed", 0)),
        )
    Clock(dut.clk, PERIOD_NS, unit="ns").start()
    await _reset(dut, model)
    cocotb.start_soon(model.run())
    progress = _Progress()
    cocotb.start_soon(progress.watch())
    report: dict = {}

    reset_at = case.get("reset_at")
    if reset_at is not None:
        assert await _schedule(dut, case, progress, reset_at) is None
        report["reset"] = {"cycle": _cycle(), "busy": value_of(dut.busy)}
        await _reset(dut, model)
        await FallingEdge(dut.clk)
        report["reset"]["busy_after"] = value_of(dut.busy)
        assert not value_of(dut.busy), "the core is still busy after a reset"
        model.device = _device(case)
        model.log.clear()
    t0, w0 = _cycle(), time.perf_counter()
    trials = await _schedule(dut, case, progress, None)
    report.update(
        trials=trials,
        cycles=_cycle() - t0,
        schedule_wall_s=time.perf_counter() - w0,
        requests=model.requests,
        batches=getattr(model, "batches", None),
        stalls=getattr(model, "stalls", None),
    )
    log = np.asarray(model.log, dtype=np.int64).reshape(-1, 4)
    if "MEMRL_TB_OUT" in os.environ:
        out = Path(os.environ["MEMRL_TB_OUT"])
        out.mkdir(parents=True, exist_ok=True)
        np.save(out / "log.npy", log)
        (out / "run.json").write_text(json.dumps(report))
    if case.get("expected_log"):
        check_streams("device operations", log, np.load(case["expected_log"]))
    want = case.get("expected_trials")
    if want:
        for name in (*COUNTERS, "reached", "trajectory"):
            check_streams(f"per-trial {name}", [t[name] for t in trials], [t[name] for t in want])
