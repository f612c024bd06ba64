"""The crossbar Q-network: placement, integer datapath, write schemes, training."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from memrl.host.crossbar.control import DEVICES, crossbar_config, solved_at, train
from memrl.host.crossbar.qlearn import PRESETS, PaperWrite, QAgent, RatchetWrite
from memrl.sim.crossbar.golden import CrossbarConfig, CrossbarQNet, Datapath, FloatQNet, layer_maps
from memrl.sim.devices import OneT1RParams
from memrl.sim.devices.port import Op

IDEAL = OneT1RParams.ideal()


def ideal_net(sizes=(4, 48, 48, 2), seed=0, **kw) -> CrossbarQNet:
    if len(sizes) != 4:
        kw.setdefault("gains", (1,) * (len(sizes) - 1))
    cfg = CrossbarConfig(sizes=sizes, device=IDEAL, **kw)
    return CrossbarQNet(cfg, np.random.default_rng(seed), record=True)


def test_paper_placement_cartpole_and_mountain_car():
    maps = layer_maps(CrossbarConfig())
    assert [m.footprint for m in maps] == [(8, 48), (96, 48), (48, 4)]
    assert sum(2 * m.n_in * m.n_out for m in maps) == 5184
    assert [m.orientation for m in maps] == ["vertical", "vertical", "horizontal"]
    mc = layer_maps(CrossbarConfig(sizes=(2, 48, 48, 3)))
    assert [m.footprint for m in mc] == [(4, 48), (96, 48), (48, 6)]
    with pytest.raises(ValueError, match="layer 2 .* does not fit"):
        CrossbarConfig(sizes=(4, 64, 48, 2))
    with pytest.raises(ValueError, match="gains"):
        CrossbarConfig(gains=(3, 1, 1))


def test_devices_do_not_overlap_between_layers():
    net = ideal_net()
    assert np.unique(net.used).size == net.used.size == 5184


def test_initial_weights_are_written_and_read_back_within_tolerance():
    """The paper's initialisation: w ~ U(-0.25, 0.25) written as gate voltages; an
    ideal device reads back within the SET line's slope mismatch (the paper maps
    2 V per unit weight, the line is 98 uS/V over s = 250 uS)."""
    net = ideal_net()
    for w in net.weights:
        assert np.abs(w).max() <= 0.25 * 2 * 98 / 250 + 0.002
    # Every used device was RESET once and SET once.
    assert net.pulses == (5184, 5184)


def test_pair_written_and_read_back_within_resolution():
    """A weight written through the ratchet scheme reads back within the
    tolerance on an ideal array, and the pair difference is what the forward
    pass uses."""
    net = ideal_net(sizes=(2, 3, 3, 2), array_rows=16, array_cols=16)
    scheme = RatchetWrite(threshold=0.02, tolerance=0.01)
    target = np.linspace(-0.3, 0.3, net.w_flat.size)
    scheme.apply(net, target - net.w_flat, step=1)
    assert np.abs(net.w_flat - target).max() <= 0.01
    true_w = (
        net.array.conductance_us().reshape(-1)[net.pos_all]
        - net.array.conductance_us().reshape(-1)[net.neg_all]
    ) / 250.0
    # Read-back resolution: 10-bit READ of a 50 uA full scale is 0.24 uS per code.
    assert np.abs(true_w - net.w_flat).max() <= 2 * 0.245 / 250


def _reference_forward(net: CrossbarQNet, x: np.ndarray, reads: int = 1) -> list[list[int]]:
    """The datapath in plain Python integers, one element at a time, with the
    column ADC codes taken from a replay of the port's recorded VMMs; the
    gains of the recorded conversions are checked against the ranging rule."""
    dp = net.config.datapath
    end = net.port.col_adc.max_code
    vmm_log = iter(op for op in net.port.log if op.op == Op.VMM)
    a = [int(v) for v in dp.to_fixed(x)]
    acts = [a]
    bq = [[int(v) for v in b] for b in net.bias_fixed()]
    d_max = net.port.row_dac.max_code
    for i, pm in enumerate(net.maps):
        m = max(abs(v) for v in a)
        r = (d_max << dp.recip_bits) // m if m else 0
        d = [(v * r + (1 << (dp.recip_bits - 1))) >> dp.recip_bits for v in a]
        row_codes = [c for v in d for c in (v, -v)] if pm.orientation == "vertical" else d
        pairs = pm.orientation == "vertical" or net.config.differential_columns
        top = net.config.gains[i]
        gains = [top] * (pm.n_out if pairs else 2 * pm.n_out)
        while True:  # ranging: halve the gain of every saturated column
            op = next(vmm_log)
            assert list(op.code) == row_codes and list(op.gain) == gains
            codes = list(op.result)
            sat = [abs(c) >= end and g > 1 for c, g in zip(codes, gains, strict=True)]
            if not net.config.autorange or not any(sat):
                break
            gains = [g // 2 if s else g for g, s in zip(gains, sat, strict=True)]
        scaled = [c * (top // g) for c, g in zip(codes, gains, strict=True)]
        for _ in range(reads - 1):
            op = next(vmm_log)
            assert list(op.code) == row_codes and list(op.gain) == gains
            scaled = [s + c * (top // g) for s, c, g in zip(scaled, op.result, gains, strict=True)]
        cols = scaled if pairs else [scaled[2 * j] - scaled[2 * j + 1] for j in range(pm.n_out)]
        sb = dp.scale_bits + reads.bit_length() - 1
        z = [(c * m * net.k_q[i] + (1 << (sb - 1))) >> sb for c in cols]
        y = [max(-dp.act_max, min(dp.act_max, zz + b)) for zz, b in zip(z, bq[i], strict=True)]
        a = [max(v, 0) for v in y] if i < len(net.maps) - 1 else y
        acts.append(a)
    assert next(vmm_log, None) is None
    return acts


@pytest.mark.parametrize("reads", [1, 4])
@pytest.mark.parametrize("differential", [True, False])
@pytest.mark.parametrize("device", ["ideal", "realistic"])
def test_forward_is_integer_exact(device, differential, reads):
    # Gains high enough that the ranging steps some columns down.
    cfg = replace(
        crossbar_config(DEVICES[device]), differential_columns=differential, gains=(64, 64, 64)
    )
    net = CrossbarQNet(cfg, np.random.default_rng(3), record=True)
    xs = np.random.default_rng(4).normal(0, 1.5, (6, 4))
    xs[2] = 0.0  # an all-zero input vector: m = 0
    ranged = 0
    for x in xs:
        del net.port.log[:]
        got = [list(map(int, a[0])) for a in net.forward_fixed(x, reads)]
        assert got == _reference_forward(net, x, reads)
        ranged += sum(op.op == Op.VMM for op in net.port.log) > 3 * reads
    assert ranged > 0  # the inputs exercise the ranging


def test_ranging_rescues_a_gain_that_saturates():
    """At gains that saturate the columns, ranging steps them down (several gains
    in the log) and the Q-values track the float network of the read-back
    weights; without ranging the same reads clip and the Q-values do not."""
    xs = np.random.default_rng(6).normal(0, 1.5, (50, 4))
    err = {}
    for autorange in (True, False):
        cfg = replace(crossbar_config(DEVICES["ideal"]), autorange=autorange, gains=(64, 64, 64))
        net = CrossbarQNet(cfg, np.random.default_rng(3), record=True)
        q = net.forward(xs)[-1]
        q_float = FloatQNet.forward(net, xs)[-1]
        err[autorange] = float(np.abs(q - q_float).mean())
        used = {g for op in net.port.log if op.op == Op.VMM for g in op.gain}
        assert (len(used) > 1) == autorange
    assert err[True] < 0.002 and err[False] > 10 * err[True]


def test_forward_matches_float_network_on_an_ideal_array():
    """With ideal devices and 10-bit converters the integer datapath tracks the
    float network of the read-back weights to a few converter steps."""
    net = ideal_net()
    x = np.random.default_rng(5).normal(0, 1, (200, 4))
    acts = net.forward(x)
    ref = FloatQNet.__new__(FloatQNet)
    ref.config, ref.weights = net.config, net.weights
    ref.biases = [b / 4096 for b in net.bias_fixed()]
    fl = ref.forward(x)
    for a, f in zip(acts[1:], fl[1:], strict=True):
        assert np.abs(a - f).mean() <= 0.03 * np.abs(f).mean() + 0.01


def test_datapath_rejects_bad_formats():
    with pytest.raises(ValueError, match="frac_bits"):
        Datapath(frac_bits=30)
    with pytest.raises(ValueError, match="overflow"):
        CrossbarQNet(
            CrossbarConfig(datapath=Datapath(act_bits=32, scale_bits=32)), np.random.default_rng(0)
        )


def test_paper_write_gate_voltages_and_pulses():
    """dV = 2 V per unit weight; the falling device is RESET then SET, the rising
    one only SET; exact zeros are skipped; the whole array is read back."""
    net = ideal_net(sizes=(2, 2, 2), array_rows=8, array_cols=8)
    vg0 = net.vg.copy()
    del net.port.log[:]
    dw = np.zeros(net.w_flat.size)
    dw[0], dw[3] = 0.01, -0.02
    PaperWrite().apply(net, dw, step=1)
    ops = net.port.log
    resets = [op.addr for op in ops if op.op == Op.RESET]
    sets = {op.addr: op.code for op in ops if op.op == Op.SET}
    p0, n0, p3, n3 = net.pos_all[0], net.neg_all[0], net.pos_all[3], net.neg_all[3]
    assert sorted(resets) == sorted([n0, p3])
    assert set(sets) == {p0, n0, p3, n3}
    expect = {p0: vg0[p0] + 0.02, n0: vg0[n0] - 0.02, p3: vg0[p3] - 0.04, n3: vg0[n3] + 0.04}
    for dev, v in expect.items():
        assert net.vg[dev] == pytest.approx(np.clip(v, 0.6, 1.5), abs=1e-12)
        assert sets[dev] == int(net.port.level_for(np.clip(v, 0.6, 1.5)))
    reads = [op for op in ops if op.op == Op.READ]
    assert len(reads) == net.used.size
    assert net.pulses[0] - net.used.size == 4  # 4 SETs after the initial ones


def test_paper_write_clips_gate_voltage():
    net = ideal_net(sizes=(2, 2, 2), array_rows=8, array_cols=8)
    dw = np.zeros(net.w_flat.size)
    dw[1] = 1.0  # +2 V
    PaperWrite().apply(net, dw, step=1)
    assert net.vg[net.pos_all[1]] == 1.5
    assert net.vg[net.neg_all[1]] == 0.6


def test_ratchet_write_raises_one_device_and_skips_small_changes():
    net = ideal_net(sizes=(2, 2, 2), array_rows=8, array_cols=8)
    scheme = RatchetWrite(threshold=0.02, tolerance=0.01, refresh_every=0)
    w0 = net.w_flat.copy()
    vg0 = net.vg.copy()
    del net.port.log[:]
    dw = np.zeros(w0.size)
    dw[0], dw[1], dw[2] = 0.05, -0.05, 0.01  # pair 2 stays below the threshold
    scheme.apply(net, dw, step=1)
    sets = {op.addr: op.code for op in net.port.log if op.op == Op.SET}
    assert not [op for op in net.port.log if op.op == Op.RESET]
    assert set(sets) == {net.pos_all[0], net.neg_all[1]}
    slope = IDEAL.slope_us_per_v
    for dev, dg in ((net.pos_all[0], 0.05 * 250), (net.neg_all[1], 0.05 * 250)):
        assert net.vg[dev] == pytest.approx(vg0[dev] + dg / slope, abs=1e-9)
        assert sets[dev] == int(net.port.level_for(vg0[dev] + dg / slope))
    assert net.w_flat[0] == pytest.approx(w0[0] + 0.05, abs=0.01)
    assert net.w_flat[1] == pytest.approx(w0[1] - 0.05, abs=0.01)
    assert net.w_flat[2] == w0[2]
    # The small change is kept in the shadow and written once it has grown.
    scheme.apply(net, np.where(np.arange(w0.size) == 2, 0.015, 0.0), step=2)
    assert net.w_flat[2] == pytest.approx(w0[2] + 0.025, abs=0.01)


def test_ratchet_write_recentres_a_pair_at_the_top_of_the_window():
    net = ideal_net(sizes=(2, 2, 2), array_rows=8, array_cols=8)
    scheme = RatchetWrite(refresh_every=0)
    net.vg[net.pos_all[0]] = 1.49  # no room left to raise G+
    del net.port.log[:]
    dw = np.zeros(net.w_flat.size)
    dw[0] = 0.1
    target = net.w_flat[0] + 0.1
    scheme.apply(net, dw, step=1)
    resets = sorted(op.addr for op in net.port.log if op.op == Op.RESET)
    assert resets == sorted([net.pos_all[0], net.neg_all[0]])
    g_mid = 0.5 * (IDEAL.g_set_nominal_us(0.6) + IDEAL.g_set_nominal_us(1.5))
    want = IDEAL.v_gate_for(np.array([g_mid + target * 125, g_mid - target * 125]))
    assert net.vg[net.pos_all[0]] == pytest.approx(want[0])
    assert net.vg[net.neg_all[0]] == pytest.approx(want[1])
    assert net.w_flat[0] == pytest.approx(target, abs=0.01)


def test_ratchet_write_gives_up_on_a_stuck_pair():
    cfg = CrossbarConfig(sizes=(2, 2, 2), array_rows=8, array_cols=8, device=IDEAL, gains=(1, 1))
    net = CrossbarQNet(cfg, np.random.default_rng(0))
    net.array.stuck.reshape(-1)[net.pos_all[0]] = 2  # stuck at RESET
    net.array.stuck.reshape(-1)[net.neg_all[0]] = 2
    scheme = RatchetWrite(max_rounds=3, refresh_every=0)
    dw = np.zeros(net.w_flat.size)
    dw[0] = 0.2
    sets0 = net.pulses[0]
    scheme.apply(net, dw, step=1)
    assert net.pulses[0] - sets0 <= 2 * 3
    assert net.shadow[0] == net.w_flat[0]  # accepted, so it is not retried every step
    sets1 = net.pulses[0]
    scheme.apply(net, np.zeros_like(dw), step=2)
    assert net.pulses[0] == sets1


def test_ratchet_write_leaves_a_pair_held_outside_the_window_alone():
    """A device stuck at SET holds its pair beyond the SET window; the shadow may
    stay there, so the pair is not rewritten at every step."""
    cfg = CrossbarConfig(sizes=(2, 2, 2), array_rows=8, array_cols=8, device=IDEAL, gains=(1, 1))
    net = CrossbarQNet(cfg, np.random.default_rng(0))
    for dev, how, g in ((net.pos_all[0], 1, IDEAL.g_max_us), (net.neg_all[0], 2, 40.0)):
        net.array.stuck.reshape(-1)[dev] = how
        net.array.g_prog_us.reshape(-1)[dev] = g
    net.read_back()
    g_lo, g_hi = IDEAL.g_set_nominal_us(0.6), IDEAL.g_set_nominal_us(1.5)
    assert net.w_flat[0] > 1.5 * (g_hi - g_lo) / 250
    scheme = RatchetWrite(refresh_every=0)
    before = net.pulses
    for step in range(1, 6):
        scheme.apply(net, np.full(net.w_flat.size, 1e-4), step=step)
    assert net.pulses == before


def test_agent_is_deterministic_per_seed():
    def run(seed):
        _, recs = train("CartPole-v1", "crossbar", "default", seed, episodes=6, max_steps=40)
        return [(r.ret, r.steps, r.pulses, r.sets, r.resets, repr(r.loss)) for r in recs]

    assert run(7) == run(7)
    assert run(7) != run(8)


def test_presets_differ_as_documented():
    assert isinstance(PRESETS["paper"].write, PaperWrite)
    assert PRESETS["paper"].target_every == 0 and PRESETS["paper"].target_tau == 0
    assert (PRESETS["paper"].lr, PRESETS["paper"].rms_decay) == (5e-4, 0.9)
    assert (PRESETS["paper"].replay, PRESETS["paper"].batch, PRESETS["paper"].gamma) == (
        20_000,
        80,
        0.99,
    )
    assert isinstance(PRESETS["default"].write, RatchetWrite)


def test_paper_scheme_pulses_every_pair_every_step():
    """About three pulses per weight pair per update (dead ReLU units excepted)."""
    agent = QAgent(4, 2, replace(PRESETS["paper"], batch=8, replay=100), seed=1)
    rng = np.random.default_rng(2)
    s0 = sum(agent.net.pulses)
    for _ in range(12):
        s = rng.normal(size=4)
        agent.observe(s, int(rng.integers(2)), 1.0, rng.normal(size=4), False, False)
    per_update = (sum(agent.net.pulses) - s0) / agent.updates
    assert 0.5 * 3 * 2592 < per_update <= 3 * 2592


def test_solved_at():
    assert solved_at([500] * 99, 475) is None
    assert solved_at([0] * 10 + [500] * 100, 475) == 105
    assert solved_at([500] * 100, 475) == 100


# the crossbar agent's learning is measured by the benchmarks; make test keeps the float one
@pytest.mark.parametrize(
    ("agent", "episodes"), [("float", 80), pytest.param("crossbar", 140, marks=pytest.mark.slow)]
)
def test_short_training_improves_the_return(agent, episodes):
    _, recs = train("CartPole-v1", agent, "default", 0, episodes=episodes)
    first = np.mean([r.ret for r in recs[:20]])
    last = np.mean([r.ret for r in recs[-20:]])
    assert last > 3 * first


def _float_agent(**over) -> QAgent:
    cfg = replace(PRESETS["default"], batch=80, replay=200, **over)
    return QAgent(2, 3, cfg, net="float", seed=0)


def test_n_step_transitions_sum_discounted_rewards():
    """Three steps then a termination with n_step 2: the stored transitions, in order."""
    g = 0.9
    agent = _float_agent(n_step=2, gamma=g, reward_scale=1.0, terminal_repeats=3)
    s = [np.array([float(i), 0.0]) for i in range(5)]
    agent.observe(s[0], 0, 1.0, s[1], False, False)
    assert agent.replay.n == 0  # waits for its second step
    agent.observe(s[1], 1, 2.0, s[2], False, False)
    agent.observe(s[2], 2, 4.0, s[3], False, False)
    agent.observe(s[3], 0, 8.0, s[4], True, False)
    rp, n = agent.replay, agent.replay.n
    got = [(rp.s[i][0], rp.a[i], rp.r[i], rp.s2[i][0], rp.done[i], rp.k[i]) for i in range(n)]
    assert got == [
        (0.0, 0, 1.0 + g * 2.0, 2.0, 0.0, 2.0),
        (1.0, 1, 2.0 + g * 4.0, 3.0, 0.0, 2.0),
        (2.0, 2, 4.0 + g * 8.0, 4.0, 1.0, 2.0),  # ends at the terminal state
        *[(3.0, 0, 8.0, 4.0, 1.0, 1.0)] * 3,  # the terminal step, repeated
    ]


def test_n_step_truncation_bootstraps_and_clears_the_queue():
    agent = _float_agent(n_step=3, gamma=0.5, reward_scale=1.0, bootstrap_truncated=True)
    s = [np.array([float(i), 0.0]) for i in range(4)]
    agent.observe(s[0], 0, 1.0, s[1], False, False)
    agent.observe(s[1], 0, 1.0, s[2], False, True)  # time limit after two steps
    rp = agent.replay
    assert [(rp.r[i], rp.s2[i][0], rp.done[i], rp.k[i]) for i in range(rp.n)] == [
        (1.5, 2.0, 0.0, 2.0),
        (1.0, 2.0, 0.0, 1.0),
    ]
    agent.observe(s[2], 0, 1.0, s[3], False, False)  # a new episode starts empty
    assert rp.n == 2


def test_one_step_target_is_the_plain_q_learning_target():
    """n_step 1: one stored transition per step (the terminal one repeated, a
    truncation not), and the target r + gamma (1 - done) max Q'(s2), bit for bit."""
    from memrl.sim.crossbar.golden import float_forward

    agent = _float_agent(double=False, terminal_repeats=3, bootstrap_truncated=False)
    rng = np.random.default_rng(3)
    ends = [(False, False)] * 4 + [(False, True), (True, False)]
    for term, trunc in ends:
        agent.observe(rng.normal(size=2), 1, -1.0, rng.normal(size=2), term, trunc)
    rp = agent.replay
    assert rp.n == 5 + 3 and (rp.k[: rp.n] == 1).all()
    assert rp.done[: rp.n].tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    idx = np.arange(rp.n)
    v2 = float_forward(*agent._target, rp.s2[idx])[-1].max(axis=1)
    r = np.full(rp.n, -1.0 * agent.config.reward_scale)
    hand = r + agent.config.gamma * (1.0 - rp.done[idx]) * v2
    assert (agent.targets(idx, np.zeros((rp.n, 3))) == hand).all()


def test_held_exploration_repeats_the_random_action_until_the_episode_ends():
    agent = _float_agent(eps_min=1.0, explore_hold=1.5, hold_max=50)
    obs = np.zeros(2)
    acts = [agent.act(obs) for _ in range(400)]
    runs = np.diff(np.flatnonzero(np.diff(acts) != 0))
    assert runs.max() > 5  # zeta(1.5) draws long holds
    plain = _float_agent(eps_min=1.0)
    flips = sum(a != b for a, b in zip(acts, acts[1:], strict=False))
    plain_acts = [plain.act(obs) for _ in range(400)]
    plain_flips = sum(a != b for a, b in zip(plain_acts, plain_acts[1:], strict=False))
    assert flips < plain_flips / 2
    agent._hold = 10
    agent.observe(obs, 0, -1.0, obs, False, True)
    assert agent._hold == 0


def test_bad_exploration_and_n_step_settings_are_refused():
    bads = (
        {"explore_hold": 1.0},
        {"hold_max": 0},
        {"n_step": 0},
        {"action_gap": 1.0},
        {"obs_gain": 0.0},
    )
    for bad in bads:
        with pytest.raises(ValueError, match=next(iter(bad))):
            replace(PRESETS["default"], **bad)


def test_observations_are_centred_on_their_bounds():
    import gymnasium as gym

    from memrl.host.crossbar.control import make_agent

    env = gym.make("MountainCar-v0")
    q = make_agent(env, "float", "default", 0)
    lo, hi = env.observation_space.low, env.observation_space.high
    gain = q.config.obs_gain  # 4 on this task (TASK_DEFAULTS)
    assert np.allclose(q.normalise(lo), -gain) and np.allclose(q.normalise(hi), gain)
    cp = make_agent(gym.make("CartPole-v1"), "float", "default", 0)
    assert (cp.obs_offset == 0).all()  # symmetric bounds: division only
    high = np.asarray(gym.make("CartPole-v1").observation_space.high, dtype=np.float64)
    x = np.array([1.0, 5.0, 0.1, -3.0])
    assert (cp.normalise(x) == x / np.where(np.isfinite(high), high, 1.0)).all()


def test_goal_tasks_resolve_their_preset_settings():
    from memrl.host.crossbar.control import TASK_DEFAULTS, resolve_preset

    d = resolve_preset("MountainCar-v0", "default")
    assert (d.n_step, d.explore_hold, d.obs_gain, d.terminal_repeats) == (8, 2.0, 4.0, 100)
    for env_id in ("MountainCar-v0", "memrl/PaperMountainCar-v0"):
        p = resolve_preset(env_id, "paper")  # the paper's algorithm stays as published
        assert (p.n_step, p.explore_hold, p.obs_gain, p.terminal_repeats) == (1, 0.0, 1.0, 100)
        assert p.pause_after == resolve_preset(env_id, "default").pause_after == 0
    paper_env = resolve_preset("memrl/PaperMountainCar-v0", "default")
    assert paper_env == replace(
        PRESETS["default"], terminal_repeats=100, pause_after=0, eps_decay=0.0002
    )
    cart = resolve_preset("CartPole-v1", "default")
    assert cart == PRESETS["default"] and cart.n_step == 1
    for settings in TASK_DEFAULTS.values():
        assert set(settings) <= set(vars(cart))
    with pytest.raises(ValueError, match="preset must be one of"):
        resolve_preset("CartPole-v1", "fast")


@pytest.mark.parametrize("gap", [0.0, 0.5])
def test_targets_with_n_step_and_action_gap(gap):
    """The target of a stored transition, computed by hand from the target network."""
    from memrl.sim.crossbar.golden import float_forward

    g = 0.9
    agent = _float_agent(n_step=2, gamma=g, reward_scale=1.0, action_gap=gap, double=False)
    s = [np.array([0.1 * i, -0.2 * i]) for i in range(4)]
    agent.observe(s[0], 2, -1.0, s[1], False, False)
    agent.observe(s[1], 1, -1.0, s[2], False, False)
    agent.observe(s[2], 0, -1.0, s[3], True, False)
    idx = np.arange(agent.replay.n)
    w, b = agent._target
    y = agent.targets(idx, np.zeros((idx.size, 3)))
    q = [float_forward(w, b, x[None])[-1][0] for x in s]
    assert y[0] == pytest.approx(-1 - g + g**2 * q[2].max() - gap * (q[0].max() - q[0][2]))
    assert y[1] == pytest.approx(-1 - g - gap * (q[1].max() - q[1][1]))  # ends at the goal
    assert y[2] == pytest.approx(-1 - gap * (q[2].max() - q[2][0]))


def test_readback_settings_are_checked():
    with pytest.raises(ValueError, match="readback must be 'read' or 'vmm'"):
        CrossbarConfig(readback="adc")
    with pytest.raises(ValueError, match="readback_gain must be a power of two"):
        CrossbarConfig(readback_gain=3)


def test_program_pieces_keep_the_order_and_each_pieces_resets() -> None:
    from memrl.sim.crossbar.golden import program_pieces

    set_idx = np.array([5, 2, 9, 7, 1])
    levels = np.array([10, 20, 30, 40, 50])
    reset = np.array([2, 7, 1])
    pieces = program_pieces(reset, set_idx, levels, 2)
    assert [p[1].tolist() for p in pieces] == [[5, 2], [9, 7], [1]]
    assert [p[0].tolist() for p in pieces] == [[2], [7], [1]]
    assert [p[2].tolist() for p in pieces] == [[10, 20], [30, 40], [50]]
    whole = program_pieces(reset, set_idx, levels, None)
    assert len(whole) == 1 and whole[0][1] is set_idx
    with pytest.raises(ValueError, match="RESET device 3 is not in the SET list"):
        program_pieces(np.array([3]), set_idx, levels, 2)


def test_pieces_no_smaller_than_the_work_change_nothing() -> None:
    """A forward pass within ``pass_samples`` and writes within ``program_entries``
    are the unsplit network's, noise and all; a bad size is refused by name."""
    settings = DEVICES["emulator"]
    nets = [
        CrossbarQNet(crossbar_config(replace(settings, pass_samples=p, program_entries=e)),
                     np.random.default_rng(3))
        for p, e in ((None, None), (8, 100_000))
    ]  # fmt: skip
    x = np.random.default_rng(4).uniform(-1, 1, (8, 4))
    outs = [net.forward(x) for net in nets]
    for a, b in zip(*outs, strict=True):
        assert np.array_equal(a, b)
    assert np.array_equal(nets[0].w_flat, nets[1].w_flat)
    split = CrossbarQNet(crossbar_config(replace(settings, pass_samples=3)),
                         np.random.default_rng(3))  # fmt: skip
    assert not np.array_equal(split.forward(x)[-1], outs[0][-1])  # other noise draws
    for name in ("pass_samples", "program_entries"):
        with pytest.raises(ValueError, match=name):
            CrossbarConfig(**{name: 0})
