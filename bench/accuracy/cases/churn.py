"""Small-object churn: a list of 1 M small dicts and a list of 1 M tuples, while as many again are built
and dropped. Truth is the bytes each line left allocated (see _acc.mark)."""

import _acc

N = 1_000_000
_acc.begin()
for _ in range(2):
    scratch = [(i + 1000, i) for i in range(N // 2)]
    del scratch
m = _acc.mark()
rows = [{"a": i + 1000, "b": i + 1001} for i in range(N)]  # truth[small]: dicts
m = _acc.truth_since("dicts", m)
pairs = [(i + 1000, f"s{i}") for i in range(N)]  # truth[small]: tuples
_acc.truth_since("tuples", m)
_acc.peak()
_acc.end()
