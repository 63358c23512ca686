"""Federated site-stratified Cox and Fine-Gray equal the single-machine stratified fits on the union."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cohortstat.models.cox import CoxPH
from cohortstat.models.finegray import FineGray
from cohortstat.sites.federated import CoxSite, FineGraySite, federated_cox, federated_finegray, summed


COVS = ["exposure", "age", "region"]
TERMS = ["exposure", "age", "region[north]", "region[west]"]


def _sites(df):
    return [g for _, g in df.groupby("site", sort=True)]


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_federated_cox_equals_stratified_fit_on_union(ties, multisite_frame):
    df = multisite_frame()
    evals = [CoxSite(g, "time_x", "event_x", COVS, TERMS, ties=ties).evaluate for g in _sites(df)]
    fed = federated_cox(summed(evals), TERMS)
    ref = CoxPH(ties=ties).fit(df, duration="time_x", event="event_x", covariates=COVS, strata="site")
    assert list(ref.coef.index) == TERMS
    assert fed.converged
    np.testing.assert_allclose(fed.coef, ref.coef.to_numpy(), rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(fed.var, ref.var, rtol=1e-8, atol=1e-14)
    assert fed.loglik == pytest.approx(ref.loglik, rel=1e-10)
    assert fed.loglik_null == pytest.approx(ref.loglik_null, rel=1e-10)
    assert fed.iterations == ref.iterations


def test_federated_cox_one_site_equals_plain_fit(multisite_frame):
    df = multisite_frame(sizes=(400,), with_region=False)
    fed = federated_cox(summed([CoxSite(df, "time_x", "event_x", ["exposure", "age"], ["exposure", "age"]).evaluate]),
                        ["exposure", "age"])
    ref = CoxPH().fit(df, duration="time_x", event="event_x", covariates=["exposure", "age"])
    np.testing.assert_allclose(fed.coef, ref.coef.to_numpy(), rtol=1e-10)
    np.testing.assert_allclose(fed.var, ref.var, rtol=1e-10)


def test_site_aggregates_add_up_to_union_with_site_strata(multisite_frame):
    """At any beta, the sum of the sites' score and information is that of the stratified union."""
    from cohortstat.models._kernels import cox_kernel as K
    from cohortstat.sites.federated import design_for_terms

    df = multisite_frame(seed=11)
    beta = np.array([0.3, -0.01, 0.2, 0.1])
    parts = [CoxSite(g, "time_x", "event_x", COVS, TERMS).evaluate(beta) for g in _sites(df)]
    X = design_for_terms(df, COVS, TERMS)
    X = np.asfortranarray(X - X.mean(axis=0))
    scode = pd.factorize(df["site"], sort=True)[0]
    rs = K.build_risk_sets(df["time_x"].to_numpy(), (df["event_x"] == 1).to_numpy().astype(np.int8),
                           np.ones(len(df)), scode, None, True)
    st = K.evaluate(rs, X, np.ones(len(df)), beta)
    assert sum(p.loglik for p in parts) == pytest.approx(st.loglik, rel=1e-12)
    np.testing.assert_allclose(sum(p.score for p in parts), st.score, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(sum(p.info for p in parts), st.info, rtol=1e-10)


def test_federated_finegray_equals_weighted_stratified_cox_on_expanded_union(multisite_frame, finegray_expansion):
    df = multisite_frame()
    evals = [FineGraySite(g, "time_x", "event_x", COVS, TERMS).evaluate for g in _sites(df)]
    fed = federated_finegray(summed(evals), TERMS, gtol=1e-12)
    exp = finegray_expansion(df, "site", "time_x", "event_x")
    ref = CoxPH(ties="breslow", eps=1e-12, iter_max=50).fit(exp, duration="stop", event="status",
                                                             covariates=COVS, strata="site", weights="w", entry="start")
    assert fed.converged
    np.testing.assert_allclose(fed.coef, ref.coef.to_numpy(), rtol=1e-8, atol=1e-10)
    assert fed.loglik == pytest.approx(ref.loglik, rel=1e-10)
    # the crr sandwich is built on the same information: bread^-1 equals the weighted Cox variance
    info = np.linalg.inv(ref.var)
    ev = [FineGraySite(g, "time_x", "event_x", COVS, TERMS).evaluate(fed.coef) for g in _sites(df)]
    np.testing.assert_allclose(sum(e.info for e in ev), info, rtol=1e-6)


def test_federated_finegray_one_site_equals_crr_fit(multisite_frame):
    df = multisite_frame(sizes=(600,), with_region=False)
    cov = ["exposure", "age"]
    fed = federated_finegray(summed([FineGraySite(df, "time_x", "event_x", cov, cov).evaluate]), cov)
    ref = FineGray(cause=1).fit(df, duration="time_x", event="event_x", covariates=cov)
    np.testing.assert_allclose(fed.coef, ref.coef.to_numpy(), rtol=1e-10)
    np.testing.assert_allclose(fed.var, np.asarray(ref.var), rtol=1e-9)
    assert fed.loglik == pytest.approx(ref.loglik, rel=1e-12)
    assert fed.iterations == ref.iterations
