"""The host's framing: COBS, CRC and frames round-trip, and damage is caught."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memrl.host.link.frames import (
    Frame,
    FrameReader,
    LinkError,
    cobs_decode,
    cobs_encode,
    crc16,
    decode_frame,
    encode_frame,
)
from memrl.rtl.link.protocol import MAX_PAYLOAD


def test_crc_is_the_catalogue_check_value():
    assert crc16(b"123456789") == 0x29B1  # CRC-16/IBM-3740 (CCITT-FALSE)


def test_known_frame_bytes():
    wire = encode_frame(Frame(0x01, 7, b"\x00\x01hello\x00"))
    assert wire.hex(" ") == "05 01 01 07 08 01 07 01 68 65 6c 6c 6f 03 3e a2 00"


@pytest.mark.parametrize(
    ("data", "coded"),
    [(b"", b"\x01"), (b"\x00", b"\x01\x01"), (b"\x11\x00\x22", b"\x02\x11\x02\x22"),
     (bytes(range(1, 255)), b"\xff" + bytes(range(1, 255)) + b"\x01")],
)  # fmt: skip
def test_cobs_reference_vectors(data, coded):
    assert cobs_encode(data) == coded
    assert cobs_decode(coded) == data


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.binary(max_size=1200))
def test_cobs_round_trip_has_no_zero(data):
    coded = cobs_encode(data)
    assert 0 not in coded and cobs_decode(coded) == data
    assert len(coded) <= len(data) + 1 + len(data) // 254


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.integers(0, 255), st.integers(0, 255), st.binary(max_size=MAX_PAYLOAD),
       st.lists(st.integers(1, 40), max_size=6))  # fmt: skip
def test_frames_survive_any_chunking(kind, seq, payload, cuts):
    frames = [Frame(kind, seq, payload), Frame(3, (seq + 1) % 256, payload[::-1])]
    wire = b"".join(encode_frame(f) for f in frames)
    reader, got, pos = FrameReader(), [], 0
    for c in [*cuts, len(wire)]:
        got += list(reader.feed(wire[pos : pos + c]))
        pos += c
    got += list(reader.feed(wire[pos:]))
    assert got == frames


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.binary(min_size=1, max_size=64), st.data())
def test_any_single_byte_damage_is_dropped_and_the_next_frame_read(payload, data):
    wire = bytearray(encode_frame(Frame(0x06, 9, payload)))
    i = data.draw(st.integers(0, len(wire) - 2))  # not the delimiter
    wire[i] ^= data.draw(st.integers(1, 255))
    good = Frame(0x07, 10, b"ok")
    out = list(FrameReader().feed(bytes(wire) + encode_frame(good)))
    assert out[-1] == good
    assert all(isinstance(x, LinkError) for x in out[:-1])


def test_bad_frames_are_named():
    with pytest.raises(LinkError, match="shorter"):
        decode_frame(b"\x01\x02")
    raw = bytearray(Frame(1, 2, b"abc").raw())
    raw[5] ^= 1
    with pytest.raises(LinkError, match="CRC"):
        decode_frame(bytes(raw))
    with pytest.raises(LinkError, match="past the end"):
        cobs_decode(b"\x05\x01")
    with pytest.raises(ValueError, match="seq"):
        Frame(1, 256)
    with pytest.raises(ValueError, match="exceeds"):
        Frame(1, 0, bytes(MAX_PAYLOAD + 1))


def test_an_overlong_frame_is_dropped():
    reader = FrameReader(max_bytes=16)
    out = list(reader.feed(b"\x11" * 40 + b"\x00" + encode_frame(Frame(1, 1))))
    assert isinstance(out[0], LinkError) and out[1] == Frame(1, 1)
