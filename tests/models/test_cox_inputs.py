"""Input validation of CoxPH: typed errors whose messages say what to do."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cohortstat.errors import ModelInputError
from cohortstat.models.cox import CoxPH, CoxResult


def _df(n=60, seed=3):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "time": rng.integers(1, 50, n).astype(float), "event": rng.integers(0, 3, n),
        "x": rng.normal(size=n), "g": rng.choice(["b", "a", "c"], n), "w": rng.uniform(0.5, 2, n),
        "id": np.arange(n) // 2,
    })


def test_options_after_covariates_are_keyword_only():
    with pytest.raises(TypeError):
        CoxPH().fit(_df(), "time", "event", ["x"], "g")


def test_strata_list_equals_combined_column():
    df = _df(200).assign(s1=lambda d: d["id"] % 2, s2=lambda d: d["id"] % 3)
    a = CoxPH().fit(df, "time", "event", ["x"], strata=["s1", "s2"])
    b = CoxPH().fit(df.assign(s=df["s1"].astype(str) + "/" + df["s2"].astype(str)), "time", "event", ["x"], strata="s")
    c = CoxPH().fit(df, "time", "event", ["x"], strata=["s1"])
    assert a.coef["x"] == pytest.approx(b.coef["x"], rel=1e-12) and a.loglik == pytest.approx(b.loglik, rel=1e-12)
    assert a.strata == ("s1", "s2") and c.strata == ("s1",)
    assert set(a.baseline_hazard()["stratum"]) <= {f"s1={i}, s2={j}" for i in range(2) for j in range(3)}


def test_lung_status_coding_is_refused_with_hint():
    df = _df().assign(status=lambda d: np.where(d["event"] > 0, 2, 1))
    with pytest.raises(ModelInputError, match=r"recode: event = status - 1"):
        CoxPH().fit(df, "time", "status", ["x"])
    # declared competing codes: allowed, and any other code raises
    res = CoxPH(competing=[2]).fit(df, "time", "status", ["x"])
    assert res.n_events == int((df["status"] == 1).sum())
    with pytest.raises(ModelInputError, match=r"code\(s\) \[2\] besides 0"):
        CoxPH(competing=[3]).fit(_df(), "time", "event", ["x"])


def test_result_arrays_are_read_only():
    res = CoxPH().fit(_df(), "time", "event", ["x", "g"], robust=True)
    for a in (res.coef.to_numpy(), res.se.to_numpy(), res.robust_se.to_numpy(), res.var, res.robust_var):
        with pytest.raises(ValueError):
            a[0] = 1.0
    with pytest.raises(ValueError):
        res.coef.iloc[0] = 1.0
    text = res.summary()
    assert "Cox proportional hazards" in text and "likelihood ratio test" in text and "converged" in text
    assert res.ph_test().equals(__import__("cohortstat.models", fromlist=["ph_test"]).ph_test(res))


def test_unknown_column():
    with pytest.raises(ModelInputError, match=r"covariate column\(s\) \[.nope.\] not found"):
        CoxPH().fit(_df(), "time", "event", ["x", "nope"])
    with pytest.raises(ModelInputError, match="survival column.* not found"):
        CoxPH().fit(_df(), "tme", "event", ["x"])


def test_nan_in_covariate_and_time_raise_or_drop():
    df = _df()
    df.loc[4, "x"] = np.nan
    with pytest.raises(ModelInputError, match=r"column 'x' has 1 missing value\(s\) \(first at row 4\)"):
        CoxPH().fit(df, "time", "event", ["x"], missing="raise")
    df.loc[2, "time"] = np.nan
    res = CoxPH().fit(df, "time", "event", ["x"])
    ref = CoxPH().fit(df.drop(index=[2, 4]), "time", "event", ["x"])
    assert res.n == 58 and res.coef["x"] == ref.coef["x"]
    assert "2 row(s) dropped for missing values (x 1, time 1)" in res.notes
    df.loc[3, "x"] = np.inf
    with pytest.raises(ModelInputError, match="covariate column 'x' has 1 missing or infinite"):
        CoxPH().fit(df, "time", "event", ["x"])


def test_negative_time():
    df = _df()
    df.loc[7, "time"] = -1.0
    with pytest.raises(ModelInputError, match="negative value"):
        CoxPH().fit(df, "time", "event", ["x"])


def test_constant_covariate():
    df = _df().assign(c=1.0)
    with pytest.raises(ModelInputError, match="covariate 'c' is constant"):
        CoxPH().fit(df, "time", "event", ["x", "c"])


def test_collinear_columns():
    df = _df()
    df["x2"] = 2 * df["x"] + 1
    with pytest.raises(ModelInputError, match=r"covariate 'x2' is collinear with \['x'\]"):
        CoxPH().fit(df, "time", "event", ["x", "x2"])


def test_bad_options_and_weights():
    with pytest.raises(ModelInputError, match="ties must be"):
        CoxPH(ties="exact")
    df = _df()
    df.loc[0, "w"] = 0.0
    with pytest.raises(ModelInputError, match="weights column 'w' has 1 value"):
        CoxPH().fit(df, "time", "event", ["x"], weights="w")
    with pytest.raises(ModelInputError, match="event column"):
        CoxPH().fit(_df().assign(event=0.5), "time", "event", ["x"])


def test_dummy_coding_first_sorted_level_is_reference():
    res = CoxPH().fit(_df(), "time", "event", ["x", "g"])
    assert list(res.coef.index) == ["x", "g[b]", "g[c]"]
    # a Categorical keeps its category order: reference 'c'
    cat = _df().assign(g=lambda d: pd.Categorical(d["g"], categories=["c", "b", "a"]))
    res2 = CoxPH().fit(cat, "time", "event", ["x", "g"])
    assert list(res2.coef.index) == ["x", "g[b]", "g[a]"]
    assert res2.design.references == {"g": "c"}
    # the same model, reparametrised: g[b] - g[c] in one equals g[b] in the other
    assert res2.coef["g[b]"] == pytest.approx(res.coef["g[b]"] - res.coef["g[c]"], rel=1e-9)
    assert res2.loglik == pytest.approx(res.loglik, rel=1e-12)


def test_result_is_immutable_and_table_columns():
    res = CoxPH().fit(_df(), "time", "event", ["x", "g"], cluster="id")
    assert isinstance(res, CoxResult)
    with pytest.raises(AttributeError):
        res.loglik = 0.0
    tab = res.table()
    assert list(tab.columns) == ["term", "coef", "hr", "se", "robust_se", "ci_lower", "ci_upper", "z", "p"]
    z = 1.959963984540054
    np.testing.assert_allclose(tab["ci_lower"], np.exp(res.coef - z * res.robust_se), rtol=1e-12)
    assert any("other causes treated as censored" in n for n in res.notes)
    assert any("clustered on 'id'" in n for n in res.notes)


def test_cause_two_models_other_code():
    df = _df()
    a = CoxPH(cause=2).fit(df, "time", "event", ["x"])
    b = CoxPH(cause=1).fit(df.assign(event=(df["event"] == 2).astype(int)), "time", "event", ["x"])
    assert a.coef["x"] == pytest.approx(b.coef["x"], rel=1e-12)


def test_non_integer_weights_note():
    res = CoxPH().fit(_df(), "time", "event", ["x"], weights="w")
    assert any("robust=True" in n for n in res.notes)


def test_adjusted_survival_curves():
    df = _df(200)
    res = CoxPH().fit(df, "time", "event", ["x", "g"])
    curves = res.adjusted_survival(df, "g")
    assert set(curves["group"]) == {"a", "b", "c"}
    for _, c in curves.groupby("group"):
        s = c["survival"].to_numpy()
        assert np.all(np.diff(s) <= 1e-15) and 0 < s[-1] < 1
    # level with the larger hazard ratio has the lower curve
    hr_b, hr_c = res.hazard_ratio["g[b]"], res.hazard_ratio["g[c]"]
    last = curves.groupby("group")["survival"].last()
    assert (last["b"] < last["c"]) == (hr_b > hr_c)


def test_running_out_of_iterations_warns_and_returns_last_good_estimate():
    from cohortstat.errors import ConvergenceWarning

    df = _df(300)
    full = CoxPH().fit(df, "time", "event", ["x", "g"])
    with pytest.warns(ConvergenceWarning, match=r"Ran out of iterations \(2\)"):
        res = CoxPH(iter_max=2).fit(df, "time", "event", ["x", "g"])
    assert not res.converged and res.iterations == 3  # iter_max + 1, as R
    assert res.loglik <= full.loglik + 1e-12
    np.testing.assert_allclose(res.coef, full.coef, rtol=1e-2)


def test_dfbeta_cross_product_is_the_robust_variance():
    df = _df(300)
    res = CoxPH().fit(df, "time", "event", ["x", "g"], robust=True)
    d = res.dfbeta().to_numpy()
    np.testing.assert_allclose(d.T @ d, res.robust_var, rtol=1e-12)
    # score residuals sum (weighted) to the score at the estimate, ~0
    assert np.abs(res.score_residuals().to_numpy().sum(axis=0)).max() < 1e-8
