"""Natural cubic splines equal R's splines::ns, and a Cox / logistic fit on them equals R's
(tests/reference/coxph_ns: run.R generates the data and writes them into expected.json with R's values)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cohortstat.errors import ModelInputError
from cohortstat.models import CoxPH
from cohortstat.models.splines import NaturalSpline, ns
from cohortstat.models.weighting import propensity_score

REF = json.loads((Path(__file__).resolve().parents[1] / "reference" / "coxph_ns" / "expected.json").read_text())
DATA = pd.DataFrame(REF["data"])
TOL = REF["tolerance"]


def _rel(a, b) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-12)))


def test_knots_and_basis_equal_r():
    spline = NaturalSpline.from_data(DATA["age"], df=4)
    assert spline.knots == pytest.approx(REF["knots"], rel=1e-12)
    assert spline.boundary == pytest.approx(REF["boundary_knots"], rel=1e-12)
    basis = spline.basis(DATA["age"].to_numpy())
    assert basis.shape == (len(DATA), 4)
    assert np.abs(basis[:10] - np.array(REF["basis_first_rows"])).max() < TOL["basis"]


def test_basis_beyond_the_boundary_is_linear_as_r_predict():
    spline = NaturalSpline.from_data(DATA["age"], df=4)
    got = spline.basis(np.array(REF["predict_at"]))
    assert np.abs(got - np.array(REF["predict_basis"])).max() < TOL["basis"]


def test_cox_with_a_spline_term_equals_r():
    df = DATA.copy()
    basis = ns(df["age"], df=4)
    names = [f"ns(age, df = 4){k}" for k in range(1, 5)]
    df[names] = basis
    res = CoxPH(ties="efron").fit(df, duration="t", event="e", covariates=["x", *names])
    assert list(res.coef.index) == REF["coef_names"]
    assert _rel(res.coef.to_numpy(), REF["coef"]) < TOL["coef"]
    assert _rel(res.se.to_numpy(), REF["se"]) < TOL["se"]
    assert _rel([res.loglik_null, res.loglik], REF["loglik"]) < TOL["loglik"]


def test_logistic_propensity_model_with_a_spline_term_equals_r():
    df = DATA.copy()
    names = [f"ns(age, df = 3){k}" for k in range(1, 4)]
    df[names] = ns(df["age"], df=3)
    assert NaturalSpline.from_data(df["age"], 3).knots == pytest.approx(REF["ps_knots"], rel=1e-12)
    fit = propensity_score(df, treatment="x", covariates=names)
    assert list(fit.coef["term"])[1:] == REF["ps_coef_names"][1:]
    assert _rel(fit.coef["coef"], REF["ps_coef"]) < TOL["coef"]
    assert _rel(fit.coef["se"], REF["ps_se"]) < TOL["se"]


def test_df_one_is_linear_in_x_and_bad_input_raises():
    x = np.linspace(1, 9, 17)
    b = ns(x, df=1)
    assert b.shape == (17, 1)
    assert np.allclose(np.diff(b[:, 0], 2), 0.0, atol=1e-12)  # a straight line
    with pytest.raises(ModelInputError, match="df must be an integer >= 1"):
        NaturalSpline.from_data(x, df=0)
    with pytest.raises(ModelInputError, match="two distinct values"):
        NaturalSpline.from_data(np.ones(5), df=2)
    with pytest.raises(ModelInputError, match="finite"):
        NaturalSpline.from_data(np.array([1.0, np.nan, 3.0]), df=2)


def test_natural_spline_second_derivative_vanishes_at_the_boundary():
    spline = NaturalSpline.from_data(DATA["age"], df=5)
    lo, hi = spline.boundary
    h = 1e-3 * (hi - lo)
    for pts in (np.array([lo, lo + h, lo + 2 * h]), np.array([hi - 2 * h, hi - h, hi])):
        b = spline.basis(pts)
        second = (b[0] - 2 * b[1] + b[2]) / h**2
        assert np.abs(second).max() < 1e-3
