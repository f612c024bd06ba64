"""Compiled execution of the navigator's golden model (numba).

:class:`memrl.sim.navigator.golden.Navigator` is the reference: numpy, vectorised over
agents, with an optional per-agent device-operation log. This module runs the
same trial, agent after agent, as compiled scalar code, for sweeps and
throughput. It follows docs/navigator/golden-model.md step by step, issues every device
operation of an agent in the order the RTL does, and shares the device model's
draws (:func:`memrl.sim.devices.streams.normal1`,
:func:`memrl.sim.devices.siox.lognormal1`), so its trajectories, counters and
final device states equal the reference's bit for bit; tests/host/
test_navigator_kernel.py checks that over whole dynamic-maze schedules.

Device state lives in the reference's own arrays (the SiOx array's resistances,
read counters and pulse ledger), which the kernel updates in place: a navigator
may switch between the two executions from one trial to the next.
"""

from __future__ import annotations

import hashlib
import math
import os
from pathlib import Path

import numpy as np
from numba import njit

from memrl.rtl.navigator.core import SLOTS, THR
from memrl.sim.devices.siox import PROGRAM_LANE, READ_LANE, lognormal1
from memrl.sim.devices.streams import normal1, normal_lane

__all__ = ["run_trials", "pack_params", "ERR_NO_PATH"]

N_DIR = 8
NEVER = 1 << 40
ERR_NO_PATH = 1  # a reward path could not be planned (cannot happen after a goal)

_READ_LW = normal_lane(READ_LANE)  # the SiOx array's read-noise stream
_PROG_LW = normal_lane(PROGRAM_LANE)  # and its programming stream

# Layout of the integer parameter vector (pack_params).
_FIELDS = (
    "th0",
    "recall_th",
    "homeo_th",
    "penalty_th",
    "max_ticks",
    "code_reward_min",
    "code_recall_min",
    "code_nominal_min",
    "lvl_reward",
    "lvl_recall",
    "lvl_nominal",
    "lvl_potentiate",
    "lvl_pointer",
    "rst_penalty",
    "rst_depress",
    "pointer_min",
    "reward_k",
    "stuck_steps",
    "exploit_limit",
    "reward_bfs",
    "pointers",
    "forget_penalties",
    "optimistic",
    "curiosity_th",
    "boredom",
    "forget_on_path_end",
    "renew_on_forget",
    "doubt_unexplored",
    "doubt_age",
    "fix_walls",
    "probe_age",
)


def pack_params(params: object) -> np.ndarray:
    """NavigatorParams as the kernel's int64 vector (order of ``_FIELDS``)."""
    values = []
    for name in _FIELDS:
        if name == "reward_bfs":
            values.append(int(params.reward_path == "bfs"))  # type: ignore[attr-defined]
        elif name == "forget_on_path_end":  # 0 off, 1 on terrain maps only, 2 always
            mode = params.forget_on_path_end  # type: ignore[attr-defined]
            values.append({"off": 0, "terrain": 1, "always": 2}[mode])
        else:
            values.append(int(getattr(params, name)))
    return np.array(values, dtype=np.int64)


# -- device operations of one agent (the SiOx port, scalar) --------------------
@njit(cache=True, inline="always", _nrt=False)
def _read(dev, oc, agent, local):  # noqa: ANN001, ANN202
    r, rc, sc, rsc, keys, npa, fc, set_mean, set_sig, rst_mean, rst_sig = dev
    flat = agent * npa + local
    g = 1e3 / r[flat]
    if fc[0] != 0.0:  # read noise (SiOxArray.read_us)
        z = normal1(keys[agent], np.uint64(local), np.uint64(rc[flat]), _READ_LW)
        rc[flat] += 1
        g = g * (1.0 + fc[0] * z)
    g = max(g, 0.0)
    code = np.rint(g * 1e-6 * fc[1] / fc[2])  # the read ADC (SiOxPort._read)
    oc[agent, 0] += 1
    return int(min(max(code, 0.0), fc[3]))


@njit(cache=True, inline="always", _nrt=False)
def _program(dev, oc, agent, local, level, is_reset):  # noqa: ANN001, ANN202
    r, rc, sc, rsc, keys, npa, fc, set_mean, set_sig, rst_mean, rst_sig = dev
    flat = agent * npa + local
    count = sc[flat] + rsc[flat]
    z = normal1(keys[agent], np.uint64(local), np.uint64(count), _PROG_LW)
    if is_reset:
        r[flat] = lognormal1(rst_mean[level], rst_sig[level], z)
        rsc[flat] += 1
        oc[agent, 2] += 1
    else:
        r[flat] = lognormal1(set_mean[level], set_sig[level], z)
        sc[flat] += 1
        oc[agent, 1] += 1


@njit(cache=True, inline="always", _nrt=False)
def _classify(code, ip):  # noqa: ANN001, ANN202
    if code >= ip[5]:
        return 0  # REWARD
    if code >= ip[6]:
        return 1  # RECALL
    if code >= ip[7]:
        return 2  # NOMINAL
    return 3  # PENALTY


# -- planners ---------------------------------------------------------------
@njit(cache=True, inline="always", _nrt=False)
def _step_ok(usable, taken, agent, x, d, y, o1, o2):  # noqa: ANN001, ANN202
    """The planners' move rule (Navigator._move_rule)."""
    if not usable[y]:
        return False
    return o1 < 0 or taken[agent, x, d] or (usable[o1] and usable[o2])


@njit(cache=True, inline="always", _nrt=False)
def _aged(wall_stamp, agent, q, trial, age):  # noqa: ANN001, ANN202
    """A known wall at least ``age`` trials old (probe_age)."""
    stamp = wall_stamp[agent, q]
    return stamp >= 0 and trial - stamp >= age


@njit(cache=True, _nrt=False)
def _usable(explored, wall_stamp, agent, ip, trial, probe_st, out):  # noqa: ANN001, ANN202
    probing = probe_st[1, agent] != 0
    for q in range(out.size):
        stamp = wall_stamp[agent, q]
        free = stamp < 0 or (probing and explored[agent, q] and trial - stamp >= ip[30])
        out[q] = (explored[agent, q] or ip[22] != 0) and free


@njit(cache=True, _nrt=False)
def _bfs_path(usable, taken, agent, nbr, orth, start, goal, dist, queue, path):  # noqa: ANN001, ANN202
    """Navigator._bfs_path from every usable goal; returns the path length (0: none)."""
    P = usable.size
    dist[:] = -1
    head, tail = 0, 0
    for g in range(P):
        if goal[g] and usable[g]:
            dist[g] = 0
            queue[tail] = g
            tail += 1
    # The search may stop once the start is labelled: every place closer to the
    # goals is labelled by then, and the path below only visits those.
    while head < tail and dist[start] < 0:
        x = queue[head]
        head += 1
        nd = dist[x] + 1
        for d in range(N_DIR):
            y = nbr[x, d]
            if (
                y >= 0
                and dist[y] < 0
                and _step_ok(usable, taken, agent, x, d, y, orth[x, d, 0], orth[x, d, 1])
            ):
                dist[y] = nd
                queue[tail] = y
                tail += 1
    if dist[start] < 0:
        return 0
    return _descend(usable, taken, agent, nbr, orth, start, dist, dist, False, path)


@njit(cache=True, _nrt=False)
def _descend(usable, taken, agent, nbr, orth, start, dist, cost, weighted, path):  # noqa: ANN001, ANN202
    """The path from ``start`` down the distance labels to a goal: at each place the
    lowest direction whose move is allowed and whose place is one step (BFS) or
    its own entry cost (``weighted``, Dijkstra) closer. Returns its length."""
    x = start
    n = 0
    path[n] = x
    n += 1
    while dist[x] > 0:
        for d in range(N_DIR):
            y = nbr[x, d]
            if (
                y >= 0
                and dist[y] + (cost[y] if weighted else 1) == dist[x]
                and _step_ok(usable, taken, agent, x, d, y, orth[x, d, 0], orth[x, d, 1])
            ):
                x = y
                break
        path[n] = x
        n += 1
    return n


@njit(cache=True, _nrt=False)
def _heap_push(heap, size, key):  # noqa: ANN001, ANN202
    i = size
    heap[i] = key
    while i > 0:
        up = (i - 1) >> 1
        if heap[up] <= heap[i]:
            break
        heap[up], heap[i] = heap[i], heap[up]
        i = up
    return size + 1


@njit(cache=True, _nrt=False)
def _heap_pop(heap, size):  # noqa: ANN001, ANN202
    top = heap[0]
    size -= 1
    heap[0] = heap[size]
    i = 0
    while True:
        c = 2 * i + 1
        if c >= size:
            break
        if c + 1 < size and heap[c + 1] < heap[c]:
            c += 1
        if heap[i] <= heap[c]:
            break
        heap[i], heap[c] = heap[c], heap[i]
        i = c
    return top, size


@njit(cache=True, _nrt=False)
def _cheapest_path(usable, taken, agent, nbr, orth, start, goal, cost, dist, heap, path):  # noqa: ANN001, ANN202
    """Navigator.cheapest_path: Dijkstra from the usable goals on learned entry costs.
    Heap keys pack (distance, place); the distances (unique) decide the path."""
    P = usable.size
    inf = 1 << 62
    dist[:] = inf
    size = 0
    for g in range(P):
        if goal[g] and usable[g]:
            dist[g] = 0
            size = _heap_push(heap, size, g)
    while size > 0:
        key, size = _heap_pop(heap, size)
        dx, x = key >> 21, key & ((1 << 21) - 1)
        if dx > dist[x]:
            continue
        nd = dx + cost[agent, x]
        for d in range(N_DIR):
            y = nbr[x, d]
            if (
                y >= 0
                and nd < dist[y]
                and _step_ok(usable, taken, agent, x, d, y, orth[x, d, 0], orth[x, d, 1])
            ):
                dist[y] = nd
                size = _heap_push(heap, size, (nd << 21) | y)
    if dist[start] >= inf:
        return 0
    return _descend(usable, taken, agent, nbr, orth, start, dist, cost[agent], True, path)


@njit(cache=True, _nrt=False)
def _frontier_path(usable, taken, seen, agent, nbr, orth, here, parent, queue, path):  # noqa: ANN001, ANN202
    """Navigator.frontier_path: BFS from ``here`` to the first usable unseen place
    dequeued, following the BFS tree; returns the path length (0: none)."""
    parent[:] = -2
    parent[here] = -1
    head, tail = 0, 1
    queue[0] = here
    while head < tail:
        x = queue[head]
        head += 1
        if usable[x] and not seen[agent, x]:
            n = 0
            while x >= 0:
                path[n] = x
                n += 1
                x = parent[x]
            for i in range(n // 2):
                path[i], path[n - 1 - i] = path[n - 1 - i], path[i]
            return n
        for d in range(N_DIR):
            y = nbr[x, d]
            if (
                y >= 0
                and parent[y] == -2
                and _step_ok(usable, taken, agent, x, d, y, orth[x, d, 0], orth[x, d, 1])
            ):
                parent[y] = x
                queue[tail] = y
                tail += 1
    return 0


@njit(cache=True, _nrt=False)
def _write_pointers(dev, oc, ip, agent, nbr, path, n, codes):  # noqa: ANN001, ANN202
    """Per place of path[:n-1]: READ its eight synapses, then SET the one towards the
    next place to a pointer unless it reads as one, other pointers back to level 2."""
    for i in range(n - 1):
        _pointer_row(dev, oc, ip, agent, nbr, path[i], path[i + 1], codes)


@njit(cache=True, _nrt=False)
def _pointer_row(dev, oc, ip, agent, nbr, cell, nxt, codes):  # noqa: ANN001, ANN202
    d_next = 0
    for d in range(N_DIR):
        if nbr[cell, d] == nxt:
            d_next = d
            break
    for d in range(N_DIR):
        codes[d] = _read(dev, oc, agent, cell * SLOTS + d)
    for d in range(N_DIR):
        if d == d_next and codes[d] < ip[15]:
            _program(dev, oc, agent, cell * SLOTS + d, ip[12], False)
        elif d != d_next and codes[d] >= ip[15]:
            _program(dev, oc, agent, cell * SLOTS + d, ip[11], False)


# -- learning-rule branches ----------------------------------------------------
@njit(cache=True, _nrt=False)
def _forget(dev, oc, ip, agent, explored, wall_stamp, wall_mark, trial, P):  # noqa: ANN001, ANN202
    for q in range(P):
        cls = _classify(_read(dev, oc, agent, q * SLOTS + THR), ip)
        lv = -1
        if cls == 0:
            lv = ip[9]
        if ip[21]:  # forget_penalties
            stamp = wall_stamp[agent, q]
            old = stamp < 0 or trial - stamp >= ip[28]
            if ip[29] and wall_mark[agent, q] == 2 and not explored[agent, q]:
                old = False  # a fixture (fix_walls)
            if cls == 3 and old:
                lv = ip[10]
            plan = stamp >= 0 and old
            if ip[22] and not ip[27]:
                plan = plan and explored[agent, q]
            if plan:
                wall_stamp[agent, q] = -1
                if ip[29]:
                    wall_mark[agent, q] = 1
        if lv >= 0:
            _program(dev, oc, agent, q * SLOTS + THR, lv, False)


@njit(cache=True, _nrt=False)
def run_trials(  # noqa: ANN201, PLR0913
    dev,  # noqa: ANN001
    ip,  # noqa: ANN001
    nbr,  # noqa: ANN001
    orth,  # noqa: ANN001
    hit_tab,  # noqa: ANN001
    goal,  # noqa: ANN001
    start,  # noqa: ANN001
    cost_int,  # noqa: ANN001
    has_cost,  # noqa: ANN001
    explored,  # noqa: ANN001
    taken,  # noqa: ANN001
    seen,  # noqa: ANN001
    cost_known,  # noqa: ANN001
    wall_stamp,  # noqa: ANN001
    wall_mark,  # noqa: ANN001
    probe_st,  # noqa: ANN001
    oc,  # noqa: ANN001
    trial,  # noqa: ANN001
    max_steps,  # noqa: ANN001
    out,  # noqa: ANN001
    cost_sum,  # noqa: ANN001
    traj,  # noqa: ANN001
    traj_len,  # noqa: ANN001
    flags,  # noqa: ANN001
    work,  # noqa: ANN001
    heap,  # noqa: ANN001
    small,  # noqa: ANN001
):
    """One trial of every agent (Navigator.run_trial). ``out[b]`` receives steps,
    reached, ticks, moves, hits; returns 0, or ERR_NO_PATH. Scratch (compiled without
    reference counting, the kernel allocates nothing): ``flags`` bool (2, P), ``work``
    int64 (4, P + 1), ``heap`` int64 (9 P + 1), ``small`` int64 (5, 8)."""
    B, P = explored.shape
    max_ticks, stuck_steps, exploit_limit = ip[4], ip[17], ip[18]
    visited, usable = flags[0], flags[1]
    dist, queue, parent, path = work[0], work[1], work[2], work[3]
    s, tgt, cls, fire_at, codes = small[0], small[1], small[2], small[3], small[4]
    for agent in range(B):
        visited[:] = False
        pos = start
        steps = ticks = moves = hits = stay = exploit = bored = 0
        on_path = reached = False
        traj[agent, 0] = start
        tl = 1
        explored[agent, start] = True
        seen[agent, start] = True
        if ip[30]:  # probe_age: this trial probes long after the last failed probe
            last = probe_st[0, agent]
            probe_st[1, agent] = 1 if (last < 0 or trial - last >= ip[30]) else 0
        while True:
            here = pos
            # 1. READ the eight synapses, then the thresholds of on-grid targets.
            for d in range(N_DIR):
                s[d] = _read(dev, oc, agent, here * SLOTS + d)
            for d in range(N_DIR):
                t = nbr[here, d]
                tgt[d] = t
                if t >= 0:
                    cls[d] = _classify(_read(dev, oc, agent, t * SLOTS + THR), ip)
                else:
                    cls[d] = 3
            # 2. thresholds; 3. integration and winner-take-all.
            k = NEVER
            for d in range(N_DIR):
                t = tgt[d]
                c = cls[d]
                v = 0 if c == 0 else ip[1] if c == 1 else ip[0] if c == 2 else ip[3]
                if t >= 0:
                    if ip[23] and seen[agent, t] and cls[d] == 2:
                        v = ip[23]
                    if visited[t]:
                        v = ip[2]
                if t >= 0 and s[d] > 0:
                    # ceil(v / s), exact in float64 (and faster than an integer
                    # division): v <= 2**20 and s < 2**24, so a quotient that is not
                    # an integer lies at least 2**-24 from one, far above its rounding.
                    fire_at[d] = max(1, int(math.ceil(v / s[d])))
                else:
                    fire_at[d] = NEVER
                k = min(k, fire_at[d])
            fired = k <= max_ticks
            win, best = 0, -2
            for d in range(N_DIR):
                key = s[d] * N_DIR + (N_DIR - 1 - d) if fire_at[d] == k else -1
                if key > best:
                    win, best = d, key
            ticks += k if fired else max_ticks
            # 4. the maze applies the move.
            t_cell = tgt[win]
            t_safe = max(t_cell, 0)
            hit = hit_tab[here, win] if fired else 0
            moved = fired and hit == 0
            is_hit = fired and hit != 0
            t_cls = cls[win]
            # 5. learning rule, in the documented order.
            was_on_path = on_path
            on_path = moved and t_cls == 0
            exploit = exploit + 1 if (moved and t_cls == 0) else 0
            blocked = is_hit and t_cls == 0
            if ip[22]:
                blocked = blocked and explored[agent, t_safe]
            probed = False
            if ip[30] and blocked and probe_st[2, agent] != 0:  # a failed probe?
                if hit == 1:
                    probed = _aged(wall_stamp, agent, t_safe, trial, ip[30])
                else:  # a corner: the walls beside it, confirmed by the failed probe
                    o0, o1 = orth[here, win, 0], orth[here, win, 1]
                    beside0 = o0 >= 0 and _aged(wall_stamp, agent, o0, trial, ip[30])
                    beside1 = o1 >= 0 and _aged(wall_stamp, agent, o1, trial, ip[30])
                    probed = beside0 or beside1
                    if beside0:
                        wall_stamp[agent, o0] = trial
                    if beside1:
                        wall_stamp[agent, o1] = trial
                if probed:
                    blocked = False
                    probe_st[0, agent] = trial
            forget = blocked or (exploit_limit > 0 and exploit > exploit_limit)
            if ip[25] == 2 or (ip[25] == 1 and has_cost):  # forget_on_path_end
                off = moved and was_on_path and t_cls != 0 and not goal[t_safe] and not forget
                if ip[26] and off:
                    seen[agent, :] = False
                forget = forget or off
            if forget:
                on_path = False
                exploit = 0
                _forget(dev, oc, ip, agent, explored, wall_stamp, wall_mark, trial, P)
            if is_hit and hit == 1:  # wall: penalty threshold
                _program(dev, oc, agent, t_cell * SLOTS + THR, ip[13], True)
                wall_stamp[agent, t_cell] = trial
                if ip[29] and wall_mark[agent, t_cell] == 1:
                    wall_mark[agent, t_cell] = 2
            if is_hit and hit == 2:  # corner: depress the synapse
                taken[agent, here, win] = False
                taken[agent, t_cell, (win + 4) % N_DIR] = False
                _program(dev, oc, agent, here * SLOTS + win, ip[14], True)
            if ip[20]:
                pot = moved and (s[win] < ip[15] or visited[t_safe])
            else:
                pot = moved
            if pot:
                _program(dev, oc, agent, here * SLOTS + win, ip[11], False)
            stay = 0 if moved else stay + 1
            if stay >= stuck_steps:
                _stuck(dev, oc, ip, agent, here, nbr)
                stay = 0
            if probed:  # re-plan from here
                _write_path(
                    dev, oc, ip, agent, here, nbr, orth, goal, has_cost, cost_known,
                    explored, wall_stamp, trial, probe_st, taken, usable, dist, queue, heap,
                    path, codes,
                )  # fmt: skip
                visited[:] = False
            fresh = moved and (not seen[agent, t_safe] or t_cls == 0)
            bored = 0 if fresh else bored + (1 if moved else 0)
            if moved:
                visited[here] = True
                pos = t_cell
                explored[agent, t_cell] = True
                seen[agent, t_cell] = True
                wall_stamp[agent, t_cell] = -1
                wall_mark[agent, t_cell] = 0
                if has_cost:
                    cost_known[agent, t_cell] = cost_int[t_cell]
                    cost_sum[agent] += cost_int[t_cell]
                if win % 2 == 1:
                    taken[agent, here, win] = True
                    taken[agent, t_cell, (win + 4) % N_DIR] = True
                traj[agent, tl] = t_cell
                tl += 1
                moves += 1
            if is_hit:
                hits += 1
            steps += 1
            at_goal = moved and goal[t_safe]
            if at_goal:
                if _reward(
                    dev, oc, ip, agent, traj, tl, nbr, orth, goal, start, has_cost, cost_known,
                    explored, wall_stamp, trial, probe_st, taken, usable, dist, queue, heap,
                    path, codes,
                ):  # fmt: skip
                    return ERR_NO_PATH
                reached = True
            if ip[24] and not at_goal and bored >= ip[24]:
                _usable(explored, wall_stamp, agent, ip, trial, probe_st, usable)
                n = _frontier_path(usable, taken, seen, agent, nbr, orth, pos, parent, queue, path)
                if n >= 2:
                    _write_pointers(dev, oc, ip, agent, nbr, path, n, codes)
                bored = 0
            if at_goal or steps >= max_steps:
                break
        traj_len[agent] = tl
        out[agent, 0] = steps
        out[agent, 1] = 1 if reached else 0
        out[agent, 2] = ticks
        out[agent, 3] = moves
        out[agent, 4] = hits
    return 0


@njit(cache=True, _nrt=False)
def _stuck(dev, oc, ip, agent, here, nbr):  # noqa: ANN001, ANN202
    """SET the thresholds of the on-grid 3x3 neighbourhood to NOMINAL, row-major:
    NW, N, NE, W, here, E, SW, S, SE (absent where off the grid)."""
    order = (7, 0, 1, 6, -1, 2, 5, 4, 3)
    for j in range(9):
        d = order[j]
        cell = here if d < 0 else nbr[here, d]
        if cell >= 0:
            _program(dev, oc, agent, cell * SLOTS + THR, ip[10], False)


@njit(cache=True, _nrt=False)
def _reward(  # noqa: ANN202, PLR0913
    dev, oc, ip, agent, traj, tl, nbr, orth, goal, start, has_cost, cost_known,  # noqa: ANN001
    explored, wall_stamp, trial, probe_st, taken, usable, dist, queue, heap, path,  # noqa: ANN001
    codes,  # noqa: ANN001
):  # fmt: skip
    if not ip[19]:  # the last K visited places, oldest first
        for i in range(max(0, tl - ip[16]), tl):
            _program(dev, oc, agent, traj[agent, i] * SLOTS + THR, ip[8], False)
        return False
    return _write_path(
        dev, oc, ip, agent, start, nbr, orth, goal, has_cost, cost_known,
        explored, wall_stamp, trial, probe_st, taken, usable, dist, queue, heap, path, codes,
    ) == 0  # fmt: skip


@njit(cache=True, _nrt=False)
def _write_path(  # noqa: ANN202, PLR0913
    dev, oc, ip, agent, start, nbr, orth, goal, has_cost, cost_known,  # noqa: ANN001
    explored, wall_stamp, trial, probe_st, taken, usable, dist, queue, heap, path,  # noqa: ANN001
    codes,  # noqa: ANN001
):  # fmt: skip
    """Navigator._write_path: plan from ``start``, write thresholds and pointers; the
    path's length (0: no path; a path of one place writes nothing)."""
    _usable(explored, wall_stamp, agent, ip, trial, probe_st, usable)
    if has_cost:
        n = _cheapest_path(usable, taken, agent, nbr, orth, start, goal, cost_known, dist, heap,
                           path)  # fmt: skip
    else:
        n = _bfs_path(usable, taken, agent, nbr, orth, start, goal, dist, queue, path)
    if n < 2:
        return n
    probe_st[2, agent] = probe_st[1, agent]
    for i in range(n):
        cell = path[i]
        if _classify(_read(dev, oc, agent, cell * SLOTS + THR), ip) != 0:
            _program(dev, oc, agent, cell * SLOTS + THR, ip[8], False)
        if i < n - 1:
            _pointer_row(dev, oc, ip, agent, nbr, cell, path[i + 1], codes)
    return n


def _drop_stale_cache() -> None:
    """numba's on-disk cache is keyed by this file alone, not by the device draws it
    compiles in from memrl.sim.devices; drop the cached kernels when those change."""
    from memrl.sim.devices import siox, streams

    cache = getattr(run_trials, "_cache", None)
    path = getattr(cache, "_cache_path", None)
    if not path or not os.path.isdir(path):
        return
    digest = hashlib.sha256()
    for mod in (streams, siox):
        digest.update(Path(mod.__file__).read_bytes())
    marker = Path(path) / "navigator_kernel.deps"
    try:
        if marker.exists() and marker.read_text() == digest.hexdigest():
            return
        for f in Path(path).glob("navigator_kernel.*.nb[ic]"):
            f.unlink(missing_ok=True)
        marker.write_text(digest.hexdigest())
    except OSError:  # a read-only install: numba then compiles in memory
        pass


_drop_stale_cache()
