"""The crossbar engine in amaranth.sim against the golden model, bit for bit.

Two networks from one seed: the golden model computes its forward passes in
numpy; the engine computes the other's, its array answered through the
crossbar port by the same 1T1R model. Activations, actions, every port
operation (with its row codes, gains and column codes) and the array's
random state must be equal.
"""

from __future__ import annotations

import numpy as np
import pytest

from memrl.host.crossbar.cocotb_backend import train_steps
from memrl.rtl.crossbar.engine import CrossbarEngineConfig, XbarLayer
from memrl.rtl.crossbar.port import XbarOp
from memrl.sim.crossbar.golden import CrossbarConfig, CrossbarQNet
from memrl.sim.crossbar.port_server import CrossbarServer
from memrl.sim.crossbar.session import amaranth_engine, engine_config, simulate_forwards
from memrl.sim.devices import Op


def _pair(config: CrossbarConfig, seed: int) -> tuple[CrossbarQNet, CrossbarQNet]:
    return (CrossbarQNet(config, np.random.default_rng(seed), record=True),
            CrossbarQNet(config, np.random.default_rng(seed), record=True))  # fmt: skip


def _compare(
    gold: CrossbarQNet, twin: CrossbarQNet, batches, seed: int, max_batch: int = 16,
    ready_prob: float = 1.0, serial: bool = False,
):  # fmt: skip
    """Run ``(batch, reads)`` forwards on both; return the engine's results."""
    rng = np.random.default_rng(seed)
    cfg = gold.config
    jobs, want = [], []
    for bs, reads in batches:
        x = rng.uniform(-1.5, 1.5, (bs, cfg.sizes[0]))
        x[0] = 0.0  # an all-zero vector: m = 0, r = 0
        for b in gold.biases:  # the engine takes the golden model's biases
            b[...] = rng.uniform(-1, 1, b.shape)
        b_q = np.concatenate(gold.bias_fixed())
        want.append(gold.forward_fixed(x, reads))
        jobs.append((b_q, cfg.datapath.to_fixed(x), reads))
    config = engine_config(twin, max_batch, serial_products=serial)
    got = simulate_forwards(config, twin.port, jobs, 1, ready_prob)
    for w, g in zip(want, got, strict=True):
        for layer, (a, b) in enumerate(zip(w, g.acts, strict=True)):
            assert np.array_equal(a, b), f"layer {layer} differs"
        assert np.array_equal(g.actions, w[-1].argmax(axis=1))
    assert gold.port.log == twin.port.log
    assert gold.array.rng.bit_generator.state == twin.array.rng.bit_generator.state
    return got


@pytest.mark.parametrize("sizes", [(4, 48, 48, 2), (2, 48, 48, 3)])
def test_forward_equals_golden_model(sizes):
    gold, twin = _pair(CrossbarConfig(sizes=sizes), 7)
    before = gold.port.counts[Op.VMM]
    _compare(gold, twin, [(5, 1), (1, 4), (3, 2)], seed=1)
    assert gold.port.counts[Op.VMM] - before == 3 * (5 + 4 + 6)


def test_forward_under_back_pressure_equals_golden_model():
    """The array refuses words and the host refuses outputs at random (60 % ready):
    the same results, in more cycles than without."""
    jobs = [(4, 1), (2, 2)]
    stalled = _compare(*_pair(CrossbarConfig(), 8), jobs, seed=3, ready_prob=0.6)
    free = _compare(*_pair(CrossbarConfig(), 8), jobs, seed=3)
    for s, f in zip(stalled, free, strict=True):
        assert s.cycles > f.cycles


# serial products keep their own engine test in make test (test_serial_products_...)
@pytest.mark.parametrize("serial", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_autoranging_passes_equal_golden_model(serial):
    """Weights at the top of the window and inputs near full scale saturate
    columns at the top gain: several ranging passes, the same as the golden
    model's (also with ``serial_products``)."""
    cfg = CrossbarConfig()
    gold, twin = _pair(cfg, 7)
    for net in (gold, twin):
        r = np.random.default_rng(11)
        up = net.pos_all[r.random(net.pos_all.size) < 0.7]
        down = net.neg_all[r.random(net.neg_all.size) < 0.7]
        net.pulse(reset=down, set_idx=up, v_gate=np.full(up.size, cfg.device.vg_max))
    gold.port.log.clear()
    twin.port.log.clear()
    _compare(gold, twin, [(6, 1), (3, 4)], seed=2, serial=serial)
    gains = {g for op in gold.port.log if op.op == Op.VMM for g in op.gain}
    assert {1, 2, 4, 8, 16} <= gains  # every gain step was used


def test_engine_config_refusals():
    layer = XbarLayer(4, 8, 0, 0, True, 16, 100)
    with pytest.raises(ValueError, match=r"layers\[1\]\.n_in is 3"):
        CrossbarEngineConfig(layers=(layer, XbarLayer(3, 2, 0, 8, False, 8, 100)))
    with pytest.raises(ValueError, match=r"layers\[0\]\.gain must be a power of two"):
        CrossbarEngineConfig(layers=(XbarLayer(4, 8, 0, 0, True, 12, 100),))
    with pytest.raises(ValueError, match=r"does not fit a 128x64 array"):
        CrossbarEngineConfig(layers=(XbarLayer(4, 8, 0, 60, True, 16, 100),))
    big_k = XbarLayer(4, 8, 0, 0, True, 16, 1 << 23)
    CrossbarEngineConfig(layers=(big_k,))  # the multipliers take any k
    with pytest.raises(ValueError, match=r"serial_products needs every layer's k below 2\*\*23"):
        CrossbarEngineConfig(layers=(big_k,), serial_products=True)
    net = CrossbarQNet(CrossbarConfig(differential_columns=False), np.random.default_rng(0))
    with pytest.raises(ValueError, match="differential_columns"):
        engine_config(net)


def test_server_refusals():
    net = CrossbarQNet(CrossbarConfig(), np.random.default_rng(0))
    sig = engine_config(net).port_signature()
    srv = CrossbarServer(net.port, sig)
    srv.word(XbarOp.ROW.value, 0, 0, 5, 0)
    srv.word(XbarOp.ROW.value, 2, 0, 5, 0)
    srv.word(XbarOp.GAIN.value, 0, 0, 16, 0)
    with pytest.raises(ValueError, match="rows must be consecutive"):
        srv.word(XbarOp.VMM.value, 0, 0, 0, 1)
    srv = CrossbarServer(net.port, sig)
    srv.word(XbarOp.ROW.value, 0, 0, 5, 0)
    srv.word(XbarOp.GAIN.value, 0, 0, 16, 0)
    srv.word(XbarOp.VMM.value, 0, 0, 0, 0)
    with pytest.raises(ValueError, match="inside an unfinished VMM pass"):
        srv.word(XbarOp.READ.value, 0, 0, 0, 1)
    with pytest.raises(ValueError, match="unknown crossbar port operation 7"):
        CrossbarServer(net.port, sig).word(7, 0, 0, 0, 0)


def test_program_and_read_equal_golden_model():
    """PROGRAM: the flagged devices RESET in list order, then every device SET;
    READ: the codes of the devices asked for. The same port operations, codes
    and random state as the golden model's."""
    cfg = CrossbarConfig()
    gold = CrossbarQNet(cfg, np.random.default_rng(4), record=True)
    twin = CrossbarQNet(cfg, np.random.default_rng(4), record=True, engine=amaranth_engine(1))
    try:
        assert gold.port.log == twin.port.log  # the initial RESET, SET and read-back
        rng = np.random.default_rng(9)
        dev = rng.choice(gold.used, 40, replace=False)
        reset = dev[rng.random(40) < 0.5]
        vg = rng.uniform(cfg.device.vg_min, cfg.device.vg_max, 40)
        for net in (gold, twin):
            net.pulse(reset=reset, set_idx=dev, v_gate=vg)
            net.read_back(dev[::-1])
        assert np.array_equal(gold.w_flat, twin.w_flat)
        assert gold.port.log == twin.port.log
        tail = [op.op for op in gold.port.log[-(80 + reset.size) :]]
        assert tail == [Op.RESET] * reset.size + [Op.SET] * 40 + [Op.READ] * 40
        assert gold.array.rng.bit_generator.state == twin.array.rng.bit_generator.state
        with pytest.raises(ValueError, match="RESET device .* is not in the SET list"):
            twin.pulse(reset=dev[:2][::-1], set_idx=dev[:2], v_gate=vg[:2])
    finally:
        twin.engine.close()


@pytest.mark.slow  # the engine's Verilog trains under cocotb in make test
def test_training_steps_equal_golden_model():
    """Cart-pole steps with learning (forward passes, verified pair writes,
    read-back) through the engine: the same episodes, weights, operation
    counts and random state as the golden model."""
    small = {"batch": 8, "replay": 100}
    want = train_steps("CartPole-v1", "default", 3, 24, small)
    got = train_steps("CartPole-v1", "default", 3, 24, small, amaranth_engine())
    assert got["returns"] == want["returns"] and len(want["returns"]) >= 1
    assert np.array_equal(got["w_flat"], want["w_flat"])
    assert got["counts"] == want["counts"] and got["counts"]["VMM"] > 24
    assert got["rng_state"] == want["rng_state"]


def test_row_read_back_by_one_hot_vmms_equals_golden_model():
    """READ_ROWS: whole rows sensed by VMMs with one row at full scale (the
    initial read-back, then the rows of a few devices): the same VMMs, codes,
    weights and random state as the golden model's ``readback="vmm"``."""
    cfg = CrossbarConfig(readback="vmm")
    gold = CrossbarQNet(cfg, np.random.default_rng(6), record=True)
    twin = CrossbarQNet(cfg, np.random.default_rng(6), record=True, engine=amaranth_engine())
    try:
        vmms = [op for op in gold.port.log if op.op == Op.VMM]
        assert len(vmms) == 104 and all(sum(map(bool, op.code)) == 1 for op in vmms)
        dev = np.random.default_rng(2).choice(gold.used, 12, replace=False)
        for net in (gold, twin):
            net.read_back(dev)
        assert gold.port.log == twin.port.log
        assert np.array_equal(gold.w_flat, twin.w_flat)
        assert gold.array.rng.bit_generator.state == twin.array.rng.bit_generator.state
        # the rows' conductances, within the read noise of the truth
        g = gold.array.conductance_us().ravel()[gold.used]
        assert np.abs(gold.g_read_us[gold.used] - g).max() < 10.0
    finally:
        twin.engine.close()


@pytest.mark.slow
def test_serial_products_equal_golden_model():
    """Products by shift-and-add (``serial_products``, for boards with few
    multipliers): the same results as the golden model under back pressure, in
    more cycles than the multipliers take (the autoranging test runs them
    without back pressure)."""
    jobs = [(4, 1), (2, 4)]
    serial = _compare(*_pair(CrossbarConfig(), 9), jobs, seed=4, ready_prob=0.6, serial=True)
    parallel = _compare(*_pair(CrossbarConfig(), 9), jobs, seed=4, ready_prob=0.6)
    for s, p in zip(serial, parallel, strict=True):
        assert s.cycles > p.cycles
