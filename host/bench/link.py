"""Host-link benchmarks: round-trip latency, payload throughput and bytes per
maze trial, over the simulated firmware (amaranth.sim in-process, and the
Verilog on Verilator and Icarus behind a pseudo-terminal).

Latency and throughput are reported in wall seconds (what a user waits for a
simulated board) and, for amaranth.sim, in the firmware's clock cycles and
UART bit times, which carry over to a board: at 115,200 baud a bit is 8.7 us.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from memrl.host.bench.registry import experiment
from memrl.host.link.client import LinkClient
from memrl.host.link.transports import AmaranthTransport, SerialTransport
from memrl.host.navigator.commands import NavigatorClient, run_schedule
from memrl.rtl.link.protocol import Cmd
from memrl.rtl.navigator.commands import config_id
from memrl.sim.navigator.golden import PRESETS
from memrl.sim.navigator.maze import shipped
from memrl.sim.navigator.session import rtl_config

REQUESTS = 20  # round trips per figure (median)
DEVICE_READ = 255  # READ_DEVICE payload: the largest
BOARD_BAUD = 115_200


class CountingTransport:
    """``inner`` with a count of the bytes each way."""

    def __init__(self, inner: object) -> None:
        self.inner, self.sent, self.received = inner, 0, 0

    def now(self) -> float:
        return getattr(self.inner, "now", time.monotonic)()

    def write(self, data: bytes) -> None:
        self.sent += len(data)
        self.inner.write(data)

    def read(self, timeout_s: float) -> bytes:
        data = self.inner.read(timeout_s)
        self.received += len(data)
        return data


def _round_trips(client: NavigatorClient, sim_clock: object | None) -> dict:
    """Median wall (and simulated) seconds of an empty request and of a full
    READ_DEVICE, and the payload rate of the latter."""
    out: dict[str, float] = {}
    for name, cmd, payload in (
        ("empty", Cmd.READ_RESULT, b""),
        ("read_255", Cmd.READ_DEVICE, bytes([0, 0, 0, 0, DEVICE_READ])),
    ):
        walls, sims = [], []
        for _ in range(REQUESTS):
            t0, s0 = time.perf_counter(), sim_clock() if sim_clock else 0.0
            client.link.request(cmd, payload)
            walls.append(time.perf_counter() - t0)
            if sim_clock:
                sims.append(sim_clock() - s0)
        out[f"{name}_wall_ms"] = round(1e3 * statistics.median(walls), 2)
        if sims:
            out[f"{name}_sim_us"] = round(1e6 * statistics.median(sims), 2)
    out["read_255_payload_bytes_per_wall_s"] = round(DEVICE_READ / out["read_255_wall_ms"] * 1e3)
    return out


@experiment("navigator_link")
def _link() -> dict:
    """Round trips of an empty request (READ_RESULT, 33-byte reply) and of a
    255-code READ_DEVICE, median of 20, on each simulated board; bytes per trial
    of the 9x9 dynamic pair (30 trials, A -> B -> A) over the link, and what they
    cost at 115,200 baud."""
    a, b = shipped("small_a_9x9"), shipped("small_b_9x9")
    config = rtl_config(PRESETS["paper"], a.shape)
    out: dict[str, object] = {}

    t = AmaranthTransport(config, seed=0)
    counting = CountingTransport(t)
    client = NavigatorClient(LinkClient(counting, timeout_s=0.01), config_id(config))
    trials = run_schedule(client, [a, b], [10, 20], 30, 120)
    n = len(trials)
    bit_s = t.divisor / t.clk_hz
    fig = {
        "trials": n,
        "host_to_fw_bytes_per_trial": round(counting.sent / n, 1),
        "fw_to_host_bytes_per_trial": round(counting.received / n, 1),
        "wire_ms_per_trial_at_115200_baud": round(
            1e3 * 10 * (counting.sent + counting.received) / n / BOARD_BAUD, 2
        ),
        "trajectory_places_per_trial": round(sum(len(r["trajectory"]) for r in trials) / n, 1),
    }
    t.chunk_cycles = 10 * t.divisor  # time a round trip to the byte
    rt = _round_trips(client, t.now)
    # In UART bit times, which carry over to a board's baud rate.
    rt["empty_bit_times"] = round(rt["empty_sim_us"] * 1e-6 / bit_s, 1)
    rt["read_255_bit_times"] = round(rt["read_255_sim_us"] * 1e-6 / bit_s, 1)
    rt["read_255_payload_efficiency"] = round(DEVICE_READ * 10 / rt["read_255_bit_times"], 3)
    rt["board_read_255_ms_at_115200_baud"] = round(1e3 * rt["read_255_bit_times"] / BOARD_BAUD, 2)
    out["bytes_per_trial"] = fig
    out["amaranth"] = rt

    from memrl.sim.tools.uart_bridge import SimBoard

    with tempfile.TemporaryDirectory() as tmp:
        for sim in ("verilator", "icarus"):
            with SimBoard(sim, config, 0, workdir=Path(tmp)) as board:
                link = LinkClient(SerialTransport(board.port), timeout_s=2.0)
                c = NavigatorClient(link, config_id(config))
                out[sim] = _round_trips(c, None)
                out[sim]["retries"] = link.stats["retries"]
                link.transport.close()
    return out
