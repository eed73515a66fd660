"""numpy arrays made by malloc (ones, random, arithmetic) and by calloc (zeros)."""

import _acc
import numpy as np

_acc.begin()
ones = np.ones(16_000_000)  # truth[large]: ones
zeros = np.zeros((3000, 4000))  # truth[large]: zeros
rnd = np.random.default_rng(0).random(6_000_000)  # truth[large]: random
prod = ones[:8_000_000] * 2.0  # truth[large]: product
for name, arr in (("ones", ones), ("zeros", zeros), ("random", rnd), ("product", prod)):
    _acc.truth(name, arr.nbytes)
_acc.peak()
_acc.end()
