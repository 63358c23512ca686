"""Fine-Gray says when it fails (both variances), as Cox does, and converges on any covariate scale."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cohortstat.errors import ConvergenceWarning
from cohortstat.models import CoxPH, FineGray


def _data(seed=5, n=400):
    rng = np.random.default_rng(seed)
    g = rng.integers(0, 2, n)
    x = rng.normal(size=n)
    t = rng.exponential(1 / np.exp(0.5 * x))
    c = rng.exponential(2.0, n)
    cause = rng.choice([1, 2], n, p=[0.6, 0.4])
    ev = np.where(t <= c, cause, 0)
    return pd.DataFrame({"time": np.minimum(t, c), "event": ev, "g": g, "x": x})


@pytest.mark.parametrize("variance", ["crr", "robust"])
def test_no_event_in_one_group_is_flagged_like_cox(variance):
    df = _data()
    df.loc[(df["g"] == 1) & (df["event"] == 1), "event"] = 0
    with pytest.warns(ConvergenceWarning, match="Loglik converged before variable g"):
        res = FineGray(variance=variance).fit(df, "time", "event", ["g", "x"])
    with pytest.warns(ConvergenceWarning, match="Loglik converged before variable g"):
        cox = CoxPH().fit(df, "time", "event", ["g", "x"])
    assert res.infinite == cox.infinite == ("g",)
    assert res.coef["g"] < -10 and any("coefficient may be infinite" in n for n in res.notes)
    assert "possibly infinite estimate(s): g" in res.summary()


@pytest.mark.parametrize("variance", ["crr", "robust"])
def test_separating_covariate_is_flagged(variance):
    df = _data(seed=8, n=200)
    # z orders the cause-1 failures perfectly: each one has the largest z of its risk set
    tmax = df["time"].max()
    for z in (np.where(df["event"] == 1, -df["time"] / tmax, -1.5),
              np.where(df["event"] == 1, -df["time"].rank(), -len(df))):  # on a scale that overflows exp()
        with pytest.warns(ConvergenceWarning, match="coefficient may be infinite"):
            res = FineGray(variance=variance).fit(df.assign(z=z), "time", "event", ["z"])
        assert res.coef["z"] > 10 / np.abs(z).max()
        assert res.infinite == ("z",) or not res.converged
        assert np.isfinite(res.loglik)


@pytest.mark.parametrize("variance", ["crr", "robust"])
@pytest.mark.parametrize("scale", [1e-5, 1e5])
def test_rescaled_covariate_gives_rescaled_coefficient(variance, scale):
    df = _data()
    base = FineGray(variance=variance).fit(df, "time", "event", ["x"])
    res = FineGray(variance=variance).fit(df.assign(x=df["x"] * scale), "time", "event", ["x"])
    assert res.iterations > 0 and res.converged and base.coef["x"] > 0.2
    assert res.coef["x"] * scale == pytest.approx(base.coef["x"], rel=1e-8)
    assert res.se["x"] * scale == pytest.approx(base.se["x"], rel=1e-6)
    assert res.loglik == pytest.approx(base.loglik, rel=1e-12)
