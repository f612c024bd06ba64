"""The navigator client's IDENTIFY checks: a firmware built with another rule is
refused with both rules named."""

from __future__ import annotations

import struct
from dataclasses import replace

import pytest

from memrl.host.navigator.commands import FirmwareMismatch, NavigatorClient
from memrl.rtl.link.protocol import MAX_PAYLOAD, VERSION, Cmd
from memrl.rtl.navigator.commands import IDENTIFY_FORMAT, KIND_NAVIGATOR, config_id
from memrl.sim.navigator.golden import PRESETS
from memrl.sim.navigator.session import rtl_config


class _Firmware:
    """A link whose firmware answers IDENTIFY for ``config``."""

    def __init__(self, config) -> None:  # noqa: ANN001
        self.reply = struct.pack(
            IDENTIFY_FORMAT, VERSION, KIND_NAVIGATOR, config.height, config.width,
            MAX_PAYLOAD, 1024, 9 * config.places, config_id(config), 12_000_000,
        )  # fmt: skip

    def request(self, cmd: Cmd, payload: bytes = b"", timeout_s: float | None = None) -> bytes:
        assert cmd == Cmd.IDENTIFY
        return self.reply


def _ids() -> dict[int, str]:
    return {config_id(rtl_config(p, (9, 9))): name for name, p in PRESETS.items()}


def test_a_firmware_with_another_rule_is_refused_by_name():
    paper, default = (rtl_config(PRESETS[n], (9, 9)) for n in ("paper", "default"))
    assert config_id(paper) != config_id(default)
    link = _Firmware(paper)
    with pytest.raises(FirmwareMismatch, match="runs the paper rule.*asks for the default rule"):
        NavigatorClient(link, config_id(default), _ids())
    client = NavigatorClient(link, config_id(paper), _ids())
    assert client.places == 81


def test_unknown_rule_parameters_are_refused():
    custom = rtl_config(PRESETS["paper"], (9, 9))
    wanted = rtl_config(PRESETS["default"], (9, 9))
    link = _Firmware(replace(custom, th0=399))
    with pytest.raises(FirmwareMismatch, match="rule parameters .* are not the requested"):
        NavigatorClient(link, config_id(wanted), _ids())
