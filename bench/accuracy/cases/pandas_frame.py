"""pandas: a frame built from an array (pandas 3 copies it), a groupby result, a derived frame. The derived
frame comes last so that the groupby's temporaries (~40 MB) stay below the checkpoint's peak."""

import _acc
import numpy as np
import pandas as pd

_acc.begin()
arr = np.ones((1_500_000, 8))  # truth[large]: array
df = pd.DataFrame(arr, columns=list("abcdefgh"))  # truth[large]: frame
keys = np.arange(len(df)) % 100_000  # truth[large]: keys
grouped = df.groupby(keys).sum()  # truth[large]: grouped
scaled = df * 2.0  # truth[large]: scaled
_acc.truth("array", arr.nbytes)
_acc.truth("frame", df.memory_usage(index=False).sum())
_acc.truth("scaled", scaled.memory_usage(index=False).sum())
_acc.truth("keys", keys.nbytes)
_acc.truth("grouped", grouped.memory_usage(index=True, deep=True).sum())
_acc.peak()
_acc.end()
