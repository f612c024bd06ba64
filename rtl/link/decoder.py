"""The frame side of a command decoder: what every firmware decoder shares.

A command decoder takes one frame at a time from
:class:`~memrl.rtl.link.frame.LinkPHY` and answers every frame it takes.
:class:`CommandDecoder` builds the frame-level state machine into a decoder's
module; the decoder adds its commands (their checks and what they do), its
reply sources and its own states
(:class:`~memrl.rtl.navigator.commands.NavigatorCommands`,
:class:`~memrl.rtl.crossbar.commands.CrossbarCommands`)::

    IDLE -> ARGS -> CHECK -> RUN -> (its states) -> HEADER -> FETCH <-> SEND -> DONE -> IDLE
                      |                                  ^  |                      ^
                      +----------- error reply ----------+  +---- empty reply -----+

* ARGS reads the first :data:`ARG_BYTES` payload bytes into ``args`` (byte 0 in
  bits 0-7), whatever the payload's length;
* CHECK checks the frame in this order: version, size, command, the command's
  payload length, its ranges, then its further conditions; the first failure is
  answered with an error reply ``[type, code]``. It also keeps the retry rule's
  memory (:func:`note_frame`): ``replay`` is set, from RUN on, for a request that
  repeats the previous one's sequence number and type;
* RUN runs the command: IDENTIFY is answered here, the others run their body,
  which either replies (:meth:`CommandDecoder.reply`) or goes to the decoder's
  own states, which reply when done;
* HEADER sends the reply's header; FETCH puts payload byte ``idx`` into ``byte``
  from the reply's source; SEND sends it; DONE releases the frame.

The wire format and the codes are :mod:`memrl.rtl.link.protocol`;
docs/link/protocol.md is the reference.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from amaranth import Cat, Const, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from memrl.rtl.link.frame import FRAME_BUFFER_BYTES, LinkPHY
from memrl.rtl.link.protocol import ERROR, HEADER_BYTES, MAX_PAYLOAD, REPLY, VERSION, Cmd, Err

__all__ = ["ARG_BYTES", "SRC_ARGS", "SRC_IDENT", "CommandDecoder", "link_members", "le_bytes",
           "read_args", "check_frame", "note_frame", "send_header", "send_byte"]  # fmt: skip

ARG_BYTES = 6  # payload bytes read into registers before a command runs
#: Reply sources every decoder has: the first two bytes of ``args`` (an error
#: reply's ``[type, code]``; also named by empty replies, which fetch nothing),
#: and the IDENTIFY reply.
SRC_ARGS, SRC_IDENT = 0, 1


def le_bytes(value, nbytes: int):  # noqa: ANN001, ANN201 - Amaranth values
    """``value`` zero-extended to ``nbytes`` little-endian bytes."""
    return Cat(value, Const(0, 8 * nbytes))[: 8 * nbytes]


def link_members() -> dict[str, wiring.Member]:
    """The members of a firmware top behind the host link: its UART pins, ``busy``
    (a command is being served, for a LED) and ``dropped`` (frames dropped)."""
    return {
        "rx_pin": In(1, init=1),
        "tx_pin": Out(1, init=1),
        "busy": Out(1),
        "dropped": Out(16),
    }


def read_args(m: Module, phy: LinkPHY, args, idx) -> None:  # noqa: ANN001
    """The body of the ARGS state: payload bytes 0 .. ``len(args) / 8 - 1`` into
    ``args`` (byte 0 in bits 0-7; reads arrive a cycle late), then CHECK."""
    m.d.comb += phy.rd_addr.eq(HEADER_BYTES + idx)
    m.d.sync += idx.eq(idx + 1)
    with m.If(idx != 0):
        m.d.sync += args.eq(Cat(args[8:], phy.rd_data))
    with m.If(idx == len(args) // 8):
        m.next = "CHECK"


def check_frame(m: Module, hdr, err, known, bad_len, bad_range, *more) -> None:  # noqa: ANN001
    """Set ``err`` to the first failed check of a frame: version, size, command,
    payload length, range, then each ``(condition, code)`` of ``more``."""
    with m.If(hdr.version != VERSION):
        m.d.comb += err.eq(Err.BAD_VERSION)
    with m.Elif(hdr.too_long):
        m.d.comb += err.eq(Err.TOO_LONG)
    with m.Elif(hdr.size != hdr.length + HEADER_BYTES + 2):
        m.d.comb += err.eq(Err.BAD_LENGTH)
    with m.Elif(~known):
        m.d.comb += err.eq(Err.UNKNOWN_COMMAND)
    with m.Elif(bad_len):
        m.d.comb += err.eq(Err.BAD_LENGTH)
    with m.Elif(bad_range):
        m.d.comb += err.eq(Err.OUT_OF_RANGE)
    for cond, code in more:
        with m.Elif(cond):
            m.d.comb += err.eq(code)


def note_frame(m: Module, hdr) -> Signal:  # noqa: ANN001
    """In the CHECK state, the retry rule's memory of the last frame: the returned
    ``replay`` (valid from the next state on) is set when this frame repeats the
    last one's sequence number and type. IDENTIFY is never a repeat, and the
    frame after it is never one either."""
    last_seq, last_type, have_last, replay = Signal(8), Signal(8), Signal(), Signal()
    t = hdr.type
    is_ident = t == Cmd.IDENTIFY
    m.d.sync += [
        replay.eq(have_last & (hdr.seq == last_seq) & (t == last_type) & ~is_ident),
        last_seq.eq(hdr.seq),
        last_type.eq(t),
        have_last.eq(~is_ident),
    ]
    return replay


def send_header(m: Module, phy: LinkPHY, header, idx, rlen) -> None:  # noqa: ANN001
    """The body of the HEADER state: the reply's header bytes, then FETCH (or DONE
    for an empty reply) with ``idx`` at 0."""
    m.d.comb += [
        phy.reply.valid.eq(1),
        phy.reply.payload.byte.eq(header.word_select(idx[:3], 8)),
        phy.reply.payload.last.eq((idx == HEADER_BYTES - 1) & (rlen == 0)),
    ]
    with m.If(phy.reply.ready):
        m.d.sync += idx.eq(idx + 1)
        with m.If(idx == HEADER_BYTES - 1):
            m.d.sync += idx.eq(0)
            m.next = "FETCH"
            with m.If(rlen == 0):
                m.next = "DONE"


def send_byte(m: Module, phy: LinkPHY, byte, idx, rlen):  # noqa: ANN001, ANN201
    """The body of the SEND state: payload byte ``idx`` of ``rlen``, then FETCH
    (DONE after the last). Returns the condition that the byte is taken."""
    m.d.comb += [
        phy.reply.valid.eq(1),
        phy.reply.payload.byte.eq(byte),
        phy.reply.payload.last.eq(idx == rlen - 1),
    ]
    with m.If(phy.reply.ready):
        m.d.sync += idx.eq(idx + 1)
        m.next = "FETCH"
        with m.If(idx == rlen - 1):
            m.next = "DONE"
    return phy.reply.ready


@dataclass
class _Command:
    bad_len: object
    bad_range: object
    refuse: tuple[tuple[object, int], ...]
    run: Callable[[], None]


class CommandDecoder:
    """The frame-level state machine of a command decoder, built into ``m``.

    ``top``: the decoder's component, with the :func:`link_members`; its pins,
    ``busy`` and ``dropped`` are wired to a :class:`LinkPHY` (``phy``) at
    ``divisor`` clock cycles per UART bit. ``ident``: the IDENTIFY reply's bytes
    (byte 0 lowest). ``idx_shape``: the shape of ``idx``, which counts payload
    bytes in the frame states and is the decoder's to use in its own states.

    Use: add the commands (:meth:`command`) and reply sources (:meth:`source`,
    :meth:`byte_source`), then describe the decoder's own states inside
    ``with decoder.fsm():``. The registers a decoder uses: ``args`` (the first
    payload bytes, ``a16`` their 16-bit fields), ``idx``, ``byte`` (the payload
    byte a source fetches), ``replay`` (the retry rule, from RUN on), ``src``
    (the reply's source, from :meth:`fsm` on); ``sent`` is high when SEND's byte
    is taken.
    """

    def __init__(
        self, m: Module, top: wiring.Component, divisor: int, ident,  # noqa: ANN001
        idx_shape: object = range(MAX_PAYLOAD + 2),
    ) -> None:  # fmt: skip
        self.m = m
        m.submodules.phy = self.phy = phy = LinkPHY(divisor, FRAME_BUFFER_BYTES)
        m.d.comb += [
            phy.rx_pin.eq(top.rx_pin),
            top.tx_pin.eq(phy.tx_pin),
            top.dropped.eq(phy.dropped),
            top.busy.eq(phy.frame.valid),
        ]
        self.hdr = hdr = phy.frame.payload
        self.args = Signal(8 * ARG_BYTES)
        self.a16 = [self.args[16 * i : 16 * (i + 1)] for i in range(ARG_BYTES // 2)]
        self.idx = Signal(idx_shape)
        self.rtype = Signal(8)
        self.rlen = Signal(range(MAX_PAYLOAD + 1))
        self.err = Signal(8)
        self.byte = Signal(8)
        self.sent = Signal()
        self.replay: Signal | None = None  # made in CHECK, before RUN's bodies run
        self._src: Signal | None = None  # made with the state machine, sized by the sources
        self.header = Cat(Const(VERSION, 8), self.rtype, hdr.seq, le_bytes(self.rlen, 2))
        self._commands: dict[int, _Command] = {}
        self._sources: list[Callable[[], None]] = []
        self.byte_source(self.byte_at(self.args[:16]))  # SRC_ARGS
        self.byte_source(self.byte_at(ident))  # SRC_IDENT
        self.command(Cmd.IDENTIFY)(lambda: self.reply(len(ident) // 8, SRC_IDENT))

    # -- what a decoder adds --

    def command(
        self, cmd: Cmd, *, bad_len: object = None, bad_range: object = 0,
        refuse: tuple[tuple[object, int], ...] = (),
    ) -> Callable[[Callable[[], None]], Callable[[], None]]:  # fmt: skip
        """Add command ``cmd``, whose RUN body is the decorated function. CHECK
        answers BAD_LENGTH when ``bad_len`` holds (default: a payload at all),
        then OUT_OF_RANGE when ``bad_range`` holds, then the code of each
        ``(condition, code)`` of ``refuse`` whose condition holds."""
        if cmd in self._commands:
            raise ValueError(f"command {cmd!r} is added twice")
        if bad_len is None:
            bad_len = self.hdr.length != 0

        def add(run: Callable[[], None]) -> Callable[[], None]:
            self._commands[cmd] = _Command(bad_len, bad_range, tuple(refuse), run)
            return run

        return add

    def source(self, fetch: Callable[[], None]) -> int:
        """Add a reply source; its number. ``fetch`` is its FETCH body: it puts
        payload byte ``idx`` into ``byte`` and goes to SEND (through states of
        the decoder's own, if it must)."""
        if self._src is not None:
            raise ValueError("sources are added before the state machine is built")
        self._sources.append(fetch)
        return len(self._sources) - 1

    def byte_source(self, value) -> int:  # noqa: ANN001 - an Amaranth value
        """Add a reply source whose payload byte ``idx`` is ``value`` (8 bits, a
        function of ``idx``), fetched in one cycle; its number."""

        def fetch() -> None:
            self.m.d.sync += self.byte.eq(value)
            self.m.next = "SEND"

        return self.source(fetch)

    def byte_at(self, value):  # noqa: ANN001, ANN201 - Amaranth values
        """Byte ``idx`` of ``value`` (byte 0 lowest)."""
        nbytes = len(value) // 8
        return value.word_select(self.idx[: max(1, (nbytes - 1).bit_length())], 8)

    # -- what a decoder calls --

    @property
    def src(self) -> Signal:
        """The reply's source (made with the state machine, sized by the sources)."""
        if self._src is None:
            raise ValueError("the reply's source exists once the state machine is built")
        return self._src

    def reply(self, nbytes, source: int = SRC_ARGS, rtype=None) -> None:  # noqa: ANN001
        """Answer the frame: a reply of type ``rtype`` (the request's type |
        REPLY by default) with ``nbytes`` payload bytes from ``source``."""
        if rtype is None:
            rtype = self.hdr.type | REPLY
        self.m.d.sync += [
            self.rtype.eq(rtype), self.rlen.eq(nbytes), self.src.eq(source), self.idx.eq(0),
        ]  # fmt: skip
        self.m.next = "HEADER"

    @contextmanager
    def fsm(self) -> Iterator[None]:
        """The decoder's state machine: the frame states, and the decoder's own
        states described in the ``with`` body."""
        m = self.m
        self._src = Signal(range(len(self._sources)), name="src")
        with m.FSM(init="IDLE"):
            self._frame_states()
            yield

    def _frame_states(self) -> None:  # noqa: C901 - one state machine
        m, phy, hdr = self.m, self.phy, self.hdr
        args, idx = self.args, self.idx
        with m.State("IDLE"):
            with m.If(phy.frame.valid):
                m.d.sync += idx.eq(0)
                m.next = "ARGS"

        with m.State("ARGS"):
            read_args(m, phy, args, idx)

        with m.State("CHECK"):
            t = hdr.type
            known, bad_len, bad_range = Signal(), Signal(), Signal()
            with m.Switch(t):
                for cmd, c in self._commands.items():
                    with m.Case(cmd):
                        m.d.comb += [known.eq(1), bad_len.eq(c.bad_len), bad_range.eq(c.bad_range)]
            more = [((t == cmd) & cond, code)
                    for cmd, c in self._commands.items() for cond, code in c.refuse]  # fmt: skip
            check_frame(m, hdr, self.err, known, bad_len, bad_range, *more)
            self.replay = note_frame(m, hdr)
            m.d.sync += idx.eq(0)
            with m.If(self.err != 0):
                m.d.sync += args[:16].eq(Cat(t, self.err))
                self.reply(2, SRC_ARGS, rtype=ERROR)
            with m.Else():
                m.next = "RUN"

        with m.State("RUN"):  # ``replay`` is valid from here
            with m.Switch(hdr.type):
                for cmd, c in self._commands.items():
                    with m.Case(cmd):
                        c.run()

        with m.State("HEADER"):
            send_header(m, phy, self.header, idx, self.rlen)

        with m.State("FETCH"):  # payload byte ``idx`` into ``byte``
            with m.Switch(self.src):
                for n, fetch in enumerate(self._sources):
                    with m.Case(n):
                        fetch()

        with m.State("SEND"):
            with m.If(send_byte(m, phy, self.byte, idx, self.rlen)):
                m.d.comb += self.sent.eq(1)

        with m.State("DONE"):
            m.d.comb += phy.frame.ready.eq(1)
            m.next = "IDLE"
