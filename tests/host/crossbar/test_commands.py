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
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memrl.host.crossbar.commands import link_engine, simulated_link
from memrl.host.crossbar.control import DEVICES, crossbar_config
from memrl.host.link.client import ErrorReply, FaultyTransport, LinkClient
from memrl.host.link.frames import cobs_encode, crc16
from memrl.host.navigator.commands import FirmwareMismatch
from memrl.rtl.crossbar.engine import EngineOp
from memrl.rtl.link.protocol import VERSION, Cmd, Err
from memrl.sim.crossbar.golden import CrossbarConfig, CrossbarQNet, emulator_model
from memrl.sim.devices.xbar_emulator import XbarEmulatorArray, XbarEmulatorPort

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


@pytest.mark.parametrize("faulty", [False, pytest.param(True, marks=pytest.mark.slow)])
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


def test_a_repeated_run_is_answered_not_run_again():
    """An XB_RUN sent twice with one sequence number (its reply lost) runs once:
    the READ it runs draws one noise sample, so the code read back is the first
    READ's of the emulator's model, not the second's."""
    net = CrossbarQNet(CONFIG, np.random.default_rng(0))  # its firmware: fresh devices
    _, transport = simulated_link(net, max_batch=4)
    link = LinkClient(transport, timeout_s=0.01)
    twin = XbarEmulatorPort(XbarEmulatorArray(emulator_model(CONFIG), CONFIG.device), CONFIG.port)
    once, twice = int(twin.read(7)), int(twin.read(7))
    assert once != twice  # the check below tells the two apart
    link.request(Cmd.XB_WRITE, struct.pack("<HH", 0, 1) + (7).to_bytes(3, "little"))
    run = struct.pack("<BBH", EngineOp.READ.value, 0, 1)
    first = link.request(Cmd.XB_RUN, run)
    assert struct.unpack("<HHI", first)[:2] == (1, 1)
    link.seq -= 1  # the same sequence number again, as a retry sends it
    assert link.request(Cmd.XB_RUN, run) == first
    code = int.from_bytes(link.request(Cmd.XB_READ, struct.pack("<HH", 0, 1)), "little")
    assert code == once
    link.request(Cmd.XB_RUN, run)  # a new request runs: the second READ
    code = int.from_bytes(link.request(Cmd.XB_READ, struct.pack("<HH", 0, 1)), "little")
    assert code == twice


def test_firmware_for_another_network_is_refused():
    other = crossbar_config(DEVICES["emulator"], CrossbarConfig(sizes=(2, 4, 4, 3)))
    with pytest.raises(FirmwareMismatch, match="configuration id"):
        CrossbarQNet(CONFIG, np.random.default_rng(0), engine=lambda net: _mismatched(net, other))


def test_firmware_with_smaller_passes_names_the_options():
    """A board built to work in pieces of 4 samples, a run that is not: the
    refusal says which option makes them match."""
    from memrl.host.crossbar.commands import LinkSession
    from memrl.sim.crossbar.session import engine_config

    board = CrossbarQNet(replace(CONFIG, pass_samples=4), np.random.default_rng(0))

    def session(net: CrossbarQNet) -> LinkSession:
        _, transport = simulated_link(board)
        return LinkSession(LinkClient(transport, timeout_s=0.01), engine_config(net, 8), net)

    with pytest.raises(FirmwareMismatch, match="--pass-samples 4"):
        CrossbarQNet(CONFIG, np.random.default_rng(0), engine=session)


def _mismatched(net: CrossbarQNet, other: CrossbarConfig):  # noqa: ANN202
    from memrl.host.crossbar.commands import LinkSession
    from memrl.sim.crossbar.session import engine_config

    board = CrossbarQNet(other, np.random.default_rng(0))
    _, transport = simulated_link(board, max_batch=4)
    return LinkSession(LinkClient(transport, timeout_s=0.01), engine_config(net, 4), net)


def _frame(typ: int, seq: int, payload: bytes, version: int = VERSION) -> bytes:
    """A frame's wire bytes, any field allowed (the host's Frame refuses bad ones)."""
    body = bytes([version, typ, seq, len(payload) & 0xFF, len(payload) >> 8]) + payload
    return cobs_encode(body + crc16(body).to_bytes(2, "big")) + b"\0"


def _junk() -> st.SearchStrategy[bytes]:
    xb = st.sampled_from([Cmd.XB_WRITE, Cmd.XB_RUN, Cmd.XB_READ, Cmd.IDENTIFY, 0x05, 0x7F])
    payload = st.one_of(
        st.binary(max_size=10),
        st.builds(
            lambda op, r, n: struct.pack("<BBH", op, r, n),
            st.integers(0, 7),
            st.integers(0, 5),
            st.integers(0, 6),
        ),  # fmt: skip
        st.builds(
            lambda off, n: struct.pack("<HH", off, n) + bytes(3 * n),
            st.integers(0, 8200),
            st.integers(0, 4),
        ),  # fmt: skip
    )
    frames = st.builds(_frame, xb, st.integers(0, 255), payload,
                       st.sampled_from([VERSION, VERSION, 0]))  # fmt: skip
    return st.lists(st.one_of(frames, st.binary(min_size=1, max_size=16)), max_size=4).map(b"".join)


@settings(max_examples=10, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(junk=_junk())
def test_no_input_wedges_the_crossbar_decoder(client, junk: bytes) -> None:
    """Any bytes (engine commands with garbage inputs included), then a delimiter
    and an IDENTIFY: the IDENTIFY is answered (after retries while a junk
    command still runs)."""
    link, fw = client
    link.transport.write(junk + b"\0")
    retries, link.retries = link.retries, 40
    try:
        info = link.request(Cmd.IDENTIFY)
    finally:
        link.retries = retries
    assert info[:2] == bytes([VERSION, 2])
