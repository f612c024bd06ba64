"""The navigator's side of the RRAM port: every request and every response.

A step's reads go out as a queue: the synapse row of the place (one
READ_ROW), then the threshold devices of the on-grid targets in direction
order (off-grid ones are dropped, not issued), one request per cycle while
``req.ready`` allows; their responses come back in request order and are
routed to the neurons. Every other request is the learning rule's, prepared a
cycle ahead in registers (:class:`~memrl.rtl.navigator.rule.LearningRule`):
either issued and waited for (its response, ``got_code``, decides what comes
next) or posted (the sequencer goes on once it is accepted, and a counter of
outstanding responses takes them as they arrive, ahead of the next step's
readings: the port keeps order). Every request field comes from a register.
"""

from __future__ import annotations

from amaranth import Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from memrl.rtl.navigator.config import DIRECTIONS, SLOTS, THR, NavigatorConfig, offset
from memrl.rtl.navigator.integrators import Readings
from memrl.rtl.navigator.port import RRAMOp, RRAMPortSignature

__all__ = ["RequestControl", "RequestUnit"]


class RequestControl(wiring.Signature):
    """The sequencer's side of the port's control:

    * ``begin`` (strobe): a step begins: load the read queue for the position;
    * ``reads`` (the read phase): stream the queue and take its responses;
    * ``reads_done`` (to the sequencer): every reading is taken (this cycle or
      before);
    * ``issue``: drive the prepared request (``req.valid``);
    * ``accepted`` (to the sequencer): ``req.ready``;
    * ``post``: the request being issued is posted: its response is drained
      later;
    * ``wait``: take the response of the issued request once every posted one
      is drained;
    * ``answered`` (to the sequencer): that response is here (``got_code``
      holds it from the next cycle);
    * ``drained`` (to the sequencer): no posted response is outstanding.
    """

    def __init__(self) -> None:
        super().__init__(
            {
                "begin": Out(1),
                "reads": Out(1),
                "reads_done": In(1),
                "issue": Out(1),
                "accepted": In(1),
                "post": Out(1),
                "wait": Out(1),
                "answered": In(1),
                "drained": In(1),
            }
        )


class RequestUnit(wiring.Component):
    """The read queue of a step and the issue of the rule's requests.

    Ports:

    * ``rram``: the RRAM port (controller side, eight lanes);
    * ``ctl``: :class:`RequestControl` (from the sequencer);
    * ``here9``: the position's device base (the row READ's address; the
      threshold devices are at constant offsets from it); ``on_grid``: the
      targets on the grid (both taken at ``ctl.begin``, ``here9`` held during
      the reads);
    * ``op``, ``addr``, ``level``: the prepared request (registers);
    * ``readings``: :class:`~memrl.rtl.navigator.integrators.Readings`, the
      step's responses, to the neurons;
    * ``got_code``: the code of the last waited-for response; ``got_row``:
      its whole payload (a READ_ROW's eight codes).
    """

    def __init__(self, config: NavigatorConfig) -> None:
        self.config = c = config
        ab = c.addr_bits
        super().__init__(
            {
                "rram": Out(RRAMPortSignature(ab, lanes=8)),
                "ctl": In(RequestControl()),
                "here9": In(ab),
                "on_grid": In(8),
                "op": In(3),
                "addr": In(ab),
                "level": In(4),
                "readings": Out(Readings()),
                "got_code": Out(8),
                "got_row": Out(64),
            }
        )

    def elaborate(self, platform: object) -> Module:
        m = Module()
        c = self.config
        ctl = self.ctl
        req, resp = self.rram.req, self.rram.resp
        ab = c.addr_bits
        code = resp.payload[:8]  # lane 0: the code of a READ
        W = c.width
        off_thr = [SLOTS * (dr * W + dc) + THR for dr, dc in DIRECTIONS]

        # The read queue: the synapse row, then the eight threshold devices in
        # direction order; ``rq_head`` is the address of its head, the position's
        # plus a constant, registered a cycle ahead.
        rq_head = Signal(ab)
        rq_hot = Signal(9)  # which entry the head is (one-hot)
        rq_on = Signal(9)  # the queue entry is a READ to issue (on-grid target)
        rq_live = Signal(9)  # the queue entry is still to be taken from the queue
        row_sent = Signal()  # the synapse row READ_ROW is accepted
        row_got = Signal()  # the synapse row is answered
        r_hot = Signal(9)  # next target whose threshold reading is taken (one-hot)
        r_valid = Signal(8)  # on-grid bits of the targets from ``r_hot`` on (shifted)

        # Posted requests: ``drain`` counts the responses still to be taken (they
        # precede every later response, the port keeps order).
        drain = Signal(2)
        posted = Signal()
        drained = Signal()
        idle_resp = Signal(init=1)  # drain == 0: responses belong to the current state
        drain_next = Signal(2)
        m.d.comb += [
            resp.ready.eq(~idle_resp),
            drained.eq(~idle_resp & resp.valid),
            drain_next.eq(drain + posted - drained),
        ]
        m.d.sync += [drain.eq(drain_next), idle_resp.eq(drain_next == 0)]
        m.d.comb += [
            ctl.accepted.eq(req.ready),
            ctl.answered.eq(idle_resp & resp.valid),
            ctl.drained.eq(idle_resp),
            posted.eq(ctl.post & req.ready),
        ]

        m.d.comb += [
            req.payload.op.eq(Mux(ctl.reads, Mux(row_sent, RRAMOp.READ, RRAMOp.READ_ROW), self.op)),
            req.payload.addr.eq(Mux(ctl.reads, rq_head, self.addr)),
            req.payload.level.eq(Mux(ctl.reads, 0, self.level)),
            self.readings.data.eq(resp.payload),
            self.readings.target.eq(r_hot[:8]),
        ]

        with m.If(ctl.begin):
            m.d.sync += [
                rq_head.eq(self.here9),
                rq_on.eq(Cat(Const(1, 1), self.on_grid)),
                rq_live.eq(0x1FF),
                row_sent.eq(0),
                row_got.eq(0),
                r_hot.eq(1),
                r_valid.eq(self.on_grid),
                rq_hot.eq(1),
            ]

        r_step = Signal()  # the reading of target ``r_hot`` is taken, or it has none
        with m.If(ctl.reads):
            r_on = r_valid[0]
            with m.If(rq_live[0]):
                m.d.comb += req.valid.eq(rq_on[0])
                with m.If(~rq_on[0] | req.ready):
                    m.d.sync += [rq_on.eq(rq_on >> 1), rq_live.eq(rq_live >> 1)]
                    # entry i + 1 is the threshold device of direction i
                    m.d.sync += [
                        rq_hot.eq(rq_hot << 1),
                        rq_head.eq(self.here9 + offset(rq_hot, off_thr, ab)),
                    ]
                with m.If(rq_on[0] & req.ready):
                    m.d.sync += row_sent.eq(1)

            # Responses come in request order: after the row, a response is the
            # reading of the target at ``r_hot`` (off-grid targets are skipped).
            with m.If(idle_resp):
                with m.If(~row_got):
                    m.d.comb += resp.ready.eq(1)
                    with m.If(resp.valid):
                        m.d.sync += row_got.eq(1)
                        m.d.comb += self.readings.row.eq(1)
                with m.Elif(~r_hot[8]):
                    with m.If(r_on):
                        m.d.comb += resp.ready.eq(1)
                        with m.If(resp.valid):
                            m.d.comb += [r_step.eq(1), self.readings.threshold.eq(1)]
                    with m.Else():  # off the grid: nothing to read (the neuron is idle)
                        m.d.comb += r_step.eq(1)
            with m.If(r_step):
                m.d.sync += [r_hot.eq(r_hot << 1), r_valid.eq(r_valid >> 1)]
        m.d.comb += ctl.reads_done.eq(r_hot[8] | (r_hot[7] & r_step))

        # The rule's requests: issued, then posted or waited for.
        with m.If(ctl.issue):
            m.d.comb += req.valid.eq(1)
        with m.If(ctl.wait & idle_resp):
            m.d.comb += resp.ready.eq(1)
            with m.If(resp.valid):
                m.d.sync += self.got_code.eq(code)
                if c.planner:  # planned paths read synapse rows
                    m.d.sync += self.got_row.eq(resp.payload)
        return m
