"""cocotb testbench of the navigator core's Verilog (run by :mod:`memrl.sim.cocotb_runner`).

The case comes as JSON in the file named by ``MEMRL_TB_CASE``:

* ``layouts``: per layout, the flags of every place (bit 0 wall, bit 1 goal),
  and ``starts``: its start (row, column);
* ``schedule``: the layout index of each trial; ``max_steps``;
* ``seed`` (the SiOx device model of that agent), ``latency``, ``ready_prob``
  and ``backpressure_seed`` of the RRAM bus model;
* optionally ``expected``: ``log`` (device operations) and ``trials``
  (per-trial figures), compared by the scoreboard.

What the core did goes as JSON to ``MEMRL_TB_OUT``: the device-operation log
and per trial ``steps, reached, ticks, moves, hits, reads, sets, resets``,
the trajectory (places, start first), the ticks of each step and the cycles.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge

from memrl.sim.cocotb_rram import RRAMBus, RRAMDevice, value_of
from memrl.sim.devices import SiOxArray, SiOxParams, SiOxPort
from memrl.sim.scoreboard import check_streams

COUNTERS = ("steps", "ticks", "moves", "hits", "reads", "sets", "resets")


async def _idle(dut) -> None:
    """Wait until the core is idle (it takes commands and layout writes only then)."""
    while value_of(dut.busy):
        await FallingEdge(dut.clk)


async def _pulse(dut, name: str) -> None:
    await _idle(dut)
    getattr(dut, name).value = 1
    await FallingEdge(dut.clk)
    getattr(dut, name).value = 0


async def _until_done(dut) -> int:
    cycles = 0
    while True:
        await FallingEdge(dut.clk)
        cycles += 1
        if value_of(dut.done):
            return cycles


@cocotb.test()
async def navigator_schedule(dut) -> None:
    case = json.loads(Path(os.environ["MEMRL_TB_CASE"]).read_text())
    places = len(case["layouts"][0])
    device = SiOxPort(SiOxArray.batch([case["seed"]], 9 * places, SiOxParams()))
    rng = np.random.default_rng(case.get("backpressure_seed", 0))
    model = RRAMDevice(
        RRAMBus(dut),
        dut.clk,
        device,
        latency=case.get("latency", 0),
        ready_prob=case.get("ready_prob", 1.0),
        rng=rng,
    )
    Clock(dut.clk, 10, unit="ns").start()
    for name in ("init", "start", "layout_we"):
        getattr(dut, name).value = 0
    dut.rst.value = 1
    await ClockCycles(dut.clk, 2)
    await FallingEdge(dut.clk)
    dut.rst.value = 0
    cocotb.start_soon(model.run())

    await _pulse(dut, "init")
    cycles = await _until_done(dut)
    dut._log.info("run start (device init): %d cycles", cycles)
    trials = []
    loaded = None
    for k in case["schedule"]:
        if k != loaded:
            loaded = k
            await _idle(dut)
            dut.layout_we.value = 1
            for cell, flags in enumerate(case["layouts"][k]):
                dut.layout_addr.value = cell
                dut.layout_data.value = flags
                await FallingEdge(dut.clk)
            dut.layout_we.value = 0
        row, col = case["starts"][k]
        dut.start_row.value = row
        dut.start_col.value = col
        dut.max_steps.value = case["max_steps"]
        await _pulse(dut, "start")
        rec = {"trajectory": [row * case["width"] + col], "step_ticks": [], "cycles": 1}
        while True:
            await FallingEdge(dut.clk)
            rec["cycles"] += 1
            if value_of(dut.step_valid):
                pos = value_of(dut.pos)
                if pos != rec["trajectory"][-1]:
                    rec["trajectory"].append(pos)
                rec["step_ticks"].append(value_of(dut.step_ticks))
            if value_of(dut.done):
                break
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

    out = {"log": model.log, "trials": trials, "stalls": model.stalls}
    if "MEMRL_TB_OUT" in os.environ:
        Path(os.environ["MEMRL_TB_OUT"]).write_text(json.dumps(out))
    want = case.get("expected")
    if want:
        check_streams("device operations", model.log, want["log"])
        for name in (*COUNTERS, "reached", "trajectory"):
            check_streams(
                f"per-trial {name}", [t[name] for t in trials], [t[name] for t in want["trials"]]
            )
