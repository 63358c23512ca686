"""Kernel against a direct, loop-over-death-times transcription of the Breslow/Efron formulas.

Random small data with strata, case weights and (start, stop] intervals together (a combination
the R references cover only pairwise); hypothesis draws the data.
"""

from __future__ import annotations

from dataclasses import replace

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cohortstat.models._kernels.cox_kernel import build_risk_sets, evaluate, score_residuals


def naive(stop, status, w, strata, entry, X, beta, efron):
    p = X.shape[1]
    ll, U, I = 0.0, np.zeros(p), np.zeros((p, p))
    r = np.exp(X @ beta)
    for s in np.unique(strata):
        for t in np.unique(stop[(status == 1) & (strata == s)]):
            risk = (strata == s) & (stop >= t) & ((entry < t) if entry is not None else True)
            dead = risk & (stop == t) & (status == 1)
            d = int(dead.sum())
            wbar = w[dead].sum() / d
            S0 = (w * r)[risk].sum()
            S1 = ((w * r)[risk, None] * X[risk]).sum(0)
            S2 = np.einsum("i,ij,ik->jk", (w * r)[risk], X[risk], X[risk])
            D0 = (w * r)[dead].sum()
            D1 = ((w * r)[dead, None] * X[dead]).sum(0)
            D2 = np.einsum("i,ij,ik->jk", (w * r)[dead], X[dead], X[dead])
            ll += (w[dead] * (X[dead] @ beta)).sum()
            U += (w[dead, None] * X[dead]).sum(0)
            ks = range(d) if efron else [0]
            for k in ks:
                f = k / d
                m = d if not efron else 1
                wt = wbar * m
                den = S0 - f * D0
                xb = (S1 - f * D1) / den
                ll -= wt * np.log(den)
                U -= wt * xb
                I += wt * ((S2 - f * D2) / den - np.outer(xb, xb))
    return ll, U, I


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), efron=st.booleans(), use_entry=st.booleans(), nstrata=st.integers(1, 3))
def test_kernel_equals_naive_formulas(seed, efron, use_entry, nstrata):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(8, 40))
    X = rng.normal(size=(n, 2))
    X[:, 1] = rng.integers(0, 2, n)
    stop = rng.integers(1, 8, n).astype(float)  # heavy ties
    entry = None
    if use_entry:
        entry = np.floor(stop * rng.random(n))  # 0 <= entry < stop, entry may equal a death time
    status = (rng.random(n) < 0.6).astype(int)
    status[0] = 1
    w = rng.uniform(0.3, 2.0, n)
    strata = rng.integers(0, nstrata, n)
    beta = rng.normal(scale=0.5, size=2)
    rs = build_risk_sets(stop, status, w, strata, entry, efron)
    got = evaluate(rs, np.ascontiguousarray(X), w, beta)
    ll, U, I = naive(stop, status, w, strata, entry, X, beta, efron)
    np.testing.assert_allclose(got.loglik, ll, rtol=1e-12)
    np.testing.assert_allclose(got.score, U, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got.info, I, rtol=1e-10, atol=1e-12)
    # weighted score residuals add up to the score
    L = score_residuals(rs, np.ascontiguousarray(X), w, got.eta, got.denom, got.xbar)
    np.testing.assert_allclose((w[:, None] * L).sum(0), U, rtol=1e-9, atol=1e-10)


def _mixed_data(n, p, seed):
    """Rows of several 256-row blocks, strata, case weights and (start, stop] intervals."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    X[:, 1] = rng.integers(0, 2, n)
    stop = rng.integers(1, 30, n).astype(float)
    entry = np.floor(stop * rng.random(n))
    status = (rng.random(n) < 0.3).astype(int)
    w = rng.uniform(0.3, 2.0, n)
    strata = rng.integers(0, 3, n)
    beta = rng.normal(scale=0.3, size=p)
    return stop, status, w, strata, entry, X, beta


@pytest.mark.parametrize("n_parts", [1, 3, 8])
def test_compiled_parts_equal_naive_formulas(n_parts):
    # more rows than one block, p not a multiple of the 4-column tiles, several row parts
    stop, status, w, strata, entry, X, beta = _mixed_data(1500, 5, seed=7)
    rs = replace(build_risk_sets(stop, status, w, strata, entry, True), n_parts=n_parts)
    got = evaluate(rs, X, w, beta)
    ll, U, I = naive(stop, status, w, strata, entry, X, beta, True)
    np.testing.assert_allclose(got.loglik, ll, rtol=1e-12)
    np.testing.assert_allclose(got.score, U, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(got.info, I, rtol=1e-10, atol=1e-10)


def test_numbers_do_not_depend_on_the_thread_count():
    stop, status, w, strata, entry, X, beta = _mixed_data(40_000, 6, seed=3)
    rs = build_risk_sets(stop, status, w, strata, entry, True)
    assert rs.n_parts > 1
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = evaluate(rs, X, w, beta)
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        many = evaluate(rs, X, w, beta)
    finally:
        numba.set_num_threads(before)
    assert one.loglik == many.loglik
    assert np.array_equal(one.score, many.score) and np.array_equal(one.info, many.info)
