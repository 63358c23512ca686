"""ph_test (R cox.zph): transforms, term grouping, errors. R agreement: test_cox_reference.py."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cohortstat.errors import ModelInputError
from cohortstat.models.cox import CoxPH
from cohortstat.models.ph_test import _km_left, ph_test, time_transform


def _df(n=400, seed=5, nonph=False):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    g = rng.choice(["a", "b", "c"], n)
    t = rng.exponential(1 / np.exp(0.5 * x), n)
    if nonph:  # effect of x reverses over time: hazard ratio not constant
        t = np.where(x > 0, rng.exponential(1.0, n) ** 0.3, rng.exponential(1.0, n) ** 3)
    c = rng.uniform(0, 3, n)
    return pd.DataFrame({"time": np.round(np.minimum(t, c), 2) + 0.01, "event": (t <= c).astype(int), "x": x, "g": g})


def test_km_transform_is_one_minus_left_continuous_km():
    time = np.array([1.0, 2, 2, 3, 4, 5])
    status = np.array([1, 1, 0, 1, 0, 1])
    got = _km_left(time, status, None)
    # KM: S(1) = 5/6, S(2) = 5/6 * 4/5 = 2/3, S(3) = 2/3 * 2/3 = 4/9, S(5) = 0
    want = 1 - np.array([1, 5 / 6, 5 / 6, 2 / 3, 4 / 9, 4 / 9])
    np.testing.assert_allclose(got, want, rtol=1e-15)


def test_rank_and_log_transforms():
    time = np.array([3.0, 1, 2, 2])
    np.testing.assert_allclose(time_transform(time, np.ones(4), None, "rank"), [4, 1, 2.5, 2.5])
    np.testing.assert_allclose(time_transform(time, np.ones(4), None, "log"), np.log(time))


def test_factor_is_one_term_with_several_df():
    res = CoxPH().fit(_df(), "time", "event", ["x", "g"])
    z = ph_test(res)
    assert list(z.index) == ["x", "g", "GLOBAL"]
    assert list(z["df"]) == [1, 2, 3]
    assert ((z["p"] > 0) & (z["p"] <= 1)).all()


def test_detects_non_proportional_hazards():
    res = CoxPH().fit(_df(nonph=True), "time", "event", ["x"])
    assert ph_test(res, "km").loc["x", "p"] < 1e-4
    res_ph = CoxPH().fit(_df(), "time", "event", ["x"])
    assert ph_test(res_ph, "km").loc["x", "p"] > 1e-3


def test_errors():
    res = CoxPH().fit(_df(), "time", "event", ["x"])
    with pytest.raises(ModelInputError, match="transform must be one of"):
        ph_test(res, transform="spline")
    with pytest.raises(ModelInputError, match="needs the result of CoxPH"):
        ph_test("not a result")
