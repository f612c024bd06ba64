"""The crossbar engine (:mod:`memrl.rtl.crossbar`) from the host's side.

* :func:`engine_config`: the engine's parameters for a
  :class:`~memrl.host.crossbar.CrossbarQNet` (its placement, converters and
  datapath);
* :func:`forward_words` / :func:`decode_forward`: what the host sends for a
  forward pass and how it reads the answer;
* :func:`simulate_forwards`: forward passes in ``amaranth.sim``, the array
  answered by the 1T1R model behind a :class:`~memrl.sim.devices.OneT1RPort`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from memrl.rtl.crossbar import CrossbarEngine, CrossbarEngineConfig, EngineOp, XbarLayer
from memrl.sim.devices import OneT1RPort

from .crossbar import MAX_READS, CrossbarQNet

#: Cycles without an output word after which a simulated forward pass has hung.
STALL_CYCLES = 200_000

__all__ = [
    "engine_config",
    "ForwardResult",
    "decode_forward",
    "simulate_forwards",
]


def engine_config(net: CrossbarQNet, max_batch: int = 128) -> CrossbarEngineConfig:
    """The engine that computes ``net``'s forward passes."""
    c = net.config
    if not c.differential_columns:
        raise ValueError(
            "the crossbar engine reads horizontal pairs differentially: "
            "CrossbarConfig.differential_columns must be True"
        )
    layers = tuple(
        XbarLayer(
            n_in=pm.n_in,
            n_out=pm.n_out,
            row0=pm.row0,
            col0=pm.col0,
            vertical=pm.orientation == "vertical",
            gain=g,
            k=k,
        )
        for pm, g, k in zip(net.maps, c.gains, net.k_q, strict=True)
    )
    pc = c.port
    dp = c.datapath
    return CrossbarEngineConfig(
        layers=layers,
        rows=c.array_rows,
        cols=c.array_cols,
        dac_bits=pc.row_dac_bits,
        adc_bits=pc.col_adc_bits,
        vg_bits=pc.vg_bits,
        read_bits=pc.read_adc_bits,
        act_bits=dp.act_bits,
        recip_bits=dp.recip_bits,
        scale_bits=dp.scale_bits,
        autorange=c.autorange,
        max_batch=max_batch,
        max_reads_log2=MAX_READS.bit_length() - 1,
    )


@dataclass(frozen=True)
class ForwardResult:
    """One forward pass from the engine: fixed-point activations [input, hidden...,
    Q] (batch-first), the greedy actions and the cycles it took."""

    acts: list[np.ndarray]
    actions: np.ndarray
    cycles: int


def decode_forward(
    config: CrossbarEngineConfig, x_q: np.ndarray, words: list[int]
) -> tuple[list[np.ndarray], np.ndarray]:
    """Split a FORWARD's output words into per-layer activations and actions."""
    b = x_q.shape[0]
    acts = [np.asarray(x_q, dtype=np.int64)]
    k = 0
    for i, ly in enumerate(config.layers):
        last = i == len(config.layers) - 1
        per = ly.n_out + 1 if last else ly.n_out
        block = np.array(words[k : k + b * per], dtype=np.int64).reshape(b, per)
        k += b * per
        acts.append(block[:, : ly.n_out])
        if last:
            actions = block[:, -1]
    if k != len(words):
        raise ValueError(f"a FORWARD of {b} samples gives {k} words, got {len(words)}")
    return acts, actions


def _check_batch(config: CrossbarEngineConfig, x_q: np.ndarray, reads: int) -> None:
    if x_q.ndim != 2 or x_q.shape[1] != config.layers[0].n_in:
        raise ValueError(
            f"inputs must have shape (batch, {config.layers[0].n_in}); got {x_q.shape}"
        )
    if not 1 <= x_q.shape[0] <= config.max_batch:
        raise ValueError(f"batch must be in [1, {config.max_batch}] (got {x_q.shape[0]})")
    if reads < 1 or reads & (reads - 1) or reads.bit_length() - 1 > config.max_reads_log2:
        raise ValueError(f"reads must be a power of two up to {1 << config.max_reads_log2}")


def simulate_forwards(
    config: CrossbarEngineConfig,
    port: OneT1RPort,
    jobs: list[tuple[np.ndarray, np.ndarray, int]],
    latency: int = 0,
) -> list[ForwardResult]:
    """Run ``(biases, inputs, reads)`` forward passes, in order, in amaranth.sim.

    ``biases`` is every layer's fixed-point biases, concatenated; ``inputs``
    (batch, n_in) fixed-point. The array is ``port``'s (its state and noise
    advance as the golden model's would).
    """
    from amaranth.sim import Simulator

    from memrl.sim.amaranth_crossbar import CrossbarResponder
    from memrl.sim.amaranth_tb import put

    for b_q, x_q, reads in jobs:
        _check_batch(config, x_q, reads)
        if np.shape(b_q) != (config.n_bias,):
            raise ValueError(f"biases must have shape ({config.n_bias},)")
    dut = CrossbarEngine(config)
    responder = CrossbarResponder(dut.xbar, port, latency)
    results: list[ForwardResult] = []

    async def bench(ctx) -> None:  # noqa: ANN001
        for b_q, x_q, reads in jobs:
            await put(ctx, dut.cmd, [{"op": EngineOp.BIAS, "count": 0, "reads_log2": 0}])
            await put(ctx, dut.din, [int(v) for v in b_q])
            while ctx.get(dut.busy):
                await ctx.tick()
            cmd = {
                "op": EngineOp.FORWARD,
                "count": x_q.shape[0],
                "reads_log2": reads.bit_length() - 1,
            }
            await put(ctx, dut.cmd, [cmd])
            start = 0
            await put(ctx, dut.din, [int(v) for v in x_q.ravel()])
            n_words = sum(x_q.shape[0] * ly.n_out for ly in config.layers) + x_q.shape[0]
            words: list[int] = []
            ctx.set(dut.dout.ready, 1)
            idle = 0
            while len(words) < n_words:
                _, _, valid, payload = await ctx.tick().sample(dut.dout.valid, dut.dout.payload)
                start += 1
                idle = 0 if valid else idle + 1
                if valid:
                    words.append(int(payload))
                if idle > STALL_CYCLES:
                    raise RuntimeError(
                        f"the engine gave no output for {STALL_CYCLES} cycles "
                        f"({len(words)} of {n_words} words)"
                    )
            ctx.set(dut.dout.ready, 0)
            acts, actions = decode_forward(config, x_q, words)
            results.append(ForwardResult(acts, actions, start))

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_process(responder.process)
    sim.add_testbench(bench)
    sim.run()
    return results
