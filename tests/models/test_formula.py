"""R-style formulas give the same fits as the column API."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cohortstat.errors import ModelInputError
from cohortstat.models import CoxPH, FineGray
from cohortstat.models.formula import parse_formula

COVS = ["g", "b", "k", "x"]


def _frame(n=400, seed=11):
    rng = np.random.default_rng(seed)
    g = pd.Categorical(rng.choice(["low", "mid", "high"], n), categories=["low", "mid", "high"])
    b = rng.random(n) < 0.4
    x = rng.normal(size=n)
    t = rng.exponential(1 / np.exp(0.3 * (np.asarray(g) == "high") + 0.4 * b + 0.2 * x))
    c = rng.exponential(2.0, n)
    return pd.DataFrame({
        "time": np.minimum(t, c).round(3) + 0.001,
        "event": np.where(t <= c, rng.choice([1, 2], n, p=[0.6, 0.4]), 0),
        "g": g, "b": b, "k": pd.Series(rng.choice([2, 10, 1], n), dtype=object), "x": x,
        "exposure": (rng.random(n) < 0.5).astype(int),
    })


def _df():
    df = _frame()
    rng = np.random.default_rng(2)
    df["age_band"] = pd.Categorical(rng.choice(["<40", "40-64", "65+"], len(df)), categories=["<40", "40-64", "65+"])
    df["site"] = np.arange(len(df)) % 3
    df["sex"] = rng.choice(["M", "F"], len(df))
    return df


def test_formula_equals_column_api_cox_and_finegray():
    df = _df()
    a = CoxPH.from_formula("Surv(time, event) ~ g + b + k + x + strata(site)", df)
    c = CoxPH().fit(df, "time", "event", COVS, strata="site")
    assert a.terms == c.terms and a.strata == c.strata == "site"
    np.testing.assert_allclose(a.coef, c.coef, rtol=1e-10)
    np.testing.assert_allclose(a.var, c.var, rtol=1e-10)
    for variance in ("crr", "robust"):
        f = FineGray.from_formula("Crr(time, event, cause=2) ~ g + b + k + x", df, variance=variance)
        g = FineGray(cause=2, variance=variance).fit(df, "time", "event", COVS)
        assert f.terms == g.terms and f.cause == 2
        np.testing.assert_allclose(f.coef, g.coef, rtol=1e-10)
        np.testing.assert_allclose(f.variance_used, g.variance_used, rtol=1e-9)


def test_interaction_and_joint_test():
    df = _df()
    res = CoxPH.from_formula("Surv(time, event) ~ exposure * age_band + C(sex) + strata(site)", df)
    assert res.terms == ("exposure", "age_band[40-64]", "age_band[65+]", "sex[M]",
                         "exposure:age_band[40-64]", "exposure:age_band[65+]")
    # the same model from hand-made product columns
    man = df.assign(**{f"e_{lv}": df["exposure"] * (df["age_band"] == lv) for lv in ("40-64", "65+")})
    ref = CoxPH().fit(man, "time", "event", ["exposure", "age_band", "sex", "e_40-64", "e_65+"], strata="site")
    np.testing.assert_allclose(res.coef, ref.coef, rtol=1e-10)
    t = res.test("exposure:age_band")
    assert t.df == 2 and t.stat == pytest.approx(ref.test(["e_40-64", "e_65+"]).stat, rel=1e-9)
    assert res.test("age_band").df == 2


def test_splines_rebuild_for_new_data():
    df = _df()
    res = FineGray.from_formula("Crr(time, event, cause=1) ~ bs(x, df=3) + b", df)
    assert res.test("bs(x, df=3)").df == 3
    # cr() is a partition of unity: centre it (as mgcv does) so that it is not collinear with the baseline
    cr = CoxPH.from_formula("Surv(time, event) ~ cr(x, df=3, constraints='center') + b", df)
    assert cr.test("cr(x, df=3, constraints='center')").df == 3
    X = res.design.matrix(df)
    np.testing.assert_allclose(res.design.matrix(df.iloc[[7, 3]]), X[[7, 3]], rtol=1e-12)
    cif = res.predict_cif(df.iloc[[0]])
    assert (np.diff(cif["cif"]) >= 0).all()


def test_missing_rows_dropped_once_with_note():
    df = _df()
    df.loc[[1, 2], "x"] = np.nan
    a = CoxPH.from_formula("Surv(time, event) ~ x + g", df)
    b = CoxPH().fit(df, "time", "event", ["x", "g"])
    assert a.n == b.n == len(df) - 2 and "2 row(s) dropped for missing values (x 2)" in a.notes
    np.testing.assert_allclose(a.coef, b.coef, rtol=1e-10)


def test_formula_errors():
    df = _df()
    with pytest.raises(ModelInputError, match="left-hand side"):
        CoxPH.from_formula("time ~ x", df)
    with pytest.raises(ModelInputError, match="Crr\\(\\) is for FineGray"):
        CoxPH.from_formula("Crr(time, event, cause=1) ~ x", df)
    with pytest.raises(ModelInputError, match="not found"):
        CoxPH.from_formula("Surv(tme, event) ~ x", df)
    pf = parse_formula("Surv(start, stop, status) ~ a + strata(s1, s2) + cluster(id)")
    assert (pf.entry, pf.time, pf.event, pf.strata, pf.cluster, pf.rhs) == ("start", "stop", "status", ("s1", "s2"), "id", "a")
