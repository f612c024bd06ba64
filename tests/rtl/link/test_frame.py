"""The link's physical layer in amaranth.sim: host frames in over the UART pin,
replies out, checked with the host's codec."""

from __future__ import annotations

from amaranth.sim import Simulator

from memrl.host.link.frames import Frame, FrameReader, LinkError, encode_frame
from memrl.rtl.link.frame import LinkPHY
from memrl.rtl.link.protocol import REPLY
from memrl.sim.tools.amaranth_tb import put, uart_decode, uart_levels

DIV = 4


def _uart_bits(wire: bytes) -> list[int]:
    return [1] * 3 * DIV + uart_levels(wire, DIV)


def _run(wire: bytes, replies_expected: int, max_cycles: int = 200_000, hold: bool = False):
    """Echo every good frame back as its reply; the host-side view of the tx pin.
    With ``hold`` a frame is taken only once its reply is sent, as the command
    decoders do."""
    phy = LinkPHY(DIV)
    tx_bits: list[int] = []
    state = {"done": False}

    async def drive(ctx):
        for v in _uart_bits(wire):
            ctx.set(phy.rx_pin, v)
            await ctx.tick()

    async def release(ctx):
        ctx.set(phy.frame.ready, 1)
        await ctx.tick()
        ctx.set(phy.frame.ready, 0)

    async def echo(ctx):
        for _ in range(replies_expected):
            (info,) = await ctx.tick().sample(phy.frame.payload).until(phy.frame.valid)
            payload = []
            for a in range(5, 5 + info.length):
                ctx.set(phy.rd_addr, a)
                await ctx.tick()
                payload.append(ctx.get(phy.rd_data))
            if not hold:
                await release(ctx)
            body = [info.version, info.type | REPLY, info.seq, info.length & 0xFF,
                    info.length >> 8, *payload]  # fmt: skip
            await put(ctx, phy.reply, [{"byte": b, "last": int(i == len(body) - 1)}
                                       for i, b in enumerate(body)])  # fmt: skip
            if hold:
                await release(ctx)
        state["done"] = True

    async def watch(ctx):
        for _ in range(max_cycles):
            await ctx.tick()
            tx_bits.append(ctx.get(phy.tx_pin))
            if state["done"] and len(tx_bits) > 60 * DIV and all(tx_bits[-12 * DIV :]):
                break

    sim = Simulator(phy)
    sim.add_clock(1e-6)
    sim.add_testbench(drive, background=True)
    sim.add_testbench(echo, background=True)
    sim.add_testbench(watch)
    counters: dict[str, int] = {}

    async def watch_counters(ctx):
        while True:
            await ctx.tick()
            counters["dropped"] = ctx.get(phy.dropped)

    sim.add_testbench(watch_counters, background=True)
    sim.run()
    return list(FrameReader().feed(uart_decode(tx_bits, DIV))), counters


def test_frames_are_echoed_with_crc_and_cobs():
    frames = [Frame(0x01, 5, b""), Frame(0x03, 6, bytes([0, 1, 2, 0, 255, 0]))]
    got, counters = _run(b"".join(encode_frame(f) for f in frames), 2)
    assert got == [Frame(f.type | REPLY, f.seq, f.payload) for f in frames]
    assert counters["dropped"] == 0


def test_a_damaged_frame_gets_no_reply_and_the_next_one_does():
    bad = bytearray(encode_frame(Frame(0x07, 1, b"abc")))
    bad[3] ^= 0x10
    good = Frame(0x07, 2, b"abc")
    got, counters = _run(bytes(bad) + encode_frame(good), 1)
    assert got == [Frame(0x87, 2, b"abc")] and counters["dropped"] == 1
    assert not any(isinstance(x, LinkError) for x in got)


def test_back_to_back_frames_are_kept_while_a_frame_waits_for_its_reply():
    """Frames sent without a gap, each held until its reply is out: the bytes that
    arrive meanwhile wait in the receive FIFO, and every frame gets its reply."""
    frames = [Frame(0x01, 5, b""), Frame(0x07, 6, b"\x00\x01"), Frame(0x02, 7, b""),
              Frame(0x03, 8, bytes([9, 0, 0, 4]))]  # fmt: skip
    got, counters = _run(b"".join(encode_frame(f) for f in frames), len(frames), hold=True)
    assert got == [Frame(f.type | REPLY, f.seq, f.payload) for f in frames]
    assert counters["dropped"] == 0


def _frame_rx(raws: list[bytes], buffer_bytes: int):
    """Feed frames (before COBS) into a FrameRx; the header of each frame it offers."""
    from memrl.rtl.link.frame import FrameRx

    frx = FrameRx(buffer_bytes)
    offered, dropped = [], []

    async def feed(ctx):
        ctx.set(frx.frame.ready, 1)
        end = {"byte": 0, "end": 1, "error": 0}
        byte = [{"byte": b, "end": 0, "error": 0} for b in range(256)]
        await put(ctx, frx.i, [item for raw in raws for item in (*(byte[b] for b in raw), end)])
        for _ in range(4):
            await ctx.tick()
        dropped.append(ctx.get(frx.dropped))

    async def watch(ctx):
        while True:
            _, _, valid, info = await ctx.tick().sample(frx.frame.valid, frx.frame.payload)
            if valid:
                offered.append((info.type, info.seq, info.length, info.size, info.too_long))

    sim = Simulator(frx)
    sim.add_clock(1e-6)
    sim.add_testbench(watch, background=True)
    sim.add_testbench(feed)
    sim.run()
    return offered, dropped[0]


def test_a_frame_longer_than_the_buffer_is_offered_as_too_long_if_its_crc_holds():
    long = Frame(0x03, 9, bytes(range(1, 41)))  # 47 bytes into a 32-byte buffer
    bad = bytearray(Frame(0x03, 10, bytes(range(1, 41))).raw())
    bad[20] ^= 0xFF
    offered, dropped = _frame_rx([long.raw(), bytes(bad), Frame(0x01, 11).raw()], 32)
    assert offered == [(0x03, 9, 40, 47, 1), (0x01, 11, 0, 7, 0)]
    assert dropped == 1
