"""Pure array kernels of the Fine-Gray model in the conventions of ``cmprsk::crr``.

All inputs are sorted by time (ascending). ``status``: 0 censored, 1 cause of interest, 2 competing
cause. ``group``: censoring group codes 0..ncg-1. Nothing here is quadratic in n: every risk-set sum
is a cumulative sum over sorted times (Kawaguchi et al. 2020), and the crr variance's censoring term
is expressed with forward and backward cumulative sums as well (see docs/methods-competing-risks.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cohortstat.models._kernels.cox_loops import gram_and_cut_sums, n_parts_for
from cohortstat.models._kernels.fg_loops import (
    add_gathered,
    comp_residuals,
    eta_residuals,
    prefix_rows_at,
)


def censoring_km_minus(time_g: np.ndarray, status_g: np.ndarray, at: np.ndarray,
                       failures_at_risk: bool = True) -> np.ndarray:
    """Kaplan-Meier of the censoring distribution of one group, evaluated just before ``at``.

    Censorings are the events; every subject with time >= s is at risk at s (failures at s count
    as at risk for a censoring at s; with ``failures_at_risk=False`` they do not, as in
    ``survival::finegray``, which moves event times just before tied censorings). Evaluated at t- for t > 0 and at 0 for t == 0, as crr does
    (it evaluates the step function at t * (1 - 100 eps)). Beyond the group's last observed time the
    value is 0, as in crr (it matters only with censoring groups: competing failures of a group leave
    the risk sets of later failure times once that group has no one left under observation).
    """
    cens_t = time_g[status_g == 0]
    uc, counts = np.unique(cens_t, return_counts=True)
    n_risk = time_g.size - np.searchsorted(time_g, uc, side="left")
    if not failures_at_risk:
        fail_t = time_g[status_g != 0]
        n_risk = n_risk - (np.searchsorted(fail_t, uc, side="right") - np.searchsorted(fail_t, uc, side="left"))
    surv = np.concatenate(([1.0], np.cumprod(1.0 - counts / n_risk)))
    idx = np.where(at > 0, np.searchsorted(uc, at, side="left"), np.searchsorted(uc, at, side="right"))
    out = surv[idx]
    # crr's step function drops to 0 after the group's last observed time
    out[at > time_g.max()] = 0.0
    return out


@dataclass(frozen=True)
class FGSetup:
    """Everything about the data that does not depend on beta."""

    time: np.ndarray  # (n,) sorted
    status: np.ndarray  # (n,)
    group: np.ndarray  # (n,)
    ncg: int
    uft: np.ndarray  # (K,) distinct cause-1 failure times
    d: np.ndarray  # (K,) number of cause-1 failures at each
    first: np.ndarray  # (K,) index of the first subject with time >= uft[k]
    fail_k: np.ndarray  # (n1,) failure-time index of every cause-1 failure subject
    fail_idx: np.ndarray  # (n1,) subject index of every cause-1 failure
    Gk: np.ndarray  # (ncg, K) G_g(uft[k]-)
    Gi: np.ndarray  # (n,) G_{g_i}(t_i-)
    comp: tuple[np.ndarray, ...]  # per group: indices of competing failures (sorted)
    comp_k: tuple[np.ndarray, ...]  # per group: # competing with t < uft[k], for each k
    dg: np.ndarray  # (ncg, K) cause-1 failures of censoring group g at uft[k]
    wt: np.ndarray | None = None  # (n,) case weights (None: all 1)
    blk: np.ndarray | None = None  # (n,) k with first[k] <= i < first[k+1]; K before first[0]
    ccut: np.ndarray | None = None  # (n,) competing: g (K+1) + #{uft <= t_i}; others ncg (K+1)
    comp_all: np.ndarray | None = None  # indices of every competing failure (all groups)
    kt: np.ndarray | None = None  # (n,) number of distinct failure times <= t_i


def fg_setup(time: np.ndarray, status: np.ndarray, group: np.ndarray, ncg: int,
             wt: np.ndarray | None = None, failures_at_risk: bool = True) -> FGSetup:
    """Sort-dependent quantities. ``wt``: case weights (events and risk sets weighted; the censoring
    KM stays unweighted, as in survival::finegray). ``failures_at_risk``: censoring-KM tie rule."""
    fail_idx = np.flatnonzero(status == 1)
    uft, d = np.unique(time[fail_idx], return_counts=True)
    if wt is not None:
        d = np.bincount(np.searchsorted(uft, time[fail_idx]), weights=wt[fail_idx], minlength=uft.size)
    first = np.searchsorted(time, uft, side="left")
    fail_k = np.searchsorted(uft, time[fail_idx])
    Gk = np.empty((ncg, uft.size))
    Gi = np.empty(time.size)
    comp, comp_k = [], []
    for g in range(ncg):
        m = group == g
        tg, sg = time[m], status[m]
        Gk[g] = censoring_km_minus(tg, sg, uft, failures_at_risk)
        Gi[m] = censoring_km_minus(tg, sg, tg, failures_at_risk)
        ci = np.flatnonzero(m & (status == 2))
        comp.append(ci)
        comp_k.append(np.searchsorted(time[ci], uft, side="left"))
    dg = np.zeros((ncg, uft.size))
    np.add.at(dg, (group[fail_idx], fail_k), 1.0)
    blk, ccut, kt = _cuts(time, uft, first, comp, ncg)
    return FGSetup(time, status, group, ncg, uft, d.astype(float), first, fail_k, fail_idx, Gk, Gi,
                   tuple(comp), tuple(comp_k), dg, wt, blk, ccut, np.sort(np.concatenate(comp)), kt)


def _cuts(time, uft, first, comp, ncg):
    """Cut of every row for the one-pass sums (risk sets by counting sort, as the Cox kernel).

    ``blk``: rows first[k] <= i < first[k+1] are at risk at failure times k and before, so
    ``S(k) = sum_{c >= k} (block sums)``; rows before first[0] go to the slot K (never read).
    ``ccut``: a competing failure of group g at t counts at the failure times after t:
    ``g (K+1) + #{uft <= t}``, read by a cumulative sum over c <= k within g; other rows: ncg (K+1).
    """
    n, K = time.size, uft.size
    blk = np.full(n, K, dtype=np.int64)
    kt = np.zeros(n, dtype=np.int64)
    if K:
        blk[first[0]:] = np.repeat(np.arange(K, dtype=np.int64), np.diff(np.append(first, n)))
        kt[first[0]:] = blk[first[0]:] + 1
    ccut = np.full(n, ncg * (K + 1), dtype=np.int64)
    for g in range(ncg):
        ci = comp[g]
        ccut[ci] = g * (K + 1) + kt[ci]
    return blk, ccut, kt


def _times_up_to(s: FGSetup) -> np.ndarray:
    """(n,) number of distinct failure times <= t_i."""
    return np.searchsorted(s.uft, s.time, side="right") if s.kt is None else s.kt


def _prefix_at(v: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """out[k] = sum of v[:counts[k]]."""
    c = np.concatenate((np.zeros((1,) + v.shape[1:]), np.cumsum(v, axis=0)), axis=0)
    return c[counts]


@dataclass(frozen=True)
class FGEval:
    loglik: float
    score: np.ndarray
    info: np.ndarray | None
    S0: np.ndarray
    E: np.ndarray | None
    r: np.ndarray


def fg_eval(s: FGSetup, X: np.ndarray, beta: np.ndarray, derivs: bool = True) -> FGEval:
    """Log partial likelihood (Breslow ties), score and information at ``beta``.

    One compiled pass over X per evaluation (:func:`.cox_loops.gram_and_cut_sums`): the risk-set
    sums need only the scalar sums of ``r`` (counting-sort bins of ``blk``/``ccut``), so the row
    weights of the information are known before X is read; the pass then makes the weighted Gram
    and the per-cut sums of ``r x`` (risk sets) and ``r x / G`` (competing failures) together, in
    row parts fixed by n.
    """
    n, p = X.shape
    K, ncg = s.uft.size, s.ncg
    eta = X @ beta if p else np.zeros(n)
    r = np.exp(eta)
    if s.wt is not None:
        r = r * s.wt
    wlo = np.zeros(n)
    ca = s.comp_all
    wlo[ca] = r[ca] / s.Gi[ca]
    n_lo = ncg * (K + 1) + 1
    S0 = _revcumsum(np.bincount(s.blk, weights=r, minlength=K + 1)[:K])
    Q0 = np.bincount(s.ccut, weights=wlo, minlength=n_lo)
    for g in range(ncg):
        if s.comp[g].size:
            S0 = S0 + s.Gk[g] * np.cumsum(Q0[g * (K + 1):g * (K + 1) + K])
    wf = None if s.wt is None else s.wt[s.fail_idx]
    loglik = float((eta[s.fail_idx].sum() if wf is None else wf @ eta[s.fail_idx]) - np.dot(s.d, np.log(S0)))
    if not derivs:
        return FGEval(loglik, np.empty(0), None, S0, None, r)
    v = r * subject_hazard_weight(s, s.d / S0)
    gram, P1, M1 = gram_and_cut_sums(X, v, r, s.blk, s.ccut, K + 1, n_parts_for(n), wlo=wlo, n_cut_lo=n_lo)
    S1 = _revcumsum(P1[:K])
    for g in range(ncg):
        if s.comp[g].size:
            S1 = S1 + s.Gk[g][:, None] * np.cumsum(M1[g * (K + 1):g * (K + 1) + K], axis=0)
    E = S1 / S0[:, None]
    score = (X[s.fail_idx].sum(axis=0) if wf is None else wf @ X[s.fail_idx]) - s.d @ E
    info = gram - (E * s.d[:, None]).T @ E
    return FGEval(loglik, score, info, S0, E, r)


def _t(X: np.ndarray) -> np.ndarray:
    """``X.T`` in C order, the one layout the compiled loops take (a copy unless X is column-major)."""
    return np.ascontiguousarray(X.T)


def _revcumsum(v: np.ndarray) -> np.ndarray:
    """out[k] = sum of v[k:] (along the first axis)."""
    return np.flip(np.cumsum(np.flip(v, axis=0), axis=0), axis=0)


def subject_hazard_weight(s: FGSetup, dL: np.ndarray) -> np.ndarray:
    """c_i = sum_k w_i(t_k) dL_k: the cumulative hazard each subject is exposed to.

    w_i(t) = 1 while t <= t_i; for a competing failure, G(t-)/G(t_i-) afterwards.
    """
    cumL = np.concatenate(([0.0], np.cumsum(dL)))
    kt = _times_up_to(s)
    c = cumL[kt]
    for g in range(s.ncg):
        ci = s.comp[g]
        if ci.size == 0:
            continue
        cumA = np.concatenate(([0.0], np.cumsum(s.Gk[g] * dL)))
        after = cumA[-1] - cumA[kt[ci]]
        c[ci] += after / s.Gi[ci]
    return c


def score_residuals(s: FGSetup, X: np.ndarray, ev: FGEval) -> np.ndarray:
    """(n, p) score residuals eta_i (times the case weight): dN part minus compensator."""
    n, p = X.shape
    dL = s.d / ev.S0
    E = ev.E
    r = ev.r
    # ---- eta_i: dN part minus the compensator
    kt = _times_up_to(s)  # # failure times <= t_i
    cumA = np.concatenate(([0.0], np.cumsum(dL)))
    cumB = np.concatenate((np.zeros((1, p)), np.cumsum(E * dL[:, None], axis=0)), axis=0)
    wfail = np.ones(s.fail_idx.size) if s.wt is None else s.wt[s.fail_idx]
    resT = eta_residuals(_t(X), r, kt, cumA, cumB, s.fail_idx, s.fail_k, E, wfail)
    for g in range(s.ncg):
        ci = s.comp[g]
        if ci.size == 0:
            continue
        gd = s.Gk[g] * dL
        cA = np.concatenate(([0.0], np.cumsum(gd)))
        cB = np.concatenate((np.zeros((1, p)), np.cumsum(E * gd[:, None], axis=0)), axis=0)
        kc = kt[ci]
        a_after = cA[-1] - cA[kc]
        b_after = cB[-1] - cB[kc]
        f = r[ci] / s.Gi[ci]
        comp_residuals(resT, _t(X), ci, f, a_after, b_after)
    return resT.T


def crr_variance_meat(s: FGSetup, X: np.ndarray, ev: FGEval) -> np.ndarray:
    """Sum over subjects of (eta_i + psi_i)(eta_i + psi_i)^T, Fine & Gray (1999) / crr.

    eta_i is the subject's score residual; psi_i the term for the estimated censoring
    distribution. Both computed with cumulative sums (no loop over pairs of subjects).
    """
    if s.wt is not None:
        raise ValueError("crr's variance has no case weights")
    p = X.shape[1]
    E = ev.E
    r = ev.r
    res = score_residuals(s, X, ev)
    # ---- psi_i: censoring martingale term
    cens = np.flatnonzero(s.status == 0)
    if cens.size:
        uc = np.unique(s.time[cens])
        # q_g(u) = C1_g(u) R0_g(u) - C0_g(u) R1_g(u) at censoring times u. As in crr (cmprsk
        # 2.2-11), q_g integrates over the cause-1 failures of censoring group g only.
        ku = np.searchsorted(s.uft, uc, side="left")  # failure times >= u start here
        qg = np.zeros((s.ncg, uc.size, p))
        for g in range(s.ncg):
            ci = s.comp[g]
            if ci.size == 0:
                continue
            gd = s.Gk[g] * s.dg[g] / ev.S0
            R0 = np.concatenate((np.cumsum(gd[::-1])[::-1], [0.0]))[ku]
            R1 = np.concatenate((np.flip(np.cumsum(np.flip(E * gd[:, None], 0), 0), 0),
                                 np.zeros((1, p))))[ku]
            w = r[ci] / s.Gi[ci]
            nc = np.searchsorted(s.time[ci], uc, side="left")
            C0 = _prefix_at(w, nc)
            C1 = prefix_rows_at(_t(X), ci, w, nc)
            qg[g] = C1 * R0[:, None] - C0[:, None] * R1
        add_censoring_term(s, res, qg, uc)
    return res.T @ res


def add_censoring_term(s: FGSetup, res: np.ndarray, qg: np.ndarray, uc: np.ndarray) -> None:
    """Add psi_i, the censoring-martingale term of crr's variance, to the residuals (in place).

    ``qg`` (ncg, U, p): q_g(u) at the distinct censoring times ``uc``; psi_i integrates
    q_g(u) / Y_g(u) against subject i's censoring martingale within its censoring group g.
    """
    resT = res.T  # the compiled loops take the transposed residuals, in C order
    if resT.flags.c_contiguous:
        _censoring_term(s, resT, qg, uc)
    else:
        resT = np.ascontiguousarray(resT)
        _censoring_term(s, resT, qg, uc)
        res[...] = resT.T


def _censoring_term(s: FGSetup, resT: np.ndarray, qg: np.ndarray, uc: np.ndarray) -> None:
    p = resT.shape[0]
    cens = np.flatnonzero(s.status == 0)
    ui = np.searchsorted(uc, s.time[cens])  # index of each censored subject's time
    for g in range(s.ncg):
        m = s.group == g
        tg = s.time[m]
        cg = m & (s.status == 0)
        if not cg.any():
            continue
        q = qg[g]
        Y = (tg.size - np.searchsorted(tg, uc, side="left")).astype(float)
        nce = np.bincount(ui[s.group[cens] == g], minlength=uc.size).astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            term = np.where(nce[:, None] > 0, q * (nce / Y**2)[:, None], 0.0)
        cum = np.concatenate((np.zeros((1, p)), np.cumsum(term, axis=0)), axis=0)
        gi = np.flatnonzero(m)
        add_gathered(resT, gi, cum, np.searchsorted(uc, s.time[gi], side="right"), -1.0)
        cidx = np.flatnonzero(cg)
        with np.errstate(divide="ignore", invalid="ignore"):
            qy = np.where(Y[:, None] > 0, q / Y[:, None], 0.0)
        add_gathered(resT, cidx, qy, np.searchsorted(uc, s.time[cidx]), 1.0)


def fg_baseline_jumps(s: FGSetup, S0: np.ndarray) -> np.ndarray:
    """Jumps of the Breslow-type baseline cumulative subdistribution hazard at uft (crr's bfitj)."""
    return s.d / S0
