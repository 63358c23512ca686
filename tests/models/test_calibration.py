"""Empirical calibration: closed-form cases, then the OHDSI EmpiricalCalibration worked examples."""

from __future__ import annotations

import json
from pathlib import Path

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

REF = Path(__file__).resolve().parents[1] / "reference" / "calibration_ohdsi"
EXP = json.loads((REF / "expected.json").read_text())
SCCS = pd.read_csv(REF / "input_sccs.csv")
SOUTH = pd.read_csv(REF / "input_southworth.csv")
NEG = SCCS[SCCS.groundTruth == 0]
SERTRALINE = SCCS[SCCS.groundTruth == 1]


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


def test_sccs_null_equals_independent_ml_and_published():
    nu = fit_null(NEG.logRr, NEG.seLogRr)
    ind = EXP["independent_ml"]["sccs_null"]
    assert nu.n_controls == ind["n_controls"] == 45
    assert nu.mean == pytest.approx(ind["mean"], rel=1e-6)
    assert nu.sd == pytest.approx(ind["sd"], rel=1e-6)
    assert nu.loglik == pytest.approx(ind["loglik"], rel=1e-9)
    # the vignette prints 0.7922 / 0.2834 (fitNull's Nelder-Mead stops ~1e-4 short of the maximum)
    pub = EXP["published"]["sccs_null"]
    tol = EXP["tolerance"]["published_optimiser"]
    assert nu.mean == pytest.approx(pub["mean"], abs=tol) and nu.sd == pytest.approx(pub["sd"], abs=tol)


def test_sccs_calibrated_p_and_ci():
    nu = fit_null(NEG.logRr, NEG.seLogRr)
    p = calibrate_p(nu, SERTRALINE.logRr, SERTRALINE.seLogRr)
    assert p[0] == pytest.approx(EXP["independent_ml"]["sccs_calibrated_p"], rel=1e-6)
    # fitNull stops Nelder-Mead at reltol 1e-8: the published 0.8389142 differs by ~1e-4
    tol = EXP["tolerance"]["published_optimiser"]
    assert p[0] == pytest.approx(EXP["published"]["sccs_calibrated_p"]["p"], abs=tol)
    ci = calibrate_ci(nu, SERTRALINE.logRr, SERTRALINE.seLogRr)
    np.testing.assert_allclose(ci.loc[0, ["log_estimate", "log_ci_lower", "log_ci_upper"]].to_numpy(float),
                               EXP["independent_ml"]["sccs_calibrated_ci_log"], rtol=1e-6)


def test_southworth_error_model_and_ci_equal_published():
    ctrl = SOUTH[SOUTH.trueLogRr.notna()]
    m = fit_systematic_error_model(ctrl.logRr, ctrl.seLogRr, ctrl.trueLogRr)
    assert isinstance(m, SystematicErrorModel) and m.n_controls == 172
    ind = EXP["independent_ml"]["southworth_model"]
    assert -m.loglik == pytest.approx(ind["negloglik"], rel=1e-9)
    np.testing.assert_allclose([m.mean_intercept, m.mean_slope, m.sd_intercept, m.sd_slope], ind["par"], atol=1e-6)
    pub = EXP["published"]["southworth_model"]
    np.testing.assert_allclose([m.mean_intercept, m.mean_slope, m.sd_intercept, m.sd_slope],
                               [pub["meanIntercept"], pub["meanSlope"], pub["sdIntercept"], pub["sdSlope"]], atol=1e-5)
    gi = SOUTH[SOUTH.trueLogRr.isna()]
    ci = calibrate_ci(m, gi.logRr, gi.seLogRr)
    pc = EXP["published"]["southworth_ci"]
    np.testing.assert_allclose(ci.loc[0, ["log_estimate", "log_ci_lower", "log_ci_upper", "se"]].to_numpy(float),
                               [pc["logRr"], pc["logLb95Rr"], pc["logUb95Rr"], pc["seLogRr"]], atol=2e-5)


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
