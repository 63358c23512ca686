"""Propensity score, IPTW and overlap weights, and the balance of the weights they give (the one SMD of
the analysis layer, ``cohortstat.analysis.balance.balance_table``): hand-checked values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from cohortstat.analysis.balance import balance_table
from cohortstat.errors import ConvergenceWarning, ModelInputError
from cohortstat.models.weighting import (
    iptw_weights,
    overlap_weights,
    propensity_score,
)


def test_iptw_hand():
    ps = [0.2, 0.5, 0.8, 0.4]
    t = [1, 1, 0, 0]
    # treated 1/ps, control 1/(1-ps)
    assert iptw_weights(ps, t, stabilized=False) == pytest.approx([5.0, 2.0, 5.0, 1 / 0.6])
    # stabilized: times P(T=1) = 1/2 for treated, P(T=0) = 1/2 for controls
    assert iptw_weights(ps, t) == pytest.approx([2.5, 1.0, 2.5, 1 / 1.2])
    # unequal groups: P(T=1) = 1/3
    assert iptw_weights([0.5, 0.25, 0.5], [1, 0, 0]) == pytest.approx([2 / 3, (4 / 3) * (2 / 3), 4 / 3])


def test_overlap_hand():
    assert overlap_weights([0.2, 0.5, 0.8, 0.4], [1, 1, 0, 0]) == pytest.approx([0.8, 0.5, 0.8, 0.4])


def test_weights_reject_bad_scores():
    with pytest.raises(ModelInputError, match="strictly between 0 and 1"):
        iptw_weights([0.0, 0.5], [1, 0])
    with pytest.raises(ModelInputError, match="aligned"):
        overlap_weights([0.5, 0.5], [1, 0, 1])
    with pytest.raises(ModelInputError, match="coded 0"):
        overlap_weights([0.5, 0.5], [1, 3])


def test_smd_hand():
    df = pd.DataFrame(
        {
            "t": [1, 1, 1, 0, 0, 0],
            "x": [1.0, 2.0, 3.0, 2.0, 4.0, 6.0],
            "b": [1, 1, 0, 1, 0, 0],
        }
    )
    out = balance_table(df, exposure="t", covariates=["x", "b"]).set_index("covariate")
    # continuous: means 2 and 4, sample variances 1 and 4 -> -2 / sqrt(2.5)
    assert out.loc["x", "mean_exposed"] == 2.0 and out.loc["x", "mean_reference"] == 4.0
    assert out.loc["x", "smd"] == pytest.approx(-2 / math.sqrt(2.5), rel=1e-14)
    assert out.loc["x", "kind"] == "continuous"
    # binary: p = 2/3 and 1/3, variances p(1-p) = 2/9 each -> (1/3) / sqrt(2/9)
    assert out.loc["b", "smd"] == pytest.approx((1 / 3) / math.sqrt(2 / 9), rel=1e-14)
    assert out.loc["b", "kind"] == "binary"


def test_smd_weighted_hand():
    df = pd.DataFrame({"t": [1, 1, 1, 0, 0, 0], "x": [1.0, 2.0, 3.0, 2.0, 4.0, 6.0], "w": [1, 1, 2, 1, 1, 1]})
    out = balance_table(df, exposure="t", covariates=["x"], weights="w").iloc[0]
    # exposed: mean (1+2+6)/4 = 2.25; var = 4/(16-6) * (1.5625 + 0.0625 + 2*0.5625) = 1.1
    assert out["mean_exposed"] == pytest.approx(2.25)
    assert out["smd"] == pytest.approx(-1.75 / math.sqrt((1.1 + 4.0) / 2), rel=1e-14)
    # unit weights give the unweighted value
    a = balance_table(df, exposure="t", covariates=["x"], weights=np.ones(6))
    b = balance_table(df, exposure="t", covariates=["x"])
    assert a["smd"].iloc[0] == pytest.approx(b["smd"].iloc[0], rel=1e-14)


def test_smd_categorical_and_constant():
    df = pd.DataFrame({"t": [1, 1, 0, 0], "c": ["a", "b", "a", "a"], "k": [5, 5, 5, 5]})
    out = balance_table(df, exposure="t", covariates=["c", "k"]).set_index("covariate")
    assert list(out.index) == ["c[a]", "c[b]", "k"]
    # c[a]: p = 1/2 vs 1 -> -0.5 / sqrt((1/4 + 0)/2)
    assert out.loc["c[a]", "smd"] == pytest.approx(-0.5 / math.sqrt(0.125))
    assert out.loc["k", "smd"] == 0.0


def test_propensity_score_saturated_hand():
    # one binary covariate: the fitted score is the treated share in each level (MLE of a saturated
    # model): x=0 -> 1 of 4, x=1 -> 2 of 4 treated. Overall treated fraction 3/8.
    df = pd.DataFrame({"t": [1, 0, 0, 0, 1, 1, 0, 0], "x": [0, 0, 0, 0, 1, 1, 1, 1]})
    ps = propensity_score(df, treatment="t", covariates=["x"])
    assert ps.ps == pytest.approx([0.25] * 4 + [0.5] * 4, abs=1e-10)
    coef = ps.coef.set_index("term")["coef"]
    assert coef["Intercept"] == pytest.approx(math.log(1 / 3), abs=1e-9)
    assert coef["x"] == pytest.approx(math.log(1.0) - math.log(1 / 3), abs=1e-9)
    assert ps.logit_ps == pytest.approx(np.log(ps.ps / (1 - ps.ps)), abs=1e-12)
    # preference score (Walker 2013): logit(pref) = logit(ps) - logit(3/8)
    pref_logit = np.log(ps.preference / (1 - ps.preference))
    assert pref_logit == pytest.approx(ps.logit_ps - math.log(3 / 5), abs=1e-12)
    assert ps.treated_fraction == 3 / 8 and ps.n == 8 and ps.n_treated == 3 and ps.converged
    assert list(ps.coef.columns) == ["term", "coef", "se", "z", "p", "odds_ratio"]
    # standard error of the slope: sqrt(1/1 + 1/3 + 1/2 + 1/2) (log odds ratio of a 2x2 table)
    se = ps.coef.set_index("term").loc["x", "se"]
    assert se == pytest.approx(math.sqrt(1 + 1 / 3 + 1 / 2 + 1 / 2), rel=1e-6)


def test_propensity_score_categorical_terms():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"t": rng.integers(0, 2, 200), "c": rng.choice(["x", "y", "z"], 200)})
    ps = propensity_score(df, treatment="t", covariates=["c"])
    assert ps.coef["term"].tolist() == ["Intercept", "c[y]", "c[z]"]
    for level in "xyz":
        m = (df["c"] == level).to_numpy()
        assert ps.ps[m] == pytest.approx(df["t"][m].mean(), abs=1e-8)


def test_propensity_score_separation_warns():
    df = pd.DataFrame({"t": [0, 0, 0, 1, 1, 1], "x": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]})
    with pytest.warns(ConvergenceWarning, match="separation|did not converge"):
        propensity_score(df, treatment="t", covariates=["x"])


def test_propensity_score_bad_input():
    df = pd.DataFrame({"t": [1, 1, 1], "x": [1.0, 2.0, 3.0]})
    with pytest.raises(ModelInputError, match="only one group"):
        propensity_score(df, treatment="t", covariates=["x"])
    with pytest.raises(ModelInputError, match=r"covariate column\(s\) \['y'\] not found"):
        propensity_score(df.assign(t=[1, 0, 1]), treatment="t", covariates=["y"])
    with pytest.raises(ModelInputError, match="missing"):
        propensity_score(df.assign(t=[1, 0, 1], x=[1.0, np.nan, 2.0]), treatment="t", covariates=["x"],
                         missing="raise")


def test_propensity_score_drops_missing_rows_with_a_note():
    rng = np.random.default_rng(4)
    df = pd.DataFrame({"t": rng.integers(0, 2, 200), "x": rng.normal(size=200)})
    df.loc[[3, 17], "x"] = np.nan
    ps = propensity_score(df, treatment="t", covariates=["x"])
    ref = propensity_score(df.drop(index=[3, 17]), treatment="t", covariates=["x"])
    assert np.isnan(ps.ps[[3, 17]]).all() and ps.n == 198
    np.testing.assert_allclose(np.delete(ps.ps, [3, 17]), ref.ps, rtol=1e-12)
    assert "2 row(s) dropped for missing values (x 2)" in ps.notes


def test_propensity_score_collinear_and_zero_columns():
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"t": rng.integers(0, 2, 100), "x": rng.normal(size=100)})
    with pytest.raises(ModelInputError, match="collinear"):
        propensity_score(df.assign(y=2 * df["x"] + 1), treatment="t", covariates=["x", "y"])
    with pytest.raises(ModelInputError, match="are all 0"):
        propensity_score(df.assign(z=0.0), treatment="t", covariates=["x", "z"])


def test_propensity_summary_text():
    rng = np.random.default_rng(9)
    df = pd.DataFrame({"t": rng.integers(0, 2, 300), "x": rng.normal(size=300), "b": rng.random(300) < 0.5})
    ps = propensity_score(df, treatment="t", covariates=["x", "b"])
    text = ps.summary()
    assert "Propensity score" in text and "b[True]" in text and "converged" in text
    assert not ps.ps.flags.writeable
