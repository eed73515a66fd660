"""A pandas pipeline: construct a frame, derive columns, group by, merge."""

import json
import os
import time

import numpy as np
import pandas as pd

SCALE = float(os.environ.get("BENCH_SCALE", "1"))
ROUNDS = max(1, int(2 * SCALE))
N = 600_000


def pipeline(rng):
    df = pd.DataFrame(
        {
            "key": rng.integers(0, 10_000, N),
            "cat": pd.Categorical(rng.choice(["a", "b", "c", "d"], N)),
            "x": rng.random(N),
            "y": rng.normal(size=N),
        }
    )
    df["z"] = df["x"] * df["y"]
    agg = df.groupby("key").agg(x_mean=("x", "mean"), z_sum=("z", "sum"), n=("y", "size"))
    by_cat = df.groupby(["cat", "key"], observed=True)["y"].mean().reset_index()
    merged = df.merge(agg, left_on="key", right_index=True).merge(by_cat, on=["cat", "key"])
    return float(merged["z_sum"].iloc[0]) + len(merged)


t0 = time.perf_counter()
rng = np.random.default_rng(0)
total = 0.0
for _ in range(ROUNDS):
    total += pipeline(rng)
print(json.dumps({"work_s": time.perf_counter() - t0, "checksum": total}))
