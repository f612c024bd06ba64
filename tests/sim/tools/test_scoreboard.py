"""The scoreboard names the first difference of two streams."""

from __future__ import annotations

import numpy as np
import pytest

from memrl.sim.tools.scoreboard import Mismatch, check_streams, first_mismatch


def test_equal_streams_pass_and_lists_equal_tuples():
    check_streams("ops", [(0, 1, 0, 5), (1, 2, 3, -1)], [[0, 1, 0, 5], [1, 2, 3, -1]])
    assert first_mismatch([1, 2], [1, 2]) is None


def test_first_difference_and_length_are_reported():
    with pytest.raises(Mismatch, match=r"ops: first difference at item 1") as err:
        check_streams("ops", [(0, 1, 0, 5), (2, 97, 12, -1)], [(0, 1, 0, 5), (2, 8, 12, -1)])
    assert "got (2, 97, 12, -1), expected (2, 8, 12, -1)" in str(err.value)
    assert first_mismatch([1, 2, 3], [1, 2]) == 2


def test_arrays_are_compared_row_by_row():
    a = np.array([[0, 1, 0, 5], [1, 2, 3, -1], [0, 4, 0, 9]])
    assert first_mismatch(a, a.copy()) is None
    b = a.copy()
    b[2, 3] = 8
    assert first_mismatch(a, b) == 2
    assert first_mismatch(a, a[:2]) == 2
    with pytest.raises(Mismatch, match=r"got \(0, 4, 0, 9\), expected \(0, 4, 0, 8\)"):
        check_streams("ops", a, b)
