"""The one SMD implementation: hand-worked values, the constant-group rule, and agreement between its users."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from cohortstat.analysis import balance_table, smd, smd_multinomial, smd_proportions, table_one
from cohortstat.analysis.balance import smd_from_summaries
from cohortstat.errors import ModelInputError


def test_continuous_and_binary_hand():
    # means 2 and 4, sample variances 1 and 4 -> -2 / sqrt(2.5)
    assert smd([1.0, 2.0, 3.0], [2.0, 4.0, 6.0]) == pytest.approx(-2 / math.sqrt(2.5), rel=1e-15)
    # 0/1 values: p = 2/3 and 1/3, variances p(1-p) = 2/9 each -> (1/3) / sqrt(2/9)
    assert smd([1, 1, 0], [1, 0, 0]) == pytest.approx((1 / 3) / math.sqrt(2 / 9), rel=1e-15)
    # forcing the continuous formula on 0/1 values uses the sample variances (1/3 each)
    assert smd([1, 1, 0], [1, 0, 0], binary=False) == pytest.approx((1 / 3) / math.sqrt(1 / 3), rel=1e-15)
    assert smd_proportions(2 / 3, 1 / 3, 3, 3) == pytest.approx(smd([1, 1, 0], [1, 0, 0]), rel=1e-15)


def test_equal_means_give_zero_whatever_the_spread():
    assert smd([5.0, 5.0, 5.0], [5.0, 5.0]) == 0.0          # both constant, same value
    assert smd([1.0, 3.0], [2.0, 2.0]) == 0.0               # same mean, one group constant
    assert smd([7.0], [7.0]) == 0.0                          # one person per group, same value
    assert smd_proportions(1.0, 1.0, 4, 9) == 0.0
    assert smd_proportions(0.0, 0.0, 4, 9) == 0.0


def test_constant_groups_at_different_values_use_the_pooled_sample_sd():
    # cobalt's rule: pooled within-group SD 0 -> SD of the two groups pooled into one sample.
    # [5, 5, 5] vs [3, 3]: pooled sample mean 4.2, variance (3 * 0.64 + 2 * 1.44) / 4 = 1.2
    assert smd([5.0, 5.0, 5.0], [3.0, 3.0]) == pytest.approx(2 / math.sqrt(1.2), rel=1e-15)
    # all exposed 1, all reference 0 (2 and 6 persons): pooled p = 1/4, variance 3/16
    assert smd([1, 1], [0] * 6) == pytest.approx(1 / math.sqrt(3 / 16), rel=1e-15)
    assert smd_proportions(1.0, 0.0, 2, 6) == pytest.approx(1 / math.sqrt(3 / 16), rel=1e-15)


def test_undefined_smd_is_nan():
    assert math.isnan(smd([], [1.0, 2.0]))                  # empty group
    assert math.isnan(smd([1.0], [2.0, 3.0]))               # continuous, one person, unequal means
    assert math.isnan(smd_proportions(0.5, 0.5, 0, 10))
    assert math.isnan(smd_multinomial([0.2, 0.3, 0.5], [0.2, 0.3, 0.5], 0, 10))


def test_multinomial_hand():
    # Yang & Dalton: d = (0, -0.3) without the first level, S = mean of the two multinomial covariances
    t, c = np.array([0.5, 0.3, 0.2]), np.array([0.2, 0.3, 0.5])
    s = np.array([[0.21, -0.105], [-0.105, 0.205]])
    d = np.array([0.0, -0.3])
    assert smd_multinomial(t, c, 100, 100) == pytest.approx(math.sqrt(d @ np.linalg.solve(s, d)), rel=1e-12)
    # two levels: the signed SMD of the first level's proportion
    assert smd_multinomial([0.6, 0.4], [0.5, 0.5], 10, 10) == smd_proportions(0.6, 0.5, 10, 10)


def test_balance_table_hand_weighted_and_unit_weights():
    df = pd.DataFrame({"e": [1, 1, 1, 0, 0, 0], "x": [1.0, 2.0, 3.0, 2.0, 4.0, 6.0], "w": [1, 1, 2, 1, 1, 1]})
    out = balance_table(df, exposure="e", covariates=["x"], weights="w").iloc[0]
    # exposed: mean (1+2+6)/4 = 2.25; reliability-weights variance 4/(16-6) * (1.5625+0.0625+2*0.5625) = 1.1
    assert out["mean_exposed"] == pytest.approx(2.25, rel=1e-15)
    assert out["smd"] == pytest.approx(-1.75 / math.sqrt((1.1 + 4.0) / 2), rel=1e-14)
    unweighted = balance_table(df, exposure="e", covariates=["x"]).iloc[0]
    assert unweighted["smd"] == pytest.approx(smd(df["x"][:3], df["x"][3:]), rel=1e-14)
    assert list(balance_table(df, exposure="e", covariates=["x"]).columns) == [
        "covariate", "kind", "mean_exposed", "mean_reference", "smd"]


def test_balance_table_categorical_and_constant_rules():
    df = pd.DataFrame({"e": [1, 1, 0, 0], "c": ["a", "b", "a", "a"], "k": [5, 5, 5, 5], "j": [1, 1, 0, 0]})
    out = balance_table(df, exposure="e", covariates=["c", "k", "j"]).set_index("covariate")
    assert list(out.index) == ["c[a]", "c[b]", "k", "j"]
    assert out.loc["c[a]", "smd"] == pytest.approx(-0.5 / math.sqrt(0.125), rel=1e-15)
    assert out.loc["k", "smd"] == 0.0
    # j is 1 in every exposed and 0 in every reference person: pooled p = 1/2 -> 1 / 0.5
    assert out.loc["j", "smd"] == pytest.approx(2.0, rel=1e-15)


def test_balance_table_refuses_bad_input():
    df = pd.DataFrame({"e": [1, 2], "x": [1.0, 2.0]})
    with pytest.raises(ModelInputError, match="1 \\(exposed\\) / 0 \\(reference\\)"):
        balance_table(df, exposure="e", covariates=["x"])
    df = pd.DataFrame({"e": [1, 0], "x": [1.0, np.nan]})
    with pytest.raises(ModelInputError, match="missing values"):
        balance_table(df, exposure="e", covariates=["x"])
    with pytest.raises(ModelInputError, match="one weight per row"):
        balance_table(df.fillna(0), exposure="e", covariates=["x"], weights=[1.0])


def test_table_one_and_balance_agree():
    rng = np.random.default_rng(5)
    n = 800
    exp = rng.integers(0, 2, n)
    t = pd.DataFrame({"group": np.where(exp == 1, "sepsis", "trauma"), "exposure": exp,
                      "age": rng.normal(60 + 5 * exp, 12), "tobacco": (rng.random(n) < 0.2 + 0.2 * exp).astype(int)})
    t1 = table_one(t, exposed="sepsis", reference="trauma", flags=["tobacco"])
    bal = balance_table(t, exposure="exposure", covariates=["age", "tobacco"]).set_index("covariate")["smd"]
    age = t1.loc[t1["variable"] == "Age, years", "smd"].iloc[0]
    tob = t1.loc[(t1["variable"] == "Flag: tobacco") & (t1["level"] == "yes"), "smd"].iloc[0]
    # same rule and formulas; Table 1 uses the sample variance, the balance table the weighted formula
    # with unit weights, which agree to rounding
    assert age == pytest.approx(bal["age"], rel=1e-13)
    assert tob == pytest.approx(bal["tobacco"], rel=1e-13)
    assert age == pytest.approx(smd(t.loc[exp == 1, "age"], t.loc[exp == 0, "age"]), rel=1e-15)


@pytest.mark.parametrize("x1, x0", [
    ([1.0, 2.0, 4.5, 3.0], [2.0, 4.0, 6.0]),
    ([5.0, 5.0, 5.0], [3.0, 3.0]),       # constant at different values: pooled-sample SD
    ([5.0, 5.0], [5.0, 5.0, 5.0]),       # constant, equal
    ([2.0, 4.0], [3.0]),                 # one reference person, equal means
])
def test_smd_from_summaries_equals_smd_on_the_values(x1, x0):
    a, b = np.asarray(x1), np.asarray(x0)
    sd = [float(v.std(ddof=1)) if v.size > 1 else math.nan for v in (a, b)]
    got = smd_from_summaries(a.mean(), sd[0], a.size, b.mean(), sd[1], b.size)
    assert got == pytest.approx(smd(a, b, binary=False), rel=1e-14, abs=0)
