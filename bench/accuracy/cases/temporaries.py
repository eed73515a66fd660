"""A temporary that is alive at the peak and freed before the end: it must show at the peak."""

import _acc
import numpy as np

_acc.begin()
kept = np.ones(10_000_000)  # truth[large]: kept
tmp = np.full(25_000_000, 2.0)  # truth[large]: temporary
_acc.truth("kept", kept.nbytes)
_acc.truth("temporary", tmp.nbytes)
_acc.peak()
del tmp
after = np.ones(1_000_000)
_acc.end()
