"""Simulation check of FineGray against a true Fine-Gray model (Fine & Gray 1999, section 5 design).

Cause 1 has subdistribution CIF F1(t | Z) = 1 - (1 - p (1 - exp(-t)))^exp(Z'b1); given cause 2,
T ~ Exponential(rate exp(Z'b2)); Z1 ~ N(0, 1), Z2 ~ Bernoulli(0.5); uniform censoring.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from cohortstat.models.finegray import FineGray

B1 = np.array([0.5, -0.5])
B2 = np.array([-0.5, 0.5])
P = 0.3


def simulate(rng: np.random.Generator, n: int) -> pd.DataFrame:
    Z = np.column_stack([rng.normal(size=n), rng.integers(0, 2, size=n)])
    e1 = np.exp(Z @ B1)
    p1 = 1 - (1 - P) ** e1
    u = rng.uniform(size=n)
    cause1 = u < p1
    # invert F1(t)/p1 on cause-1 cases: 1 - p(1 - e^-t) = (1 - u)^(1/e1)
    with np.errstate(divide="ignore", invalid="ignore"):
        t1 = -np.log(1 - (1 - (1 - u) ** (1 / e1)) / P)
    t2 = rng.exponential(1 / np.exp(Z @ B2))
    t = np.where(cause1, t1, t2)
    c = rng.uniform(0, 3, size=n)
    event = np.where(c < t, 0, np.where(cause1, 1, 2))
    return pd.DataFrame({"time": np.minimum(t, c), "event": event, "z1": Z[:, 0], "z2": Z[:, 1]})


@pytest.mark.slow
def test_bias_and_coverage():
    rng = np.random.default_rng(19990601)
    reps, n = 1000, 400
    est = np.empty((reps, 2))
    ses = np.empty((reps, 2))
    cover = np.empty((reps, 2), dtype=bool)
    zq = stats.norm.ppf(0.975)
    for r in range(reps):
        res = FineGray(cause=1).fit(simulate(rng, n), duration="time", event="event", covariates=["z1", "z2"])
        b, se = res.coef.to_numpy(), res.se.to_numpy()
        est[r] = b
        ses[r] = se
        cover[r] = np.abs(b - B1) <= zq * se
    bias = est.mean(axis=0) - B1
    coverage = cover.mean(axis=0)
    assert np.all(np.abs(bias) < 0.03), bias
    assert np.all((coverage >= 0.93) & (coverage <= 0.97)), coverage
    # the crr sandwich SE agrees with the empirical spread of the estimates (within 10%)
    assert np.all(np.abs(ses.mean(axis=0) / est.std(axis=0, ddof=1) - 1) < 0.10)
