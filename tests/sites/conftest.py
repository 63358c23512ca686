"""Fixtures of the multi-site tests: small simulated multi-site analysis tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def _multisite_frame(seed: int = 3, sizes=(500, 350, 120), with_region: bool = True) -> pd.DataFrame:
    """Competing-risks data (0 censored, 1 outcome, 2 death) of several sites with different baselines.

    Integer-day times (many ties), an exposure, a continuous and a categorical covariate; the last
    site lacks the region level "west" (an all-zero dummy column there).
    """
    rng = np.random.default_rng(seed)
    parts = []
    for s, n in enumerate(sizes):
        exposure = rng.binomial(1, 0.3 + 0.1 * s, n)
        age = rng.normal(60 + 5 * s, 12, n).round(0)
        levels = ["east", "north", "west"] if s < len(sizes) - 1 else ["east", "north"]
        region = rng.choice(levels, n)
        lp = 0.5 * exposure + 0.02 * (age - 60) + 0.3 * (region == "north")
        t1 = rng.exponential(1.0 / (0.002 * (1 + s) * np.exp(lp)))
        t2 = rng.exponential(1.0 / (0.001 * (2 - 0.5 * s) * np.exp(0.3 * exposure)))
        c = rng.uniform(200, 1500, n)
        t = np.ceil(np.minimum(np.minimum(t1, t2), c) / 7.0) * 7.0  # weekly: ties
        ev = np.where(t1 <= np.minimum(t2, c), 1, np.where(t2 <= c, 2, 0))
        parts.append(pd.DataFrame({"site": f"site{s + 1}", "exposure": exposure, "age": age, "region": region,
                                   "time_x": t, "event_x": ev.astype(float)}))
    df = pd.concat(parts, ignore_index=True)
    if not with_region:
        df = df.drop(columns="region")
    return df


@pytest.fixture
def multisite_frame():
    """The simulator of multi-site competing-risks frames (call it with seed, sizes, with_region)."""
    return _multisite_frame
