"""The crr path's test for a coefficient running to infinity (coxph's rule) on crr's estimate."""

import importlib.util
import pathlib
import warnings

import numpy as np
import pandas as pd
import pytest

from cohortstat.errors import ConvergenceWarning
from cohortstat.models.finegray import FineGray


def _simulation_module():
    path = pathlib.Path(__file__).with_name("test_finegray_simulation.py")
    spec = importlib.util.spec_from_file_location("_fg_simulation", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_an_ordinary_fit_stopped_by_crrs_gradient_rule_is_not_flagged():
    # replicate 72 of the simulation check: crr converges (coefficients near 0.59 and -0.07); crr's
    # gradient rule leaves a Newton step of ~1e-6, larger than sqrt(eps) |beta| for the small one
    sim = _simulation_module()
    rng = np.random.default_rng(19990601)
    for _ in range(73):
        df = sim.simulate(rng, 400)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        res = FineGray(cause=1).fit(df, duration="time", event="event", covariates=["z1", "z2"])
    assert res.infinite == ()
    assert res.converged
    assert np.all(np.abs(res.coef.to_numpy()) < 1)


def test_a_level_without_events_is_flagged_as_infinite():
    rng = np.random.default_rng(5)
    n = 400
    z = rng.integers(0, 2, n).astype(float)
    x = rng.normal(size=n)
    t = rng.exponential(1.0, n)
    event = rng.choice([0, 1, 2], size=n, p=[0.4, 0.3, 0.3])
    event[(z == 1) & (event == 1)] = 2  # no event of the cause at z = 1
    df = pd.DataFrame({"time": t, "event": event, "z": z, "x": x})
    with pytest.warns(ConvergenceWarning, match="Loglik converged before variable z"):
        res = FineGray(cause=1).fit(df, duration="time", event="event", covariates=["z", "x"])
    assert res.infinite == ("z",)
    assert res.coef["z"] < -5
