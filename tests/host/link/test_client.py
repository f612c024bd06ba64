"""The protocol client: retries through a lossy link, no request run twice, errors named."""

from __future__ import annotations

import numpy as np
import pytest

from memrl.host.link.client import ErrorReply, FaultyTransport, LinkClient, LinkTimeout
from memrl.host.link.frames import Frame, FrameReader, LinkError, encode_frame
from memrl.rtl.link.protocol import ERROR, REPLY, Cmd, Err


class CountingDevice:
    """An in-process stand-in for the firmware's link rules: each request runs
    once (a repeated sequence number gets the previous reply again); the reply
    carries how many requests have run; READ_DEVICE is refused as OUT_OF_RANGE."""

    def __init__(self) -> None:
        self.reader = FrameReader()
        self.out = bytearray()
        self.executed = 0
        self.last: tuple[int, bytes] | None = None

    def write(self, data: bytes) -> None:
        for f in self.reader.feed(data):
            if isinstance(f, LinkError):
                continue
            if self.last is not None and self.last[0] == f.seq:
                self.out += self.last[1]
                continue
            if f.type == Cmd.READ_DEVICE:
                reply = Frame(ERROR, f.seq, bytes([f.type, Err.OUT_OF_RANGE]))
            else:
                self.executed += 1
                count = self.executed.to_bytes(4, "little")
                reply = Frame(f.type | REPLY, f.seq, count + f.payload)
            wire = encode_frame(reply)
            self.last = (f.seq, wire)
            self.out += wire

    def read(self, timeout_s: float) -> bytes:
        data, self.out = bytes(self.out), bytearray()
        return data


class Silent:
    def write(self, data: bytes) -> None:
        pass

    def read(self, timeout_s: float) -> bytes:
        return b""


def test_clean_link_needs_no_retry():
    dev = CountingDevice()
    client = LinkClient(dev, timeout_s=0.02)
    for i in range(1, 40):
        assert client.request(Cmd.CONFIGURE, bytes([i])) == i.to_bytes(4, "little") + bytes([i])
    assert client.stats["retries"] == 0


@pytest.mark.parametrize("burst", [0.0, 2e-3])
def test_lossy_link_runs_every_request_exactly_once(burst):
    dev = CountingDevice()
    link = FaultyTransport(dev, np.random.default_rng(3), flip=1e-2, drop=1e-2, burst=burst)
    client = LinkClient(link, timeout_s=0.002, retries=60)
    for i in range(1, 201):
        payload = bytes([i % 256]) * 20
        assert client.request(Cmd.RUN_TRIAL, payload) == i.to_bytes(4, "little") + payload
    assert dev.executed == 200
    assert link.damaged > 100 and client.stats["retries"] > 10


def test_error_replies_are_named():
    client = LinkClient(CountingDevice(), timeout_s=0.02)
    with pytest.raises(ErrorReply, match="READ_DEVICE: the firmware answered OUT_OF_RANGE"):
        client.request(Cmd.READ_DEVICE, b"\x00\x00\x01")


def test_a_silent_link_times_out_after_every_retry():
    client = LinkClient(Silent(), timeout_s=0.001, retries=3)
    with pytest.raises(LinkTimeout, match="after 4 attempts"):
        client.request(Cmd.IDENTIFY)
    assert client.stats["retries"] == 3


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="timeout_s"):
        LinkClient(Silent(), timeout_s=0)
    with pytest.raises(ValueError, match="flip"):
        FaultyTransport(Silent(), np.random.default_rng(0), flip=1.0)
