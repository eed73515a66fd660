"""Allocations made in two threads (numpy, which releases the GIL, and a bytearray); the main thread
holds the results at the peak."""

import threading

import _acc
import numpy as np

MiB = 1 << 20
held = []


def worker():
    arr = np.ones(8_000_000)  # truth[large]: thread_numpy
    buf = bytearray(50 * MiB)  # truth[large]: thread_bytearray
    held.append((arr, buf))


_acc.begin()
threads = [threading.Thread(target=worker) for _ in range(2)]
for t in threads:
    t.start()
for t in threads:
    t.join()
for arr, buf in held:
    _acc.truth("thread_numpy", arr.nbytes)
    _acc.truth("thread_bytearray", len(buf))
_acc.peak()
_acc.end()
