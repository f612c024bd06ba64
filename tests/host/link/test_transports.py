"""The serial transport on pyserial URLs: loop:// and socket:// carry the link's frames."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest

from memrl.host.link.client import LinkClient
from memrl.host.link.frames import Frame, FrameReader, LinkError, encode_frame
from memrl.host.link.transports import SerialTransport
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
    """A TCP server answering each request frame with a reply carrying its payload."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.server.accept()
        reader = FrameReader()
        with conn:
            while data := conn.recv(4096):
                for f in reader.feed(data):
                    if isinstance(f, Frame):
                        conn.sendall(encode_frame(Frame(f.type | REPLY, f.seq, f.payload)))

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
