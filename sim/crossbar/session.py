"""The crossbar engine (:mod:`memrl.rtl.crossbar.engine`) from the host's side.

* :func:`engine_config`: the engine's parameters for a
  :class:`~memrl.sim.crossbar.golden.CrossbarQNet` (its placement, converters and
  datapath);
* :func:`decode_forward`, :func:`program_words`: how the host reads a forward
  pass's answer and writes a ``pulse`` as PROGRAM entries;
* :class:`EngineSession`: an :class:`~memrl.sim.crossbar.golden.Engine`, what a
  :class:`CrossbarQNet` built with an ``engine`` asks of the engine (forward
  passes, programming, read-back), over a command stream;
  :class:`AmaranthSession` is the engine in ``amaranth.sim``, its array the
  network's own 1T1R model behind the crossbar port, or the on-chip emulator
  core (:func:`rtl_top`);
* :func:`simulate_forwards`: a list of forward passes in one simulation.
"""

from __future__ import annotations

import queue
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass, replace

import numpy as np

from memrl.rtl.crossbar.emulator import CrossbarSystem
from memrl.rtl.crossbar.engine import (
    MAX_PROGRAM,
    CrossbarEngine,
    CrossbarEngineConfig,
    EngineOp,
    XbarLayer,
    device_word,
    program_entry,
)
from memrl.sim.crossbar.golden import (
    MAX_READS,
    CrossbarConfig,
    CrossbarQNet,
    EngineFactory,
    emulator_model,
    layer_maps,
    output_constants,
    readback_columns,
    reset_flags,
)
from memrl.sim.devices import OneT1RPort

#: Cycles without progress on its streams after which a simulated engine has hung.
STALL_CYCLES = 200_000
#: The same with the emulator core inside: it may compute a layer's whole pass
#: before the layer's first output (a 96-row, 48-output layer over a batch of
#: 128 is about 650,000 cycles with a one-lane emulator, 75,000 with 8 lanes).
EMULATED_STALL_CYCLES = 4_000_000

__all__ = [
    "engine_config",
    "EMULATED_STALL_CYCLES",
    "rtl_top",
    "SystemDesign",
    "DEFAULT_DESIGN",
    "EngineMismatch",
    "ForwardResult",
    "decode_forward",
    "program_words",
    "EngineSession",
    "AmaranthSession",
    "amaranth_engine",
    "simulate_forwards",
]


def engine_config(
    net: CrossbarQNet | CrossbarConfig, max_batch: int = 128, max_program: int = MAX_PROGRAM,
    serial_products: bool = False,
) -> CrossbarEngineConfig:  # fmt: skip
    """The engine that computes the forward passes of ``net`` (a network, or the
    configuration of one); ``serial_products``: see :class:`CrossbarEngineConfig`."""
    c = net.config if isinstance(net, CrossbarQNet) else net
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
        for pm, g, k in zip(layer_maps(c), c.gains, output_constants(c), strict=True)
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
        max_program=max_program,
        readback_cols=readback_columns(c),
        readback_gain=c.readback_gain,
        serial_products=serial_products,
    )


@dataclass(frozen=True)
class SystemDesign:
    """How a board builds the crossbar system (``memrl.host.build.fpga.Board.crossbar``).

    ``pass_samples`` and ``program_entries``: the largest forward pass and
    PROGRAM (None: the agents' minibatch and :data:`MAX_PROGRAM`); below those
    the network works in pieces of these sizes (``--pass-samples``,
    ``--program-entries``). ``lanes``: the emulator's multiply-accumulate lanes;
    ``spram``: its codes and the engine's activations in single-port memory (the
    iCE40 UP5K's SPRAM); ``serial_products``: see :class:`CrossbarEngineConfig`.
    """

    pass_samples: int | None = None
    program_entries: int | None = None
    lanes: int = 8
    spram: bool = False
    serial_products: bool = False

    def pieces(self, settings):  # noqa: ANN001, ANN201 - a memrl.host.crossbar.control.DeviceSettings
        """``settings`` with this design's pieces."""
        return replace(settings, pass_samples=self.pass_samples,
                       program_entries=self.program_entries)  # fmt: skip


#: The ULX3S-85F's build: whole passes and PROGRAMs, eight lanes, block RAM
#: and multipliers.
DEFAULT_DESIGN = SystemDesign()


def rtl_top(
    net: CrossbarQNet | CrossbarConfig, max_batch: int = 128, design: SystemDesign = DEFAULT_DESIGN
) -> tuple[CrossbarEngine | CrossbarSystem, str]:
    """The design that computes ``net``'s passes and its top-level name: the engine
    alone (its crossbar port answered from outside) or, for an emulated array
    (``CrossbarConfig.array == "emulator"``), the engine with its emulator core,
    built as ``design`` says (its PROGRAM entries, lanes, SPRAM, products)."""
    c = net.config if isinstance(net, CrossbarQNet) else net
    max_program = design.program_entries or MAX_PROGRAM
    config = engine_config(c, max_batch, max_program, design.serial_products)
    if c.array == "emulator":
        system = CrossbarSystem(config, emulator_model(c), design.lanes, design.spram)
        return system, "crossbar_system"
    return CrossbarEngine(config), "crossbar_engine"


class EngineMismatch(AssertionError):
    """The engine's answer differs from the golden model's (a bug in one of them)."""


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


def program_words(
    config: CrossbarEngineConfig, reset: np.ndarray, set_idx: np.ndarray, levels: np.ndarray
) -> list[int]:
    """PROGRAM entries for ``CrossbarQNet.pulse(reset, set_idx, ...)``: every SET
    device in order, flagged when it is RESET first. The engine RESETs in list
    order, so ``reset`` must be a subsequence of ``set_idx``."""
    set_idx = np.asarray(set_idx, dtype=np.int64).ravel()
    levels = np.broadcast_to(np.asarray(levels, dtype=np.int64), set_idx.shape)
    flags = reset_flags(reset, set_idx, "the engine").astype(np.int64)
    row, col = np.divmod(set_idx, config.cols)
    return program_entry(config, row, col, levels, flags).tolist()


class EngineSession(ABC):
    """The engine as a :class:`CrossbarQNet` uses it (an
    :class:`~memrl.sim.crossbar.golden.Engine`), each call one or more commands
    exchanged with :meth:`_exchange`.

    Biases go to the engine only when they changed since the last forward pass.
    ``words_out``/``words_in`` count the words sent and received (a command
    word and its input words; its output words), ``cycles`` the engine's clock
    cycles (where known) and ``history`` each command's name, count, cycles
    and words.

    With a ``shadow`` network, whose array the engine does not reach (an
    emulated array inside the design), each command also runs on the shadow's
    port, so the shadow's array follows the design's; every answer must equal
    the shadow's, or :class:`EngineMismatch` names the first difference.
    """

    def __init__(self, config: CrossbarEngineConfig, shadow: CrossbarQNet | None = None) -> None:
        self.config = config
        self.shadow = shadow
        self._bias: np.ndarray | None = None
        self.words_out = self.words_in = 0
        self.cycles = 0
        # Per command: (op name, count, cycles, words out, words in), in order.
        self.history: list[tuple[str, int, int, int, int]] = []

    @abstractmethod
    def _exchange(self, op: EngineOp, count: int, reads_log2: int, din: list[int],
                  n_out: int) -> list[int]: ...  # fmt: skip

    def close(self) -> None:
        """Release the simulator or the link (subclasses); the engine's biases are
        then unknown."""
        self._bias = None

    def _call(self, op: EngineOp, count: int, din: list[int], n_out: int, reads_log2: int = 0):
        before = self.cycles
        out = self._exchange(op, count, reads_log2, din, n_out)
        self.words_out += 1 + len(din)
        self.words_in += len(out)
        self.history.append((op.name, count, self.cycles - before, 1 + len(din), len(out)))
        return out

    def forward(self, b_q: np.ndarray, x_q: np.ndarray, reads: int = 1) -> ForwardResult:
        c = self.config
        _check_batch(c, x_q, reads)
        b_q = np.asarray(b_q, dtype=np.int64)
        if b_q.shape != (c.n_bias,):
            raise ValueError(f"biases must have shape ({c.n_bias},) (got {b_q.shape})")
        if self._bias is None or not np.array_equal(self._bias, b_q):
            self._call(EngineOp.BIAS, 0, [int(v) for v in b_q], 0)
            self._bias = b_q.copy()
        b = x_q.shape[0]
        n_out = b * (sum(ly.n_out for ly in c.layers) + 1)
        before = self.cycles
        words = self._call(
            EngineOp.FORWARD, b, [int(v) for v in x_q.ravel()], n_out, reads.bit_length() - 1
        )
        acts, actions = decode_forward(c, x_q, words)
        if self.shadow is not None:
            bounds = np.cumsum([ly.n_out for ly in c.layers])[:-1]
            want = self.shadow.forward_port(x_q, np.split(b_q, bounds), reads)
            for i, (w, g) in enumerate(zip(want, acts, strict=True)):
                self._check(f"FORWARD layer {i} activations", w, g)
        return ForwardResult(acts, actions, self.cycles - before)

    def _check(self, what: str, want: np.ndarray, got: np.ndarray) -> None:
        want, got = np.asarray(want), np.asarray(got)
        if want.shape != got.shape or not np.array_equal(want, got):
            where = np.flatnonzero(want.ravel() != got.ravel()) if want.shape == got.shape else [0]
            k = int(where[0])
            raise EngineMismatch(
                f"command {len(self.history)}, {what}: element {k} is {got.ravel()[k]} on the "
                f"engine, {want.ravel()[k]} in the golden model"
            )

    def program(self, reset: np.ndarray, set_idx: np.ndarray, levels: np.ndarray) -> None:
        words = program_words(self.config, reset, set_idx, levels)
        if len(words) > self.config.max_program:
            raise ValueError(
                f"a PROGRAM holds at most {self.config.max_program} entries (got {len(words)})"
            )
        if words:
            self._call(EngineOp.PROGRAM, len(words), words, 0)
        if self.shadow is not None:
            self.shadow.program_port(np.asarray(reset), np.asarray(set_idx), np.asarray(levels))

    def read_rows(self, rows: np.ndarray) -> np.ndarray:
        """Column codes (rows, readback_cols) of ``rows`` (ascending) by one-hot VMMs."""
        rows = np.asarray(rows, dtype=np.int64).ravel()
        n = self.config.readback_cols
        words = self._call(EngineOp.READ_ROWS, rows.size, rows.tolist(), rows.size * n)
        got = np.array(words, dtype=np.int64).reshape(rows.size, n)
        if self.shadow is not None:
            self._check("READ_ROWS codes", self.shadow.read_rows_port(rows), got)
        return got

    def read(self, devices: np.ndarray) -> np.ndarray:
        devs = np.asarray(devices, dtype=np.int64).ravel()
        out: list[int] = []
        step = self.config.max_program
        for k in range(0, devs.size, step):
            row, col = np.divmod(devs[k : k + step], self.config.cols)
            words = device_word(self.config, row, col).tolist()
            out += self._call(EngineOp.READ, len(words), words, len(words))
        got = np.array(out, dtype=np.int64)
        if self.shadow is not None:
            self._check("READ codes", self.shadow.port.read(devs), got)
        return got


class AmaranthSession(EngineSession):
    """The engine in ``amaranth.sim`` (in a thread of its own), its crossbar port
    answered from ``port`` with ``latency`` cycles. With ``ready_prob`` below 1
    the array refuses words and the host refuses output words at random (drawn
    from a Generator seeded with ``seed``).

    With ``shadow`` a network on an emulated array, the design is instead the
    engine with its emulator core (:func:`rtl_top`) and ``port`` is None; the
    shadow checks every answer (see :class:`EngineSession`)."""

    def __init__(
        self,
        config: CrossbarEngineConfig,
        port: OneT1RPort | None,
        latency: int = 0,
        ready_prob: float = 1.0,
        seed: int = 0,
        shadow: CrossbarQNet | None = None,
    ) -> None:
        super().__init__(config, shadow)
        from amaranth.sim import Simulator

        from memrl.sim.crossbar.amaranth_port import CrossbarResponder

        self._rng = np.random.default_rng(seed)
        self.ready_prob = ready_prob
        if shadow is not None:
            self.dut = CrossbarSystem(config, emulator_model(shadow.config))
        elif port is None:
            raise ValueError("an engine without an emulated array needs a port to answer it")
        else:
            self.dut = CrossbarEngine(config)
            self.responder = CrossbarResponder(
                self.dut.xbar, port, latency, ready_prob, np.random.default_rng([seed, 1])
            )
        sim = Simulator(self.dut)
        if shadow is None:
            sim.add_process(self.responder.process)
        self._jobs: queue.Queue = queue.Queue()
        self._results: queue.Queue = queue.Queue()
        sim.add_clock(1e-6)
        sim.add_testbench(self._bench)
        self._thread = threading.Thread(target=self._run, args=(sim,), daemon=True)
        self._thread.start()

    def _run(self, sim) -> None:  # noqa: ANN001
        try:
            sim.run()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            self._results.put(exc)

    async def _bench(self, ctx) -> None:  # noqa: ANN001
        dut = self.dut
        while True:
            job = self._jobs.get()
            if job is None:
                return
            op, count, reads_log2, din, n_out = job
            cmd = {"op": op, "count": count, "reads_log2": reads_log2}
            ctx.set(dut.cmd.payload, cmd)
            ctx.set(dut.cmd.valid, 1)
            await ctx.tick().until(dut.cmd.ready)
            ctx.set(dut.cmd.valid, 0)
            i, out, idle, cycles = 0, [], 0, 1
            stall = STALL_CYCLES if self.shadow is None else EMULATED_STALL_CYCLES
            ctx.set(dut.dout.ready, 1)
            while i < len(din) or len(out) < n_out:
                if i < len(din):
                    ctx.set(dut.din.payload, din[i])
                ctx.set(dut.din.valid, i < len(din))
                if self.ready_prob < 1.0:
                    ctx.set(dut.dout.ready, bool(self._rng.random() < self.ready_prob))
                _, _, taken, valid, ready, word = await ctx.tick().sample(
                    dut.din.ready, dut.dout.valid, dut.dout.ready, dut.dout.payload
                )
                cycles += 1
                progress = (taken and i < len(din)) or (valid and ready)
                i += bool(taken and i < len(din))
                if valid and ready:
                    out.append(int(word))
                idle = 0 if progress else idle + 1
                if idle > stall:
                    raise RuntimeError(
                        f"the engine stalled for {stall} cycles in {op.name} "
                        f"({i} of {len(din)} words in, {len(out)} of {n_out} out)"
                    )
            ctx.set(dut.din.valid, 0)
            ctx.set(dut.dout.ready, 0)
            while ctx.get(dut.busy):
                await ctx.tick()
                cycles += 1
            self.cycles += cycles
            self._results.put(out)

    def _exchange(self, op, count, reads_log2, din, n_out):  # noqa: ANN001
        if not self._thread.is_alive():
            raise RuntimeError("the engine's simulation has ended")
        self._jobs.put((op, count, reads_log2, din, n_out))
        out = self._results.get()
        if isinstance(out, BaseException):
            raise out
        return out

    def close(self) -> None:
        super().close()
        if self._thread.is_alive():
            self._jobs.put(None)
            self._thread.join()


def simulate_forwards(
    config: CrossbarEngineConfig,
    port: OneT1RPort,
    jobs: list[tuple[np.ndarray, np.ndarray, int]],
    latency: int = 0,
    ready_prob: float = 1.0,
) -> list[ForwardResult]:
    """Run ``(biases, inputs, reads)`` forward passes, in order, in amaranth.sim.

    ``biases`` is every layer's fixed-point biases, concatenated; ``inputs``
    (batch, n_in) fixed-point. The array is ``port``'s (its state and noise
    advance as the golden model's would). ``latency``, ``ready_prob``: see
    :class:`AmaranthSession`.
    """
    session = AmaranthSession(config, port, latency, ready_prob)
    try:
        return [session.forward(b_q, x_q, reads) for b_q, x_q, reads in jobs]
    finally:
        session.close()


def amaranth_engine(
    latency: int = 0, max_batch: int = 128, ready_prob: float = 1.0, seed: int = 0
) -> EngineFactory:
    """An ``engine`` for :class:`CrossbarQNet`: the engine in amaranth.sim."""

    def make(net: CrossbarQNet) -> AmaranthSession:
        config = engine_config(net, max_batch)
        if net.config.array == "emulator":
            return AmaranthSession(config, None, latency, ready_prob, seed, shadow=net)
        return AmaranthSession(config, net.port, latency, ready_prob, seed)

    return make
