"""The serial transport on pyserial URLs: loop:// and socket:// carry the link's
frames; a simulated board's transport times out on the board's clock."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest

from memrl.host.link.client import LinkClient, LinkTimeout
from memrl.host.link.frames import Frame, FrameReader, LinkError, encode_frame
from memrl.host.link.transports import SerialTransport, SimBoardTransport
from memrl.rtl.link.protocol import REPLY, Cmd


def _frames(transport: SerialTransport, n: int, timeout_s: float = 2.0) -> list[Frame]:
    """Read until ``n`` frames have arrived (or a read times out)."""
    reader, got = FrameReader(), []
    while len(got) < n:
        data = transport.read(timeout_s)
        if not data:
            break
        got += [f for f in reader.feed(data) if isinstance(f, Frame)]
    return got


def test_loop_url_returns_what_was_written() -> None:
    transport = SerialTransport("loop://")
    try:
        frames = [Frame(int(Cmd.CONFIGURE), seq, bytes(range(seq))) for seq in (1, 2, 200)]
        for f in frames:
            transport.write(encode_frame(f))
        assert _frames(transport, len(frames)) == frames
        assert transport.read(0.01) == b""  # nothing left: the read times out empty
    finally:
        transport.close()


def test_link_client_over_loop_url_receives_its_own_request() -> None:
    """A loop-back returns the request itself: a frame with the request's
    sequence number but not a reply's type, which the client names."""
    transport = SerialTransport("loop://")
    try:
        client = LinkClient(transport, timeout_s=0.5, retries=0)
        with pytest.raises(LinkError, match=f"reply type 0x{int(Cmd.CONFIGURE):02x}"):
            client.request(Cmd.CONFIGURE, b"\x01\x02")
    finally:
        transport.close()


class EchoDevice:
    """A TCP server answering each request frame with a reply carrying its payload
    (``delay_s`` wall seconds after the request)."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.delay_s = delay_s
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.server.accept()
        reader = FrameReader()
        with conn:
            try:
                while data := conn.recv(4096):
                    for f in reader.feed(data):
                        if isinstance(f, Frame):
                            time.sleep(self.delay_s)
                            conn.sendall(encode_frame(Frame(f.type | REPLY, f.seq, f.payload)))
            except (BrokenPipeError, ConnectionResetError):  # the client has gone
                pass

    def close(self) -> None:
        self.server.close()
        self.thread.join(timeout=5)


def test_link_client_over_socket_url() -> None:
    device = EchoDevice()
    transport = SerialTransport(f"socket://127.0.0.1:{device.port}")
    try:
        client = LinkClient(transport, timeout_s=2.0, retries=0)
        for i in range(1, 20):
            assert client.request(Cmd.CONFIGURE, bytes([i]) * i) == bytes([i]) * i
        assert client.stats["retries"] == 0
    finally:
        transport.close()
        device.close()


@pytest.mark.parametrize("url", ["nope://somewhere", "NO_SUCH_PORT"])
def test_a_port_that_cannot_be_opened_is_named(tmp_path: Path, url: str) -> None:
    url = url.replace("NO_SUCH_PORT", str(tmp_path / "no-such-port"))
    with pytest.raises(RuntimeError, match="cannot open serial port"):
        SerialTransport(url)


class SlowBoard:
    """A simulated board as :class:`SimBoardTransport` sees it: a port, a clock
    running at ``rate`` simulated seconds per wall second, and ``check()``."""

    def __init__(self, delay_s: float, rate: float) -> None:
        self.device = EchoDevice(delay_s)
        self.port = f"socket://127.0.0.1:{self.device.port}"
        self.t0, self.rate, self.stopped = time.monotonic(), rate, False

    def now(self) -> float:
        return (time.monotonic() - self.t0) * self.rate

    def check(self) -> None:
        if self.stopped:
            raise RuntimeError("the board stopped")


def test_a_simulated_boards_timeouts_run_on_its_clock() -> None:
    """A board that answers after 0.6 wall seconds, while its clock advances 0.12
    simulated seconds, is not timed out by a 0.5 s timeout; one whose clock runs
    faster than the wall is timed out sooner; a board that has stopped raises at
    once."""
    slow = SlowBoard(delay_s=0.6, rate=0.2)
    transport = SimBoardTransport(slow)
    try:
        client = LinkClient(transport, timeout_s=0.5, retries=0)
        assert client.request(Cmd.CONFIGURE, b"\x07") == b"\x07"
    finally:
        transport.close()
        slow.device.close()
    fast = SlowBoard(delay_s=0.6, rate=10.0)
    transport = SimBoardTransport(fast)
    try:
        client = LinkClient(transport, timeout_s=0.5, retries=0)
        t0 = time.monotonic()
        with pytest.raises(LinkTimeout):
            client.request(Cmd.CONFIGURE, b"\x07")
        assert time.monotonic() - t0 < 0.4  # 0.5 simulated seconds are 0.05 wall seconds
        fast.stopped = True
        t0 = time.monotonic()
        with pytest.raises(RuntimeError, match="the board stopped"):
            LinkClient(transport, timeout_s=1e6, retries=0).request(Cmd.CONFIGURE)
        assert time.monotonic() - t0 < 1.0
    finally:
        transport.close()
        fast.device.close()
