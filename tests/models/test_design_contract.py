"""One design object and one result contract across CoxPH, FineGray and the propensity score."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cohortstat.errors import ModelInputError
from cohortstat.models import CoxPH, FineGray, propensity_score
from cohortstat.models._results import RegressionResult, TestResult
from cohortstat.models.design import DesignSpec


def _frame(n=400, seed=11):
    rng = np.random.default_rng(seed)
    g = pd.Categorical(rng.choice(["low", "mid", "high"], n), categories=["low", "mid", "high"])
    b = rng.random(n) < 0.4
    k = pd.Series(rng.choice([2, 10, 1], n), dtype=object)  # object column of ints
    x = rng.normal(size=n)
    lp = 0.3 * (np.asarray(g) == "high") + 0.4 * b + 0.2 * x
    t = rng.exponential(1 / np.exp(lp))
    c = rng.exponential(2.0, n)
    cause = rng.choice([1, 2], n, p=[0.6, 0.4])
    return pd.DataFrame({
        "time": np.minimum(t, c).round(3) + 0.001, "event": np.where(t <= c, cause, 0),
        "g": g, "b": b, "k": k, "x": x, "exposure": (rng.random(n) < 0.5).astype(int),
    })


COVS = ["g", "b", "k", "x"]
TERMS = ("g[mid]", "g[high]", "b[True]", "k[2]", "k[10]", "x")


def test_same_terms_and_references_in_every_model():
    df = _frame()
    spec = DesignSpec.from_frame(df, COVS)
    assert spec.terms == TERMS
    assert spec.references == {"g": "low", "b": False, "k": 1}
    cox = CoxPH().fit(df, "time", "event", COVS)
    fg = FineGray().fit(df, "time", "event", COVS)
    fgr = FineGray(variance="robust").fit(df, "time", "event", COVS)
    ps = propensity_score(df, treatment="exposure", covariates=COVS)
    assert cox.terms == fg.terms == fgr.terms == TERMS
    assert tuple(ps.coef["term"][1:]) == TERMS
    for res in (cox, fg, fgr, ps):
        assert res.design == spec


def test_design_rebuilds_new_data_and_refuses_unseen_levels():
    df = _frame()
    spec = DesignSpec.from_frame(df, COVS)
    new = df.iloc[:5].copy()
    X = spec.matrix(new)
    np.testing.assert_array_equal(X, spec.matrix(df)[:5])
    # a frame holding a single level still gets every fitted column
    one = df.iloc[:1]
    assert spec.matrix(one).shape == (1, len(TERMS))
    with pytest.raises(ModelInputError, match="level 'top' not seen"):
        spec.matrix(new.assign(g=pd.Categorical(["top"] * 5)))


def test_missing_policy_identical_in_every_model():
    df = _frame()
    df.loc[[5, 9], "x"] = np.nan
    df.loc[12, "g"] = np.nan
    note = "3 row(s) dropped for missing values (g 1, x 2)"
    cox = CoxPH().fit(df, "time", "event", COVS)
    fg = FineGray().fit(df, "time", "event", COVS)
    ps = propensity_score(df, treatment="exposure", covariates=COVS)
    assert note in cox.notes and note in fg.notes and note in ps.notes
    assert cox.n == fg.n == ps.n == len(df) - 3
    for call in (lambda: CoxPH().fit(df, "time", "event", COVS, missing="raise"),
                 lambda: FineGray().fit(df, "time", "event", COVS, missing="raise"),
                 lambda: propensity_score(df, treatment="exposure", covariates=COVS, missing="raise")):
        with pytest.raises(ModelInputError, match="missing value"):
            call()


def test_finegray_result_is_a_regression_result():
    df = _frame()
    for variance in ("crr", "robust"):
        res = FineGray(variance=variance).fit(df, "time", "event", ["x", "b"])
        assert isinstance(res, RegressionResult)
        assert isinstance(res.wald_test, TestResult) and isinstance(res.lr_test, TestResult)
        tab = res.table(level=0.9)
        assert list(tab.columns) == ["term", "coef", "hr", "se", "robust_se", "ci_lower", "ci_upper", "z", "p"]
        np.testing.assert_allclose(res.se, np.sqrt(np.diag(res.var)), rtol=1e-12)
        if variance == "robust":
            np.testing.assert_allclose(res.robust_se, np.sqrt(np.diag(res.robust_var)), rtol=1e-12)
        assert "Fine-Gray" in res.summary() and "Wald test" in res.summary()
        with pytest.raises(ValueError):
            res.coef.iloc[0] = 0.0
        with pytest.raises(TypeError):
            FineGray(variance=variance).fit(df, "time", "event", ["x"], None)


def test_joint_wald_test_of_a_factor():
    df = _frame()
    res = CoxPH().fit(df, "time", "event", COVS)
    t = res.test("g")
    idx = [0, 1]
    b = res.coef.to_numpy()[idx]
    assert t.df == 2 and t.stat == pytest.approx(float(b @ np.linalg.solve(res.var[np.ix_(idx, idx)], b)))
    assert res.test(["g[mid]", "g[high]"]).stat == pytest.approx(t.stat)
    with pytest.raises(ModelInputError, match="no model term matches 'nope'"):
        res.test("nope")
    # likelihood-ratio: equals refitting without the factor
    lr = res.test("g", method="lr")
    reduced = CoxPH().fit(df, "time", "event", ["b", "k", "x"])
    assert lr.df == 2 and lr.stat == pytest.approx(2 * (res.loglik - reduced.loglik), rel=1e-9)
    assert res.test(COVS, method="lr").stat == pytest.approx(res.lr_test.stat, rel=1e-12)
    with pytest.raises(ModelInputError, match="no likelihood-ratio test"):
        FineGray().fit(df, "time", "event", COVS).test("g", method="lr")


BOOK1 = pd.DataFrame({"time": [9, 3, 1, 1, 6, 6, 8], "status": [1, np.nan, 1, 0, 1, 1, 0],
                      "x": [0, 2, 1, 1, 1, 0, 0]})


@pytest.mark.parametrize("ties,k,beta,loglik,var", [
    # R survival 3.5-3: coxph(Surv(time, status) ~ x, test1, iter.max = k, ties = ties) (tests/book1.R data)
    ("breslow", 1, 1.6, -3.82961961549337, 1.64038957651591),
    ("breslow", 2, 1.47272353224548, -3.82475158580783, 1.57569352706283),
    ("efron", 1, 1.87951807228916, -3.3713155542682, 1.73656624577193),
    ("efron", 2, 1.67018604961156, -3.35898848189605, 1.62940117495182),
])
def test_iter_max_matches_r_book1(ties, k, beta, loglik, var):
    from cohortstat.errors import ConvergenceWarning

    with pytest.warns(ConvergenceWarning, match="Ran out of iterations"):
        res = CoxPH(ties=ties, iter_max=k).fit(BOOK1, "time", "status", ["x"])
    assert res.coef["x"] == pytest.approx(beta, rel=1e-12)  # breslow, one step: exactly 8/5
    assert res.loglik == pytest.approx(loglik, rel=1e-12)
    assert res.var[0, 0] == pytest.approx(var, rel=1e-12)
    assert res.iterations == k + 1 and not res.converged
    assert "1 row(s) dropped for missing values (status 1)" in res.notes
