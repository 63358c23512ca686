"""Array kernels of the Cox partial likelihood (Breslow and Efron ties).

Pure functions over numpy arrays: no pandas, no validation (the estimator in
:mod:`cohortstat.models.cox` validates and calls them). The loops over rows are compiled
(:mod:`.cox_loops`); what is left here works on per-group arrays (one entry per distinct death
time and stratum), which are small.

Layout
------
Rows are never sorted. The distinct death times of every stratum, ordered by stratum then time,
are the *death groups* g = 0 .. G-1. Each row gets two *cuts*: ``hi``, the number of groups (in
that order) at or before its exit, and ``lo``, the number at or before its entry (or before its
stratum without entry), so the row is at risk at exactly the groups ``lo <= g < hi``. Then

* a risk-set sum at group g is the sum of the rows added at a cut ``c > g`` minus those removed at
  a cut ``c > g``, within g's stratum (R's rule for (start, stop] data: a row whose entry equals
  the death time is not at risk);
* a row's weight in the information, ``v_i = w_i r_i sum_{lo<=g<hi} A_g``, is a difference of a
  cumulative sum over groups, so ``sum_g A_g S2(t_g) = X' diag(v) X`` and never an n x p x p
  array;
* the per-cut sums of ``w exp(eta)`` (a ``bincount``) give the denominators and hence v; then one
  compiled pass over X makes the Gram (O(n p^2)) and the per-cut sums of ``w exp(eta) x``
  together: X is read once per evaluation.

Efron's approximation is evaluated on "k-rows": one per death, the k-th death (k = 0 .. d-1) of a
tied group of d deaths using the fractional denominator ``S0 - (k/d) D0``. Breslow is the special
case of one k-row per group with fraction 0 and weight the summed death weight.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from . import cox_loops as L


@dataclass(frozen=True)
class RiskSets:
    """Precomputed, beta-free structure of the risk sets (built once per fit)."""

    n_groups: int  # G, distinct (stratum, death time)
    hi: np.ndarray  # (n,) cut at exit: groups at or before the row's exit (global order)
    lo: np.ndarray  # (n,) cut at entry / stratum start
    cut_hi: np.ndarray  # (n,) hi, or the discard slot G + 1 for rows never at risk
    cut_lo: np.ndarray  # (n,) lo where an entry removes the row, else G + 1; empty without entry
    group_end: np.ndarray  # (G,) last cut of the group's stratum
    death_rows: np.ndarray  # (D,) row index of each death, ordered by group
    death_group: np.ndarray  # (D,) group of each death
    death_weight_sum: np.ndarray  # (G,) summed case weight of the deaths of the group
    n_deaths: np.ndarray  # (G,) number of deaths of the group
    k_group: np.ndarray  # (K,) group of each k-row
    k_frac: np.ndarray  # (K,) Efron fraction k/d (0 for Breslow)
    k_weight: np.ndarray  # (K,) weight of the k-row (mean death weight; Breslow: sum)
    n_parts: int  # row parts of the compiled loops

    @property
    def n_cut(self) -> int:
        return self.n_groups + 2


def _dense_codes(values):
    """Sorted distinct values and the code (rank) of each value.

    Integer-valued data in a range no wider than a few times their number (days, codes) are
    ranked by counting, O(n); anything else by ``np.unique`` (a sort).
    """
    n = values.shape[0]
    if n:
        vmin, vmax = values.min(), values.max()
        span = float(vmax) - float(vmin)
        if span < 4.0 * n + 4096 and (values.dtype.kind in "iu" or np.array_equal(values, np.floor(values))):
            off = (values - vmin).astype(np.int64)
            present = np.bincount(off, minlength=int(span) + 1) > 0
            rank = np.cumsum(present) - 1
            return np.flatnonzero(present) + vmin, rank[off]
    uniq, inv = np.unique(values, return_inverse=True)
    return uniq, inv.reshape(-1)


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
    _, t_code = _dense_codes(times)
    nt = int(t_code.max()) + 1
    n_strata = int(strata.max()) + 1
    key = t_code if n_strata == 1 else np.concatenate([strata] * (1 if entry is None else 2)) * nt + t_code
    stop_key = key[:n]
    dead = np.flatnonzero(status > 0)
    group_key, dgroup = np.unique(stop_key[dead], return_inverse=True)
    G = group_key.shape[0]
    n_keys = n_strata * nt
    if n_keys <= 4 * key.shape[0] + 4096:
        # groups at or before each key by counting: O(n + keys)
        at_or_before = np.zeros(n_keys + 1, dtype=np.int64)
        at_or_before[group_key + 1] = 1
        np.cumsum(at_or_before, out=at_or_before)

        def count_le(k):
            return at_or_before[k + 1]

        def count_lt(k):
            return at_or_before[k]
    else:
        def count_le(k):
            return np.searchsorted(group_key, k, side="right")

        def count_lt(k):
            return np.searchsorted(group_key, k, side="left")
    hi = count_le(stop_key)
    gstart = count_lt(np.arange(n_strata + 1, dtype=np.int64) * nt)  # first group of each stratum
    row_start = gstart[strata]
    lo = count_le(key[n:]) if entry is not None else row_start
    at_risk = hi > lo
    cut_hi = np.where(at_risk, hi, G + 1)
    cut_lo = np.empty(0, dtype=np.int64)
    if entry is not None:
        cut_lo = np.where(at_risk & (lo > row_start), lo, G + 1)
    group_stratum = group_key // nt
    group_end = gstart[group_stratum + 1]

    order = np.argsort(dgroup, kind="stable")
    death_rows = dead[order]
    death_group = dgroup[order]
    n_deaths = np.bincount(death_group, minlength=G)
    dws = np.bincount(death_group, weights=weights[death_rows], minlength=G)
    if efron:
        gfirst = np.concatenate([[0], np.cumsum(n_deaths)[:-1]])
        k = np.arange(death_rows.shape[0]) - gfirst[death_group]
        k_group = death_group
        k_frac = k / n_deaths[death_group]
        k_weight = dws[death_group] / n_deaths[death_group]
    else:
        k_group = np.arange(G)
        k_frac = np.zeros(G)
        k_weight = dws
    return RiskSets(
        n_groups=G, hi=hi, lo=lo, cut_hi=cut_hi, cut_lo=cut_lo, group_end=group_end,
        death_rows=death_rows, death_group=death_group, death_weight_sum=dws, n_deaths=n_deaths,
        k_group=k_group, k_frac=k_frac, k_weight=k_weight, n_parts=L.n_parts_for(n),
    )


@dataclass(frozen=True)
class DeathRows:
    """The design rows and case weights of the deaths (in ``rs.death_rows`` order), built once."""

    X: np.ndarray  # (D, p) C order
    w: np.ndarray  # (D,)
    wx: np.ndarray  # (p,) sum of w x over the deaths


def deaths_of(rs: RiskSets, X, w) -> DeathRows:
    rows = rs.death_rows
    Xd = np.empty((rows.shape[0], X.shape[1]))
    for j in range(X.shape[1]):  # one gather per column of a column-major X
        Xd[:, j] = X[:, j][rows]
    wd = w[rows]
    return DeathRows(X=Xd, w=wd, wx=Xd.T @ wd)


@dataclass(frozen=True)
class KernelState:
    """Everything computed at one value of beta."""

    loglik: float
    score: np.ndarray
    info: np.ndarray
    eta: np.ndarray
    wr: np.ndarray  # w exp(eta)
    denom: np.ndarray  # (K,) Efron denominators S0 - f D0
    S0: np.ndarray  # (G,) risk-set sums of w exp(eta)
    S1: np.ndarray  # (G, p) risk-set sums of w exp(eta) x
    D1: np.ndarray  # (G, p) the same over the deaths of the group
    k_group: np.ndarray
    k_frac: np.ndarray

    @cached_property
    def xbar(self) -> np.ndarray:
        """(K, p) weighted means of the k-rows: (S1 - f D1) / denom."""
        kg = self.k_group
        return (self.S1[kg] - self.k_frac[:, None] * self.D1[kg]) / self.denom[:, None]


def evaluate(rs: RiskSets, X, w, beta, deaths: DeathRows | None = None, offset=None):
    """Log partial likelihood, score and information at ``beta``.

    X must be centred (any constant shift leaves every result unchanged but keeps exp() finite);
    the compiled loops read it column-major (another layout is copied first). ``offset`` (n,): a
    known term added to the linear predictor (R ``offset()``), best centred too.
    """
    X = np.asfortranarray(X)  # the compiled loops are built for one layout (a no-op in fits)
    deaths = deaths_of(rs, X, w) if deaths is None else deaths
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        # a diverging Newton step may overflow exp(); the non-finite log-likelihood then makes
        # the Newton loop halve the step, as R does
        return _evaluate(rs, X, w, np.ascontiguousarray(beta, dtype=float), deaths, offset)


def _evaluate(rs: RiskSets, X, w, beta, deaths, offset=None):
    G, n_cut = rs.n_groups, rs.n_cut
    drows, dgrp = rs.death_rows, rs.death_group
    eta = X @ beta
    if offset is not None:
        eta += offset
    wr = np.exp(eta)
    wr *= w
    # denominators first: they need only the scalar sums, so the row weights of the information
    # are known before the one pass over X that makes the Gram and the per-cut sums together
    entry = rs.cut_lo.shape[0] > 0
    P0 = np.bincount(rs.cut_hi, weights=wr, minlength=n_cut).reshape(-1, 1)
    M0 = np.bincount(rs.cut_lo, weights=wr, minlength=n_cut).reshape(-1, 1) if entry else _NONE
    S0 = L.risk_totals(P0, M0, rs.group_end)[:, 0]
    D0, D1 = L.group_rows_sum(deaths.X, wr[drows], dgrp, G)
    kg, kf, kw = rs.k_group, rs.k_frac, rs.k_weight
    denom = S0[kg] - kf * D0[kg]
    loglik = float(deaths.w @ eta[drows] - kw @ np.log(denom))
    A, B = _group_weights(rs, denom, kw)
    v = _row_weights(rs, wr, A, B)
    gram, P1, M1 = L.gram_and_cut_sums(X, v, wr, rs.cut_hi, rs.cut_lo, n_cut, rs.n_parts)
    S1 = L.risk_totals(P1, M1 if entry else _NONE, rs.group_end)
    score = deaths.wx - S1.T @ A + D1.T @ B
    info = gram - _xbar_term(rs, denom, S1, D1, kw)
    return KernelState(loglik=loglik, score=score, info=info, eta=eta, wr=wr, denom=denom, S0=S0, S1=S1,
                       D1=D1, k_group=kg, k_frac=kf)


_NONE = np.zeros((0, 1))


def _group_weights(rs: RiskSets, denom, kw):
    """Per group: A = sum_k kw/denom (hazard increment), B = sum_k f kw/denom (Efron correction)."""
    c = kw / denom
    A = np.bincount(rs.k_group, weights=c, minlength=rs.n_groups)
    B = np.bincount(rs.k_group, weights=c * rs.k_frac, minlength=rs.n_groups)
    return A, B


def _row_weights(rs: RiskSets, wr, A, B):
    """v_i = w_i r_i (sum of A over the groups i is at risk at), minus B of a death's own group."""
    C = np.zeros(rs.n_groups + 1)
    np.cumsum(A, out=C[1:])
    v = L.row_weights(wr, C, rs.hi, rs.lo)
    drows = rs.death_rows
    v[drows] -= wr[drows] * B[rs.death_group]  # a death's own group counts with weight 1 - f
    return v


def _xbar_term(rs: RiskSets, denom, S1, D1, kw):
    """sum_k kw_k xbar_k xbar_k', expanded per group: sum_k kw/denom^2 (S1 - f D1)(S1 - f D1)'."""
    G = rs.n_groups
    kg, kf = rs.k_group, rs.k_frac
    c2 = kw / (denom * denom)
    a2 = np.bincount(kg, weights=c2, minlength=G)
    b2 = np.bincount(kg, weights=c2 * kf, minlength=G)
    g2 = np.bincount(kg, weights=c2 * kf * kf, minlength=G)
    SD = (S1.T * b2) @ D1
    return (S1.T * a2) @ S1 - SD - SD.T + (D1.T * g2) @ D1


def _group_cumsum_at_rows(rs: RiskSets, per_group):
    """For each row: sum of ``per_group`` over the death groups at which the row is at risk."""
    G = rs.n_groups
    c = np.zeros((G + 1,) + per_group.shape[1:])
    np.cumsum(per_group, axis=0, out=c[1:])
    return c[rs.hi] - c[rs.lo]


def information(rs: RiskSets, X, st: KernelState, kmult=None):
    """Information matrix sum_k c_k [(S2 - f_k D2)/denom_k - xbar_k xbar_k'] (Efron-corrected).

    ``kmult`` (K,) optionally multiplies each k-row term (the PH score test uses g(t) and g(t)^2).
    The S2 part is one weighted Gram ``X' diag(v) X``; the xbar part costs O(G p^2).
    """
    kw = rs.k_weight if kmult is None else rs.k_weight * kmult
    A, B = _group_weights(rs, st.denom, kw)
    v = _row_weights(rs, st.wr, A, B)
    empty = np.empty(0, dtype=np.int64)
    gram, _, _ = L.gram_and_cut_sums(np.asfortranarray(X), v, st.wr, empty, empty, rs.n_cut, rs.n_parts)
    return gram - _xbar_term(rs, st.denom, st.S1, st.D1, kw)


def score_residuals(rs: RiskSets, X, w, eta, denom, xbar):
    """Per-row score residuals L_i (n, p), per unit case weight (sum_i w_i L_i = score).

    Efron: a death of a tied group gets x_i minus the mean of the group's k-row means, and
    its share of the hazard terms is (1 - k/d).
    """
    p = X.shape[1]
    G = rs.n_groups
    r = np.exp(eta)
    kg, kf, kw = rs.k_group, rs.k_frac, rs.k_weight
    c = kw / denom
    A, B = _group_weights(rs, denom, kw)
    Q = np.empty((G, p))
    R = np.empty((G, p))
    for j in range(p):
        Q[:, j] = np.bincount(kg, weights=c * xbar[:, j], minlength=G)
        R[:, j] = np.bincount(kg, weights=c * kf * xbar[:, j], minlength=G)
    HA = _group_cumsum_at_rows(rs, A)
    HQ = _group_cumsum_at_rows(rs, Q)
    L_ = -(r[:, None] * (X * HA[:, None] - HQ))
    drows, dg = rs.death_rows, rs.death_group
    xbar_mean = _group_mean_of_k_rows(rs, xbar)
    Xd = X[drows]
    L_[drows] += Xd - xbar_mean[dg] + r[drows, None] * (Xd * B[dg, None] - R[dg])
    return L_


def _group_mean_of_k_rows(rs: RiskSets, xbar):
    """(G, p) mean of each group's k-row means (Breslow: the single mean)."""
    G = rs.n_groups
    kg = rs.k_group
    nk = np.bincount(kg, minlength=G)
    out = np.empty((G, xbar.shape[1]))
    for j in range(xbar.shape[1]):
        out[:, j] = np.bincount(kg, weights=xbar[:, j], minlength=G) / nk
    return out


def schoenfeld(rs: RiskSets, X, xbar):
    """Schoenfeld residuals (D, p) in ``rs.death_rows`` order: x_i - mean of the group's means."""
    return X[rs.death_rows] - _group_mean_of_k_rows(rs, xbar)[rs.death_group]


def baseline_increments(rs: RiskSets, denom):
    """Hazard increment per death group: sum over k-rows of weight / denominator."""
    return np.bincount(rs.k_group, weights=rs.k_weight / denom, minlength=rs.n_groups)


def hazard_increments(rs: RiskSets, st: KernelState, efron: bool):
    """Per death group: hazard increment, its variance increment and the x-weighted increment.

    Returns ``(haz (G,), varhaz (G,), xhaz (G, p))`` as R ``survfit.coxph`` (``agsurv``) computes
    them at the fitted beta: Breslow type ``W/S0``, ``W/S0^2``, ``W S1/S0^2`` (W the summed death
    weight); Efron type averages the same over the d fractional denominators ``S0 - (k/d) D0`` of a
    tied group. Either type is available whatever ties the fit used.
    """
    G = rs.n_groups
    nd = rs.n_deaths
    W = rs.death_weight_sum
    if efron:
        kg = np.repeat(np.arange(G), nd)
        first = np.repeat(np.cumsum(nd) - nd, nd)
        frac = (np.arange(kg.shape[0]) - first) / nd[kg]
        D0 = np.bincount(rs.death_group, weights=st.wr[rs.death_rows], minlength=G)
        kw = W[kg] / nd[kg]
        denom = st.S0[kg] - frac * D0[kg]
        num = st.S1[kg] - frac[:, None] * st.D1[kg]
    else:
        kg = np.arange(G)
        kw, denom, num = W, st.S0, st.S1
    haz = np.bincount(kg, weights=kw / denom, minlength=G)
    varhaz = np.bincount(kg, weights=kw / denom ** 2, minlength=G)
    c = kw / denom ** 2
    xhaz = np.empty((G, num.shape[1]))
    for j in range(num.shape[1]):
        xhaz[:, j] = np.bincount(kg, weights=c * num[:, j], minlength=G)
    return haz, varhaz, xhaz
