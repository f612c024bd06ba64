"""The device port: codes in, codes out, operation log, errors."""

from __future__ import annotations

import numpy as np
import pytest

from memrl.sim.devices import (
    OneT1RArray,
    OneT1RParams,
    OneT1RPort,
    Op,
    PortOp,
    SiOxArray,
    SiOxParams,
    SiOxPort,
)


def test_siox_port_levels_map_to_the_tables() -> None:
    port = SiOxPort(SiOxArray(8, SiOxParams.ideal(), rng=0))
    assert (port.n_set_levels, port.n_reset_levels) == (11, 13)
    port.set(np.arange(8), np.arange(8))
    np.testing.assert_allclose(port.array.r_kohm, [12.1, 10.8, 9.8, 8.3, 7.6, 7.0, 6.8, 6.5])
    port.reset([0, 1], [0, 12])
    np.testing.assert_allclose(port.array.r_kohm[:2], [112.0, 374.0])


def test_siox_read_codes_are_the_adc_of_the_read_current() -> None:
    port = SiOxPort(SiOxArray(4, SiOxParams.ideal(), rng=0))
    port.set([0, 1, 2, 3], [0, 5, 10, 10])
    port.reset([3], 6)
    # I = 0.1 V / R; ADC: 8 bits unsigned over 25 uA.
    expect = np.rint(0.1 / (np.array([12.1, 7.0, 5.74, 243.0]) * 1e3) / (25e-6 / 255))
    np.testing.assert_array_equal(port.read([0, 1, 2, 3]), expect.astype(int))
    assert port.read(2).shape == ()  # a scalar address gives a scalar code


def test_port_log_records_every_access_in_order() -> None:
    port = SiOxPort(SiOxArray(4, SiOxParams.ideal(), rng=0), record=True)
    port.set([2, 3], 4)
    code = port.read(2)
    port.reset(1, 7)
    assert port.log == [
        PortOp(Op.SET, 2, 4, None),
        PortOp(Op.SET, 3, 4, None),
        PortOp(Op.READ, 2, 0, int(code)),
        PortOp(Op.RESET, 1, 7, None),
    ]
    assert port.counts[Op.SET] == 2 and port.counts[Op.READ] == 1


def test_same_seed_same_operation_log() -> None:
    def run() -> list[PortOp]:
        port = SiOxPort(SiOxArray(64, rng=42), record=True)
        rng = np.random.default_rng(7)
        for _ in range(20):
            a = rng.integers(0, 64, 5)
            port.set(a, rng.integers(0, 11, 5))
            port.read(a)
            port.reset(a[:2], 3)
        return port.log

    assert run() == run()


def test_onet1r_port_gate_dac_and_vmm_codes() -> None:
    arr = OneT1RArray(8, 4, OneT1RParams.ideal(), rng=0)
    port = OneT1RPort(arr, record=True)
    assert port.n_set_levels == 1024 and port.n_reset_levels == 1
    assert port.v_gate(0) == pytest.approx(0.6) and port.v_gate(1023) == pytest.approx(1.5)
    assert int(port.level_for(1.05)) == round(0.45 / (0.9 / 1023))
    port.reset(np.arange(32))
    port.set(np.arange(32), port.level_for(1.0))
    g = 100 + 98 * (port.v_gate(port.level_for(1.0)) - 0.7)
    np.testing.assert_allclose(arr.read_us(), g)
    rows = np.array([[127, -127, 64, 0, 0, 0, 0, 0]])
    codes = port.vmm(rows)
    v = rows * (0.2 / 127)
    expect = np.rint(v @ arr.conductance_us() * 1e-6 / (1e-3 / 511))
    np.testing.assert_array_equal(codes, expect)
    assert port.log[-1].op == Op.VMM and port.log[-1].code == tuple(rows[0])


def test_port_errors_name_the_field() -> None:
    port = SiOxPort(SiOxArray(4, rng=0))
    with pytest.raises(
        ValueError, match=r"set level must be integer codes in \[0, 10\] \(got 11\)"
    ):
        port.set(0, 11)
    with pytest.raises(ValueError, match=r"reset level must be integer codes in \[0, 12\]"):
        port.reset(0, -1)
    with pytest.raises(ValueError, match=r"address must be integer codes in \[0, 3\] \(got 4\)"):
        port.read(4)
    with pytest.raises(ValueError, match="set level must be a scalar or one per address"):
        port.set([0, 1, 2], [1, 2])
    with pytest.raises(ValueError, match="SiOxPort has no VMM transaction"):
        port.vmm(np.zeros(4, dtype=int))
    onet = OneT1RPort(OneT1RArray(4, 4, rng=0))
    with pytest.raises(ValueError, match=r"reset level must be integer codes in \[0, 0\]"):
        onet.reset(0, 1)
    with pytest.raises(ValueError, match=r"code must be integer codes in \[-127, 127\]"):
        onet.vmm(np.full(4, 200))
