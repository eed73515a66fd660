"""Allocations inside functions: directly, two calls deep, and inside a library module (whose frames are
not in the case file, so the calling line owns them)."""

import _acc
import _lib
import numpy as np

MiB = 1 << 20


def make(n):
    return np.ones(n)  # truth[large]: in_function


def outer(n):
    return inner(n)


def inner(n):
    return bytearray(n)  # truth[large]: nested


_acc.begin()
a = make(10_000_000)
b = outer(90 * MiB)
c = _lib.allocate(12_000_000)  # truth[large]: via_library
_acc.truth("in_function", a.nbytes)
_acc.truth("nested", len(b))
_acc.truth("via_library", c.nbytes)
_acc.peak()
_acc.end()
