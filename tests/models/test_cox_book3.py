"""Hand-worked counting-process case (Therneau & Grambsch, appendix E; R survival tests/book3.R data):
closed forms of the Breslow log-likelihood, score, information, hazard and survival variance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cohortstat.errors import ConvergenceWarning
from cohortstat.models import CoxPH

TEST2 = pd.DataFrame({"start": [1, 2, 5, 2, 1, 7, 3, 4, 8, 8], "stop": [2, 3, 6, 7, 8, 9, 9, 9, 14, 17],
                      "event": [1, 1, 1, 1, 1, 1, 1, 0, 0, 0], "x": [1, 0, 0, 1, 0, 1, 1, 1, 0, 0]})
DEATH_TIMES = [2, 3, 6, 7, 8, 9]


def hand(beta: float, newx: float = 0.0) -> dict:
    """Closed forms at beta (deaths at 2, 3, 6, 7, 8, 9; two deaths at 9)."""
    r = np.exp(beta)
    loglik = 4 * beta - np.log(r + 1) - np.log(r + 2) - 3 * np.log(3 * r + 2) - 2 * np.log(3 * r + 1)
    u = 1 / (r + 1) + 1 / (3 * r + 1) + 4 / (3 * r + 2) - (r / (r + 2) + 3 * r / (3 * r + 2) + 3 * r / (3 * r + 1))
    imat = (r / (r + 1) ** 2 + 2 * r / (r + 2) ** 2 + 6 * r / (3 * r + 2) ** 2 + 6 * r / (3 * r + 1) ** 2
            + 12 * r / (3 * r + 2) ** 2)
    haz = np.array([1 / (r + 1), 1 / (r + 2), 1 / (3 * r + 2), 1 / (3 * r + 1), 1 / (3 * r + 1), 2 / (3 * r + 2)])
    xbar = np.array([r / (r + 1), r / (r + 2), 3 * r / (3 * r + 2), 3 * r / (3 * r + 1), 3 * r / (3 * r + 1),
                     3 * r / (3 * r + 2)])
    var_g = np.cumsum(haz ** 2 / np.array([1, 1, 1, 1, 1, 2]))
    var_d = np.cumsum((xbar - newx) * haz)
    return {"loglik": loglik, "u": u, "imat": imat, "cumhaz": np.cumsum(haz) * np.exp(beta * newx),
            "var": (var_g + var_d ** 2 / imat) * np.exp(2 * beta * newx)}


def _fit(df=TEST2, **kw):
    strata = "group" if "group" in df.columns else None
    return CoxPH(ties="breslow", **kw).fit(df, "stop", "event", ["x"], entry="start", strata=strata)


def test_one_iteration_is_one_newton_step():
    h0 = hand(0.0)
    beta1 = h0["u"] / h0["imat"]
    with pytest.warns(ConvergenceWarning):
        res = _fit(iter_max=1)
    assert res.coef["x"] == pytest.approx(beta1, rel=1e-12)
    h1 = hand(beta1)
    assert res.loglik == pytest.approx(h1["loglik"], rel=1e-12)  # loglik and variance of the same beta
    assert res.var[0, 0] == pytest.approx(1 / h1["imat"], rel=1e-12)
    assert res.iterations == 2 and res.loglik_null == pytest.approx(h0["loglik"], rel=1e-12)


def test_converged_fit_and_predicted_survival_variance():
    res = _fit()
    beta = res.coef["x"]
    h = hand(beta)
    assert abs(h["u"]) < 1e-8 and beta == pytest.approx(-0.084526081, rel=1e-7)
    assert res.var[0, 0] == pytest.approx(1 / h["imat"], rel=1e-9)
    for newx in (0.0, 1.0):
        hx = hand(beta, newx)
        p = res.predict_survival(pd.DataFrame({"x": [newx]}))
        assert list(p["time"]) == DEATH_TIMES
        np.testing.assert_allclose(p["cumhaz"], hx["cumhaz"], rtol=1e-10)
        np.testing.assert_allclose(p["se_cumhaz"] ** 2, hx["var"], rtol=1e-8)


def test_strata_of_shifted_copies():
    copies = pd.concat([TEST2.assign(group=g, start=TEST2["start"] + g, stop=TEST2["stop"] + g) for g in (1, 2, 3)],
                       ignore_index=True)
    h0 = hand(0.0)
    with pytest.warns(ConvergenceWarning):
        one = _fit(copies, iter_max=1)
    assert one.coef["x"] == pytest.approx(h0["u"] / h0["imat"], rel=1e-12)
    full = _fit(copies)
    h = hand(full.coef["x"])
    assert full.loglik == pytest.approx(3 * h["loglik"], rel=1e-10)
    assert 1 / full.var[0, 0] == pytest.approx(3 * h["imat"], rel=1e-8)
