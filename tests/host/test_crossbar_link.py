"""The crossbar firmware over the host link, in amaranth.sim: frames in over the
UART pins, the engine and its emulated array, frames out.

A small network (2-4-4-2) is initialised, runs forward passes, is programmed
and read back through the link; every answer is checked against the golden
model as it comes (the session's shadow), and the network ends in the state
of a network that never left Python. The same holds on a link that damages
and drops bytes, and the firmware refuses malformed requests with the
protocol's error codes.
"""

from __future__ import annotations

import struct

import numpy as np
import pytest

from memrl.host.control import DEVICES, crossbar_config
from memrl.host.crossbar import CrossbarConfig, CrossbarQNet
from memrl.host.crossbar_link import link_engine, simulated_link
from memrl.host.link_client import ErrorReply, FaultyTransport, LinkClient
from memrl.host.navigator_link import FirmwareMismatch
from memrl.rtl.crossbar import EngineOp
from memrl.rtl.protocol import Cmd, Err

CONFIG = crossbar_config(DEVICES["emulator"], CrossbarConfig(sizes=(2, 4, 4, 2)))


def _exercise(net: CrossbarQNet, rng: np.random.Generator) -> list[np.ndarray]:
    """Forward passes, an update's writes and a read-back; the activations."""
    acts = [a for x in (rng.uniform(-1, 1, (3, 2)), rng.uniform(-1, 1, (1, 2)))
            for a in net.forward_fixed(x, reads=2)]  # fmt: skip
    dev = net.used[::3]
    net.pulse(dev[::2], dev, np.full(dev.size, 1.2))
    net.read_back()
    acts += net.forward_fixed(rng.uniform(-1, 1, (4, 2)))
    return acts


def _pair(engine) -> tuple[CrossbarQNet, CrossbarQNet]:  # noqa: ANN001
    return (CrossbarQNet(CONFIG, np.random.default_rng(3)),
            CrossbarQNet(CONFIG, np.random.default_rng(3), engine=engine))  # fmt: skip


@pytest.mark.parametrize("faulty", [False, True])
def test_network_over_the_link_equals_golden_model(faulty):
    wrapped = []

    def wrap(transport):  # noqa: ANN001, ANN202
        wrapped.append(FaultyTransport(transport, np.random.default_rng(9), flip=1e-3,
                                       drop=1e-3))  # fmt: skip
        return wrapped[-1]

    gold, board = _pair(link_engine(max_batch=4, wrap=wrap if faulty else None,
                                    timeout_s=0.003))  # fmt: skip
    try:
        want, got = (
            _exercise(gold, np.random.default_rng(4)),
            _exercise(board, np.random.default_rng(4)),
        )
        for a, b in zip(want, got, strict=True):
            assert np.array_equal(a, b)
        assert np.array_equal(gold.w_flat, board.w_flat)
        assert gold.array.state() == board.array.state()
        assert {h[0] for h in board.engine.history} == {"PROGRAM", "READ", "BIAS", "FORWARD"}
        assert board.engine.cycles > 0
        if faulty:
            assert wrapped[0].damaged > 0 and board.engine.link.stats["retries"] > 0
    finally:
        board.engine.close()


@pytest.fixture(scope="module")
def client():
    net = CrossbarQNet(CONFIG, np.random.default_rng(0))
    fw, transport = simulated_link(net, max_batch=4)
    return LinkClient(transport, timeout_s=0.01), fw


@pytest.mark.parametrize(
    ("cmd", "payload", "code"),
    [
        (Cmd.XB_WRITE, struct.pack("<HH", 0, 2) + bytes(3), Err.BAD_LENGTH),
        (Cmd.XB_WRITE, struct.pack("<HH", 0, 0), Err.OUT_OF_RANGE),
        (Cmd.XB_WRITE, struct.pack("<HH", 8191, 2) + bytes(6), Err.OUT_OF_RANGE),
        (Cmd.XB_RUN, struct.pack("<BBH", 7, 0, 1), Err.OUT_OF_RANGE),
        (Cmd.XB_RUN, struct.pack("<BBH", EngineOp.FORWARD.value, 0, 5), Err.OUT_OF_RANGE),
        (Cmd.XB_RUN, struct.pack("<BBH", EngineOp.FORWARD.value, 9, 1), Err.OUT_OF_RANGE),
        (Cmd.XB_RUN, struct.pack("<BB", 0, 0), Err.BAD_LENGTH),
        (Cmd.XB_READ, struct.pack("<HH", 0, 170), Err.OUT_OF_RANGE),
        (Cmd.XB_READ, struct.pack("<HH", 0, 0), Err.OUT_OF_RANGE),
        (Cmd.RUN_TRIAL, b"", Err.UNKNOWN_COMMAND),
    ],
)
def test_malformed_requests_get_error_codes(client, cmd, payload, code):
    link, fw = client
    with pytest.raises(ErrorReply) as exc:
        link.request(cmd, payload)
    assert exc.value.code == code


def test_a_repeated_run_is_answered_not_run_again(client):
    """An XB_RUN sent twice with one sequence number (its reply lost) runs once."""
    link, fw = client
    link.request(Cmd.XB_WRITE, struct.pack("<HH", 0, 1) + (7).to_bytes(3, "little"))
    run = struct.pack("<BBH", EngineOp.READ.value, 0, 1)
    first = link.request(Cmd.XB_RUN, run)
    link.seq -= 1  # the same sequence number again, as a retry sends it
    assert link.request(Cmd.XB_RUN, run) == first
    again = link.request(Cmd.XB_RUN, run)  # a new request: run again, a new READ
    assert struct.unpack("<HHI", again)[:2] == struct.unpack("<HHI", first)[:2] == (1, 1)


def test_firmware_for_another_network_is_refused():
    other = crossbar_config(DEVICES["emulator"], CrossbarConfig(sizes=(2, 4, 4, 3)))
    with pytest.raises(FirmwareMismatch, match="configuration id"):
        CrossbarQNet(CONFIG, np.random.default_rng(0), engine=lambda net: _mismatched(net, other))


def _mismatched(net: CrossbarQNet, other: CrossbarConfig):  # noqa: ANN202
    from memrl.host.crossbar_link import LinkSession
    from memrl.host.crossbar_rtl import engine_config

    board = CrossbarQNet(other, np.random.default_rng(0))
    _, transport = simulated_link(board, max_batch=4)
    return LinkSession(LinkClient(transport, timeout_s=0.01), engine_config(net, 4), net)
