"""The navigator's parameters, device map and maze geometry, shared by its units.

Device addresses: place ``p`` owns ``9p + d`` (synapse of direction ``d``,
0 N, 1 NE, ... 7 NW) and ``9p + 8`` (threshold device). The eight targets of
a place lie at constant offsets from it; a unit adds the offset of the one
target it needs to the position (:func:`offset`) instead of holding every
target's address.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from amaranth import Const, Mux, Value

__all__ = [
    "DIRECTIONS",
    "NEIGHBOURS",
    "SLOTS",
    "THR",
    "SPRAM_PLACES",
    "NavigatorConfig",
    "bits",
    "offset",
    "on_grid",
    "any_of",
]

#: (row, column) offsets of the eight directions N, NE, E, SE, S, SW, W, NW.
DIRECTIONS = ((-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1))
#: The 3x3 neighbourhood of the stuck fallback, row-major.
NEIGHBOURS = tuple((dr, dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1))
#: Devices per place, and the slot of the threshold device.
SLOTS = 9
THR = 8
#: Maze size (places) from which the layout and visited maps ask for SPRAM.
SPRAM_PLACES = 4096


def bits(n: int) -> int:
    """Bits of an unsigned counter holding 0 .. n."""
    return max(1, int(n).bit_length())


@dataclass(frozen=True)
class NavigatorConfig:
    """Constructor parameters of the navigator core (defaults: the paper rule).

    Thresholds are in integrator units (sums of synapse READ codes); code
    boundaries classify a threshold device's READ code; levels are SET
    compliance codes and RESET stop-voltage codes of the port.
    """

    height: int = 30
    width: int = 30
    th0: int = 400
    recall_th: int = 320
    homeo_th: int = 1200
    penalty_th: int = 4000
    max_ticks: int = 4095
    code_reward_min: int = 160
    code_recall_min: int = 120
    code_nominal_min: int = 40
    lvl_reward: int = 10
    lvl_recall: int = 5
    lvl_nominal: int = 0
    lvl_potentiate: int = 2
    rst_penalty: int = 12
    rst_depress: int = 12
    reward_k: int = 50
    stuck_steps: int = 8
    exploit_limit: int = 50  # 0: off
    init_synapses: bool = False
    max_steps_bits: int = 16
    # -- the default rule's options (docs/navigator/golden-model.md); the defaults
    # leave them off, which is the paper rule.
    reward_path: str = "recent"  # "bfs": reward the planner's shortest path
    pointers: bool = False  # synapses point along planned paths
    lvl_pointer: int = 10
    pointer_min: int = 160
    forget_penalties: bool = False  # forgetting doubts walls learned doubt_age trials ago
    doubt_age: int = 10
    doubt_unexplored: bool = False
    fix_walls: bool = False  # a wall hit again after doubt stays known unless stood on
    probe_age: int = 0  # probes of walls that appeared, this many trials old (0: off)
    optimistic: bool = False  # the planner may cross places never stood on
    curiosity_th: int = 0  # threshold of a seen NOMINAL place (0: off)
    boredom: int = 0  # moves without a new place before the frontier search (0: off)
    # terrain: the layout words carry each place's entry cost (``cost_bits`` wide, in
    # units of 1 / ``cost_unit``); the reward path is the cheapest over learned costs
    cost_bits: int = 0  # 0: a maze, no cost map
    cost_unit: int = 20  # the cost assumed for a place never entered (1.0)
    forget_on_path_end: bool = False  # a remembered path ending off the goal forgets
    renew_on_forget: bool = True  # ... and makes every place unseen again
    stamp_bits: int = 16  # trial numbers in wall stamps: a run is at most 2**16 - 1 trials

    def __post_init__(self) -> None:
        def need(name: str, lo: int, hi: int) -> None:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
                raise ValueError(
                    f"NavigatorConfig.{name} must be an integer in [{lo}, {hi}] (got {v!r})"
                )

        need("height", 2, 1024)
        need("width", 2, 1024)
        for name in ("th0", "recall_th", "homeo_th", "penalty_th"):
            need(name, 0, (1 << 20) - 1)
        need("max_ticks", 1, (1 << 20) - 1)
        need("code_nominal_min", 1, 255)
        need("code_recall_min", self.code_nominal_min + 1, 255)
        need("code_reward_min", self.code_recall_min + 1, 255)
        for name in ("lvl_reward", "lvl_recall", "lvl_nominal", "lvl_potentiate"):
            need(name, 0, 15)
        need("rst_penalty", 0, 15)
        need("rst_depress", 0, 15)
        need("reward_k", 1, 1 << 16)
        need("stuck_steps", 1, (1 << 16) - 1)
        need("exploit_limit", 0, (1 << 16) - 2)
        need("max_steps_bits", 1, 32)
        if self.reward_path not in ("recent", "bfs"):
            raise ValueError(
                f"NavigatorConfig.reward_path must be 'recent' or 'bfs' (got {self.reward_path!r})"
            )
        need("lvl_pointer", 0, 15)
        need("pointer_min", 1, 255)
        need("doubt_age", 0, (1 << 16) - 1)
        need("probe_age", 0, (1 << 16) - 1)
        need("curiosity_th", 0, (1 << 20) - 1)
        need("boredom", 0, (1 << 16) - 1)
        need("stamp_bits", 2, 32)
        for name in ("doubt_age", "probe_age"):
            if getattr(self, name) >= 1 << self.stamp_bits:
                raise ValueError(f"NavigatorConfig.{name} must be below 2**stamp_bits")
        need("cost_bits", 0, 16)
        if self.cost_bits:
            need("cost_unit", 1, (1 << self.cost_bits) - 1)
            if self.reward_path != "bfs":
                raise ValueError("NavigatorConfig.cost_bits needs reward_path='bfs' (it plans)")
        if self.probe_age and self.reward_path != "bfs":
            raise ValueError("NavigatorConfig.probe_age needs reward_path='bfs' (it re-plans)")

    @property
    def knowledge(self) -> bool:
        """The rule keeps per-place knowledge beyond the paper rule's (what the
        agent has stood on and seen, known walls, diagonals taken)."""
        return (
            self.reward_path == "bfs" or self.forget_penalties or self.optimistic
            or self.curiosity_th > 0 or self.boredom > 0 or self.forget_on_path_end
        )  # fmt: skip

    @property
    def planner(self) -> bool:
        """The rule plans paths (the reward path, the frontier search)."""
        return self.reward_path == "bfs" or self.boredom > 0

    @property
    def max_trials(self) -> int:
        """The most trials a run may have (wall stamps hold trial numbers)."""
        return (1 << self.stamp_bits) - 1 if self.knowledge else (1 << 32) - 1

    @property
    def terrain(self) -> bool:
        """The core holds a cost map and plans the cheapest path over learned costs."""
        return self.cost_bits > 0

    @property
    def layout_bits(self) -> int:
        """Bits of a layout word: wall, goal[, entry cost]."""
        return 2 + self.cost_bits

    @property
    def dist_bits(self) -> int:
        """Bits of a path cost: every place entered once at the highest cost, plus
        one value above them all (unreached)."""
        return bits(self.places * ((1 << self.cost_bits) - 1) + 1)

    @property
    def places(self) -> int:
        return self.height * self.width

    @property
    def cell_bits(self) -> int:
        """Bits of a place index."""
        return bits(self.places - 1)

    @property
    def addr_bits(self) -> int:
        """Bits of a device address."""
        return bits(SLOTS * self.places - 1)

    @property
    def row_bits(self) -> int:
        return bits(self.height - 1)

    @property
    def col_bits(self) -> int:
        return bits(self.width - 1)

    @property
    def tick_bits(self) -> int:
        """Bits of a step's tick count (up to ``max_ticks``)."""
        return bits(self.max_ticks)


def offset(hot: Value, offsets: Sequence[int], width: int) -> Value:
    """The constant offset of the set bit of one-hot ``hot`` (zero when none),
    modulo 2**width: an AND-OR of constants."""
    out = Const(0, width)
    for i, v in enumerate(offsets):
        out = out | Mux(hot[i], Const(v % (1 << width), width), 0)
    return out


def on_grid(row: Value, col: Value, dr: int, dc: int, height: int, width: int) -> Value:
    """The place at offset (dr, dc) from (row, col) lies on a ``height x width`` grid."""
    ok = Const(1)
    if dr:
        ok = ok & (row != (0 if dr < 0 else height - 1))
    if dc:
        ok = ok & (col != (0 if dc < 0 else width - 1))
    return ok


def any_of(values: Sequence[Value]) -> Value:
    """The OR of ``values``."""
    out = values[0]
    for v in values[1:]:
        out = out | v
    return out
