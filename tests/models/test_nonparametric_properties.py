"""Identities between the non-parametric tools on random data with delayed entry and ties (seeded)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cohortstat.models import aalen_johansen, concordance, kaplan_meier, logrank_test


def _data(seed: int, n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    entry = rng.integers(0, 5, n).astype(float)
    return pd.DataFrame({"entry": entry, "time": entry + rng.integers(1, 20, n), "event": rng.integers(0, 3, n),
                         "g": rng.choice(["a", "b", "c"], n), "x": rng.integers(0, 8, n).astype(float)})


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("entry", [None, "entry"])
def test_cif_of_all_causes_is_one_minus_km(seed, entry):
    d = _data(seed)
    km = kaplan_meier(d, duration="time", event="event", entry=entry).set_index("time")["estimate"]
    total = pd.Series(0.0, index=km.index)
    for cause in (1, 2):
        aj = aalen_johansen(d, duration="time", event="event", cause=cause, entry=entry, variance="survfit")
        total += aj.set_index("time")["estimate"].reindex(km.index).ffill().fillna(0.0)
    assert np.allclose(total.to_numpy(), 1.0 - km.to_numpy(), atol=1e-13)


@pytest.mark.parametrize("seed", [1, 2])
def test_km_group_curve_is_the_subset_curve(seed):
    d = _data(seed)
    both = kaplan_meier(d, duration="time", event="event", group="g", entry="entry")
    alone = kaplan_meier(d[d["g"] == "b"], duration="time", event="event", entry="entry")
    pd.testing.assert_frame_equal(both[both["group"] == "b"].drop(columns="group").reset_index(drop=True), alone)


@pytest.mark.parametrize("seed", [1, 2])
def test_logrank_invariances(seed):
    d = _data(seed)
    r = logrank_test(d, duration="time", event="event", group="g", entry="entry", rho=1)
    # a strictly increasing transform of the time axis leaves every rank statistic unchanged
    t = logrank_test(d.assign(time=np.log1p(d["time"]), entry=np.log1p(d["entry"])), duration="time",
                     event="event", group="g", entry="entry", rho=1)
    assert t.stat == pytest.approx(r.stat, rel=1e-12)
    # relabelling the groups permutes observed / expected
    p = logrank_test(d.assign(g=d["g"].map({"a": "z", "b": "y", "c": "x"})), duration="time", event="event",
                     group="g", entry="entry", rho=1)
    assert p.stat == pytest.approx(r.stat, rel=1e-10)
    assert np.allclose(p.observed[::-1], r.observed, rtol=1e-13)
    assert r.observed.sum() == pytest.approx(r.expected.sum(), rel=1e-12)


@pytest.mark.parametrize("seed", [1, 2])
def test_concordance_invariances(seed):
    d = _data(seed)
    r = concordance(d, duration="time", event="event", score="x")
    m = concordance(d.assign(x=np.exp(d["x"] / 3)), duration="time", event="event", score="x")
    assert (m.concordance, m.se) == pytest.approx((r.concordance, r.se), rel=1e-12)
    f = concordance(d.assign(x=-d["x"]), duration="time", event="event", score="x", reverse=True)
    assert f.concordance == pytest.approx(r.concordance, rel=1e-12)
    assert f.counts.to_dict() == pytest.approx(r.counts.to_dict(), rel=1e-14)


def test_degenerate_inputs():
    d = pd.DataFrame({"time": [1.0, 2, 3, 4], "event": [0, 0, 0, 0], "g": ["a", "a", "b", "b"]})
    km = kaplan_meier(d, duration="time", event="event")
    assert np.all(km["estimate"] == 1.0) and np.all(km["ci_lower"] == 1.0)  # R: se 0, limits (1, 1)
    assert aalen_johansen(d, duration="time", event="event").empty
    r = logrank_test(d, duration="time", event="event", group="g")
    assert r.stat == 0.0 and np.isnan(r.p) and r.notes
    # everyone fails at once: S = 0 with NaN standard error and limits, as R
    km = kaplan_meier(pd.DataFrame({"time": [1.0, 1, 1], "event": [1, 1, 1]}), duration="time", event="event",
                      conf_type="plain")
    assert km["estimate"].tolist() == [0.0] and np.isnan(km["se"].iloc[0]) and np.isnan(km["ci_lower"].iloc[0])
