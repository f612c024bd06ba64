"""DAC/ADC code paths are integer-exact."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memrl.sim.devices import ADC, DAC


def test_signed_and_unsigned_code_ranges() -> None:
    s = ADC(8, 1.0, signed=True)
    u = ADC(8, 1.0)
    assert (s.min_code, s.max_code) == (-127, 127)
    assert (u.min_code, u.max_code) == (0, 255)
    np.testing.assert_array_equal(s.convert([-2.0, -1.0, 0.0, 1.0, 2.0]), [-127, -127, 0, 127, 127])
    np.testing.assert_array_equal(u.convert([-0.5, 0.5, 9.0]), [0, 128, 255])


def test_round_half_to_even_and_dtype() -> None:
    adc = ADC(4, 15.0)  # lsb exactly 1.0
    codes = adc.convert([0.5, 1.5, 2.5, 7.49])
    assert codes.dtype == np.int64
    np.testing.assert_array_equal(codes, [0, 2, 2, 7])


def test_dac_volts_are_code_times_lsb() -> None:
    dac = DAC(8, 0.2, signed=True)
    np.testing.assert_array_equal(dac.volts([-127, 0, 64]), np.array([-127, 0, 64]) * (0.2 / 127))


@settings(max_examples=100, deadline=None)
@given(bits=st.integers(2, 16), signed=st.booleans(), data=st.data())
def test_property_code_round_trip_is_exact(bits: int, signed: bool, data: st.DataObject) -> None:
    q = DAC(bits, 0.2, signed=signed)
    code = data.draw(st.integers(q.min_code, q.max_code))
    assert int(q.quantize(q.value(code))) == code


@settings(max_examples=100, deadline=None)
@given(x=st.floats(-10, 10), bits=st.integers(2, 12))
def test_property_quantisation_error_within_half_lsb_inside_range(x: float, bits: int) -> None:
    q = ADC(bits, 1.0, signed=True)
    c = int(q.convert(x))
    if abs(x) <= 1.0:
        assert abs(c * q.lsb - x) <= q.lsb / 2 + 1e-12
    else:
        assert c == (q.max_code if x > 0 else q.min_code)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: ADC(0, 1.0), r"bits must be integer codes in \[1, 24\] \(got 0\)"),
        (lambda: ADC(1, 1.0, signed=True), r"bits must be integer codes in \[2, 24\]"),
        (lambda: ADC(8, 0.0), r"full_scale must be within \(0, inf\]"),
        (lambda: DAC(8, float("nan")), r"full_scale must be within .* \(got nan\)"),
        (lambda: DAC(8, 1.0).volts([300]), r"code must be integer codes in \[0, 255\] \(got 300\)"),
        (lambda: ADC(8, 1.0).convert([float("inf")]), "value must be finite"),
        (lambda: DAC(8, 1.0).volts([1.5]), r"code must be integer codes in \[0, 255\]"),
    ],
)
def test_bad_converter_inputs(make, match: str) -> None:  # noqa: ANN001
    with pytest.raises(ValueError, match=match):
        make()
