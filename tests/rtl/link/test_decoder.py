"""The shared command-decoder machinery (memrl.rtl.link.decoder) in amaranth.sim, on
a small decoder of its own: IDENTIFY, a command's checks in order, its further
conditions, a reply source, the retry rule and the builder's refusals."""

from __future__ import annotations

import struct
from types import SimpleNamespace

import pytest
from amaranth import Cat, Const, Module, Signal
from amaranth.lib import wiring
from amaranth.sim import Simulator

from memrl.host.link.frames import Frame, FrameReader, LinkError, encode_frame
from memrl.rtl.link.decoder import CommandDecoder, link_members
from memrl.rtl.link.protocol import ERROR, REPLY, Cmd, Err
from memrl.sim.tools.amaranth_tb import uart_decode, uart_levels

DIV = 4
IDENT = bytes([1, 9, 0x34, 0x12])


class _Counter(wiring.Component):
    """IDENTIFY, and READ_DEVICE ``[count u16]`` (1-10; 7 is refused as BUSY)
    answering ``count`` bytes: the number of READ_DEVICEs run so far, then
    ``1, 2, ...``. A repeated READ_DEVICE is answered, not run again."""

    def __init__(self) -> None:
        super().__init__(link_members())

    def elaborate(self, platform: object) -> Module:
        m = Module()
        ident = Cat(Const(b, 8) for b in IDENT)
        dec = CommandDecoder(m, self, DIV, ident)
        runs = Signal(8)
        count = dec.a16[0]
        src = dec.byte_source(Cat(Const(0, 8), runs, *(Const(i, 8) for i in range(1, 15)))
                              .word_select(dec.idx[:4], 8))  # fmt: skip

        @dec.command(
            Cmd.READ_DEVICE,
            bad_len=dec.hdr.length != 2,
            bad_range=(count == 0) | (count > 10),
            refuse=((count == 7, Err.BUSY),),
        )
        def _() -> None:
            with m.If(~dec.replay):
                m.d.sync += runs.eq(runs + 1)
            m.next = "COUNTED"

        with dec.fsm():
            with m.State("COUNTED"):  # a state of the decoder's own
                dec.reply(count + 1, src)
        return m


def _exchange(requests: list[bytes]) -> list[Frame]:
    """Each request's wire bytes in turn, the next once the last is answered; the
    replies."""
    dut = _Counter()
    quiet = [1] * 40 * 10 * DIV  # 40 byte times: a reply is out
    line = [1] * 8 + [v for r in requests for v in uart_levels(r, DIV) + quiet]
    tx: list[int] = []

    async def bench(ctx):
        for v in line:
            ctx.set(dut.rx_pin, v)
            await ctx.tick()
            tx.append(ctx.get(dut.tx_pin))

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    return [f for f in FrameReader().feed(uart_decode(tx, DIV)) if not isinstance(f, LinkError)]


def _read(seq: int, count: int, extra: bytes = b"") -> bytes:
    return encode_frame(Frame(Cmd.READ_DEVICE, seq, struct.pack("<H", count) + extra))


def test_checks_replies_and_the_retry_rule() -> None:
    got = _exchange([
        encode_frame(Frame(Cmd.IDENTIFY, 1)),
        _read(2, 3),
        _read(2, 3),  # a retry: answered, not run again
        _read(3, 2),
        _read(4, 11),
        _read(5, 7),
        _read(6, 1, b"\0"),
        encode_frame(Frame(Cmd.RUN_TRIAL, 7)),
    ])  # fmt: skip
    assert [(f.type, f.seq, f.payload) for f in got] == [
        (Cmd.IDENTIFY | REPLY, 1, IDENT),
        (Cmd.READ_DEVICE | REPLY, 2, bytes([0, 1, 1, 2])),
        (Cmd.READ_DEVICE | REPLY, 2, bytes([0, 1, 1, 2])),
        (Cmd.READ_DEVICE | REPLY, 3, bytes([0, 2, 1])),
        (ERROR, 4, bytes([Cmd.READ_DEVICE, Err.OUT_OF_RANGE])),
        (ERROR, 5, bytes([Cmd.READ_DEVICE, Err.BUSY])),
        (ERROR, 6, bytes([Cmd.READ_DEVICE, Err.BAD_LENGTH])),
        (ERROR, 7, bytes([Cmd.RUN_TRIAL, Err.UNKNOWN_COMMAND])),
    ]


def test_the_builder_refuses_misuse() -> None:
    m = Module()
    top = SimpleNamespace(rx_pin=Signal(), tx_pin=Signal(), busy=Signal(), dropped=Signal(16))
    dec = CommandDecoder(m, top, DIV, Const(0, 8))
    m._MustUse__silence = dec.phy._MustUse__silence = True  # built, never simulated
    with pytest.raises(ValueError, match="added twice"):
        dec.command(Cmd.IDENTIFY)
    with pytest.raises(ValueError, match="once the state machine is built"):
        _ = dec.src
    with dec.fsm():
        pass
    with pytest.raises(ValueError, match="before the state machine is built"):
        dec.source(lambda: None)
