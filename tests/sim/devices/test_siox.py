"""SiOx model against the measured tables of Bianchi et al. 2023."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memrl.sim.devices import LRS_TABLE_IC_UA, LRS_TABLE_KOHM, SiOxArray, SiOxParams

N = 20000


@pytest.mark.parametrize(("ic", "r_mean"), list(zip(LRS_TABLE_IC_UA, LRS_TABLE_KOHM, strict=True)))
def test_lrs_mean_matches_the_measured_table(ic: float, r_mean: float) -> None:
    arr = SiOxArray(N, SiOxParams(), rng=int(ic))
    arr.set(None, ic)
    assert abs(arr.r_kohm.mean() / r_mean - 1) < 0.01


def test_lrs_sigma_shrinks_from_1_37_to_0_06_kohm() -> None:
    arr = SiOxArray(N, rng=1)
    sd = []
    for ic in LRS_TABLE_IC_UA:
        arr.set(None, ic)
        sd.append(arr.r_kohm.std())
    assert abs(sd[0] / 1.37 - 1) < 0.05
    assert abs(sd[-1] / 0.06 - 1) < 0.05
    assert all(b < a for a, b in zip(sd, sd[1:], strict=False))


def test_interpolated_lrs_between_table_points() -> None:
    p = SiOxParams()
    assert p.lrs_mean_kohm(56.0) == pytest.approx((12.1 + 10.8) / 2)


@pytest.mark.parametrize(("v_stop", "mean", "sd"), [(-1.0, 112.0, 40.0), (-1.6, 374.0, 110.0)])
def test_hrs_against_stop_voltage(v_stop: float, mean: float, sd: float) -> None:
    arr = SiOxArray(N, rng=2)
    arr.reset(None, v_stop)
    assert abs(arr.r_kohm.mean() / mean - 1) < 0.02
    assert abs(arr.r_kohm.std() / sd - 1) < 0.08


def test_initial_state_distribution() -> None:
    arr = SiOxArray(N, rng=3)
    lrs = arr.r_kohm < 50
    assert abs(lrs.mean() - 0.9) < 0.01
    assert arr.r_kohm[lrs].min() >= 9.0 and arr.r_kohm[lrs].max() <= 11.0
    assert arr.r_kohm[~lrs].min() >= 180.0 and arr.r_kohm[~lrs].max() <= 390.0


def test_read_noise_and_ledger() -> None:
    arr = SiOxArray(N, SiOxParams(read_noise_frac=0.03), rng=4)
    g = arr.conductance_us()
    assert abs((arr.read_us() / g - 1).std() - 0.03) < 0.002
    arr.set(np.arange(10), 100.0)
    arr.reset([3, 3], -1.2)
    assert arr.ledger.n_set == 10 and arr.ledger.reset_count[3] == 2


@settings(max_examples=40, deadline=None)
@given(a=st.floats(50, 170), b=st.floats(50, 170))
def test_property_lrs_mean_falls_with_compliance(a: float, b: float) -> None:
    p = SiOxParams()
    lo, hi = min(a, b), max(a, b)
    assert p.lrs_mean_kohm(hi) <= p.lrs_mean_kohm(lo)
    assert p.lrs_sigma_kohm(hi) <= p.lrs_sigma_kohm(lo)


@settings(max_examples=40, deadline=None)
@given(a=st.floats(-1.6, -1.0), b=st.floats(-1.6, -1.0), seed=st.integers(0, 2**32 - 1))
def test_property_deeper_reset_higher_hrs_and_positive(a: float, b: float, seed: int) -> None:
    p = SiOxParams()
    deep, shallow = min(a, b), max(a, b)
    assert p.hrs_mean_kohm(deep) >= p.hrs_mean_kohm(shallow)
    arr = SiOxArray(64, p, rng=seed)
    arr.reset(None, deep)
    assert np.all(arr.r_kohm > 0)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_property_deterministic_for_a_seed(seed: int) -> None:
    def run() -> np.ndarray:
        arr = SiOxArray(32, rng=seed)
        arr.set(np.arange(16), 80.0)
        arr.reset(np.arange(16, 32), -1.3)
        return arr.read_us()

    np.testing.assert_array_equal(run(), run())


def test_bad_inputs_name_the_parameter() -> None:
    arr = SiOxArray(4, rng=0)
    with pytest.raises(ValueError, match=r"ic_ua must be within \[50, 170\] uA \(got 20.0\)"):
        arr.set(None, 20.0)
    with pytest.raises(ValueError, match=r"v_stop must be within \[-1.6, -1\] V \(got -2.0\)"):
        arr.reset(None, -2.0)
    with pytest.raises(ValueError, match=r"ic_ua must be within .* \(got nan\)"):
        arr.set(None, float("nan"))
    with pytest.raises(ValueError, match=r"ic_ua must be a scalar or have shape \(4,\)"):
        arr.set(None, [60.0, 70.0])
    with pytest.raises(ValueError, match="strictly increasing"):
        SiOxParams(lrs_table_ic_ua=(50.0, 40.0), lrs_table_kohm=(10.0, 11.0))
    with pytest.raises(ValueError, match="equal length"):
        SiOxParams(lrs_table_ic_ua=(50.0, 60.0, 70.0), lrs_table_kohm=(10.0, 11.0))
    with pytest.raises(ValueError, match=r"lrs_table_kohm must be within \(0, inf\] kOhm"):
        SiOxParams(lrs_table_kohm=(-1.0,) + LRS_TABLE_KOHM[1:])


def test_batch_agent_is_independent_of_its_batch_and_of_call_grouping() -> None:
    """Agent seed 5 alone, or second in a batch of three with its operations grouped
    differently, ends in the same state with the same reads."""
    alone = SiOxArray.batch([5], 10)
    many = SiOxArray.batch([1, 5, 9], 10)
    np.testing.assert_array_equal(alone.r_kohm, many.r_kohm[10:20])
    reads_alone = []
    for k in range(10):  # one operation at a time
        alone.set([k], 50.0 + 12 * k)
        reads_alone.append(alone.read_us([k])[0])
    alone.reset([3], -1.4)
    many.set(np.arange(10, 20), 50.0 + 12 * np.arange(10))  # all at once
    many.set(np.arange(0, 10), 100.0)  # other agents in between
    reads_many = many.read_us(np.arange(10, 20))
    many.reset([13], -1.4)
    np.testing.assert_array_equal(np.array(reads_alone), reads_many)
    np.testing.assert_array_equal(alone.r_kohm, many.r_kohm[10:20])


def test_batch_streams_keep_the_measured_statistics() -> None:
    arr = SiOxArray.batch(np.arange(200), 100)
    assert abs((arr.r_kohm < 50).mean() - 0.9) < 0.01
    arr.set(None, 50.0)
    assert abs(arr.r_kohm.mean() / 12.1 - 1) < 0.01
    assert abs(arr.r_kohm.std() / 1.37 - 1) < 0.05
    arr.reset(None, -1.6)
    assert abs(arr.r_kohm.mean() / 374 - 1) < 0.02


def test_counter_streams_are_uniform_and_normal() -> None:
    from memrl.sim.devices import streams

    key = np.full(200_000, streams.agent_key(3))
    addr = np.arange(200_000) % 977
    counter = np.arange(200_000) // 977
    u = streams.uniform(key, addr, counter)
    assert u.min() > 0 and u.max() < 1
    assert abs(u.mean() - 0.5) < 0.003 and abs(u.var() - 1 / 12) < 0.001
    z = streams.normal(key, addr, counter)
    assert abs(z.mean()) < 0.01 and abs(z.std() - 1) < 0.01
    assert abs(np.mean(z**4) - 3) < 0.06  # Gaussian kurtosis
    # The ziggurat's boxes, wedges and tail: the empirical CDF follows the normal
    # one (tolerances are about four standard errors at 200,000 draws).
    for t in (-3.5, -2.0, -1.0, -0.3, 0.0, 0.7, 1.5, 2.5, 3.0):
        phi = 0.5 * (1.0 + math.erf(t / math.sqrt(2.0)))
        tol = 4.0 * math.sqrt(phi * (1.0 - phi) / z.size) + 1e-5
        assert abs((z <= t).mean() - phi) < tol, t
    np.testing.assert_array_equal(z, streams.normal(key, addr, counter))
    assert not np.array_equal(z, streams.normal(key, addr, counter + 1))


def test_a_device_named_twice_in_one_call_is_operated_twice() -> None:
    """Counter-based draws: SET (or READ) of the same device twice in one call equals
    two calls in a row, as a sequential co-simulation would issue them."""
    once = SiOxArray.batch([4, 5], 10)
    twice = SiOxArray.batch([4, 5], 10)
    idx = np.array([3, 12, 3, 7, 3])
    once.set(idx, 74.0)
    for i in idx:
        twice.set(np.array([i]), 74.0)
    np.testing.assert_array_equal(once.r_kohm, twice.r_kohm)
    np.testing.assert_array_equal(once.ledger.set_count, twice.ledger.set_count)
    a = once.read_us(idx)
    b = np.concatenate([twice.read_us(np.array([i])) for i in idx])
    np.testing.assert_array_equal(a, b)
    assert a[0] != a[2]  # fresh read noise for each read of device 3
