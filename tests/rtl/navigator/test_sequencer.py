"""The sequencer alone: the order and the cycles of a run start, a trial, a
step and the rule's branches, with scripted answers from the units."""

from __future__ import annotations

from dataclasses import dataclass, field

from amaranth.sim import Simulator

from memrl.rtl.navigator.config import NavigatorConfig
from memrl.rtl.navigator.sequencer import Sequencer

CONFIG = NavigatorConfig(height=2, width=2)  # four places

#: Each cycle is named by the strobes it drives (the first that is high).
LABELS = [
    ("maze.start", "START"), ("rule.run_start", "RUN_START"), ("rule.init_set", "INIT"),
    ("rule.init_next", "INIT_NEXT"), ("maze.clear", "CLEAR"), ("rule.traj_clear", "TRAJ"),
    ("maze.step", "STEP"), ("maze.lookup", "READS"), ("maze.verdict", "END"),
    ("neurons.run", "TICK"), ("rule.decide", "DECIDE"), ("rule.forget_read", "FORGET"),
    ("rule.forget_set", "FORGET_SET"), ("rule.forget_next", "FORGET_NEXT"),
    ("rule.penalty", "PENALTY"), ("requests.post", "POST"), ("requests.issue", "ISSUE"),
    ("requests.wait", "WAIT"), ("rule.nbr_set", "NBR_SET"), ("rule.nbr_next", "NBR_NEXT"),
    ("rule.nbr", "NBR"), ("step_valid", "BOOK"), ("rule.reward_wrap", "WRAP"),
    ("rule.reward_set", "RW_SET"), ("rule.reward_next", "RW_NEXT"), ("rule.reward", "REWARD"),
    ("done", "FINISH"), ("busy", "-"),
]  # fmt: skip


@dataclass
class Script:
    """The units' answers: a run start or one trial; every request is accepted
    and answered at once unless ``slow``."""

    init: bool = False
    ticks: int = 2  # integration: ``end`` after this many ticks
    verdict: tuple[int, int, int] = (1, 0, 0)  # moved, hit_wall, hit_corner
    rule: dict[str, int] = field(default_factory=dict)  # rule conditions
    steps: int = 1  # the trial's last step
    nbr_on: tuple[int, ...] = (1, 0, 1)  # the stuck fallback's neighbours
    rewards: int = 2  # places in the trajectory
    slow: int = 0  # cycles before a request is accepted and before its answer


def get(obj, path: str):  # noqa: ANN001, ANN201
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def run(script: Script, limit: int = 400) -> list[str]:
    """The cycles' labels from the pulse to ``done``."""
    dut = Sequencer(CONFIG)
    labels: list[str] = []

    async def bench(ctx) -> None:  # noqa: ANN001
        rq, rule = dut.requests, dut.rule
        ctx.set(dut.init if script.init else dut.start, 1)
        reads = ticks = steps = nbr = rewards = waited = 0
        for _ in range(limit):
            ctx.set(rq.accepted, waited >= script.slow)
            ctx.set(rq.answered, waited >= script.slow)
            ctx.set(rq.drained, 1)
            ctx.set(rq.reads_done, reads >= 9)
            ctx.set(dut.maze.looked, reads >= 9)
            ctx.set(dut.neurons.end, ticks >= script.ticks)
            for i, name in enumerate(("moved", "hit_wall", "hit_corner")):
                ctx.set(getattr(dut.verdict, name), script.verdict[i])
            ctx.set(dut.counters.last_step, steps >= script.steps)
            ctx.set(rule.init_last, 1)
            ctx.set(rule.pot, script.verdict[0])  # the paper rule potentiates every move
            for name, value in script.rule.items():
                ctx.set(getattr(rule, name), value)
                if name == "got_reward":  # the paper rule's sweep programs REWARD only
                    ctx.set(rule.forget_prog, value)
            ctx.set(rule.nbr_done, nbr >= len(script.nbr_on))
            ctx.set(rule.nbr_on, nbr < len(script.nbr_on) and script.nbr_on[nbr])
            ctx.set(rule.reward_done, rewards >= script.rewards)
            label = next((lb for p, lb in LABELS if ctx.get(get(dut, p))), "IDLE")
            labels.append(label)
            # the units' state after this cycle
            reads = reads + 1 if label == "READS" else 0
            ticks = ticks + 1 if label in ("TICK", "END") else 0
            steps += ctx.get(dut.counters.step)
            nbr += ctx.get(rule.nbr_next) or (label == "NBR" and not ctx.get(rule.nbr_on))
            rewards += ctx.get(rule.reward_next)
            # a request waits ``slow`` cycles to be accepted, then as long for its answer
            on_port = label in ("ISSUE", "WAIT", "POST")
            waited = waited + 1 if on_port and waited < script.slow else 0
            await ctx.tick()
            ctx.set(dut.init, 0)
            ctx.set(dut.start, 0)
            if label == "FINISH":
                return
        raise AssertionError(f"no done in {limit} cycles: {labels}")

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    return labels


STEP = ["STEP"] + ["READS"] * 10 + ["-"] + ["TICK"] * 2 + ["END", "DECIDE"]
TRIAL_START = ["START"] + ["CLEAR"] * 4 + ["TRAJ"]


def test_run_start_programs_place_by_place():
    labels = run(Script(init=True))
    op = ["INIT", "ISSUE", "WAIT", "INIT_NEXT"]
    assert labels == ["RUN_START"] + op * 4 + ["-", "FINISH"]


def test_a_move_is_posted_and_booked_in_sixteen_cycles_plus_ticks():
    labels = run(Script(steps=2))
    assert labels == TRIAL_START + (STEP + ["POST", "BOOK"]) * 2 + ["-", "FINISH"]
    assert len(STEP + ["POST", "BOOK"]) == 16 + 2


def test_wall_and_corner_hits_are_posted_too():
    for verdict in [(0, 1, 0), (0, 0, 1)]:
        labels = run(Script(verdict=verdict))
        assert labels == TRIAL_START + STEP + ["POST", "BOOK", "-", "FINISH"]
    # nothing fired: no operation
    assert run(Script(verdict=(0, 0, 0))) == TRIAL_START + STEP + ["BOOK", "-", "FINISH"]


def test_slow_requests_are_waited_for():
    labels = run(Script(init=True, slow=2))
    op = ["INIT", "ISSUE", "ISSUE", "ISSUE", "WAIT", "WAIT", "WAIT", "INIT_NEXT"]
    assert labels == ["RUN_START"] + op * 4 + ["-", "FINISH"]


def test_forgetting_sweeps_every_place_before_the_penalty():
    labels = run(Script(verdict=(0, 1, 0), rule={"forget": 1, "got_reward": 0}))
    read = ["FORGET", "ISSUE", "WAIT"]
    sweep = (read + ["FORGET_NEXT"]) * 3 + read + ["-"]
    assert labels == TRIAL_START + STEP + sweep + ["PENALTY", "POST", "BOOK", "-", "FINISH"]
    # a REWARD reading: SET to RECALL, then on
    labels = run(Script(verdict=(0, 1, 0), rule={"forget": 1, "got_reward": 1}))
    assert labels[len(TRIAL_START + STEP) :][:8] == read + ["-", "FORGET_SET", "ISSUE", "WAIT",
                                                           "FORGET_NEXT"]  # fmt: skip


def test_stuck_fallback_sets_the_on_grid_neighbours():
    labels = run(Script(verdict=(0, 0, 0), rule={"stuck_now": 1, "stuck": 1}))
    nbr = ["NBR", "NBR_SET", "ISSUE", "WAIT", "NBR_NEXT"]
    fallback = nbr + ["NBR"] + nbr + ["NBR"]  # the second neighbour is off the grid
    assert labels == TRIAL_START + STEP + fallback + ["BOOK", "-", "FINISH"]
    # after a posted hit
    labels = run(Script(verdict=(0, 1, 0), rule={"stuck": 1}))
    assert labels == TRIAL_START + STEP + ["POST"] + fallback + ["BOOK", "-", "FINISH"]


def test_a_goal_rewards_the_trajectory_then_ends_the_trial():
    labels = run(Script(rule={"at_goal": 1}, steps=5))
    reward = ["REWARD", "WRAP"] + ["-", "RW_SET", "ISSUE", "WAIT", "RW_NEXT"] * 2 + ["-"]
    assert labels == TRIAL_START + STEP + ["POST", "BOOK"] + reward + ["-", "FINISH"]
