"""The one-hot state machine helper: transitions, last-assigned-wins, checks."""

from __future__ import annotations

import pytest
from amaranth import Module, Signal
from amaranth.sim import Simulator

from memrl.rtl.lib.onehot import OneHotFSM


def _machine():
    m = Module()
    go, skip = Signal(), Signal()
    with OneHotFSM(m, "t", reset="A") as fsm:
        with fsm.State("A"):
            with m.If(go):
                fsm.next = "B"
            with m.If(skip):  # assigned later: wins over B
                fsm.next = "C"
        with fsm.State("B"):
            fsm.next = "C"
        with fsm.State("C"):
            fsm.next = "A"
    return m, fsm, go, skip


def test_transitions_follow_the_last_assignment():
    m, fsm, go, skip = _machine()
    seen: list[str] = []

    async def bench(ctx):
        names = {v: k for k, v in fsm.index.items()}
        for g, s in [(0, 0), (1, 0), (0, 0), (0, 0), (1, 1), (0, 0), (0, 0)]:
            ctx.set(go, g)
            ctx.set(skip, s)
            bits = ctx.get(fsm.bits)
            assert bits and bits & (bits - 1) == 0, f"not one-hot: {bits:b}"
            seen.append(names[bits.bit_length() - 1])
            await ctx.tick()

    sim = Simulator(m)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    # go alone: A -> B -> C -> A; go with skip: A -> C (the later assignment)
    assert seen == ["A", "A", "B", "C", "A", "C", "A"]


def test_undefined_and_nested_states_are_refused():
    m = Module()
    with pytest.raises(ValueError, match="undefined states"):
        with OneHotFSM(m, "u", reset="A") as fsm:
            with fsm.State("A"):
                fsm.next = "NOWHERE"
    with pytest.raises(ValueError, match="nested"):
        with OneHotFSM(Module(), "n", reset="A") as fsm:
            with fsm.State("A"), fsm.State("B"):
                pass
    with pytest.raises(ValueError, match="defined twice"):
        with OneHotFSM(Module(), "d", reset="A") as fsm:
            with fsm.State("A"):
                pass
            with fsm.State("A"):
                pass
    with pytest.raises(ValueError, match="outside every state"):
        with OneHotFSM(Module(), "o", reset="A") as fsm:
            fsm.next = "A"
