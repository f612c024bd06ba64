"""The navigator firmware's command decoder (memrl.rtl.navigator.commands) in amaranth.sim,
spoken to over its UART pins: every command, every error code, the replay rule,
the device commands, and a fuzz test that no input wedges it."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memrl.host.link import frames as link
from memrl.host.link.client import ErrorReply, FaultyTransport, LinkClient
from memrl.host.link.frames import Frame, FrameReader, LinkError, encode_frame
from memrl.host.link.transports import AmaranthTransport
from memrl.host.navigator.commands import FirmwareAgent, NavigatorClient, run_schedule
from memrl.rtl.link.protocol import ERROR, MAX_PAYLOAD, REPLY, VERSION, Cmd, Err
from memrl.rtl.navigator.commands import RESULT_BYTES, config_id
from memrl.rtl.navigator.core import NavigatorConfig
from memrl.rtl.navigator.port import RRAMOp
from memrl.sim.navigator.golden import PRESETS
from memrl.sim.navigator.maze import random_maze, shipped, terrain_transfer
from memrl.sim.navigator.session import golden_run, rtl_config

TIMEOUT = 0.003  # simulated seconds (36,000 cycles)
SMALL = NavigatorConfig(height=5, width=6)


def wire(version: int, typ: int, seq: int, payload: bytes, length: int | None = None) -> bytes:
    """A frame's wire bytes, any field allowed (the host's Frame refuses bad ones)."""
    n = len(payload) if length is None else length
    body = bytes([version, typ, seq, n & 0xFF, n >> 8]) + payload
    return link.cobs_encode(body + link.crc16(body).to_bytes(2, "big")) + b"\0"


QUIET = 0.0004  # simulated seconds without a byte after the expected replies


def exchange(t: AmaranthTransport, data: bytes, expect: int = 1) -> list[Frame]:
    """Send ``data``; the good frames received: until ``expect`` have come (or
    nothing for ``TIMEOUT``), then until the line is quiet for ``QUIET``."""
    t.write(data)
    reader = FrameReader()
    out: list[Frame] = []
    while chunk := t.read(TIMEOUT if len(out) < expect else QUIET):
        out += [f for f in reader.feed(chunk) if not isinstance(f, LinkError)]
    return out


@pytest.fixture(scope="module")
def fw() -> AmaranthTransport:
    return AmaranthTransport(SMALL, seed=3)


def test_identify_reports_the_build(fw: AmaranthTransport) -> None:
    c = NavigatorClient(LinkClient(fw, timeout_s=TIMEOUT), config_id(SMALL))
    i = c.info
    assert (i.version, i.rows, i.cols, i.max_payload) == (VERSION, 5, 6, MAX_PAYLOAD)
    assert (i.devices, i.traj_depth, i.clk_hz) == (9 * 30, 1024, fw.clk_hz)
    assert i.config_id == config_id(SMALL) != config_id(NavigatorConfig(height=5, width=7))


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (wire(2, Cmd.IDENTIFY, 7, b""), Err.BAD_VERSION),
        (wire(VERSION, 0x33, 7, b""), Err.UNKNOWN_COMMAND),
        # a maze build holds no entry costs
        (
            wire(VERSION, Cmd.WRITE_COSTS, 7, struct.pack("<HH", 0, 1) + b"\x14"),
            Err.UNKNOWN_COMMAND,
        ),
        (wire(VERSION, Cmd.IDENTIFY, 7, b"\1"), Err.BAD_LENGTH),
        (wire(VERSION, Cmd.CONFIGURE, 7, bytes(6), length=5), Err.BAD_LENGTH),  # header vs frame
        (wire(VERSION, Cmd.CONFIGURE, 7, bytes(5)), Err.BAD_LENGTH),
        (wire(VERSION, Cmd.WRITE_LAYOUT, 7, struct.pack("<HH", 0, 5) + bytes(1)), Err.BAD_LENGTH),
        (wire(VERSION, Cmd.CONFIGURE, 7, struct.pack("<HHH", 5, 0, 10)), Err.OUT_OF_RANGE),
        (wire(VERSION, Cmd.CONFIGURE, 7, struct.pack("<HHH", 0, 6, 10)), Err.OUT_OF_RANGE),
        (wire(VERSION, Cmd.CONFIGURE, 7, struct.pack("<HHH", 0, 0, 0)), Err.OUT_OF_RANGE),
        (wire(VERSION, Cmd.WRITE_LAYOUT, 7, struct.pack("<HH", 28, 3) + b"\0"), Err.OUT_OF_RANGE),
        (wire(VERSION, Cmd.READ_DEVICE, 7, struct.pack("<IB", 269, 2)), Err.OUT_OF_RANGE),
        (wire(VERSION, Cmd.READ_TRAJECTORY, 7, struct.pack("<HH", 0, 257)), Err.OUT_OF_RANGE),
        (wire(VERSION, Cmd.WRITE_DEVICE, 7, struct.pack("<IBB", 270, 1, 0)), Err.OUT_OF_RANGE),
        (wire(VERSION, Cmd.WRITE_DEVICE, 7, struct.pack("<IBB", 0, 0, 0)), Err.OUT_OF_RANGE),
        (wire(VERSION, Cmd.WRITE_DEVICE, 7, struct.pack("<IBB", 0, 2, 16)), Err.OUT_OF_RANGE),
        (wire(VERSION, Cmd.IDENTIFY, 7, bytes(520)), Err.TOO_LONG),
        (wire(VERSION, Cmd.RUN_TRIAL, 7, b""), Err.NOT_CONFIGURED),
    ],
    ids=lambda v: v.name if isinstance(v, Err) else "",
)
def test_bad_requests_get_their_error_code(fw: AmaranthTransport, frame: bytes, code: Err) -> None:
    replies = exchange(fw, frame)
    typ = link.cobs_decode(frame[:-1])[1]
    assert [(r.type, r.seq, r.payload) for r in replies] == [(ERROR, 7, bytes([typ, code]))]


def test_a_terrain_build_takes_entry_costs() -> None:
    """WRITE_COSTS on a terrain build: a byte per place, checked like WRITE_LAYOUT."""
    t = AmaranthTransport(rtl_config(PRESETS["default"], (5, 6), terrain=True), seed=3)
    cases = [
        (struct.pack("<HH", 0, 3) + bytes(2), (ERROR, bytes([Cmd.WRITE_COSTS, Err.BAD_LENGTH]))),
        (struct.pack("<HH", 28, 3) + bytes(3),
         (ERROR, bytes([Cmd.WRITE_COSTS, Err.OUT_OF_RANGE]))),
        (struct.pack("<HH", 27, 3) + bytes([20, 40, 200]), (REPLY | Cmd.WRITE_COSTS, b"")),
    ]  # fmt: skip
    for seq, (payload, want) in enumerate(cases):
        replies = exchange(t, wire(VERSION, Cmd.WRITE_COSTS, seq, payload))
        assert [(r.type, r.payload) for r in replies] == [want]


def test_damaged_frames_get_no_reply_and_the_next_one_does(fw: AmaranthTransport) -> None:
    good = encode_frame(Frame(Cmd.READ_RESULT, 9))
    bad = bytearray(good)
    bad[3] ^= 0x40
    replies = exchange(fw, bytes(bad) + b"\x05\x01\x00" + good)
    assert [(r.type, r.seq, len(r.payload)) for r in replies] == [
        (Cmd.READ_RESULT | REPLY, 9, RESULT_BYTES)
    ]


def test_back_to_back_requests_each_get_their_reply(fw: AmaranthTransport) -> None:
    """Requests sent without a gap: each arrives while the one before it is being
    answered, waits in the link's receive FIFO, and is answered in turn."""
    bursts = [
        [Frame(Cmd.READ_TRAJECTORY, 21, struct.pack("<HH", 0, 0)), Frame(Cmd.READ_RESULT, 22),
         Frame(Cmd.IDENTIFY, 23)],
        [Frame(Cmd.IDENTIFY, 24), Frame(Cmd.IDENTIFY, 25)],
        [Frame(Cmd.READ_DEVICE, 26 + i, struct.pack("<IB", 9 * i, 1)) for i in range(4)],
    ]  # fmt: skip
    for frames in bursts:
        replies = exchange(fw, b"".join(encode_frame(f) for f in frames), expect=len(frames))
        assert [(r.type, r.seq) for r in replies] == [(f.type | REPLY, f.seq) for f in frames]


def test_device_commands_and_the_replay_rule() -> None:
    t = AmaranthTransport(SMALL, seed=5)
    link = LinkClient(t, timeout_s=TIMEOUT)
    c = NavigatorClient(link)
    c.write_device(17, RRAMOp.SET, 10)
    codes = c.read_device(16, 3)
    assert [tuple(x) for x in t.log] == [
        (RRAMOp.SET.value, 17, 10, -1),
        *((RRAMOp.READ.value, 16 + i, 0, codes[i]) for i in range(3)),
    ]
    assert codes[1] > codes[0] and codes[1] > codes[2]  # the SET device conducts
    # The same request again (a retry after a lost reply) is answered, not run again.
    n = len(t.log)
    again = encode_frame(Frame(Cmd.WRITE_DEVICE, link.seq + 1, struct.pack("<IBB", 3, 2, 12)))
    first, second = exchange(t, again), exchange(t, again)
    assert [f.type for f in first + second] == [Cmd.WRITE_DEVICE | REPLY] * 2
    assert len(t.log) == n + 1
    # IDENTIFY is always run and forgets the previous request, so a new session
    # may start at any sequence number.
    ident = encode_frame(Frame(Cmd.IDENTIFY, 200))
    assert len(exchange(t, ident)) == len(exchange(t, ident)) == 1
    with pytest.raises(ErrorReply, match="READ_DEVICE: the firmware answered OUT_OF_RANGE"):
        c.read_device(269, 2)


def test_a_retried_trial_runs_once_and_reset_clears_the_trajectory() -> None:
    maze = random_maze((5, 6), np.random.default_rng(2))
    t = AmaranthTransport(SMALL, seed=2)
    link = LinkClient(t, timeout_s=TIMEOUT)
    c = NavigatorClient(link)
    c.init()
    c.write_layout(maze)
    c.configure(maze.start, 40)
    req = encode_frame(Frame(Cmd.RUN_TRIAL, link.seq + 1))
    first = exchange(t, req)
    n = len(t.log)
    second = exchange(t, req)
    assert len(first) == 1 and second == first and len(t.log) == n
    link.seq += 1
    res = c.read_result()
    assert res["trajectory_len"] >= 1 and len(c.read_trajectory(res["trajectory_len"])) >= 1
    c.reset()
    assert c.read_result()["trajectory_len"] == 0
    with pytest.raises(ErrorReply, match="OUT_OF_RANGE"):
        c.read_trajectory(1)


# the SiOx device's runs over the link run on Icarus in make test (test_backends)
@pytest.mark.parametrize(
    ("seed", "device"), [pytest.param(4, "siox", marks=pytest.mark.slow), (5, "emulator")]
)
def test_schedule_over_the_link_equals_golden_model(seed: int, device: str) -> None:
    """Two layouts, switched mid-run, over the UART pins: per-trial figures and
    trajectories equal the golden model's; with the SiOx model every device
    operation too. ``emulator``: the iCEBreaker's firmware (the serial emulator
    inside) against the emulator's Python twin."""
    a, b = shipped("small_a_9x9"), shipped("small_b_9x9")
    cfg = rtl_config(PRESETS["paper"], a.shape)
    serial = device == "emulator"
    t = AmaranthTransport(cfg, seed=seed, device=device, serial_emulator=serial)
    got = run_schedule(NavigatorClient(LinkClient(t, timeout_s=TIMEOUT), config_id(cfg)),
                       [a, b], [2], 4, 60)  # fmt: skip
    gold, log = golden_run([a, b], [2], 4, 60, seed, device=device)
    assert got == gold
    if serial:
        assert t.fw.emulator.serial
    else:
        assert np.array_equal(np.asarray(t.log).reshape(-1, 4), log)


@pytest.mark.slow
def test_a_full_run_through_byte_faults_equals_a_clean_run() -> None:
    """Flips and drops at 1e-3 per byte and bursts, both ways: every request is
    retried until answered, none runs twice, the results equal the golden model's."""
    a, b = shipped("small_a_9x9"), shipped("small_b_9x9")
    cfg = rtl_config(PRESETS["paper"], a.shape)
    t = AmaranthTransport(cfg, seed=6)
    faulty = FaultyTransport(t, np.random.default_rng(11), flip=1e-3, drop=1e-3, burst=2e-3)
    link = LinkClient(faulty, timeout_s=TIMEOUT, retries=20)
    got = run_schedule(NavigatorClient(link, config_id(cfg)), [a, b], [3], 6, 60)
    gold, log = golden_run([a, b], [3], 6, 60, 6)
    assert got == gold
    assert np.array_equal(np.asarray(t.log).reshape(-1, 4), log)
    assert faulty.damaged > 0 and link.stats["retries"] > 0


def _garbage() -> st.SearchStrategy[bytes]:
    frames = st.builds(
        wire,
        st.sampled_from([VERSION, VERSION, 0, 2]),
        st.integers(0, 255),
        st.integers(0, 255),
        st.binary(max_size=12),
        st.one_of(st.none(), st.integers(0, 600)),
    )
    return st.lists(st.one_of(frames, st.binary(min_size=1, max_size=24)), max_size=4).map(b"".join)


@settings(
    max_examples=6, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)  # fmt: skip
@given(junk=_garbage())
def test_no_input_wedges_the_decoder(fw: AmaranthTransport, junk: bytes) -> None:
    """Any bytes, then a delimiter and a valid IDENTIFY: the IDENTIFY is answered
    (possibly after a retry, when the junk's last frame is still being served)."""
    exchange(fw, junk + b"\0", expect=0)
    client = LinkClient(fw, timeout_s=TIMEOUT, retries=2)
    client.seq = 99
    info = client.request(Cmd.IDENTIFY)
    assert info[0] == VERSION and info[2:6] == struct.pack("<HH", 5, 6)


def test_a_terrain_trial_longer_than_the_trajectory_memory_is_refused_up_front() -> None:
    """On a cost map the host sums the trajectory read back: a trial that may
    outgrow the firmware's trajectory memory is refused before it runs, naming
    both remedies."""
    maze = next(iter(terrain_transfer(6, np.random.default_rng(0), False)))
    cfg = rtl_config(PRESETS["default"], maze.shape, terrain=True)
    t = AmaranthTransport(cfg, seed=0, traj_depth=16)
    agent = FirmwareAgent(NavigatorClient(LinkClient(t, timeout_s=TIMEOUT), config_id(cfg),
                                          cost_bits=cfg.cost_bits))  # fmt: skip
    with pytest.raises(ValueError, match=r"keeps 16: use --max-steps 15 .*--traj-depth 40"):
        agent.run_trial(maze, 39)
    assert agent.loaded is None  # nothing was written or run
    assert agent.run_trial(maze, 15).steps[0] <= 15
