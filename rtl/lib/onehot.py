"""A one-hot state machine with the shape of Amaranth's ``m.FSM``.

Amaranth encodes ``m.FSM`` states in binary, so every state test compares the
whole state register: a decoder in front of every enable. Yosys's ``fsm``
pass could re-encode the machine, but ``fsm_detect`` does not extract a state
register that has an initial value ("Register has an initialization value"),
and Amaranth writes every register's initial value into the netlist (its
``init`` attribute). It cannot do without: the ECP5's ``sync`` domain has no
reset (the platform makes it reset-less, and the global set/reset loads the
initial values at configuration), so the initial value is the only thing that
starts the machine in its first state. The binary encoding thus reaches the
netlist as written. Here each state owns one flip-flop instead: testing a
state is reading one bit, and a transition clears the state's bit and sets
the target's. A state's bit depends only on the states that enter or leave
it, so the next-state logic stays shallow. Use it as ``m.FSM`` is used::

    with OneHotFSM(m, "ctl", reset="IDLE") as fsm:
        with fsm.State("IDLE"):
            with m.If(go):
                fsm.next = "RUN"

The last transition a cycle assigns wins, as with ``m.next``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from amaranth import Module, Signal

__all__ = ["OneHotFSM"]


class OneHotFSM:
    """One flip-flop per state of ``m``; ``reset`` is the state after reset."""

    def __init__(self, m: Module, name: str, reset: str, max_states: int = 64) -> None:
        self._m = m
        self.max_states = max_states
        # The reset state's bit starts at 1 (its initial value: on the ECP5 nothing
        # else sets it). Bits of states that are never named stay constant 0 and
        # vanish in synthesis.
        self.bits = Signal(max_states, name=f"{name}_state", init=1)
        self.index: dict[str, int] = {reset: 0}
        self._entered: set[str] = set()
        self._current: str | None = None
        self._targets: dict[str, list[str]] = {}

    def _idx(self, name: str) -> int:
        if name not in self.index:
            if len(self.index) == self.max_states:
                raise ValueError(f"more than {self.max_states} states (at {name!r})")
            self.index[name] = len(self.index)
        return self.index[name]

    @property
    def current(self) -> str:
        """The state whose body is being described."""
        if self._current is None:
            raise ValueError("not inside a state")
        return self._current

    def ongoing(self, name: str) -> Signal:
        """The one-bit flag of state ``name``."""
        return self.bits[self._idx(name)]

    @contextmanager
    def State(self, name: str) -> Iterator[None]:  # noqa: N802 - mirrors m.State
        if name in self._entered:
            raise ValueError(f"state {name!r} is defined twice")
        if self._current is not None:
            raise ValueError(f"state {name!r} is nested in state {self._current!r}")
        self._entered.add(name)
        self._current = name
        self._targets[name] = []
        try:
            with self._m.If(self.ongoing(name)):
                yield
        finally:
            self._current = None

    @property
    def next(self) -> None:
        raise AttributeError("next is write-only")

    @next.setter
    def next(self, name: str) -> None:
        here = self._current
        if here is None:
            raise ValueError(f"a transition to {name!r} outside every state")
        # Undo this state's earlier transitions (the last one assigned wins), leave
        # this state, enter the target.
        stmts = [self.bits[self._idx(t)].eq(0) for t in self._targets[here] if t != name]
        if name != here:
            stmts.append(self.bits[self._idx(here)].eq(0))
        stmts.append(self.bits[self._idx(name)].eq(1))
        self._m.d.sync += stmts
        if name not in self._targets[here]:
            self._targets[here].append(name)

    def __enter__(self) -> OneHotFSM:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            missing = sorted(set(self.index) - self._entered)
            if missing:
                raise ValueError(f"transitions to undefined states: {missing}")
