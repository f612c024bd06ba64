"""Serving crossbar port words from a 1T1R model: what every crossbar bus model shares.

:class:`CrossbarServer` takes the words of :mod:`memrl.rtl.crossbar.port` one
at a time and applies them to a :class:`~memrl.sim.devices.OneT1RPort`: a run
of READ, SET or RESET words (up to the one with ``last`` set) as one batched
port call, and the VMMs of a pass (up to the VMM word with ``last`` set) as
one batched :meth:`~memrl.sim.devices.OneT1RPort.vmm` call: the calls
:class:`memrl.sim.crossbar.golden.CrossbarQNet` makes for the same operations. So
the model's noise and its log are those of the golden model. It
checks that every VMM names consecutive ascending rows and columns and that
the VMMs of a pass name the same columns; a pass's call spans the window from
its first row to its last, each VMM's other rows at code 0 (a row read-back
drives one row per VMM). It refuses words the port does not define.

The amaranth.sim responder (:mod:`memrl.sim.crossbar.amaranth_port`) and the cocotb
bus model are timing around it.
"""

from __future__ import annotations

import numpy as np

from memrl.rtl.crossbar.port import CrossbarPortSignature, XbarOp
from memrl.sim.devices import OneT1RPort

__all__ = ["CrossbarServer"]


def _signed(v: int, bits: int) -> int:
    v &= (1 << bits) - 1
    return v - (1 << bits) if v >> (bits - 1) else v


class CrossbarServer:
    """Applies crossbar port words to ``port`` (see the module docstring)."""

    def __init__(self, port: OneT1RPort, signature: CrossbarPortSignature) -> None:
        if (port.array.rows, port.array.cols) != (signature.rows, signature.cols):
            raise ValueError(
                f"the port's array is {port.array.rows}x{port.array.cols}, the signature "
                f"{signature.rows}x{signature.cols}"
            )
        self.port, self.sig = port, signature
        self._rows: list[tuple[int, int]] = []  # (row, code) since the last VMM
        self._gains: list[tuple[int, int]] = []  # (col, gain) since the last VMM
        self._pass: list[tuple[tuple[int, ...], tuple[int, ...], int, np.ndarray, np.ndarray]] = []
        self._dev: list[tuple[int, int, int]] = []  # a run of READ, SET or RESET words

    @property
    def open_pass(self) -> bool:
        """VMMs are waiting for the end of their pass."""
        return bool(self._pass or self._rows or self._gains)

    def word(self, op: int, row: int, col: int, arg: int, last: int) -> list[int]:
        """Apply one word; the response payloads it releases, in order."""
        sig = self.sig
        addr = row * sig.cols + col
        if op in (XbarOp.READ.value, XbarOp.SET.value, XbarOp.RESET.value):
            name = XbarOp(op).name
            if self.open_pass:
                raise ValueError(f"{name} of row {row}, column {col} inside an unfinished VMM pass")
            if row >= sig.rows or col >= sig.cols:
                raise ValueError(f"{name} of row {row}, column {col}: outside the array")
            if self._dev and self._dev[0][0] != op:
                raise ValueError(
                    f"{name} inside a run of {XbarOp(self._dev[0][0]).name} words not yet ended"
                )
            self._dev.append((op, addr, arg))
            return self._run_devices() if last else []
        if self._dev:
            raise ValueError(
                f"{XbarOp(op).name if op in XbarOp._value2member_map_ else op} inside a run of "
                f"{XbarOp(self._dev[0][0]).name} words not yet ended"
            )
        if op == XbarOp.ROW.value:
            self._rows.append((row, _signed(arg, sig.dac_bits)))
            return []
        if op == XbarOp.GAIN.value:
            self._gains.append((col, arg))
            return []
        if op != XbarOp.VMM.value:
            raise ValueError(f"unknown crossbar port operation {op}")
        self._close_vmm(bool(arg & 1))
        if not last:
            return []
        return self._run_pass()

    def _run_devices(self) -> list[int]:
        op = self._dev[0][0]
        addrs = [a for _, a, _ in self._dev]
        levels = [v for _, _, v in self._dev]
        self._dev = []
        if op == XbarOp.READ.value:
            return [int(v) for v in self.port.read(addrs)]
        if op == XbarOp.SET.value:
            self.port.set(addrs, levels)
        else:
            self.port.reset(addrs)
        return []

    def _close_vmm(self, pairs: bool) -> None:
        if not self._rows or not self._gains:
            raise ValueError("a VMM needs at least one ROW word and one GAIN word before it")
        rows = tuple(r for r, _ in self._rows)
        cols = tuple(col for col, _ in self._gains)
        stride = 2 if pairs else 1
        if rows != tuple(range(rows[0], rows[0] + len(rows))):
            raise ValueError(f"VMM rows must be consecutive and ascending (got {rows})")
        if cols != tuple(range(cols[0], cols[0] + stride * len(cols), stride)):
            raise ValueError(f"VMM columns must be consecutive and ascending (got {cols})")
        if self._pass and (self._pass[0][1], self._pass[0][2]) != (cols, pairs):
            raise ValueError("every VMM of a pass must name the same columns")
        codes = np.array([v for _, v in self._rows], dtype=np.int64)
        gains = np.array([g for _, g in self._gains], dtype=np.int64)
        self._pass.append((rows, cols, pairs, codes, gains))
        self._rows, self._gains = [], []

    def _run_pass(self) -> list[int]:
        _, cols, pairs, _, _ = self._pass[0]
        # The pass's window: from its first row to its last; a VMM's rows outside
        # its own are at 0 V (code 0).
        r0 = min(p[0][0] for p in self._pass)
        r1 = max(p[0][-1] for p in self._pass) + 1
        codes = np.zeros((len(self._pass), r1 - r0), dtype=np.int64)
        for k, p in enumerate(self._pass):
            codes[k, p[0][0] - r0 : p[0][-1] + 1 - r0] = p[3]
        gains = np.stack([p[4] for p in self._pass])
        n_dev_cols = 2 * len(cols) if pairs else len(cols)
        out = self.port.vmm(
            codes,
            slice(r0, r1),
            slice(cols[0], cols[0] + n_dev_cols),
            gain=gains,
            col_pairs=pairs,
        )
        self._pass = []
        mask = (1 << self.sig.code_bits) - 1
        return [int(v) & mask for v in out.ravel()]
