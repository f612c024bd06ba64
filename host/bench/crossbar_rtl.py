"""Benchmarks of the crossbar engine (docs/crossbar/rtl.md): cycles per command,
environment steps per second per backend, words per step, FPGA resources."""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path

from memrl.host.bench.registry import experiment
from memrl.host.crossbar.cocotb_backend import run_cocotb_training, train_steps
from memrl.sim.crossbar.session import amaranth_engine
from memrl.sim.crossbar.verilated import verilated_engine

#: The steps of a measured run: the replay memory fills at step 80 (the agents'
#: minibatch), so the last ``LEARNING_STEPS`` steps each run one update.
WARM_STEPS = 80
LEARNING_STEPS = 10
SEED = 0


def _run(backend: str, preset: str, steps: int, device: str = "realistic") -> dict:
    if backend == "icebreaker":  # the board's design, Verilated in this process
        from memrl.host.build.fpga import BOARDS
        from memrl.host.crossbar.control import DEVICES

        d = BOARDS["icebreaker"].crossbar
        engine = verilated_engine(d.pass_samples, design=d)
        return train_steps("CartPole-v1", preset, SEED, steps, {}, engine,
                           d.pieces(DEVICES["emulator"]))  # fmt: skip
    if backend == "golden":
        return train_steps("CartPole-v1", preset, SEED, steps, {}, device=device)
    if backend == "amaranth":
        return train_steps("CartPole-v1", preset, SEED, steps, {}, amaranth_engine(),
                           device=device)  # fmt: skip
    if backend == "verilator-lib":  # Verilator in this process (the emulator device)
        return train_steps("CartPole-v1", preset, SEED, steps, {}, verilated_engine(),
                           device=device)  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        return run_cocotb_training(backend, Path(tmp), preset=preset, seed=SEED, steps=steps,
                                   device=device)  # fmt: skip


def _per_command(history: list) -> dict:
    """Median cycles and words of each kind of command in a run."""
    kinds: dict[str, list] = {}
    for name, count, cycles, w_out, w_in in history:
        key = f"{name}_{count}" if name == "FORWARD" else name
        kinds.setdefault(key, []).append((count, cycles, w_out, w_in))
    out = {}
    for key, rows in sorted(kinds.items()):
        med = statistics.median
        out[key] = {
            "commands": len(rows),
            "median_count": med(r[0] for r in rows),
            "median_cycles": med(r[1] for r in rows),
            "median_words_out": med(r[2] for r in rows),
            "median_words_in": med(r[3] for r in rows),
        }
    return out


@experiment("crossbar_rtl_cycles")
def _cycles() -> dict:
    """Clock cycles of each engine command in a CartPole-v1 run on Verilator
    (seed 0, 90 steps, the last 10 with an update each), per preset, and the
    engine's stream words per learning step (command and input words out,
    output words in; every word carries at most 24 bits). ``emulator``: the
    default preset on the emulator device, the array the emulator core inside
    the design. ``icebreaker``: the same on the iCEBreaker's design (forward
    passes of 8 samples, PROGRAMs of 256 entries, one lane, products by
    shift-and-add), Verilated in this process. ``engine_cycles_per_learning_step``
    sums the cycles of a learning step's commands."""
    out: dict[str, dict] = {}
    for name, backend, preset, device in (
        ("default", "verilator", "default", "realistic"),
        ("paper", "verilator", "paper", "realistic"),
        ("emulator", "verilator", "default", "emulator"),
        ("icebreaker", "icebreaker", "default", "emulator"),
    ):
        r = _run(backend, preset, WARM_STEPS + LEARNING_STEPS, device)
        hist = r["history"]
        cmds = _per_command(hist)
        learn = hist[r["history_marks"][WARM_STEPS - 1] :]  # the learning steps' commands
        widest = max((k for k in cmds if k.startswith("FORWARD_")),
                     key=lambda k: int(k.split("_")[1]))  # fmt: skip
        batch = int(widest.split("_")[1])
        out[name] = {
            "commands": cmds,
            f"forward_cycles_per_sample_batch{batch}": cmds[widest]["median_cycles"] / batch,
            "engine_cycles_per_learning_step": sum(h[2] for h in learn) / LEARNING_STEPS,
            "words_per_learning_step": {
                "out": sum(h[3] for h in learn) / LEARNING_STEPS,
                "in": sum(h[4] for h in learn) / LEARNING_STEPS,
            },
        }
    return out


#: Runs of the fast backends in the steps/s bench (the figure is their median).
FAST_REPEATS = 3


@experiment("crossbar_rtl_steps_per_s")
def _steps_per_s() -> dict:
    """Environment steps per second of the same CartPole-v1 run (default preset,
    seed 0) with the crossbar's digital side on each backend: over the 80 steps
    before learning starts (greedy forward passes of one sample) and over the 10
    learning steps after (a forward pass of 80 samples and the writes of one
    update each); the training loop's wall time (no start-up or build).
    ``emulator/<backend>``: the emulator device, its array inside the design on
    the RTL backends (amaranth.sim is left out: about 30 s per learning step);
    ``emulator/verilator-lib`` is Verilator in this process, as ``--backend
    verilator --device emulator`` runs it, the others under cocotb. The golden
    and in-process rows are medians of ``FAST_REPEATS`` runs, the others one run."""
    out = {}
    runs = [(b, "realistic", b) for b in ("golden", "amaranth", "icarus", "verilator")]
    runs += [(f"emulator/{b}", "emulator", b)
             for b in ("golden", "icarus", "verilator", "verilator-lib")]  # fmt: skip
    for name, device, backend in runs:
        repeats = FAST_REPEATS if backend in ("golden", "verilator-lib") else 1
        warm, learn = [], []
        for _ in range(repeats):
            walls = _run(backend, "default", WARM_STEPS + LEARNING_STEPS, device)["step_wall_s"]
            warm.append(WARM_STEPS / sum(walls[:WARM_STEPS]))
            learn.append(LEARNING_STEPS / sum(walls[WARM_STEPS:]))
        out[name] = {
            "runs": repeats,
            "warm_steps_per_s": statistics.median(warm),
            "learning_steps_per_s": statistics.median(learn),
        }
    return out


@experiment("crossbar_rtl_synth")
def _synth() -> dict:
    """YoWASP Yosys + nextpnr for the crossbar engine top (cart-pole network,
    forward batches up to 80, programs up to 8,192 entries) on the ECP5-25F,
    the 1T1R emulator core (128 x 64 devices) on the iCE40 UP5K and the
    ECP5-25F, and the two together (``crossbar_system``) on the ULX3S's
    ECP5-85F: LUTs, flip-flops, block RAMs, DSPs and Fmax at a 48 MHz target
    over three placement seeds."""
    from memrl.host.build.verilog import cell_summary, synth_report

    out = {}
    # (key, top, family, placement seeds)
    for key, top, family, seeds in (
        ("ecp5-25f", "crossbar_engine", "ecp5-25f", (1, 2, 3)),
        ("emulator/ice40-up5k", "crossbar_emulator", "ice40-up5k", (1, 2, 3)),
        ("emulator/ecp5-25f", "crossbar_emulator", "ecp5-25f", (1, 2, 3)),
        ("system/ecp5-85f", "crossbar_system", "ecp5-85f", (1, 2, 3)),
    ):
        with tempfile.TemporaryDirectory() as tmp:
            r = synth_report(top, family, Path(tmp), seeds)
        s = cell_summary(r["cells"])
        out[key] = {
            **{k: s[k] for k in ("luts", "ffs", "brams", "sprams", "dsps")},
            "placed": {k: v["used"] for k, v in r["utilization"].items()},
            "available": {k: v["available"] for k, v in r["utilization"].items()},
            "fmax_mhz_median": r["fmax_mhz"],
            "fmax_mhz_by_seed": r["fmax_mhz_by_seed"],
        }
    return out


@experiment("crossbar_link_bytes")
def _link_bytes() -> dict:
    """Bytes on the wire per environment step with ``--backend serial:PORT``: a
    CartPole-v1 run (default preset, emulator device, seed 0; 80 steps before
    learning, then 10 with an update) against the crossbar firmware's Verilog on
    a simulated board (Verilator behind a pseudo-terminal). Every frame,
    COBS-encoded with its delimiter, both ways; and what that takes at
    115,200 baud and at 3 Mbaud (10 bits per byte)."""
    from memrl.host.bench.link import CountingTransport
    from memrl.host.crossbar.commands import board_firmware, link_engine
    from memrl.host.navigator.backends import SIMBOARD_TIMEOUT_S
    from memrl.sim.tools.uart_bridge import SIMBOARD_CLK_HZ, SIMBOARD_DIVISOR, SimBoard

    counters: list[CountingTransport] = []
    # Bytes sent and received when each engine command had ended, in order.
    after: list[tuple[int, int]] = []

    def wrap(transport):  # noqa: ANN001, ANN202
        counters.append(CountingTransport(transport))
        return counters[-1]

    top = board_firmware("CartPole-v1", "default", SIMBOARD_DIVISOR, SIMBOARD_CLK_HZ)
    with (
        tempfile.TemporaryDirectory() as tmp,
        SimBoard("verilator", None, 0, "emulator", workdir=Path(tmp), top=top) as board,
    ):
        engine = link_engine(board.port, wrap=wrap, timeout_s=SIMBOARD_TIMEOUT_S)

        def counted(net):  # noqa: ANN001, ANN202
            session = engine(net)
            exchange = session._exchange

            def recorded(*args):  # noqa: ANN002, ANN202
                out = exchange(*args)
                after.append((counters[0].sent, counters[0].received))
                return out

            session._exchange = recorded
            return session

        r = train_steps("CartPole-v1", "default", SEED, WARM_STEPS + LEARNING_STEPS, {},
                        counted, device="emulator")  # fmt: skip
    walls = r["step_wall_s"]
    marks = r["history_marks"]  # commands issued by the end of each step

    def between(k0: int, k1: int) -> tuple[int, int]:
        a, b = after[k0 - 1], after[k1 - 1]
        return b[0] - a[0], b[1] - a[1]

    names = [h[0] for h in r["history"]]
    n_init = names.index("BIAS")  # the initialisation's PROGRAM and READ come first
    warm = between(marks[0], marks[WARM_STEPS - 1])  # steps 2 .. 80: greedy forwards
    learn = between(marks[WARM_STEPS - 1], marks[-1])
    learn_bytes = sum(learn) / LEARNING_STEPS
    return {
        "initialisation_bytes": {
            "sent": after[n_init - 1][0],
            "received": after[n_init - 1][1],
        },
        "warm_step_bytes": {
            "sent": warm[0] / (WARM_STEPS - 1),
            "received": warm[1] / (WARM_STEPS - 1),
        },
        "learning_step_bytes": {
            "sent": learn[0] / LEARNING_STEPS,
            "received": learn[1] / LEARNING_STEPS,
        },
        "learning_step_s_at_115200_baud": learn_bytes * 10 / 115_200,
        "learning_step_s_at_3M_baud": learn_bytes * 10 / 3_000_000,
        "sim_board_learning_steps_per_s": LEARNING_STEPS / sum(walls[WARM_STEPS:]),
        "sim_board_warm_steps_per_s": WARM_STEPS / sum(walls[:WARM_STEPS]),
    }


#: Placement seeds of the board builds.
BUILD_SEEDS = (1, 2, 3)


@experiment("crossbar_fpga_builds")
def _fpga_builds() -> dict:
    """``memrl fpga build --board B --firmware crossbar`` for every board, once
    per placement seed in ``BUILD_SEEDS``: the placed cells and the bitstream of
    the first seed, Fmax (at the board's clock) per seed and their median."""
    from dataclasses import fields

    from memrl.host.build.fpga import BOARDS, build
    from memrl.sim.crossbar.session import SystemDesign

    keep = ("clock_mhz", *(f.name for f in fields(SystemDesign)), "luts", "ffs",
            "bitstream_bytes")  # fmt: skip

    out = {}
    for board in BOARDS:
        runs = []
        for seed in BUILD_SEEDS:
            with tempfile.TemporaryDirectory() as tmp:
                runs.append(build(board, Path(tmp), firmware="crossbar", pnr_seed=seed))
        first = runs[0]
        out[board] = {
            **{k: first[k] for k in keep},
            "placed": first["placed"],
            "fmax_mhz_by_seed": [r["fmax_mhz"] for r in runs],
            "fmax_mhz_median": statistics.median(r["fmax_mhz"] for r in runs),
            "timing_met_every_seed": all(r["timing_met"] for r in runs),
        }
    return out
