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


def _censoring_km_minus(t, ev, at):
    """KM of censoring just before ``at`` (failures at a censoring time count as at risk, as crr)."""
    out = np.ones_like(at, dtype=float)
    for c in np.unique(t[ev == 0]):
        factor = 1.0 - np.sum((t == c) & (ev == 0)) / np.sum(t >= c)
        out[at > c] *= factor
    return out


def _finegray_expansion(df: pd.DataFrame, site: str, time: str, event: str) -> pd.DataFrame:
    """crr's weighted risk sets as counting-process rows: competing-event subjects stay at risk after
    their event at each later failure time u of their site with weight G(u-)/G(t-)."""
    rows = []
    for _, g in df.groupby(site, sort=True):
        t, ev = g[time].to_numpy(), g[event].to_numpy()
        uft = np.unique(t[ev == 1])
        G_u = _censoring_km_minus(t, ev, uft)
        base = g.assign(start=0.0, stop=t, status=(ev == 1).astype(int), w=1.0)
        rows.append(base)
        comp = g.loc[ev == 2]
        G_t = _censoring_km_minus(t, ev, comp[time].to_numpy())
        for (_, r), gt in zip(comp.iterrows(), G_t):
            later = uft[uft > r[time]]
            if not later.size:
                continue
            prev = np.concatenate([[r[time]], later[:-1]])
            wts = G_u[np.searchsorted(uft, later)] / gt
            keep = wts > 0
            ext = pd.DataFrame({c: r[c] for c in df.columns}, index=range(int(keep.sum())))
            rows.append(ext.assign(start=prev[keep], stop=later[keep], status=0, w=wts[keep]))
    return pd.concat(rows, ignore_index=True)


@pytest.fixture
def finegray_expansion():
    """crr's weighted risk sets as (start, stop] rows with weight ``w`` and ``status`` (see _finegray_expansion)."""
    return _finegray_expansion
