"""Empirical calibration: closed-form cases, then the OHDSI EmpiricalCalibration worked examples."""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest
from scipy import stats

from cohortstat.errors import ModelInputError
from cohortstat.models.calibration import (
    NullDistribution,
    SystematicErrorModel,
    calibrate_ci,
    calibrate_estimates,
    calibrate_p,
    fit_null,
    fit_systematic_error_model,
)

# Simulated negative controls with planted systematic error N(0.5, 0.25^2) (the worked examples of the
# published method are compared in docs/methods-calibration.md; their data are not redistributed here).
_RNG = np.random.default_rng(20261203)
_SE = _RNG.uniform(0.05, 0.4, 40)
NEG = pd.DataFrame({"logRr": _RNG.normal(0.5, 0.25, 40) + _RNG.normal(0.0, _SE), "seLogRr": _SE})
SERTRALINE = pd.DataFrame({"logRr": [0.5], "seLogRr": [0.05]})  # "significant" raw, within the null


def test_equal_se_closed_form():
    # with equal standard errors s the MLE is mu = mean(y), tau^2 = mean((y - mu)^2) - s^2
    y = np.array([0.1, 0.5, -0.2, 0.3, 0.8, 0.0])
    s = 0.1
    nu = fit_null(y, np.full(6, s))
    assert nu.mean == pytest.approx(y.mean(), abs=1e-12)
    assert nu.sd ** 2 == pytest.approx(np.mean((y - y.mean()) ** 2) - s * s, rel=1e-8)


def test_tau_zero_when_no_excess_spread():
    y = np.array([0.01, -0.01, 0.02, 0.0, -0.02])
    nu = fit_null(y, np.full(5, 0.5))
    assert nu.sd == 0.0
    assert nu.mean == pytest.approx(0.0, abs=1e-15)
    # a zero-width null centred at 0 leaves p-values and CIs unchanged
    zero = NullDistribution(mean=0.0, sd=0.0, n_controls=5, loglik=0.0)
    ci = calibrate_ci(zero, [0.4], [0.2])
    assert ci["log_ci_lower"].iloc[0] == pytest.approx(0.4 - 1.959963984540054 * 0.2, abs=1e-12)
    assert calibrate_p(zero, [0.4], [0.2])[0] == pytest.approx(2 * stats.norm.sf(2.0), abs=1e-14)


def test_null_ci_is_shift_and_widen():
    nu = NullDistribution(mean=0.2, sd=0.3, n_controls=10, loglik=0.0)
    ci = calibrate_ci(nu, [0.5, -0.1], [0.1, 0.4], level=0.9)
    half = stats.norm.ppf(0.95) * np.sqrt(0.09 + np.array([0.01, 0.16]))
    np.testing.assert_allclose(ci["log_estimate"], [0.3, -0.3], atol=1e-12)
    np.testing.assert_allclose(ci["log_ci_upper"] - ci["log_estimate"], half, atol=1e-10)
    np.testing.assert_allclose(ci["se"], np.sqrt(0.09 + np.array([0.01, 0.16])), atol=1e-10)


def test_fewer_than_five_controls_is_a_clear_error():
    with pytest.raises(ModelInputError, match="at least 5 negative controls"):
        fit_null([0.1, 0.2, 0.3, 0.4], [0.1] * 4)
    # infinite / extreme ones do not count
    with pytest.raises(ModelInputError, match="got 4"):
        fit_null([0.1, 0.2, 0.3, 0.4, np.inf], [0.1] * 5)


def test_dropped_controls_are_noted():
    y = [0.1, 0.2, 0.3, 0.4, 0.5, 6.0, np.nan]
    nu = fit_null(y, [0.1] * 7)
    assert nu.n_controls == 5
    assert any("log(100)" in n for n in nu.notes) and any("missing or infinite" in n for n in nu.notes)


def test_bad_inputs():
    with pytest.raises(ModelInputError, match="same length"):
        fit_null([0.1] * 5, [0.1] * 4)
    with pytest.raises(ModelInputError, match="<= 0"):
        fit_null([0.1] * 5, [0.1, 0.1, 0.0, 0.1, 0.1])
    with pytest.raises(ModelInputError, match="distinct true effects"):
        fit_systematic_error_model([0.1] * 6, [0.1] * 6, [0.0] * 6)
    with pytest.raises(ModelInputError, match="level"):
        calibrate_ci(NullDistribution(0.0, 0.1, 5, 0.0), [0.1], [0.1], level=1.5)


def _direct_null_fit(y, se):
    """The null's maximum likelihood by a generic optimiser (an independent computation)."""
    from scipy import optimize

    def nll(par):
        v = par[1] ** 2 + se ** 2
        return 0.5 * np.sum(np.log(2 * np.pi * v) + (y - par[0]) ** 2 / v)

    res = optimize.minimize(nll, x0=[0.0, 0.1], method="Nelder-Mead",
                            options={"xatol": 1e-12, "fatol": 1e-14, "maxiter": 20000})
    return res.x[0], abs(res.x[1]), -res.fun


def test_null_equals_a_direct_maximum_likelihood_fit():
    y, se = NEG.logRr.to_numpy(), NEG.seLogRr.to_numpy()
    nu = fit_null(y, se)
    mean, sd, loglik = _direct_null_fit(y, se)
    assert nu.n_controls == 40
    assert nu.mean == pytest.approx(mean, abs=1e-6) and nu.sd == pytest.approx(sd, abs=1e-6)
    assert nu.loglik == pytest.approx(loglik, rel=1e-9)
    assert 0.3 < nu.mean < 0.7 and 0.1 < nu.sd < 0.4  # the planted systematic error is recovered


def test_calibrated_p_and_ci_follow_the_fitted_null():
    nu = fit_null(NEG.logRr, NEG.seLogRr)
    y, s = SERTRALINE.logRr.to_numpy(), SERTRALINE.seLogRr.to_numpy()
    z = (y - nu.mean) / np.sqrt(nu.sd ** 2 + s ** 2)
    assert calibrate_p(nu, y, s)[0] == pytest.approx(2 * min(stats.norm.sf(z[0]), stats.norm.cdf(z[0])), rel=1e-12)
    ci = calibrate_ci(nu, y, s)
    half = 1.959963984540054 * np.sqrt(nu.sd ** 2 + s[0] ** 2)
    np.testing.assert_allclose(ci.loc[0, ["log_estimate", "log_ci_lower", "log_ci_upper"]].to_numpy(float),
                               [y[0] - nu.mean, y[0] - nu.mean - half, y[0] - nu.mean + half], rtol=1e-9)


def test_systematic_error_model_recovers_planted_error():
    rng = np.random.default_rng(7)
    true = np.repeat(np.log([1.0, 1.5, 2.0, 4.0]), 50)
    se = rng.uniform(0.05, 0.3, true.size)
    y = -0.1 + 0.9 * true + rng.normal(0.0, 0.15, true.size) + rng.normal(0.0, se)
    m = fit_systematic_error_model(y, se, true)
    assert isinstance(m, SystematicErrorModel) and m.n_controls == true.size
    assert m.mean_intercept == pytest.approx(-0.1, abs=0.08) and m.mean_slope == pytest.approx(0.9, abs=0.1)
    assert m.sd_intercept == pytest.approx(0.15, abs=0.08)


def test_calibrate_estimates_table():
    nu = fit_null(NEG.logRr, NEG.seLogRr)
    t = calibrate_estimates(nu, SERTRALINE.logRr, SERTRALINE.seLogRr)
    assert list(t.columns) == ["estimate", "ci_lower", "ci_upper", "p", "calibrated_estimate",
                               "calibrated_ci_lower", "calibrated_ci_upper", "calibrated_p"]
    assert t.loc[0, "p"] < 1e-20 and t.loc[0, "calibrated_p"] > 0.8
    width = t.loc[0, "ci_upper"] - t.loc[0, "ci_lower"]
    assert t.loc[0, "calibrated_ci_upper"] - t.loc[0, "calibrated_ci_lower"] > width


def test_calibrated_ci_coverage_of_negative_controls():
    # controls with planted systematic error N(0.3, 0.2^2): calibrated 95% CIs of new controls cover 0
    rng = np.random.default_rng(20261202)
    cover_cal, cover_raw = [], []
    for _ in range(200):
        se = rng.uniform(0.05, 0.3, 31)
        y = rng.normal(0.3, 0.2, 31) + rng.normal(0.0, se)
        nu = fit_null(y[:30], se[:30])
        ci = calibrate_ci(nu, y[30:], se[30:])
        cover_cal.append(ci.log_ci_lower[0] <= 0 <= ci.log_ci_upper[0])
        cover_raw.append(y[30] - 1.96 * se[30] <= 0 <= y[30] + 1.96 * se[30])
    assert 0.88 <= np.mean(cover_cal) <= 0.99
    assert np.mean(cover_raw) < 0.7


def test_leave_one_out_p():
    from cohortstat.models.calibration import leave_one_out_p

    p = leave_one_out_p(NEG.logRr, NEG.seLogRr)
    i = 3
    others = NEG.drop(index=NEG.index[i])
    manual = calibrate_p(fit_null(others.logRr, others.seLogRr), NEG.logRr.iloc[i:i + 1], NEG.seLogRr.iloc[i:i + 1])
    assert p[i] == pytest.approx(manual[0], rel=1e-12)
    raw = 2 * stats.norm.sf(np.abs(NEG.logRr / NEG.seLogRr))
    # systematic error in the SCCS example: many raw p-values < 0.05, few calibrated ones
    assert (raw < 0.05).mean() > 0.4 and (p < 0.05).mean() < 0.15
