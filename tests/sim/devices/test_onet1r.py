"""1T1R array model: statistics against the reference figures, properties, faults, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memrl.sim.devices import OneT1RArray, OneT1RParams, PairMap, Stuck

IDEAL = OneT1RParams.ideal()


def test_initial_state_is_uniform_50_100_us() -> None:
    arr = OneT1RArray(128, 64, rng=1)
    g = arr.conductance_us()
    assert g.min() >= 50.0 and g.max() <= 100.0
    assert abs(g.mean() - 75.0) < 0.7  # U(50, 100): mean 75, sigma of the mean 0.16
    assert abs(g.std() - 50 / math.sqrt(12)) < 0.5


def test_ideal_set_follows_the_code_history_line() -> None:
    arr = OneT1RArray(4, 8, IDEAL, rng=0)
    for vg in (0.6, 0.7, 1.05, 1.5):
        arr.reset(None)
        arr.set(None, vg)
        np.testing.assert_allclose(arr.read_us(), 100.0 + 98.0 * (vg - 0.7))


def test_set_statistics_match_the_parameters() -> None:
    """Mean slope 98 uS/V and spread sqrt(offset^2 + c2c^2 + slope spread^2) over 8192 devices."""
    p = OneT1RParams(read_noise_frac=0.0)
    arr = OneT1RArray(128, 64, p, rng=2)
    vg = 1.4
    arr.reset(None)
    arr.set(None, vg)
    g = arr.read_us()
    dv = vg - p.vg_ref
    expect_mean = p.g_set_ref_us + p.slope_us_per_v * dv
    expect_sd = math.sqrt(
        p.d2d_offset_us**2 + p.c2c_set_us**2 + (p.d2d_slope_frac * p.slope_us_per_v * dv) ** 2
    )
    assert abs(g.mean() - expect_mean) < 4 * expect_sd / math.sqrt(g.size)
    assert abs(g.std() / expect_sd - 1) < 0.05


def test_cycle_to_cycle_noise_differs_between_pulses_d2d_does_not() -> None:
    p = OneT1RParams(read_noise_frac=0.0, c2c_set_us=0.0)
    arr = OneT1RArray(16, 16, p, rng=3)
    arr.reset(None)
    arr.set(None, 1.2)
    first = arr.read_us()
    arr.reset(None)
    arr.set(None, 1.2)
    np.testing.assert_array_equal(first, arr.read_us())  # only fixed device spread
    noisy = OneT1RArray(16, 16, OneT1RParams(read_noise_frac=0.0), rng=3)
    noisy.set(None, 1.2)
    a = noisy.read_us()
    noisy.reset(None)
    noisy.set(None, 1.2)
    assert not np.array_equal(a, noisy.read_us())


def test_set_never_lowers_a_device_reset_does() -> None:
    arr = OneT1RArray(8, 8, IDEAL, rng=0)
    arr.set(None, 1.5)
    high = arr.read_us()
    arr.set(None, 0.6)
    np.testing.assert_array_equal(arr.read_us(), high)
    arr.reset(None)
    arr.set(None, 0.6)
    np.testing.assert_allclose(arr.read_us(), 100 + 98 * (0.6 - 0.7))


def test_read_noise_sigma() -> None:
    p = OneT1RParams(read_noise_frac=0.02)
    arr = OneT1RArray(128, 64, p, rng=4)
    g0 = arr.conductance_us()
    rel = arr.read_us() / g0 - 1
    assert abs(rel.std() - 0.02) < 0.001
    np.testing.assert_array_equal(arr.conductance_us(), g0)  # reads do not disturb


def test_vmm_is_the_matrix_product_and_its_noise_has_the_summed_variance() -> None:
    arr = OneT1RArray(32, 16, IDEAL, rng=5)
    v = np.random.default_rng(6).uniform(-0.2, 0.2, (4, 32))
    np.testing.assert_allclose(arr.vmm(v), v @ arr.conductance_us() * 1e-6, rtol=1e-12)
    np.testing.assert_allclose(
        arr.vmm(v[0], rows=slice(0, 32), cols=slice(3, 7)),
        v[0] @ arr.conductance_us()[:, 3:7] * 1e-6,
        rtol=1e-12,
    )
    noisy = OneT1RArray(32, 16, OneT1RParams(read_noise_frac=0.05), rng=5)
    vv = np.tile(v[0], (20000, 1))
    out = noisy.vmm(vv)
    g = noisy.conductance_us()
    expect_sd = np.sqrt((v[0] ** 2) @ (g**2)) * 1e-6 * 0.05
    np.testing.assert_allclose(out.std(axis=0) / expect_sd, 1.0, atol=0.04)


def test_stuck_faults_at_their_rates_ignore_programming() -> None:
    p = OneT1RParams(p_stuck_set=0.03, p_stuck_reset=0.05)
    arr = OneT1RArray(128, 64, p, rng=7)
    n = arr.size
    n_set, n_reset = (arr.stuck == Stuck.SET).sum(), (arr.stuck == Stuck.RESET).sum()
    assert abs(n_set - 0.03 * n) < 4 * math.sqrt(0.03 * n)
    assert abs(n_reset - 0.05 * n) < 4 * math.sqrt(0.05 * n)
    arr.reset(None)
    arr.set(None, 0.9)
    g = arr.conductance_us()
    assert np.all(g[arr.stuck == Stuck.SET] == p.g_max_us)
    assert np.all(g[arr.stuck == Stuck.RESET] == p.g_reset_us)
    assert arr.ledger.n_set == n  # pulses on stuck devices are still spent


def test_ledger_counts_every_pulse_and_repeats() -> None:
    arr = OneT1RArray(4, 4, IDEAL, rng=0)
    arr.set([0, 1, 1], [0.8, 0.9, 1.0])
    arr.reset([1, 15])
    assert arr.ledger.set_count.reshape(-1).tolist()[:3] == [1, 2, 0]
    assert arr.ledger.reset_count[3, 3] == 1 and arr.ledger.n_reset == 2
    np.testing.assert_array_equal(arr.ledger.total, arr.ledger.set_count + arr.ledger.reset_count)


def test_endurance_freezes_worn_devices() -> None:
    arr = OneT1RArray(2, 2, IDEAL.__class__.ideal(endurance_pulses=3), rng=0)
    for _ in range(2):
        arr.reset(None)
        arr.set(None, 1.0)
    assert np.all(arr.stuck == Stuck.WORN)  # 4 pulses > 3
    frozen = arr.conductance_us()
    arr.reset(None)
    np.testing.assert_array_equal(arr.conductance_us(), frozen)


def test_drift_follows_the_power_law_and_programming_restarts_it() -> None:
    p = OneT1RParams.ideal(drift_nu=0.05, drift_t0_s=1.0)
    arr = OneT1RArray(2, 2, p, rng=0)
    arr.reset(None)
    arr.set(None, 1.2)
    g0 = arr.conductance_us()
    arr.advance(99.0)
    np.testing.assert_allclose(arr.conductance_us(), g0 * 100.0**-0.05)
    arr.reset(None)
    arr.set(None, 1.2)
    np.testing.assert_allclose(arr.conductance_us(), g0)


def test_pair_map_placement_and_weights() -> None:
    arr = OneT1RArray(128, 64, IDEAL, rng=0)
    l1 = PairMap(4, 48, row0=0, col0=0, orientation="vertical")
    l3 = PairMap(48, 2, row0=0, col0=48, orientation="horizontal")
    assert l1.footprint == (8, 48) and l3.footprint == (48, 4)
    pos, neg = l1.indices(64)
    assert pos[1, 2] == 2 * 64 + 2 and neg[1, 2] == 3 * 64 + 2
    pos3, neg3 = l3.indices(64)
    assert pos3[5, 1] == 5 * 64 + 50 and neg3[5, 1] == 5 * 64 + 51
    l1.check_fits(arr)
    with pytest.raises(ValueError, match="does not fit"):
        PairMap(70, 10).check_fits(arr)
    # A weight written as a pair and read back: (G+ - G-) / 250 uS.
    w = np.random.default_rng(1).uniform(-0.3, 0.3, (4, 48))
    arr.reset(None)
    arr.set(pos.ravel(), np.where(w > 0, 0.7 + w * 250 / 98, 0.7).ravel())
    arr.set(neg.ravel(), np.where(w < 0, 0.7 - w * 250 / 98, 0.7).ravel())
    np.testing.assert_allclose(l1.weights(arr.read_us()), w, atol=1e-12)
    # Rows driven +V/-V give the pair difference on every column.
    x = np.random.default_rng(2).uniform(-0.2, 0.2, 4)
    i = arr.vmm(l1.row_voltages(x), rows=l1.rows(), cols=l1.cols())
    np.testing.assert_allclose(i, x @ w * 250e-6, rtol=1e-9)


def test_pair_weights_with_realistic_devices_within_tolerance() -> None:
    """Realistic spread: the read-back error sigma stays within the model's budget."""
    p = OneT1RParams()
    arr = OneT1RArray(128, 64, p, rng=11)
    pm = PairMap(64, 64)
    pos, neg = pm.indices(64)
    w = np.random.default_rng(12).uniform(-0.3, 0.3, (64, 64))
    arr.reset(None)
    arr.set(pos.ravel(), np.where(w > 0, 0.7 + w * 250 / 98, 0.7).ravel())
    arr.set(neg.ravel(), np.where(w < 0, 0.7 - w * 250 / 98, 0.7).ravel())
    err = pm.weights(arr.read_us()) - w
    assert abs(err.mean()) < 0.003
    assert err.std() < 0.05


@settings(max_examples=40, deadline=None)
@given(
    vg=st.lists(st.floats(0.6, 1.5), min_size=1, max_size=20),
    seed=st.integers(0, 2**32 - 1),
    noise=st.booleans(),
)
def test_property_bounds_and_ledger(vg: list[float], seed: int, noise: bool) -> None:
    p = OneT1RParams() if noise else IDEAL
    arr = OneT1RArray(3, 5, p, rng=seed)
    for k, v in enumerate(vg):
        if k % 3 == 0:
            arr.reset(None)
        arr.set(None, v)
        g = arr.conductance_us()
        assert np.all((g >= p.g_min_us) & (g <= p.g_max_us))
    assert arr.ledger.n_set == len(vg) * arr.size
    assert arr.ledger.n_reset == math.ceil(len(vg) / 3) * arr.size


@settings(max_examples=40, deadline=None)
@given(a=st.floats(0.6, 1.5), b=st.floats(0.6, 1.5), seed=st.integers(0, 2**32 - 1))
def test_property_monotonic_in_gate_voltage(a: float, b: float, seed: int) -> None:
    """Without cycle-to-cycle noise, a higher gate voltage never gives a lower conductance."""
    p = OneT1RParams(c2c_set_us=0.0, c2c_reset_us=0.0, read_noise_frac=0.0)
    lo, hi = min(a, b), max(a, b)
    x, y = OneT1RArray(4, 4, p, rng=seed), OneT1RArray(4, 4, p, rng=seed)
    x.reset(None)
    y.reset(None)
    x.set(None, lo)
    y.set(None, hi)
    assert np.all(y.conductance_us() >= x.conductance_us())


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_property_deterministic_for_a_seed(seed: int) -> None:
    def run() -> tuple[np.ndarray, np.ndarray]:
        arr = OneT1RArray(8, 8, OneT1RParams(p_stuck_set=0.05), rng=seed)
        arr.reset(np.arange(0, 64, 2))
        arr.set(None, np.linspace(0.6, 1.5, 64))
        return arr.read_us(), arr.vmm(np.full(8, 0.1))

    a, b = run(), run()
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"g_reset_us": float("nan")}, r"g_reset_us must be within \[0.5, 250\] uS \(got nan\)"),
        ({"g_min_us": -1.0}, r"g_min_us must be within \[0, inf\] uS"),
        ({"vg_max": 0.5}, r"vg_max must be within \(0.6, 5\] V"),
        ({"p_stuck_set": 1.5}, r"p_stuck_set must be within \[0, 1\]"),
        ({"endurance_pulses": 0}, r"endurance_pulses must be integer codes in \[1,"),
    ],
)
def test_bad_parameters_name_the_parameter_and_range(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        OneT1RParams(**kwargs)


def test_bad_operations_raise() -> None:
    arr = OneT1RArray(4, 4, rng=0)
    with pytest.raises(ValueError, match=r"v_gate must be within \[0.6, 1.5\] V \(got 1.7\)"):
        arr.set(None, 1.7)
    with pytest.raises(ValueError, match=r"idx must be integer codes in \[0, 15\] \(got 16\)"):
        arr.reset([16])
    with pytest.raises(ValueError, match="v_gate must be a scalar or have shape"):
        arr.set([0, 1], [0.7, 0.8, 0.9])
    with pytest.raises(ValueError, match=r"v_rows must have shape \(4,\)"):
        arr.vmm(np.zeros(5))
    with pytest.raises(ValueError, match=r"v_rows must be within \[-0.2, 0.2\] V"):
        arr.vmm(np.full(4, 0.5))
    with pytest.raises(ValueError, match="rng must be a numpy Generator or an integer seed"):
        OneT1RArray(2, 2, rng="seed")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="orientation must be 'vertical' or 'horizontal'"):
        PairMap(2, 2, orientation="diagonal")  # type: ignore[arg-type]
