"""Array kernels of the Cox partial likelihood (Breslow and Efron ties).

Pure functions over numpy arrays: no pandas, no validation (the estimator in
:mod:`cohortstat.models.cox` validates and calls them).

Layout
------
Rows are never physically sorted. Every (stratum, time) pair that occurs as an exit
(``stop``) or an entry time is mapped once, by one ``np.unique`` sort, to a *bin*; bins are
ordered by stratum then time. Sums over a bin are ``np.bincount`` calls (O(n) each); the sum
over a risk set at a death time ``t`` of stratum ``s`` is a reverse cumulative sum over the
bins of ``s`` with exit >= t, minus the same sum over entry bins with entry >= t (R's rule for
(start, stop] data: a subject whose entry equals ``t`` is not at risk at ``t``).

Efron's approximation is evaluated on "k-rows": one row per death, the k-th death (k = 0 ..
d-1) of a tied group of d deaths using the fractional denominator ``S0 - (k/d) D0``. Breslow is
the special case of one k-row per tied group with fraction 0 and weight the summed death
weight. The information matrix is ``X' diag(v) X - M' diag(c) M`` where ``v`` holds, per
subject, the cumulated k-row weights over the death times at which the subject is at risk
(a cumulative sum over death groups): one weighted matrix product per iteration, O(n p^2),
and never an n x p x p array.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.linalg import blas


_BLOCK = 32768  # rows per block of the information product (fits in cache)


@dataclass(frozen=True)
class RiskSets:
    """Precomputed, beta-free structure of the risk sets (built once per fit)."""

    n_bins: int
    stop_bin: np.ndarray  # (n,) bin of each row's exit
    entry_bin: np.ndarray | None  # (n,) bin of each row's entry, None without entry
    seg_end: np.ndarray  # (G,) first bin after the death group's stratum
    group_bin: np.ndarray  # (G,) bin of each death group (sorted)
    death_rows: np.ndarray  # (D,) row index of each death, ordered by group
    death_group: np.ndarray  # (D,) group of each death
    death_weight_sum: np.ndarray  # (G,) summed case weight of the deaths of the group
    n_deaths: np.ndarray  # (G,) number of deaths of the group
    k_group: np.ndarray  # (K,) group of each k-row
    k_frac: np.ndarray  # (K,) Efron fraction k/d (0 for Breslow)
    k_weight: np.ndarray  # (K,) weight of the k-row (mean death weight; Breslow: sum)
    hi: np.ndarray  # (n,) number of death groups at or before the row's exit (cumsum index)
    lo: np.ndarray  # (n,) number of death groups at or before the row's entry / stratum start
    death_pos: np.ndarray  # (D,) position of the death in ``death_rows`` order -> k-row index


def build_risk_sets(stop, status, weights, strata, entry, efron):
    """Build the risk-set structure.

    Parameters
    ----------
    stop : (n,) float exit times.
    status : (n,) 0/1 event indicator.
    weights : (n,) case weights.
    strata : (n,) int stratum codes (0..S-1).
    entry : (n,) float entry times or None.
    efron : bool, Efron (True) or Breslow (False) tie handling.
    """
    n = stop.shape[0]
    strata = strata.astype(np.int64)
    times = stop if entry is None else np.concatenate([stop, entry])
    uniq_t, t_inv = np.unique(times, return_inverse=True)
    nt = uniq_t.shape[0] + 1
    if entry is None and not strata.any():
        # one stratum, right-censored: the bins are the distinct times (no second sort)
        ukeys, k_inv = np.arange(nt - 1, dtype=np.int64), t_inv.astype(np.int64)
    else:
        keys = np.concatenate([strata, strata]) * nt + t_inv if entry is not None else strata * nt + t_inv
        ukeys, k_inv = np.unique(keys, return_inverse=True)
    stop_bin = k_inv[:n]
    entry_bin = k_inv[n:] if entry is not None else None
    bin_stratum = ukeys // nt
    # first bin after each stratum's segment
    strat_ids, first = np.unique(bin_stratum, return_index=True)
    seg_end_of_stratum = np.empty(int(strata.max()) + 1, dtype=np.int64)
    seg_start_of_stratum = np.zeros_like(seg_end_of_stratum)
    ends = np.append(first[1:], ukeys.shape[0])
    seg_end_of_stratum[strat_ids] = ends
    seg_start_of_stratum[strat_ids] = first

    dead = np.flatnonzero(status > 0)
    dbin = stop_bin[dead]
    group_bin, dgroup = np.unique(dbin, return_inverse=True)
    order = np.argsort(dgroup, kind="stable")
    death_rows = dead[order]
    death_group = dgroup[order]
    n_groups = group_bin.shape[0]
    n_deaths = np.bincount(death_group, minlength=n_groups)
    dws = np.bincount(death_group, weights=weights[death_rows], minlength=n_groups)
    seg_end = seg_end_of_stratum[bin_stratum[group_bin]]
    if efron:
        gstart = np.concatenate([[0], np.cumsum(n_deaths)[:-1]])
        k = np.arange(death_rows.shape[0]) - gstart[death_group]
        k_group = death_group
        k_frac = k / n_deaths[death_group]
        k_weight = dws[death_group] / n_deaths[death_group]
    else:
        k_group = np.arange(n_groups)
        k_frac = np.zeros(n_groups)
        k_weight = dws
    hi = np.searchsorted(group_bin, stop_bin, side="right")
    if entry_bin is not None:
        lo = np.searchsorted(group_bin, entry_bin, side="right")
    else:
        lo = np.searchsorted(group_bin, seg_start_of_stratum[strata], side="left")
    return RiskSets(
        n_bins=int(ukeys.shape[0]), stop_bin=stop_bin, entry_bin=entry_bin, seg_end=seg_end,
        group_bin=group_bin, death_rows=death_rows, death_group=death_group,
        death_weight_sum=dws, n_deaths=n_deaths, k_group=k_group, k_frac=k_frac,
        k_weight=k_weight, hi=hi, lo=lo, death_pos=np.arange(death_rows.shape[0]),
    )


def _rev_cumsum(a):
    """Reverse cumulative sum along axis 0 with a trailing zero row: out[b] = sum a[b:]."""
    out = np.zeros((a.shape[0] + 1,) + a.shape[1:])
    np.cumsum(a[::-1], axis=0, out=out[1:])
    return out[::-1]


def _bin_sums(bins, n_bins, wr, X):
    """(n_bins,) sums of wr and (n_bins, p) sums of wr * X by bin.

    The (n_bins x n) bin-membership matrix with values wr is a CSC matrix with one entry per
    column, so ``P @ X`` is a single O(n p) pass over a C-ordered X without an n x p temporary.
    """
    s0 = np.bincount(bins, weights=wr, minlength=n_bins)
    n = bins.shape[0]
    P = sp.csc_matrix((wr, bins, np.arange(n + 1)), shape=(n_bins, n))
    s1 = np.asarray(P @ X)
    return s0, s1


def risk_set_sums(rs: RiskSets, X, wr):
    """S0 (G,) and S1 (G, p): weighted risk-set sums at each death group."""
    s0b, s1b = _bin_sums(rs.stop_bin, rs.n_bins, wr, X)
    r0 = _rev_cumsum(s0b)
    r1 = _rev_cumsum(s1b)
    gb, ge = rs.group_bin, rs.seg_end
    S0 = r0[gb] - r0[ge]
    S1 = r1[gb] - r1[ge]
    if rs.entry_bin is not None:
        e0b, e1b = _bin_sums(rs.entry_bin, rs.n_bins, wr, X)
        q0 = _rev_cumsum(e0b)
        q1 = _rev_cumsum(e1b)
        S0 = S0 - (q0[gb] - q0[ge])
        S1 = S1 - (q1[gb] - q1[ge])
    return S0, S1


@dataclass(frozen=True)
class KernelState:
    """Everything computed at one value of beta."""

    loglik: float
    score: np.ndarray
    info: np.ndarray | None
    eta: np.ndarray
    denom: np.ndarray  # (K,) Efron denominators S0 - f D0
    xbar: np.ndarray  # (K, p) means (S1 - f D1) / denom
    S0: np.ndarray


def evaluate(rs: RiskSets, X, w, beta, need_info=True):
    """Log partial likelihood, score and (optionally) information at ``beta``.

    X must be centred (any constant shift leaves every result unchanged but keeps exp() finite).
    """
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        # a diverging Newton step may overflow exp(); the non-finite log-likelihood then makes
        # the Newton loop halve the step, as R does
        return _evaluate(rs, X, w, beta, need_info)


def _evaluate(rs: RiskSets, X, w, beta, need_info):
    eta = X @ beta
    r = np.exp(eta)
    wr = w * r
    S0, S1 = risk_set_sums(rs, X, wr)
    drows, dgrp = rs.death_rows, rs.death_group
    G = S0.shape[0]
    wd = w[drows]
    wrd = wr[drows]
    D0 = np.bincount(dgrp, weights=wrd, minlength=G)
    Xd = X[drows]
    D1 = np.empty_like(S1)
    for j in range(X.shape[1]):
        D1[:, j] = np.bincount(dgrp, weights=wrd * Xd[:, j], minlength=G)
    kg, kf, kw = rs.k_group, rs.k_frac, rs.k_weight
    denom = S0[kg] - kf * D0[kg]
    xbar = (S1[kg] - kf[:, None] * D1[kg]) / denom[:, None]
    loglik = float(wd @ eta[drows] - kw @ np.log(denom))
    score = Xd.T @ wd - xbar.T @ kw
    info = None
    if need_info:
        info = information(rs, X, wr, denom, xbar)
    return KernelState(loglik=loglik, score=score, info=info, eta=eta, denom=denom, xbar=xbar, S0=S0)


def _group_cumsum_at_rows(rs: RiskSets, per_group):
    """For each row: sum of ``per_group`` over the death groups at which the row is at risk."""
    G = rs.group_bin.shape[0]
    c = np.zeros((G + 1,) + per_group.shape[1:])
    np.cumsum(per_group, axis=0, out=c[1:])
    return c[rs.hi] - c[rs.lo]


def information(rs: RiskSets, X, wr, denom, xbar, kmult=None):
    """Information matrix sum_k c_k [S2/denom - xbar xbar'] (Efron-corrected).

    ``kmult`` (K,) optionally multiplies each k-row term (used by the PH score test, where the
    k-row weight is g(t) or g(t)^2).
    """
    G = rs.group_bin.shape[0]
    kw = rs.k_weight if kmult is None else rs.k_weight * kmult
    c = kw / denom
    A = np.bincount(rs.k_group, weights=c, minlength=G)
    B = np.bincount(rs.k_group, weights=c * rs.k_frac, minlength=G)
    v = wr * _group_cumsum_at_rows(rs, A)
    drows = rs.death_rows
    v[drows] -= wr[drows] * B[rs.death_group]
    if kmult is None:
        # v >= 0 (a death's own group adds A_g > B_g); clip rounding noise, then the symmetric
        # rank-n update X' diag(v) X = Y'Y with Y = sqrt(v) X (BLAS dsyrk, half the flops of a
        # general product), accumulated over blocks of rows so that no n x p temporary is made.
        sv = np.sqrt(np.maximum(v, 0.0))
        n = X.shape[0]
        up = np.zeros((X.shape[1], X.shape[1]))
        for a in range(0, n, _BLOCK):  # blocks of rows (n / 32768 iterations), not patients
            Y = X[a:a + _BLOCK] * sv[a:a + _BLOCK, None]
            up = blas.dsyrk(1.0, Y.T, beta=1.0, c=up, trans=0, overwrite_c=1)
        info = np.triu(up) + np.triu(up, 1).T
    else:
        info = (X.T * v) @ X
    info -= (xbar.T * kw) @ xbar
    return info


def cross_information(rs: RiskSets, X, wr, denom, xbar, kmult):
    """Off-diagonal block sum_k c_k g_k [S2/denom - xbar xbar'] (same as information with kmult)."""
    return information(rs, X, wr, denom, xbar, kmult=kmult)


def score_residuals(rs: RiskSets, X, w, eta, denom, xbar):
    """Per-row score residuals L_i (n, p), per unit case weight (sum_i w_i L_i = score).

    Efron: a death of a tied group gets x_i minus the mean of the group's k-row means, and
    its share of the hazard terms is (1 - k/d).
    """
    n, p = X.shape
    G = rs.group_bin.shape[0]
    r = np.exp(eta)
    kg, kf, kw = rs.k_group, rs.k_frac, rs.k_weight
    c = kw / denom
    A = np.bincount(kg, weights=c, minlength=G)
    B = np.bincount(kg, weights=c * kf, minlength=G)
    Q = np.empty((G, p))
    R = np.empty((G, p))
    for j in range(p):
        Q[:, j] = np.bincount(kg, weights=c * xbar[:, j], minlength=G)
        R[:, j] = np.bincount(kg, weights=c * kf * xbar[:, j], minlength=G)
    HA = _group_cumsum_at_rows(rs, A)
    HQ = _group_cumsum_at_rows(rs, Q)
    L = -(r[:, None] * (X * HA[:, None] - HQ))
    drows, dg = rs.death_rows, rs.death_group
    # mean of the k-row means per group (Breslow: the single mean)
    nk = np.bincount(kg, minlength=G)
    xbar_mean = np.empty((G, p))
    for j in range(p):
        xbar_mean[:, j] = np.bincount(kg, weights=xbar[:, j], minlength=G) / nk
    Xd = X[drows]
    L[drows] += Xd - xbar_mean[dg] + r[drows, None] * (Xd * B[dg, None] - R[dg])
    return L


def schoenfeld(rs: RiskSets, X, xbar):
    """Schoenfeld residuals (D, p) in ``rs.death_rows`` order: x_i - mean of the group's means."""
    G = rs.group_bin.shape[0]
    p = X.shape[1]
    kg = rs.k_group
    nk = np.bincount(kg, minlength=G)
    xm = np.empty((G, p))
    for j in range(p):
        xm[:, j] = np.bincount(kg, weights=xbar[:, j], minlength=G) / nk
    return X[rs.death_rows] - xm[rs.death_group]


def baseline_increments(rs: RiskSets, denom):
    """Hazard increment per death group: sum over k-rows of weight / denominator."""
    G = rs.group_bin.shape[0]
    return np.bincount(rs.k_group, weights=rs.k_weight / denom, minlength=G)
