"""The COBS encoder and decoder in amaranth.sim against the host's codec."""

from __future__ import annotations

from amaranth.sim import Simulator
from hypothesis import given, settings
from hypothesis import strategies as st

from memrl.host.link.frames import cobs_encode
from memrl.rtl.link.cobs import COBSDecoder, COBSEncoder
from memrl.sim.tools.amaranth_tb import put

FRAMES = st.lists(
    st.one_of(
        st.binary(min_size=1, max_size=40),
        st.binary(min_size=250, max_size=520),
        st.just(bytes(range(1, 255))),  # exactly one full block
        st.just(b"\x00"),
        st.just(b"\x05\x00"),
    ),
    min_size=1,
    max_size=3,
)


def _pump(dut, inputs: list, done, stall_every: int) -> list:
    """Stream ``inputs`` into ``dut.i`` and collect ``dut.o`` payloads until
    ``done(outputs)``, refusing every ``stall_every``-th output cycle (0: never)."""
    out: list = []

    async def feed(ctx):
        await put(ctx, dut.i, inputs)

    async def take(ctx):
        n = 0
        while not done(out):
            ready = int(stall_every == 0 or n % stall_every != 0)
            n += 1
            ctx.set(dut.o.ready, ready)
            *_, valid, payload = await ctx.tick().sample(dut.o.valid, dut.o.payload)
            if valid and ready:
                out.append(payload)

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(feed, background=True)
    sim.add_testbench(take)
    sim.run()
    return out


def _encode(frames: list[bytes], stall_every: int) -> bytes:
    total = sum(len(cobs_encode(f)) + 1 for f in frames)
    items = [{"byte": b, "last": int(i == len(f) - 1)} for f in frames for i, b in enumerate(f)]
    return bytes(_pump(COBSEncoder(), items, lambda out: len(out) >= total, stall_every))


def _decode(wire: bytes, stall_every: int) -> list[tuple[bytes, bool]]:
    ends, seen = wire.count(0), [0, 0]  # frame ends wanted; [ends seen, words looked at]

    def done(o: list) -> bool:
        seen[0] += sum(bool(p.end) for p in o[seen[1] :])
        seen[1] = len(o)
        return seen[0] >= ends

    out = _pump(COBSDecoder(), list(wire), done, stall_every)
    frames, cur = [], bytearray()
    for p in out:
        if p.end:
            frames.append((bytes(cur), bool(p.error)))
            cur.clear()
        else:
            cur.append(p.byte)
    return frames


@settings(max_examples=25, deadline=None, derandomize=True)
@given(FRAMES, st.sampled_from([0, 3]))
def test_encoder_writes_the_hosts_bytes(frames, stall):
    assert _encode(frames, stall) == b"".join(cobs_encode(f) + b"\x00" for f in frames)


@settings(max_examples=25, deadline=None, derandomize=True)
@given(FRAMES, st.sampled_from([0, 2]))
def test_decoder_reads_the_hosts_frames(frames, stall):
    wire = b"".join(cobs_encode(f) + b"\x00" for f in frames)
    assert _decode(wire, stall) == [(f, False) for f in frames]


def test_a_block_cut_short_is_an_error_and_the_next_frame_is_clean():
    wire = b"\x05\x11\x22\x00" + cobs_encode(b"\x33\x00\x44") + b"\x00"
    assert _decode(wire, 0) == [(b"\x11\x22", True), (b"\x33\x00\x44", False)]
