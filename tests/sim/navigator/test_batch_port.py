"""The batch top keeps the core's ports and checks its parameters."""

from __future__ import annotations

import pytest
from amaranth.back import verilog
from amaranth.lib import wiring
from amaranth.lib.wiring import In

from memrl.rtl.navigator.core import NavigatorCore
from memrl.sim.navigator.batch_port import BatchPortTop
from memrl.sim.navigator.golden import PRESETS
from memrl.sim.navigator.session import rtl_config


def _core():
    return NavigatorCore(rtl_config(PRESETS["paper"], (5, 5)))


def test_ports_are_the_cores_without_rram_plus_the_batch_interface():
    core = _core()
    top = BatchPortTop(core, depth=8)
    names = set(top.signature.members)
    assert names == (set(core.signature.members) - {"rram"}) | {
        "bat_need", "bat_count", "bat_req", "bat_resp", "bat_served",
    }  # fmt: skip
    assert len(top.bat_req) == 8 * top.payload_bits and len(top.bat_resp) == 8 * 64
    text = verilog.convert(top, name="navigator")
    assert "bat_need" in text and "rram__req__valid" not in text.split(");")[0]


@pytest.mark.parametrize(("kw", "msg"), [({"depth": 0}, "depth"), ({"gap": 0}, "gap")])
def test_bad_parameters_are_named(kw, msg):
    with pytest.raises(ValueError, match=msg):
        BatchPortTop(_core(), **kw)


def test_a_core_without_an_rram_port_is_refused():
    class Plain(wiring.Component):
        def __init__(self) -> None:
            super().__init__({"x": In(1)})

        def elaborate(self, platform):  # noqa: ANN001, ANN202
            raise NotImplementedError

    with pytest.raises(ValueError, match="rram"):
        BatchPortTop(Plain())
