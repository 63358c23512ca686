"""Pathological datasets for CoxPH: each converges or raises a typed error with diagnostics."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from cohortstat.errors import ConvergenceWarning, ModelInputError
from cohortstat.models.cox import CoxPH
from cohortstat.models.ph_test import ph_test


def _rng():
    return np.random.default_rng(20261122)


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_separation_warns_naming_the_term(ties):
    # every event is in the exposed group: monotone likelihood, beta(exposure) -> +inf
    rng = _rng()
    n = 200
    exposure = np.repeat([0, 1], n // 2)
    time = rng.integers(1, 100, n).astype(float)
    event = np.where(exposure == 1, rng.integers(0, 2, n), 0)
    df = pd.DataFrame({"time": time, "event": event, "exposure": exposure, "age": rng.normal(60, 10, n)})
    with pytest.warns(ConvergenceWarning, match=r"Loglik converged before variable exposure; coefficient may be infinite"):
        res = CoxPH(ties=ties).fit(df, "time", "event", ["exposure", "age"])
    assert res.coef["exposure"] > 5
    assert any("exposure" in n for n in res.notes)
    assert "age" not in [n for n in res.notes if "converged before" in n][0].split("variable")[1].split(";")[0]


def test_all_censored_raises():
    df = pd.DataFrame({"time": [1.0, 2, 3], "event": [0, 0, 0], "x": [1.0, 2, 3]})
    with pytest.raises(ModelInputError, match="no events of cause 1"):
        CoxPH().fit(df, "time", "event", ["x"])


def test_only_other_causes_raises():
    df = pd.DataFrame({"time": [1.0, 2, 3], "event": [2, 0, 2], "x": [1.0, 2, 3]})
    with pytest.raises(ModelInputError, match="no events of cause 1"):
        CoxPH().fit(df, "time", "event", ["x"])


def test_one_event_converges_to_closed_form():
    # one death at t=2 with risk set x = {1, 2, 4, 3}: LL = 2b - log(e^b + e^2b + e^4b + e^3b)... the
    # death has x = 2 so the maximum is finite; check score = 0 at the estimate.
    df = pd.DataFrame({"time": [1.0, 2, 3, 4, 5], "event": [0, 1, 0, 0, 0], "x": [5.0, 2, 1, 4, 3]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = CoxPH().fit(df, "time", "event", ["x"])
    b = res.coef["x"]
    xs = np.array([2.0, 1, 4, 3])
    r = np.exp(b * xs)
    assert 2 - (xs * r).sum() / r.sum() == pytest.approx(0.0, abs=1e-8)
    assert res.n_events == 1 and res.converged


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_ties_everywhere_converges(ties):
    # every subject exits on the same day, half of them with the event
    rng = _rng()
    n = 300
    x = rng.normal(size=n)
    event = (rng.random(n) < 1 / (1 + np.exp(-x))).astype(int)
    df = pd.DataFrame({"time": np.full(n, 30.0), "event": event, "x": x})
    res = CoxPH(ties=ties).fit(df, "time", "event", ["x"])
    assert res.converged and np.isfinite(res.coef["x"]) and res.coef["x"] > 0
    with pytest.raises(ModelInputError, match="two or more distinct times"):
        ph_test(res)  # one event time: nothing to test


def test_ties_everywhere_all_events_gives_zero():
    # all subjects die at the same time: every risk set is everyone, the score is 0 at beta = 0
    df = pd.DataFrame({"time": np.full(50, 3.0), "event": 1, "x": _rng().normal(size=50)})
    res = CoxPH(ties="breslow").fit(df, "time", "event", ["x"])
    assert res.coef["x"] == pytest.approx(0.0, abs=1e-12)


def test_zero_length_follow_up_without_entry_is_allowed():
    # time 0 rows (event on the index day) are at risk at time 0, as in R (Surv(0, 1) is valid)
    df = pd.DataFrame({"time": [0.0, 0, 1, 2, 3, 4, 5, 6], "event": [1, 0, 1, 0, 1, 1, 0, 1],
                       "x": [1.0, 0, 1, 0, 0, 1, 0, 1]})
    res = CoxPH().fit(df, "time", "event", ["x"])
    assert res.converged and res.n == 8 and res.n_events == 5


def test_zero_length_interval_with_entry_raises():
    df = pd.DataFrame({"start": [0.0, 2, 1], "time": [1.0, 2, 3], "event": [1, 1, 0], "x": [1.0, 0, 1]})
    with pytest.raises(ModelInputError, match=r"entry >= exit in 1 row\(s\) \(first at row 1"):
        CoxPH().fit(df, "time", "event", ["x"], entry="start")


def test_huge_covariate_scale_gives_the_rescaled_fit():
    # a covariate in thousands: Newton is scale-equivariant, the fit equals the rescaled one
    rng = _rng()
    n = 300
    x = rng.normal(size=n)
    t = rng.exponential(1 / np.exp(1.5 * x))
    df = pd.DataFrame({"time": np.round(t, 3) + 0.001, "event": (rng.random(n) < 0.8).astype(int), "x": x,
                       "xbig": x * 1e3})
    a = CoxPH().fit(df, "time", "event", ["x"])
    b = CoxPH().fit(df, "time", "event", ["xbig"])
    assert b.coef["xbig"] * 1e3 == pytest.approx(a.coef["x"], rel=1e-6)
    assert b.loglik == pytest.approx(a.loglik, rel=1e-12) and b.iterations == a.iterations
